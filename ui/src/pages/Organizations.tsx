import { useQuery } from "urql";
import { graphql } from "../gql";
import { Link } from "../router";
import { Failure, Loading } from "./common";
import { Todo } from "./Todo";
import { HomeActivity } from "./Activity";
import { RecentPipelines } from "./RecentPipelines";

const Query = graphql(`
  query Organizations {
    organizations(first: 500) {
      edges {
        node {
          id
          name
          description
        }
      }
    }
  }
`);

export function Organizations() {
  const [{ data, error }] = useQuery({ query: Query });
  if (error) return <Failure what="your organizations" error={error} />;
  if (!data) return <Loading what="organizations" />;
  const orgs = data.organizations.edges.map((e) => e.node);
  return (
    <>
      <Todo />
      <h2>Organizations</h2>
      {orgs.length === 0 ? (
        <p>No organization yet: an administrator creates one with createOrganization.</p>
      ) : (
        <ul className="cards">
          {orgs.map((o) => (
            <li key={o.id}>
              <Link to={{ page: "organization", org: o.name }}>
                <strong>{o.name}</strong>
              </Link>
              {o.description && <span className="muted"> — {o.description}</span>}
            </li>
          ))}
        </ul>
      )}
      <section aria-labelledby="home-pipelines">
        <h2 id="home-pipelines">Recent pipelines</h2>
        <RecentPipelines />
      </section>
      <section aria-labelledby="home-activity">
        <h2 id="home-activity">Activity</h2>
        <HomeActivity />
      </section>
    </>
  );
}
