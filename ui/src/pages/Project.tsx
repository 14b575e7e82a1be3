import { lazy, Suspense, useState } from "react";
import { useMutation, useQuery } from "urql";
import { graphql, ProblemFields } from "../gql";
import { navigate, href, type PipelineFilter } from "../router";
import { problemLines } from "../graphql";
import { Failure, lastSegment, Loading, Time } from "./common";
import { PipelineList } from "./PipelineList";
import { ProjectTabs } from "./ProjectTabs";

const TemplateEditor = lazy(() => import("./TemplateEditor"));

const Query = graphql(`
  query Project($prn: ID!) {
    node(id: $prn) {
      ... on Project {
        id
        name
        description
        pipelineTemplates(first: 500) {
          edges {
            node {
              id
              name
              createdAt
            }
          }
        }
        viewerCanCreatePipeline
        viewerCanCreatePipelineTemplate
      }
    }
  }
`);

const Run = graphql(
  `
    mutation RunPipeline($i: CreatePipelineInput!) {
      createPipeline(input: $i) {
        pipeline {
          id
          prn
          status
        }
        problems {
          ...ProblemFields
        }
      }
    }
  `,
  [ProblemFields],
);

export function Project({ org, project, filter }: { org: string; project: string; filter: PipelineFilter }) {
  const prn = `prn:project:${org}/${project}`;
  const [{ data, error }, refetch] = useQuery({ query: Query, variables: { prn } });
  const [run, runPipeline] = useMutation(Run);
  const [runProblems, setRunProblems] = useState<string[]>([]);
  const [editing, setEditing] = useState(false);
  if (error) return <Failure what={`project ${org}/${project}`} error={error} />;
  if (!data) return <Loading what={`project ${org}/${project}`} />;
  const p = data.node && "pipelineTemplates" in data.node ? data.node : null;
  if (!p)
    return (
      <p>
        There is no project {org}/{project}, or you may not see it.
      </p>
    );
  const templates = p.pipelineTemplates.edges.map((e) => e.node);
  const start = async (templateId: string) => {
    setRunProblems([]);
    const r = await runPipeline({ i: { pipelineTemplateId: templateId, variables: [] } });
    const made = r.data?.createPipeline.pipeline;
    if (made) {
      navigate(href({ page: "pipeline", org, project, id: lastSegment(made.prn) }));
    } else {
      setRunProblems(r.error ? [r.error.message] : problemLines(r.data?.createPipeline.problems ?? []));
    }
  };
  return (
    <>
      <h2>{p.name}</h2>
      {p.description && <p className="muted">{p.description}</p>}
      <ProjectTabs org={org} project={project} at="project" />
      <section aria-labelledby="pipelines">
        <h3 id="pipelines">Pipelines</h3>
        <PipelineList org={org} project={project} filter={filter} templates={templates} />
      </section>
      <section aria-labelledby="templates">
        <h3 id="templates">Pipeline templates</h3>
        <ul className="cards">
          {templates.map((t) => (
            <li key={t.id}>
              <strong>{t.name || t.id}</strong> <Time at={t.createdAt} />{" "}
              {p.viewerCanCreatePipeline && (
                <button type="button" disabled={run.fetching} onClick={() => start(t.id)}>
                  Run
                </button>
              )}
            </li>
          ))}
        </ul>
        {runProblems.length > 0 && (
          <p className="error" role="alert">
            The pipeline was not created: {runProblems.join("\n")}
          </p>
        )}
        {editing ? (
          <Suspense fallback={<Loading what="the editor" />}>
            <TemplateEditor
              projectId={p.id}
              onCreated={() => {
                setEditing(false);
                refetch({ requestPolicy: "network-only" });
              }}
              onCancel={() => setEditing(false)}
            />
          </Suspense>
        ) : (
          p.viewerCanCreatePipelineTemplate && (
            <button type="button" onClick={() => setEditing(true)}>
              New template
            </button>
          )
        )}
      </section>
    </>
  );
}
