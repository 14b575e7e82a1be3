import { useQuery } from "urql";
import { graphql } from "../gql";
import { Link } from "../router";
import { Failure, Loading } from "./common";
import { OrganizationActivity } from "./Activity";

const Query = graphql(`
  query Organization($name: String!) {
    organization(name: $name) {
      id
      name
      description
      projects(first: 500) {
        edges {
          node {
            id
            name
            description
          }
        }
      }
    }
  }
`);

export function Organization({ org }: { org: string }) {
  const [{ data, error }] = useQuery({ query: Query, variables: { name: org } });
  if (error) return <Failure what={`organization ${org}`} error={error} />;
  if (!data) return <Loading what={`organization ${org}`} />;
  if (!data.organization) return <p>There is no organization {org}, or you may not see it.</p>;
  const projects = data.organization.projects.edges.map((e) => e.node);
  return (
    <>
      <h2>{data.organization.name}</h2>
      {data.organization.description && <p className="muted">{data.organization.description}</p>}
      <h3>Projects</h3>
      {projects.length === 0 ? (
        <p>No project you may see yet.</p>
      ) : (
        <ul className="cards">
          {projects.map((p) => (
            <li key={p.id}>
              <Link to={{ page: "project", org, project: p.name }}>
                <strong>{p.name}</strong>
              </Link>
              {p.description && <span className="muted"> — {p.description}</span>}
            </li>
          ))}
        </ul>
      )}
      <section aria-labelledby="organization-activity">
        <h3 id="organization-activity">Activity</h3>
        <OrganizationActivity org={org} />
      </section>
    </>
  );
}
