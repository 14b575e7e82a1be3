// The home page's recent pipelines: the newest of every project the caller
// sees, each linked to its page, with its project, status, type and who
// started it when.
import { useQuery } from "urql";
import { graphql } from "../gql";
import { Link } from "../router";
import { Failure, lastSegment, Loading, Status, Time } from "./common";

const Query = graphql(`
  query RecentPipelines {
    pipelines(first: 10, sort: CREATED_AT_DESC) {
      edges {
        node {
          id
          prn
          status
          type
          createdBy
          createdAt
          project {
            id
            name
            organizationName
          }
        }
      }
    }
  }
`);

export function RecentPipelines() {
  const [{ data, error }] = useQuery({ query: Query, requestPolicy: "cache-and-network" });
  if (error) return <Failure what="the recent pipelines" error={error} />;
  if (!data) return <Loading what="the recent pipelines" />;
  const pipelines = data.pipelines.edges.map((e) => e.node);
  if (pipelines.length === 0) return <p className="muted">No pipeline has run where you can see yet.</p>;
  return (
    <table aria-label="Recent pipelines">
      <thead>
        <tr>
          <th>Pipeline</th>
          <th>Where</th>
          <th>Status</th>
          <th>Type</th>
          <th>Created</th>
        </tr>
      </thead>
      <tbody>
        {pipelines.map((p) => {
          const { organizationName: org, name: project } = p.project;
          return (
            <tr key={p.id}>
              <td>
                <Link to={{ page: "pipeline", org, project, id: lastSegment(p.prn) }}>
                  <code>{lastSegment(p.prn).slice(0, 8)}</code>
                </Link>
              </td>
              <td>
                <Link to={{ page: "project", org, project }}>
                  {org}/{project}
                </Link>
              </td>
              <td>
                <Status status={p.status} />
              </td>
              <td>{p.type.toLowerCase()}</td>
              <td>
                {p.createdBy} <Time at={p.createdAt} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
