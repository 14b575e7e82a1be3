// Who did what, newest first: everything the caller sees (home), an
// organization's, a project's or a release's activity feed, live (the
// `activity` subscription from the newest row read, so nothing
// is missed or shown twice), filtered by actor and kind in the URL.
import { useState } from "react";
import { useQuery, useSubscription } from "urql";
import { graphql, type ResultOf } from "../gql";
import { href, Link, navigate } from "../router";
import { ActorFilter, Failure, Loading, pipelineUuid, Time } from "./common";
import { ProjectTabs } from "./ProjectTabs";
import { RESOURCE_TYPES } from "../status";

const Row = graphql(`
  fragment ActivityRow on ActivityEvent {
    cursor
    at
    actor
    action
    resourceType
    resourceId
    subject
    comment
    organizationName
    projectName
  }
`);

const ProjectQuery = graphql(
  `
    query ProjectActivity($prn: ID!, $actor: String, $types: [ActivityResourceType!]) {
      node(id: $prn) {
        ... on Project {
          id
          activity(first: 200, actor: $actor, resourceTypes: $types) {
            edges {
              node {
                ...ActivityRow
              }
            }
          }
        }
      }
    }
  `,
  [Row],
);

const ReleaseQuery = graphql(
  `
    query ReleaseActivity($id: ID!) {
      release(id: $id) {
        id
        activity(first: 200) {
          edges {
            node {
              ...ActivityRow
            }
          }
        }
      }
    }
  `,
  [Row],
);

const Live = graphql(
  `
    subscription ActivityLive(
      $organizationName: String
      $projectId: ID
      $releaseId: ID
      $actor: String
      $types: [ActivityResourceType!]
      $after: String
    ) {
      activity(
        organizationName: $organizationName
        projectId: $projectId
        releaseId: $releaseId
        actor: $actor
        resourceTypes: $types
        after: $after
      ) {
        ...ActivityRow
      }
    }
  `,
  [Row],
);

type Event = ResultOf<typeof Row>;

type ResourceType = (typeof RESOURCE_TYPES)[number];

const words = (s: string) => s.toLowerCase().replace(/_/g, " ");

/** A project's activity page (`/…/projects/P/activity?actor=&type=`). */
export function ProjectActivity({
  org,
  project,
  actor,
  type,
}: {
  org: string;
  project: string;
  actor?: string;
  type?: string;
}) {
  const types = RESOURCE_TYPES.filter((t) => t === type) as ResourceType[];
  const vars = { actor: actor ?? null, types: types.length ? types : null };
  const [{ data, error }] = useQuery({
    query: ProjectQuery,
    variables: { prn: `prn:project:${org}/${project}`, ...vars },
    requestPolicy: "cache-and-network",
  });
  const p = data?.node && "activity" in data.node ? data.node : null;
  const go = (a?: string, t?: string) =>
    navigate(href({ page: "activity", org, project, actor: a || undefined, type: t || undefined }));
  return (
    <>
      <h2>{project}</h2>
      <ProjectTabs org={org} project={project} at="activity" />
      <form className="filters" aria-label="Filter the activity" onSubmit={(e) => e.preventDefault()}>
        <ActorFilter label="Who" key={actor ?? ""} value={actor ?? ""} onChange={(a) => go(a, type)} />
        <label>
          Kind{" "}
          <select value={type ?? ""} onChange={(e) => go(actor, e.target.value)}>
            <option value="">any</option>
            {RESOURCE_TYPES.map((t) => (
              <option key={t} value={t}>
                {words(t)}
              </option>
            ))}
          </select>
        </label>
      </form>
      {error ? (
        <Failure what="the activity" error={error} />
      ) : !p ? (
        <Loading what="the activity" />
      ) : (
        <Feed key={`${actor}:${type}`} rows={p.activity.edges.map((e) => e.node)} live={{ projectId: p.id, ...vars }} />
      )}
    </>
  );
}

const OrganizationQuery = graphql(
  `
    query OrganizationActivity($name: String!) {
      organization(name: $name) {
        id
        activity(first: 100) {
          edges {
            node {
              ...ActivityRow
            }
          }
        }
      }
    }
  `,
  [Row],
);

/** An organization's activity (in the projects the caller sees), for its page. */
export function OrganizationActivity({ org }: { org: string }) {
  const [{ data, error }] = useQuery({
    query: OrganizationQuery,
    variables: { name: org },
    requestPolicy: "cache-and-network",
  });
  if (error) return <Failure what="the organization's activity" error={error} />;
  if (!data?.organization) return <Loading what="the organization's activity" />;
  return <Feed rows={data.organization.activity.edges.map((e) => e.node)} live={{ organizationName: org }} />;
}

const HomeQuery = graphql(
  `
    query HomeActivity {
      activity(first: 100) {
        edges {
          node {
            ...ActivityRow
          }
        }
      }
    }
  `,
  [Row],
);

/** Everything the caller sees, across organizations: the home page's feed. */
export function HomeActivity() {
  const [{ data, error }] = useQuery({ query: HomeQuery, requestPolicy: "cache-and-network" });
  if (error) return <Failure what="your activity feed" error={error} />;
  if (!data) return <Loading what="your activity feed" />;
  return <Feed wide rows={data.activity.edges.map((e) => e.node)} live={{}} />;
}

/** A release's activity, for its page. */
export function ReleaseActivity({ id }: { id: string }) {
  const [{ data, error }] = useQuery({ query: ReleaseQuery, variables: { id }, requestPolicy: "cache-and-network" });
  if (error) return <Failure what="the release's activity" error={error} />;
  if (!data?.release) return <Loading what="the release's activity" />;
  return <Feed rows={data.release.activity.edges.map((e) => e.node)} live={{ releaseId: data.release.id }} />;
}

/** Rows read, newest first, with what happens from then on above them. */
function Feed({
  wide,
  rows,
  live,
}: {
  /** Rows of several organizations: each says where it happened. */
  wide?: boolean;
  rows: readonly Event[];
  live: {
    organizationName?: string;
    projectId?: string;
    releaseId?: string;
    actor?: string | null;
    types?: ResourceType[] | null;
  };
}) {
  // The subscription starts after the newest row this feed first showed.
  const [after] = useState(() => rows[0]?.cursor ?? null);
  const [{ data: fresh }] = useSubscription({ query: Live, variables: { ...live, after } }, (seen: Event[] = [], d) =>
    seen.some((e) => e.cursor === d.activity.cursor) ? seen : [d.activity, ...seen],
  );
  const all = [...(fresh ?? []), ...rows.filter((r) => !(fresh ?? []).some((f) => f.cursor === r.cursor))];
  if (all.length === 0) return <p className="muted">Nothing has happened here yet.</p>;
  return (
    <table className="activity">
      <thead>
        <tr>
          <th>When</th>
          <th>Who</th>
          {wide && <th>Where</th>}
          <th>What</th>
        </tr>
      </thead>
      <tbody aria-live="polite">
        {all.map((e) => (
          <tr key={e.cursor}>
            <td>
              <Time at={e.at} />
            </td>
            <td>{e.actor}</td>
            {wide && (
              <td>
                <Where e={e} />
              </td>
            )}
            <td>
              {words(e.action)} {words(e.resourceType)} <What e={e} />
              {e.comment && <span className="muted"> — {e.comment}</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The organization and project of a row, linked. */
function Where({ e }: { e: Event }) {
  const org = e.organizationName;
  return (
    <>
      <Link to={{ page: "organization", org }}>{org}</Link>
      {e.projectName && (
        <>
          {" / "}
          <Link to={{ page: "project", org, project: e.projectName }}>{e.projectName}</Link>
        </>
      )}
    </>
  );
}

/** The subject of a row, linked to its pipeline where it has one. */
function What({ e }: { e: Event }) {
  const id = ["PIPELINE", "PIPELINE_NODE", "DEPLOYMENT"].includes(e.resourceType) ? pipelineUuid(e.resourceId) : null;
  if (!id || !e.projectName) return e.subject ? <code>{e.subject}</code> : null;
  const node = e.resourceType === "PIPELINE_NODE" && e.subject ? e.subject : undefined;
  return (
    <Link to={{ page: "pipeline", org: e.organizationName, project: e.projectName, id, node }}>
      <code>{e.subject ?? id.slice(0, 8)}</code>
    </Link>
  );
}
