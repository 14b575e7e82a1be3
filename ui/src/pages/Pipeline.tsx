// A pipeline: its stage graph, live. The query reads the pipeline with
// `eventCursor`; the pipelineEvents subscription follows it from that
// cursor, each event carrying the node and pipeline it changed (their state
// when delivered, never older than what the query read), which the
// normalized cache writes over the same objects the graph shows.
import { lazy, Suspense, useState } from "react";
import { useQuery, useSubscription } from "urql";
import { graphql, type ResultOf } from "../gql";
import { href, navigate, type PipelineView, type Route } from "../router";
import { statusLook } from "../status";
import { Failure, Loading, Status, Time, useFirst } from "./common";
import { NodePanel } from "./NodePanel";
import { PipelineActions } from "./PipelineActions";
import { eventWords, Timeline } from "./Timeline";

const GraphView = lazy(() => import("./GraphView"));

export const NodeFields = graphql(`
  fragment NodeFields on PipelineNode {
    id
    path
    name
    kind
    section
    dependencies
    status
    reason
    scheduledStartTime
    startedAt
    finishedAt
    jobId
  }
`);

const Query = graphql(
  `
    query Pipeline($prn: ID!) {
      node(id: $prn) {
        ... on Pipeline {
          id
          prn
          eventCursor
          status
          type
          reason
          createdBy
          createdAt
          startedAt
          finishedAt
          parent {
            nodePath
            pipeline {
              id
              prn
            }
          }
          stages {
            id
            name
            status
            nodes {
              ...NodeFields
            }
          }
        }
      }
    }
  `,
  [NodeFields],
);

const Events = graphql(
  `
    subscription PipelineLive($id: ID!, $after: String) {
      pipelineEvents(pipelineId: $id, after: $after) {
        cursor
        eventType
        pipeline {
          id
          status
          reason
          startedAt
          finishedAt
          stages {
            id
            status
          }
        }
        node {
          ...NodeFields
        }
      }
    }
  `,
  [NodeFields],
);

type PipelineData = Extract<NonNullable<ResultOf<typeof Query>["node"]>, { stages: unknown }>;
type StageData = PipelineData["stages"][number];

/** Above this many nodes, stages start collapsed to per-status counts. */
const COLLAPSE_ABOVE = 300;

type PipelineRoute = Extract<Route, { page: "pipeline" }>;

export function Pipeline({ route }: { route: PipelineRoute }) {
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const prn = `prn:pipeline:${route.org}/${route.project}/${route.id}`;
  const [{ data, error }] = useQuery({ query: Query, variables: { prn } });
  const p = data?.node && "stages" in data.node ? (data.node as PipelineData) : null;
  // Follows from the cursor of the first answer; the client moves `after`
  // along as events arrive, so a reconnect resumes where it was.
  const after = useFirst(p?.eventCursor);
  const [live] = useSubscription({
    query: Events,
    variables: { id: p?.id ?? "", after: after ?? null },
    pause: !p,
  });
  if (error) return <Failure what="the pipeline" error={error} />;
  if (!data) return <Loading what="the pipeline" />;
  if (!p)
    return (
      <p>
        There is no pipeline {route.id} in {route.org}/{route.project}, or you may not see it.
      </p>
    );
  const select = (path?: string) => navigate(href({ ...route, node: path, attempt: undefined, line: undefined }), true);
  const setView = (view?: PipelineView) => navigate(href({ ...route, view }), true);
  const total = p.stages.reduce((n, st) => n + st.nodes.length, 0);
  return (
    <div className="pipeline-page">
      <section aria-labelledby="pipeline-title">
        <h2 id="pipeline-title">
          Pipeline {route.id.slice(0, 8)} <Status status={p.status} />
        </h2>
        <p className="muted">
          {p.type.toLowerCase()} · created by {p.createdBy} <Time at={p.createdAt} />
          {p.finishedAt && (
            <>
              {" "}
              · finished <Time at={p.finishedAt} />
            </>
          )}
        </p>
        {p.reason && <p className="error">{p.reason}</p>}
        <PipelineActions id={p.id} status={p.status} />
        {live.error && <Failure what="live updates" error={live.error} />}
        <p className="sr-only" aria-live="polite">
          {live.data ? eventWords(live.data.pipelineEvents.eventType) : ""}
        </p>
        <div className="row" role="group" aria-label="View">
          <button type="button" aria-pressed={route.view !== "list"} onClick={() => setView(undefined)}>
            Graph
          </button>
          <button type="button" aria-pressed={route.view === "list"} onClick={() => setView("list")}>
            List
          </button>
          <button type="button" aria-pressed={route.view === "timeline"} onClick={() => setView("timeline")}>
            Timeline
          </button>
        </div>
        {route.view === "list" ? (
          <NodeList route={route} stages={p.stages} onSelect={select} />
        ) : route.view === "timeline" ? (
          <Timeline pipelineId={p.id} onSelect={select} />
        ) : (
          <Suspense fallback={<Loading what="the graph" />}>
            <GraphView
              stages={p.stages}
              selected={route.node}
              onSelect={select}
              collapsed={(stage) => !(open[stage] ?? total <= COLLAPSE_ABOVE)}
              onToggle={
                total > COLLAPSE_ABOVE ? (stage) => setOpen({ ...open, [stage]: !(open[stage] ?? false) }) : undefined
              }
            />
          </Suspense>
        )}
      </section>
      {route.node && <NodePanel pipelineId={p.id} route={route} onClose={() => select(undefined)} />}
    </div>
  );
}

/** The nodes as a table, filtered by status and name (the filters are in the URL). */
function NodeList({
  route,
  stages,
  onSelect,
}: {
  route: PipelineRoute;
  stages: readonly StageData[];
  onSelect: (path: string) => void;
}) {
  const all = stages.flatMap((s) => s.nodes.map((n) => ({ ...n, stage: s.name })));
  const statuses = [...new Set(all.map((n) => n.status))].sort();
  const wanted = new Set(route.status ?? []);
  const text = (route.q ?? "").toLowerCase();
  const shown = all.filter(
    (n) => (wanted.size === 0 || wanted.has(n.status)) && (!text || n.path.toLowerCase().includes(text)),
  );
  const set = (change: Partial<PipelineRoute>) => navigate(href({ ...route, ...change }), true);
  return (
    <div className="node-list">
      <div className="row filters" role="group" aria-label="Filters">
        <input
          type="search"
          aria-label="Filter by name"
          placeholder="Filter by name"
          defaultValue={route.q ?? ""}
          onChange={(e) => set({ q: e.target.value || undefined })}
        />
        {statuses.map((st) => (
          <label key={st} className="chip">
            <input
              type="checkbox"
              checked={wanted.has(st)}
              onChange={(e) => {
                const next = new Set(wanted);
                if (e.target.checked) next.add(st);
                else next.delete(st);
                set({ status: next.size ? [...next].sort() : undefined });
              }}
            />{" "}
            {statusLook(st).word} ({all.filter((n) => n.status === st).length})
          </label>
        ))}
      </div>
      <table>
        <thead>
          <tr>
            <th>Stage</th>
            <th>Node</th>
            <th>Section</th>
            <th>Status</th>
            <th>Started</th>
            <th>Finished</th>
          </tr>
        </thead>
        <tbody>
          {shown.slice(0, 1000).map((n) => (
            <tr key={n.id}>
              <td>{n.stage}</td>
              <td>
                <button type="button" className="link" onClick={() => onSelect(n.path)}>
                  {n.name}
                </button>
              </td>
              <td>{n.section}</td>
              <td>
                <Status status={n.status} />
              </td>
              <td>
                <Time at={n.startedAt} />
              </td>
              <td>
                <Time at={n.finishedAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length > 1000 && <p className="muted">The first 1,000 of {shown.length}: narrow the filters.</p>}
    </div>
  );
}
