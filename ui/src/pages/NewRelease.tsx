// Create a release: a lifecycle (the project's or its organization's), a
// version, a deployment template per environment, variables, a due date,
// notes and the pre-release flag. The environments are prefilled from the
// lifecycle's HCL (`environment = "…"`); the server decides, and its
// problems are shown by field.
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { graphql, ProblemFields } from "../gql";
import { problemLines } from "../graphql";
import { href, navigate } from "../router";
import { Failure, lastSegment, Loading } from "./common";

const Choices = graphql(`
  query NewReleaseChoices($prn: ID!, $org: String!) {
    node(id: $prn) {
      ... on Project {
        id
        releaseLifecycles {
          edges {
            node {
              id
              name
              hcl
            }
          }
        }
        pipelineTemplates(first: 500) {
          edges {
            node {
              id
              name
            }
          }
        }
      }
    }
    organization(name: $org) {
      id
      releaseLifecycles {
        edges {
          node {
            id
            name
            hcl
          }
        }
      }
    }
  }
`);

const Create = graphql(
  `
    mutation CreateRelease($i: CreateReleaseInput!) {
      createRelease(input: $i) {
        release {
          id
          prn
        }
        problems {
          ...ProblemFields
        }
      }
    }
  `,
  [ProblemFields],
);

/** The environments a lifecycle's HCL deploys to, in order (a prefill only). */
export function environmentsOf(hcl: string): string[] {
  const names: string[] = [];
  for (const m of hcl.matchAll(/\benvironment\s*=\s*"([^"$]+)"/g)) if (!names.includes(m[1])) names.push(m[1]);
  return names;
}

interface Variable {
  key: string;
  value: string;
  sensitive: boolean;
}

export function NewRelease({ org, project, onCancel }: { org: string; project: string; onCancel: () => void }) {
  const [{ data, error }] = useQuery({
    query: Choices,
    variables: { prn: `prn:project:${org}/${project}`, org },
  });
  const [created, create] = useMutation(Create);
  const [lifecycleId, setLifecycleId] = useState("");
  const [version, setVersion] = useState("");
  const [templates, setTemplates] = useState<Record<string, string>>({});
  const [extra, setExtra] = useState<string[]>([]);
  const [another, setAnother] = useState("");
  const [variables, setVariables] = useState<Variable[]>([]);
  const [due, setDue] = useState("");
  const [notes, setNotes] = useState("");
  const [pre, setPre] = useState(false);
  const [problems, setProblems] = useState<string[]>([]);
  if (error) return <Failure what="the lifecycles and templates" error={error} />;
  if (!data) return <Loading what="the lifecycles and templates" />;
  const p = data.node && "pipelineTemplates" in data.node ? data.node : null;
  if (!p) return <p>There is no project {project}, or you may not see it.</p>;
  const lifecycles = [
    ...p.releaseLifecycles.edges.map((e) => ({ ...e.node, owner: project })),
    ...(data.organization?.releaseLifecycles.edges.map((e) => ({ ...e.node, owner: org })) ?? []),
  ];
  const lifecycle = lifecycles.find((l) => l.id === lifecycleId);
  const environments = [...(lifecycle ? environmentsOf(lifecycle.hcl) : []), ...extra];
  const choices = p.pipelineTemplates.edges.map((e) => e.node);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblems([]);
    const r = await create({
      i: {
        projectId: p.id,
        lifecycleId,
        semanticVersion: version.trim(),
        deploymentTemplates: environments
          .filter((env) => templates[env])
          .map((env) => ({ environmentName: env, pipelineTemplateId: templates[env] })),
        variables: variables.filter((v) => v.key.trim()),
        dueDate: due ? new Date(due).toISOString() : null,
        notes,
        preRelease: pre,
      },
    });
    const made = r.data?.createRelease.release;
    if (made) navigate(href({ page: "release", org, project, id: lastSegment(made.prn) }));
    else setProblems(r.error ? [r.error.message] : problemLines(r.data?.createRelease.problems ?? []));
  };
  const setVar = (i: number, v: Partial<Variable>) =>
    setVariables(variables.map((x, j) => (i === j ? { ...x, ...v } : x)));
  return (
    <form className="new-release" aria-labelledby="new-release-title" onSubmit={submit}>
      <h3 id="new-release-title">New release</h3>
      <label>
        Lifecycle{" "}
        <select required value={lifecycleId} onChange={(e) => setLifecycleId(e.target.value)}>
          <option value="">choose one…</option>
          {lifecycles.map((l) => (
            <option key={l.id} value={l.id}>
              {l.name} ({l.owner})
            </option>
          ))}
        </select>
      </label>
      <label>
        Version <input required value={version} placeholder="1.2.0" onChange={(e) => setVersion(e.target.value)} />
      </label>
      <fieldset>
        <legend>Deployment template per environment</legend>
        {environments.length === 0 && <p className="muted">Choose a lifecycle: its environments appear here.</p>}
        {environments.map((env) => (
          <label key={env}>
            {env}{" "}
            <select
              value={templates[env] ?? ""}
              onChange={(e) => setTemplates({ ...templates, [env]: e.target.value })}
            >
              <option value="">no template</option>
              {choices.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name || t.id}
                </option>
              ))}
            </select>
          </label>
        ))}
        <label>
          Another environment{" "}
          <input value={another} placeholder="staging" onChange={(e) => setAnother(e.target.value)} />
        </label>{" "}
        <button
          type="button"
          disabled={!another.trim() || environments.includes(another.trim())}
          onClick={() => {
            setExtra([...extra, another.trim()]);
            setAnother("");
          }}
        >
          Add it
        </button>
      </fieldset>
      <fieldset>
        <legend>Variables</legend>
        {variables.map((v, i) => (
          <div key={i} className="variable-row">
            <label>
              Key <input value={v.key} onChange={(e) => setVar(i, { key: e.target.value })} />
            </label>{" "}
            <label>
              Value{" "}
              <input
                type={v.sensitive ? "password" : "text"}
                autoComplete="off"
                value={v.value}
                onChange={(e) => setVar(i, { value: e.target.value })}
              />
            </label>{" "}
            <label>
              <input
                type="checkbox"
                checked={v.sensitive}
                onChange={(e) => setVar(i, { sensitive: e.target.checked })}
              />{" "}
              sensitive
            </label>{" "}
            <button type="button" onClick={() => setVariables(variables.filter((_, j) => j !== i))}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" onClick={() => setVariables([...variables, { key: "", value: "", sensitive: false }])}>
          Add a variable
        </button>
      </fieldset>
      <label>
        Due (your time zone) <input type="datetime-local" value={due} onChange={(e) => setDue(e.target.value)} />
      </label>
      <label>
        Notes <textarea value={notes} rows={3} onChange={(e) => setNotes(e.target.value)} />
      </label>
      <label>
        <input type="checkbox" checked={pre} onChange={(e) => setPre(e.target.checked)} /> pre-release
      </label>
      <p>
        <button type="submit" disabled={created.fetching}>
          Create the release
        </button>{" "}
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </p>
      {problems.length > 0 && (
        <p className="error" role="alert">
          The release was not created: {problems.join("\n")}
        </p>
      )}
    </form>
  );
}
