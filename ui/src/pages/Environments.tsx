// A project's environments: the release each has now, its protection, and
// (on an environment's page) its deployment history.
import { useQuery } from "urql";
import { graphql } from "../gql";
import { Link } from "../router";
import { Failure, lastSegment, Loading, Status, Time } from "./common";
import { ProjectTabs } from "./ProjectTabs";
import { ProtectionForm } from "./ProtectionForm";

const List = graphql(`
  query Environments($prn: ID!) {
    node(id: $prn) {
      ... on Project {
        id
        environments(first: 500) {
          edges {
            node {
              id
              name
              description
              protectionRules {
                protected
              }
              currentRelease {
                id
                prn
                semanticVersion
              }
            }
          }
        }
      }
    }
  }
`);

export function Environments({ org, project }: { org: string; project: string }) {
  const [{ data, error }] = useQuery({ query: List, variables: { prn: `prn:project:${org}/${project}` } });
  if (error) return <Failure what="the environments" error={error} />;
  if (!data) return <Loading what="the environments" />;
  const p = data.node && "environments" in data.node ? data.node : null;
  if (!p)
    return (
      <p>
        There is no project {org}/{project}, or you may not see it.
      </p>
    );
  const envs = p.environments.edges.map((e) => e.node);
  return (
    <>
      <h2>{project}</h2>
      <ProjectTabs org={org} project={project} at="environments" />
      {envs.length === 0 ? (
        <p>No environment yet: a deployment creates its environment, or createEnvironment does.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Environment</th>
              <th>Deployed now</th>
              <th>Protected</th>
            </tr>
          </thead>
          <tbody>
            {envs.map((e) => (
              <tr key={e.id}>
                <td>
                  <Link to={{ page: "environment", org, project, name: e.name }}>
                    <strong>{e.name}</strong>
                  </Link>
                  {e.description && <div className="muted">{e.description}</div>}
                </td>
                <td>
                  {e.currentRelease ? (
                    <Link to={{ page: "release", org, project, id: lastSegment(e.currentRelease.prn) }}>
                      {e.currentRelease.semanticVersion}
                    </Link>
                  ) : (
                    <span className="muted">nothing yet</span>
                  )}
                </td>
                <td>{e.protectionRules.protected ? "yes" : "no"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

const One = graphql(`
  query Environment($prn: ID!) {
    node(id: $prn) {
      ... on Environment {
        id
        name
        description
        viewerCanUpdate
        protectionRules {
          protected
          roles
          principals {
            kind
            name
          }
        }
        currentRelease {
          id
          prn
          semanticVersion
        }
        deployments(first: 200) {
          edges {
            node {
              status
              createdBy
              startedBy
              createdAt
              finishedAt
              release {
                id
                prn
                semanticVersion
              }
              pipeline {
                id
                prn
              }
            }
          }
        }
      }
    }
  }
`);

export function Environment({ org, project, name }: { org: string; project: string; name: string }) {
  const [{ data, error }] = useQuery({ query: One, variables: { prn: `prn:environment:${org}/${project}/${name}` } });
  if (error) return <Failure what={`environment ${name}`} error={error} />;
  if (!data) return <Loading what={`environment ${name}`} />;
  const e = data.node && "protectionRules" in data.node ? data.node : null;
  if (!e)
    return (
      <p>
        There is no environment {name} in {org}/{project}, or you may not see it.
      </p>
    );
  const rules = e.protectionRules;
  return (
    <>
      <h2>
        {project} · {e.name}
      </h2>
      <ProjectTabs org={org} project={project} at="environments" />
      {e.description && <p className="muted">{e.description}</p>}
      <p>
        Deployed now:{" "}
        {e.currentRelease ? (
          <Link to={{ page: "release", org, project, id: lastSegment(e.currentRelease.prn) }}>
            {e.currentRelease.semanticVersion}
          </Link>
        ) : (
          "nothing yet"
        )}
      </p>
      <h3>Protection</h3>
      {rules.protected ? (
        <p>
          Deployments here are started only by{" "}
          {[
            ...rules.roles.map((r) => `${r.toLowerCase().replace(/_/g, " ")}s`),
            ...rules.principals.map((p) => p.name),
          ].join(", ")}
          .
        </p>
      ) : (
        <p>Not protected: whoever may start the release's deployments may start this one.</p>
      )}
      {e.viewerCanUpdate && <ProtectionForm environmentId={e.id} rules={rules} />}
      <h3>Deployments</h3>
      <table>
        <thead>
          <tr>
            <th>Release</th>
            <th>Status</th>
            <th>Pipeline</th>
            <th>Started by</th>
            <th>Created</th>
            <th>Finished</th>
          </tr>
        </thead>
        <tbody>
          {e.deployments.edges.map(({ node: d }) => (
            <tr key={d.pipeline.id}>
              <td>
                {d.release ? (
                  <Link to={{ page: "release", org, project, id: lastSegment(d.release.prn) }}>
                    {d.release.semanticVersion}
                  </Link>
                ) : (
                  <span className="muted">none</span>
                )}
              </td>
              <td>
                <Status status={d.status} />
              </td>
              <td>
                <Link to={{ page: "pipeline", org, project, id: lastSegment(d.pipeline.prn) }}>
                  {lastSegment(d.pipeline.prn).slice(0, 8)}
                </Link>
              </td>
              <td>{d.startedBy}</td>
              <td>
                <Time at={d.createdAt} />
              </td>
              <td>
                <Time at={d.finishedAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
