// A pipeline: its stage graph, live. The query reads the pipeline with
// `eventCursor`; the pipelineEvents subscription follows it from that
// cursor, each event carrying the node and pipeline it changed (their state
// when delivered, never older than what the query read), which the
// normalized cache writes over the same objects the graph shows.
import { useMemo, useState } from "react";
import { useQuery, useSubscription } from "urql";
import { graphql, type ResultOf } from "../gql";
import { href, navigate, type Route } from "../router";
import { layout } from "../layout";
import { statusLook } from "../status";
import { Failure, Loading, Status, Time } from "./common";
import { NodePanel } from "./NodePanel";

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

export function Pipeline({ route }: { route: Extract<Route, { page: "pipeline" }> }) {
  const prn = `prn:pipeline:${route.org}/${route.project}/${route.id}`;
  const [{ data, error }] = useQuery({ query: Query, variables: { prn } });
  const p = data?.node && "stages" in data.node ? (data.node as PipelineData) : null;
  // Follows from the cursor of the first answer; the client moves `after`
  // along as events arrive, so a reconnect resumes where it was.
  const [cursor] = useState<{ value?: string | null }>({});
  if (p && cursor.value === undefined) cursor.value = p.eventCursor;
  const [live] = useSubscription({
    query: Events,
    variables: { id: p?.id ?? "", after: cursor.value ?? null },
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
        {live.error && <Failure what="live updates" error={live.error} />}
        <p className="sr-only" aria-live="polite">
          {live.data ? `${live.data.pipelineEvents.eventType.replace(/([a-z])([A-Z])/g, "$1 $2")}` : ""}
        </p>
        <Graph stages={p.stages} selected={route.node} onSelect={select} />
      </section>
      {route.node && <NodePanel pipelineId={p.id} route={route} onClose={() => select(undefined)} />}
    </div>
  );
}

function Graph({
  stages,
  selected,
  onSelect,
}: {
  stages: readonly StageData[];
  selected?: string;
  onSelect: (path: string) => void;
}) {
  const total = stages.reduce((n, s) => n + s.nodes.length, 0);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const shown = stages.map((s) => ({
    name: s.name,
    nodes: s.nodes,
    collapsed: !(open[s.name] ?? total <= COLLAPSE_ABOVE),
  }));
  // The layout depends on the shape only, not on statuses.
  const shape = JSON.stringify(shown.map((s) => [s.name, s.collapsed, s.nodes.map((n) => n.path)]));
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const placed = useMemo(() => layout(shown), [shape]);
  return (
    <div className="graph" role="group" aria-label="Stages and nodes">
      <div className="canvas" style={{ width: placed.width, height: placed.height }}>
        <svg className="edges" width={placed.width} height={placed.height} aria-hidden="true">
          {placed.edges.map((e) => {
            const a = placed.nodes.get(e.from)!;
            const b = placed.nodes.get(e.to)!;
            return <line key={`${e.from}>${e.to}`} x1={a.x + a.w} y1={a.y + a.h / 2} x2={b.x} y2={b.y + b.h / 2} />;
          })}
        </svg>
        {placed.stages.map((box, i) => {
          const s = stages[i];
          const counts = new Map<string, number>();
          for (const n of s.nodes) counts.set(n.status, (counts.get(n.status) ?? 0) + 1);
          return (
            <div key={s.id} className="stage" style={at(box)}>
              <div className="stage-head">
                <strong>{s.name}</strong> <Status status={s.status} />{" "}
                {total > COLLAPSE_ABOVE && (
                  <button
                    type="button"
                    className="link"
                    aria-expanded={!shown[i].collapsed}
                    onClick={() => setOpen({ ...open, [s.name]: shown[i].collapsed })}
                  >
                    {shown[i].collapsed ? "show nodes" : "collapse"}
                  </button>
                )}
              </div>
              {shown[i].collapsed && (
                <ul className="counts">
                  {[...counts].map(([status, n]) => (
                    <li key={status}>
                      {n} {statusLook(status).word.toLowerCase()}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          );
        })}
        {stages.flatMap((s) =>
          s.nodes.map((n) => {
            const box = placed.nodes.get(n.path);
            if (!box) return null;
            const look = statusLook(n.status);
            return (
              <button
                key={n.id}
                type="button"
                className={`node tone-${look.tone}${selected === n.path ? " selected" : ""}`}
                data-path={n.path}
                data-status={n.status}
                aria-pressed={selected === n.path}
                aria-label={`${n.name} (${n.section}), ${look.word}`}
                style={at(box)}
                onClick={() => onSelect(n.path)}
              >
                <span aria-hidden="true">{look.icon}</span> {n.name}
                {n.section !== "main" && <span className="muted"> · {n.section}</span>}
              </button>
            );
          }),
        )}
      </div>
    </div>
  );
}

/**
 * A box's position. React sets it through the CSSOM, which the
 * Content-Security-Policy allows (it forbids style attributes in markup).
 */
function at(box: { x: number; y: number; w: number; h: number }) {
  return { left: box.x, top: box.y, width: box.w, height: box.h };
}
