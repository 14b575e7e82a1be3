// The agents the caller sees: shared ones and those of its organizations,
// with their tags, whether they run untagged jobs, and their last session;
// tags and untagged jobs editable where `viewerCanUpdate` (administrators
// for shared agents, Owners for an organization's). One agent at a time
// opens (`?agent=PRN`) on its sessions, with their last contact and the
// errors the agent reported, and the jobs it ran.
import { Fragment, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { graphql, ProblemFields } from "../gql";
import { href, Link, navigate } from "../router";
import { Failure, failureOf, Loading, namesOf, pipelineUuid, Status, Time } from "./common";

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

export function Agents({ open }: { open?: string }) {
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
              <Fragment key={a.id}>
                <tr>
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
                    <button
                      type="button"
                      aria-expanded={open === a.prn}
                      aria-label={`Sessions and jobs of agent ${a.name}`}
                      onClick={() =>
                        navigate(href({ page: "agents", agent: open === a.prn ? undefined : a.prn }), true)
                      }
                    >
                      Sessions and jobs
                    </button>{" "}
                    {a.viewerCanUpdate && (
                      <EditAgent id={a.id} name={a.name} tags={a.tags} untagged={a.runUntaggedJobs} />
                    )}
                  </td>
                </tr>
                {open === a.prn && (
                  <tr className="agent-work">
                    <td colSpan={7}>
                      <AgentWork id={a.id} name={a.name} />
                    </td>
                  </tr>
                )}
              </Fragment>
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

const WorkQuery = graphql(`
  query AgentWork($id: ID!) {
    node(id: $id) {
      ... on Agent {
        id
        sessions(first: 10) {
          id
          startedAt
          lastContactAt
          endedAt
          active
          tags
          errorCount
          lastErrorAt
          errors(first: 20) {
            message
            reportedAt
          }
        }
        jobs(first: 20) {
          id
          prn
          pipelineId
          nodePath
          status
          queuedAt
          startedAt
          finishedAt
        }
      }
    }
  }
`);

/** An agent's sessions (newest first) and the jobs it ran that the caller sees. */
function AgentWork({ id, name }: { id: string; name: string }) {
  const [{ data, error }] = useQuery({ query: WorkQuery, variables: { id }, requestPolicy: "cache-and-network" });
  if (error) return <Failure what={`the sessions of agent ${name}`} error={error} />;
  const a = data?.node && "sessions" in data.node ? data.node : null;
  if (!a) return <Loading what={`the sessions of agent ${name}`} />;
  return (
    <div className="agent-work">
      <h3>Sessions</h3>
      {a.sessions.length === 0 ? (
        <p className="muted">It has never connected.</p>
      ) : (
        <table aria-label={`Sessions of agent ${name}`}>
          <thead>
            <tr>
              <th>Session</th>
              <th>State</th>
              <th>Started</th>
              <th>Last contact</th>
              <th>Ended</th>
              <th>Errors</th>
            </tr>
          </thead>
          <tbody>
            {a.sessions.map((s) => (
              <tr key={s.id}>
                <td>
                  <code>{s.id.slice(0, 8)}</code>
                </td>
                <td>{s.active ? "● open" : s.endedAt ? "○ ended" : "○ not heard from"}</td>
                <td>
                  <Time at={s.startedAt} />
                </td>
                <td>
                  <Time at={s.lastContactAt} />
                </td>
                <td>
                  <Time at={s.endedAt} />
                </td>
                <td>
                  {s.errorCount === 0 ? (
                    <span className="muted">none</span>
                  ) : (
                    <>
                      {s.errorCount}, the last <Time at={s.lastErrorAt} />
                      {s.errors && (
                        <ul className="session-errors">
                          {s.errors.map((e, i) => (
                            <li key={i}>
                              <Time at={e.reportedAt} /> <span className="error">{e.message}</span>
                            </li>
                          ))}
                        </ul>
                      )}
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Jobs</h3>
      {a.jobs.length === 0 ? (
        <p className="muted">It has run no job you may see.</p>
      ) : (
        <table aria-label={`Jobs of agent ${name}`}>
          <thead>
            <tr>
              <th>Job</th>
              <th>Status</th>
              <th>Queued</th>
              <th>Started</th>
              <th>Finished</th>
            </tr>
          </thead>
          <tbody>
            {a.jobs.map((j) => (
              <tr key={j.id}>
                <td>
                  <JobLink prn={j.prn} pipelineId={j.pipelineId} nodePath={j.nodePath} />
                </td>
                <td>
                  <Status status={j.status} />
                </td>
                <td>
                  <Time at={j.queuedAt} />
                </td>
                <td>
                  <Time at={j.startedAt} />
                </td>
                <td>
                  <Time at={j.finishedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** A job, linked to its node on its pipeline's page (`prn:job:ORG/PROJECT/ID`). */
function JobLink({ prn, pipelineId, nodePath }: { prn: string; pipelineId: string; nodePath: string }) {
  const [org, project] = prn.replace(/^prn:job:/, "").split("/");
  const id = pipelineUuid(pipelineId);
  const text = (
    <>
      {org}/{project} <code>{nodePath}</code>
    </>
  );
  if (!id || !org || !project) return text;
  return <Link to={{ page: "pipeline", org, project, id, node: nodePath }}>{text}</Link>;
}
