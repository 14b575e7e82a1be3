// The agents the caller sees: shared ones and those of its organizations,
// with their tags, whether they run untagged jobs, and their last session;
// tags and untagged jobs editable where `viewerCanUpdate` (administrators
// for shared agents, Owners for an organization's).
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { graphql, ProblemFields } from "../gql";
import { Failure, failureOf, Loading, namesOf, Time } from "./common";

const Query = graphql(`
  query Agents {
    agents(first: 500) {
      edges {
        node {
          id
          prn
          name
          type
          internal
          tags
          runUntaggedJobs
          lastSessionAt
          createdAt
          viewerCanUpdate
        }
      }
    }
  }
`);

const Update = graphql(
  `
    mutation UpdateAgent($i: UpdateAgentInput!) {
      updateAgent(input: $i) {
        agent {
          id
          tags
          runUntaggedJobs
        }
        problems {
          ...ProblemFields
        }
      }
    }
  `,
  [ProblemFields],
);

export function Agents() {
  const [{ data, error }] = useQuery({ query: Query });
  if (error) return <Failure what="the agents" error={error} />;
  if (!data) return <Loading what="the agents" />;
  const agents = data.agents.edges.map((e) => e.node);
  return (
    <>
      <h2>Agents</h2>
      {agents.length === 0 ? (
        <p>No agent yet: an organization's Owner creates one with createAgent.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>Tags</th>
              <th>Untagged jobs</th>
              <th>Last session</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => (
              <tr key={a.id}>
                <td>
                  <strong>{a.name}</strong>
                  {a.internal && <span className="muted"> (internal)</span>}
                  <div className="muted">
                    <code>{a.prn}</code>
                  </div>
                </td>
                <td>{a.type.toLowerCase()}</td>
                <td>{a.tags.length ? a.tags.join(", ") : <span className="muted">none</span>}</td>
                <td>{a.runUntaggedJobs ? "runs them" : "no"}</td>
                <td>
                  <Time at={a.lastSessionAt} />
                </td>
                <td>
                  <Time at={a.createdAt} />
                </td>
                <td>
                  {a.viewerCanUpdate && (
                    <EditAgent id={a.id} name={a.name} tags={a.tags} untagged={a.runUntaggedJobs} />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** Tags and untagged jobs of one agent, behind an Edit button. */
function EditAgent({
  id,
  name,
  tags,
  untagged,
}: {
  id: string;
  name: string;
  tags: readonly string[];
  untagged: boolean;
}) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(tags.join(", "));
  const [runs, setRuns] = useState(untagged);
  const [outcome, setOutcome] = useState("");
  const [saving, save] = useMutation(Update);
  if (!editing)
    return (
      <>
        <button type="button" aria-label={`Edit agent ${name}`} onClick={() => setEditing(true)}>
          Edit
        </button>{" "}
        <span role="status">{outcome}</span>
      </>
    );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await save({
      i: { id, tags: namesOf(text), runUntaggedJobs: runs },
    });
    const failed = failureOf(r.error, r.data?.updateAgent.problems ?? []);
    setOutcome(failed ?? "Saved.");
    if (!failed) setEditing(false);
  };
  return (
    <form aria-label={`Agent ${name}`} onSubmit={submit}>
      <label>
        Tags <input value={text} placeholder="linux, docker" onChange={(e) => setText(e.target.value)} />
      </label>{" "}
      <label>
        <input type="checkbox" checked={runs} onChange={(e) => setRuns(e.target.checked)} /> runs untagged jobs
      </label>{" "}
      <button type="submit" disabled={saving.fetching}>
        Save
      </button>{" "}
      <button type="button" onClick={() => setEditing(false)}>
        Cancel
      </button>
      <span role="status">{outcome}</span>
    </form>
  );
}
