import { lazy, Suspense, useState } from "react";
import { useMutation, useQuery } from "urql";
import { graphql, ProblemFields } from "../gql";
import { Link, navigate, href } from "../router";
import { problemLines } from "../graphql";
import { Failure, lastSegment, Loading, Status, Time } from "./common";
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
        pipelines(first: 500) {
          edges {
            node {
              id
              prn
              status
              type
              createdBy
              createdAt
              finishedAt
            }
          }
        }
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

export function Project({ org, project }: { org: string; project: string }) {
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
  // Newest first: the server lists them oldest first.
  const pipelines = p.pipelines.edges.map((e) => e.node).reverse();
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
        {pipelines.length === 0 ? (
          <p>No pipeline has run here yet: run one of the templates below.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Pipeline</th>
                <th>Status</th>
                <th>Type</th>
                <th>Created by</th>
                <th>Created</th>
                <th>Finished</th>
              </tr>
            </thead>
            <tbody>
              {pipelines.map((x) => (
                <tr key={x.id}>
                  <td>
                    <Link to={{ page: "pipeline", org, project, id: lastSegment(x.prn) }}>
                      {lastSegment(x.prn).slice(0, 8)}
                    </Link>
                  </td>
                  <td>
                    <Status status={x.status} />
                  </td>
                  <td>{x.type.toLowerCase()}</td>
                  <td>{x.createdBy}</td>
                  <td>
                    <Time at={x.createdAt} />
                  </td>
                  <td>
                    <Time at={x.finishedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="templates">
        <h3 id="templates">Pipeline templates</h3>
        <ul className="cards">
          {templates.map((t) => (
            <li key={t.id}>
              <strong>{t.name || t.id}</strong> <Time at={t.createdAt} />{" "}
              <button type="button" disabled={run.fetching} onClick={() => start(t.id)}>
                Run
              </button>
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
          <button type="button" onClick={() => setEditing(true)}>
            New template
          </button>
        )}
      </section>
    </>
  );
}
