// A job's log: follows the live tail (jobLogEvents from offset 0; the
// client resumes from the last offset after a reconnect), stops following
// when the user scrolls up (Follow resumes), ANSI styles, line numbers as
// links (`?line=N`), search over every line, top/bottom, and the raw
// download. Only the lines on screen are in the DOM, so 100,000 lines
// scroll smoothly.
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { print } from "@0no-co/graphql.web";
import { subscribeFollowing, useSocket } from "../client";
import { graphql, type ResultOf } from "../gql";
import type { Style } from "../ansi";
import { LogLines } from "../log";
import { href, navigate, type Route } from "../router";
import { useSession } from "../session";

const Events = graphql(`
  subscription JobLog($jobId: ID!, $offset: Int) {
    jobLogEvents(jobId: $jobId, offset: $offset) {
      offset
      nextOffset
      text
    }
  }
`);

/** Must match `.log .line` in style.css. */
const LINE = 18;
const OVERSCAN = 30;

function css(style: Style) {
  const c = (v?: string) => (v === undefined ? undefined : v.startsWith("p") ? `var(--ansi-${v.slice(1)})` : v);
  return {
    color: c(style.fg),
    backgroundColor: c(style.bg),
    fontWeight: style.bold ? 700 : undefined,
    opacity: style.dim ? 0.7 : undefined,
    fontStyle: style.italic ? "italic" : undefined,
    textDecoration: style.underline ? "underline" : undefined,
  };
}

export function LogView({ jobId, route }: { jobId: string; route: Extract<Route, { page: "pipeline" }> }) {
  const ws = useSocket();
  const session = useSession();
  const [log] = useState(() => new LogLines());
  const [, setVersion] = useState(0);
  const [following, setFollowing] = useState(route.line === undefined);
  const [top, setTop] = useState(0);
  const [query, setQuery] = useState("");
  const [match, setMatch] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const programmatic = useRef(false);

  useEffect(() => {
    let frame = 0;
    // Straight on the socket: the text is not kept in the normalized cache.
    const stop = subscribeFollowing<ResultOf<typeof Events>>(
      ws,
      print(Events),
      { jobId, offset: log.end },
      {
        next: (r) => {
          const e = r.data?.jobLogEvents;
          if (e) {
            log.appendAt(e.offset, e.nextOffset, e.text);
            if (!frame) frame = requestAnimationFrame(() => ((frame = 0), setVersion((v) => v + 1)));
          }
        },
        error: () => setVersion((v) => v + 1),
        complete: () => {},
      },
    );
    return () => {
      stop();
      cancelAnimationFrame(frame);
    };
  }, [ws, jobId, log]);

  const scrollTo = (line: number) => {
    const el = box.current;
    if (!el) return;
    programmatic.current = true;
    el.scrollTop = Math.max(0, (line - 1) * LINE - el.clientHeight / 3);
  };
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    if (following) {
      programmatic.current = true;
      el.scrollTop = el.scrollHeight;
    }
  });
  useEffect(() => {
    if (route.line) scrollTo(route.line);
  }, [route.line]);

  const matches = log.search(query);
  const current = matches.length ? matches[Math.min(match, matches.length - 1)] : undefined;
  const height = box.current?.clientHeight ?? 480;
  const first = Math.max(0, Math.floor(top / LINE) - OVERSCAN);
  const last = Math.min(log.count, Math.ceil((top + height) / LINE) + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) {
    const n = i + 1;
    const cls = `line${n === route.line ? " target" : ""}${n === current ? " match" : ""}`;
    rows.push(
      <div key={i} className={cls} style={{ top: i * LINE }}>
        <a
          className="no"
          href={href({ ...route, line: n })}
          onClick={(e) => {
            e.preventDefault();
            setFollowing(false);
            navigate(href({ ...route, line: n }), true);
          }}
        >
          {n}
        </a>
        {log.lines[i].map((s, j) => (
          <span key={j} style={css(s.style)}>
            {s.text}
          </span>
        ))}
      </div>,
    );
  }
  const download = async () => {
    const r = await fetch(`/jobs/${encodeURIComponent(jobId)}/log`, {
      headers: session ? { Authorization: `Bearer ${session.token}` } : {},
    });
    if (!r.ok) return alert(`The log could not be downloaded: the server answered ${r.status}.`);
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = `job-${jobId}.log`;
    a.click();
    URL.revokeObjectURL(url);
  };
  return (
    <section className="logs" aria-label="Log">
      <div className="row toolbar">
        <input
          type="search"
          placeholder="Search the whole log"
          aria-label="Search the whole log"
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setMatch(0);
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && matches.length) {
              const next = (match + (e.shiftKey ? matches.length - 1 : 1)) % matches.length;
              setMatch(next);
              setFollowing(false);
              scrollTo(matches[next]);
            }
          }}
        />
        {query && (
          <span aria-live="polite">
            {matches.length ? `${Math.min(match, matches.length - 1) + 1} of ${matches.length}` : "no match"}
          </span>
        )}
        <span className="spacer" />
        <button type="button" onClick={() => (setFollowing(false), scrollTo(1))}>
          Top
        </button>
        <button type="button" onClick={() => setFollowing(true)} aria-pressed={following}>
          {following ? "Following" : "Follow"}
        </button>
        <button type="button" onClick={() => void download()}>
          Download
        </button>
      </div>
      <div
        className="log"
        ref={box}
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          setTop(el.scrollTop);
          if (programmatic.current) {
            programmatic.current = false;
            return;
          }
          const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - LINE;
          if (!atBottom && following) setFollowing(false);
          if (atBottom && !following) setFollowing(true);
        }}
      >
        <div className="lines" style={{ height: log.count * LINE }}>
          {rows}
        </div>
      </div>
      {log.count === 0 && <p className="muted">No output yet.</p>}
    </section>
  );
}
