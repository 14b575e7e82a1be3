// Small pieces every page uses.
import { useState, type FormEvent } from "react";
import type { CombinedError } from "urql";
import { statusLook } from "../status";
import { problemLines } from "../graphql";

export function Status({ status }: { status: string }) {
  const look = statusLook(status);
  return (
    <span className={`status tone-${look.tone}`} data-status={status}>
      <span aria-hidden="true">{look.icon}</span> {look.word}
    </span>
  );
}

/** A time in the browser's time zone, with UTC on hover. */
export function Time({ at }: { at?: string | null }) {
  if (!at) return <span className="muted">—</span>;
  const d = new Date(at);
  return (
    <time
      dateTime={at}
      title={d
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, " UTC")}
    >
      {d.toLocaleString()}
    </time>
  );
}

/** What failed, and what to do. */
export function Failure({ what, error }: { what: string; error: CombinedError }) {
  const message = error.networkError
    ? `the server cannot be reached (${error.networkError.message}); check that phobos is running`
    : error.graphQLErrors.map((e) => e.message).join("; ");
  return (
    <p className="error" role="alert">
      Could not load {what}: {message}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return <p className="muted">Loading {what}…</p>;
}

/** The id at the end of a PRN (`prn:pipeline:ORG/PROJECT/ID` → `ID`): what page URLs use. */
export const lastSegment = (prn: string) => prn.slice(prn.lastIndexOf("/") + 1);

/**
 * The first value that is not `undefined`, kept for the component's life:
 * the cursor a live page subscribes from (the client moves it along, so a
 * refetch must not start the subscription again).
 */
export function useFirst<T>(value: T | undefined): T | undefined {
  const [first] = useState<{ value?: T }>({});
  if (first.value === undefined && value !== undefined) first.value = value;
  return first.value;
}

/**
 * The UUID inside a pipeline's global id (`base64url("Pipeline:<uuid>")`,
 * api/src/graphql/ids.rs), for its page's URL; null for any other id.
 */
export function pipelineUuid(globalId: string): string | null {
  try {
    const text = atob(globalId.replace(/-/g, "+").replace(/_/g, "/"));
    const m = /^Pipeline:([0-9a-f-]{36})$/.exec(text);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

/**
 * A filter by actor (`user:alice`, or a name alone), applied when Enter is
 * pressed or the field is left, not at each keystroke. Give it the value as
 * its `key` too, so Back or a new URL resets the text.
 */
export function ActorFilter({
  label,
  value,
  onChange,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
}) {
  const [text, setText] = useState(value);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onChange(text.trim());
  };
  return (
    <span role="search">
      <label>
        {label}{" "}
        <input
          value={text}
          placeholder="user:alice"
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && submit(e)}
          onBlur={() => text.trim() !== value && onChange(text.trim())}
        />
      </label>
    </span>
  );
}

/** Names separated by commas or spaces, each once (tags, users, teams…). */
export const namesOf = (text: string) => [...new Set(text.split(/[\s,]+/).filter(Boolean))];

/**
 * What a mutation's answer says, for a status line: its transport error, its
 * problems, or null when it did what was asked.
 */
export function failureOf(
  error: { message: string } | undefined,
  problems: readonly { field?: string | null; message: string; line?: number | null; column?: number | null }[],
): string | null {
  if (error) return error.message;
  if (problems.length) return `Not saved: ${problemLines(problems).join("\n")}`;
  return null;
}
