// A project's releases, newest first: version, status, pre-release, due
// date (a banner when it is near or past), created.
import { lazy, Suspense, useState } from "react";
import { useQuery } from "urql";
import { graphql } from "../gql";
import { Link } from "../router";
import { Failure, lastSegment, Loading, Status, Time } from "./common";
import { ProjectTabs } from "./ProjectTabs";

const NewRelease = lazy(() => import("./NewRelease").then((m) => ({ default: m.NewRelease })));

const Query = graphql(`
  query Releases($prn: ID!) {
    node(id: $prn) {
      ... on Project {
        id
        viewerCanCreateRelease
        releases(first: 500) {
          edges {
            node {
              id
              prn
              semanticVersion
              status
              completed
              preRelease
              dueDate
              createdBy
              createdAt
            }
          }
        }
      }
    }
  }
`);

/** "overdue", "due soon" (within three days) or "" for a release's due date. */
export function dueState(dueDate: string | null | undefined, completed: boolean, now = Date.now()): string {
  if (!dueDate || completed) return "";
  const left = Date.parse(dueDate) - now;
  return left < 0 ? "overdue" : left < 3 * 86_400_000 ? "due soon" : "";
}

export function Releases({ org, project }: { org: string; project: string }) {
  const [{ data, error }] = useQuery({ query: Query, variables: { prn: `prn:project:${org}/${project}` } });
  const [creating, setCreating] = useState(false);
  if (error) return <Failure what="the releases" error={error} />;
  if (!data) return <Loading what="the releases" />;
  const p = data.node && "releases" in data.node ? data.node : null;
  if (!p)
    return (
      <p>
        There is no project {org}/{project}, or you may not see it.
      </p>
    );
  const releases = p.releases.edges.map((e) => e.node);
  return (
    <>
      <h2>{project}</h2>
      <ProjectTabs org={org} project={project} at="releases" />
      {p.viewerCanCreateRelease &&
        (creating ? (
          <Suspense fallback={<Loading what="the release form" />}>
            <NewRelease org={org} project={project} onCancel={() => setCreating(false)} />
          </Suspense>
        ) : (
          <p>
            <button type="button" onClick={() => setCreating(true)}>
              New release
            </button>
          </p>
        ))}
      {releases.length === 0 ? (
        <p>No release yet{p.viewerCanCreateRelease ? ": New release makes one from a lifecycle" : ""}.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Version</th>
              <th>Status</th>
              <th>Due</th>
              <th>Created by</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {releases.map((r) => {
              const due = dueState(r.dueDate, r.completed);
              return (
                <tr key={r.id}>
                  <td>
                    <Link to={{ page: "release", org, project, id: lastSegment(r.prn) }}>
                      <strong>{r.semanticVersion}</strong>
                    </Link>{" "}
                    {r.preRelease && <span className="chip">pre-release</span>}
                  </td>
                  <td>
                    <Status status={r.status} />
                  </td>
                  <td>
                    <Time at={r.dueDate} /> {due && <span className="chip warn">{due}</span>}
                  </td>
                  <td>{r.createdBy}</td>
                  <td>
                    <Time at={r.createdAt} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}
