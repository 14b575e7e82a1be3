// The agents the caller sees: shared ones and those of its organizations,
// with their tags, whether they run untagged jobs, and their last session.
import { useQuery } from "urql";
import { graphql } from "../gql";
import { Failure, Loading, Time } from "./common";

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
        }
      }
    }
  }
`);

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
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
