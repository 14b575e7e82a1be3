// A pipeline's history, oldest first: each event of the pipeline and of its
// jobs, who did it and when (`pipelineEvents`), read in pages and then
// followed live from the last one read, so nothing is missed or shown twice.
import { useEffect, useRef, useState } from "react";
import { useClient, useSubscription } from "urql";
import { graphql, type ResultOf } from "../gql";
import { Time } from "./common";

const Row = graphql(`
  fragment TimelineRow on PipelineEvent {
    cursor
    eventType
    aggregateType
    actor
    recordedAt
    node {
      id
      path
    }
  }
`);

const Page = graphql(
  `
    query PipelineTimeline($id: ID!, $after: String, $first: Int) {
      pipelineEvents(pipelineId: $id, after: $after, first: $first) {
        ...TimelineRow
      }
    }
  `,
  [Row],
);

const Live = graphql(
  `
    subscription PipelineTimelineLive($id: ID!, $after: String) {
      pipelineEvents(pipelineId: $id, after: $after) {
        ...TimelineRow
      }
    }
  `,
  [Row],
);

type Event = ResultOf<typeof Row>;

/** Events read per page (the older ones stay in the log, a click away). */
export const TIMELINE_PAGE = 500;

/** `NodeSucceeded` → `node succeeded`. */
export const eventWords = (t: string) => t.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();

export function Timeline({ pipelineId, onSelect }: { pipelineId: string; onSelect: (path: string) => void }) {
  const client = useClient();
  const [pages, setPages] = useState<Event[][]>([]);
  const [more, setMore] = useState(true);
  const [failure, setFailure] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const busy = useRef(false);
  const read = pages.flat();
  const last = read.length ? read[read.length - 1].cursor : null;
  // One page at a time, each after the last event read.
  const next = () => {
    if (busy.current) return;
    busy.current = true;
    setLoading(true);
    void client
      .query(Page, { id: pipelineId, after: last, first: TIMELINE_PAGE }, { requestPolicy: "network-only" })
      .toPromise()
      .then((r) => {
        busy.current = false;
        setLoading(false);
        if (r.error) return setFailure(r.error.message);
        const got = r.data?.pipelineEvents ?? [];
        setPages((p) => [...p, got]);
        setMore(got.length === TIMELINE_PAGE);
      });
  };
  // The first page, once.
  useEffect(next, []); // eslint-disable-line react-hooks/exhaustive-deps
  // Once every page is read, what happens next arrives by itself.
  const caughtUp = pages.length > 0 && !more;
  const [{ data: fresh }] = useSubscription(
    { query: Live, variables: { id: pipelineId, after: last }, pause: !caughtUp },
    (seen: Event[] = [], d) => [...seen, d.pipelineEvents],
  );
  if (failure) return <p className="error">Could not read the pipeline's events: {failure}</p>;
  const all = [...read, ...(caughtUp ? (fresh ?? []) : [])];
  return (
    <div className="timeline">
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>What</th>
            <th>Node</th>
          </tr>
        </thead>
        <tbody aria-live="polite">
          {all.map((e) => (
            <tr key={e.cursor}>
              <td>
                <Time at={e.recordedAt} />
              </td>
              <td>{e.actor}</td>
              <td>{eventWords(e.eventType)}</td>
              <td>
                {e.node && (
                  <button type="button" className="link" onClick={() => onSelect(e.node!.path)}>
                    <code>{e.node.path}</code>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {loading && <p className="muted">Loading events…</p>}
      {more && !loading && pages.length > 0 && (
        <button type="button" onClick={next}>
          Show the next {TIMELINE_PAGE} events
        </button>
      )}
    </div>
  );
}
