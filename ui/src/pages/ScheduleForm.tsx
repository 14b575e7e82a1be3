// A node's schedule, editable until it starts (updatePipelineNodeSchedule):
// a time, a cron expression in a time zone (its next time is worked out
// when the node is ready), or none. The server validates it as it
// validates the template's and answers with problems.
import { useState, type FormEvent } from "react";
import { useMutation } from "urql";
import { graphql, ProblemFields } from "../gql";
import { problemLines } from "../graphql";

const Update = graphql(
  `
    mutation UpdateSchedule($i: UpdatePipelineNodeScheduleInput!) {
      updatePipelineNodeSchedule(input: $i) {
        pipeline {
          id
        }
        problems {
          ...ProblemFields
        }
      }
    }
  `,
  [ProblemFields],
);

type Kind = "none" | "DATETIME" | "CRON";

/** `datetime-local`'s value (the browser's zone) as RFC 3339 in UTC. */
export function localToRfc3339(local: string): string {
  return new Date(local).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function ScheduleForm({ pipelineId, path, onSaved }: { pipelineId: string; path: string; onSaved: () => void }) {
  const [kind, setKind] = useState<Kind>("DATETIME");
  const [when, setWhen] = useState("");
  const [expression, setExpression] = useState("");
  const [timezone, setTimezone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  const [outcome, setOutcome] = useState("");
  const [, update] = useMutation(Update);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const schedule =
      kind === "none"
        ? null
        : kind === "DATETIME"
          ? { type: "DATETIME" as const, value: when ? localToRfc3339(when) : "" }
          : { type: "CRON" as const, expression, timezone };
    const r = await update({ i: { pipelineId, nodePath: path, schedule } });
    const problems = r.data?.updatePipelineNodeSchedule.problems ?? [];
    if (r.error) setOutcome(r.error.message);
    else if (problems.length) setOutcome(problemLines(problems).join("\n"));
    else {
      setOutcome("Schedule saved.");
      onSaved();
    }
  };
  return (
    <form className="schedule" onSubmit={(e) => void submit(e)} aria-label="Schedule">
      <fieldset>
        <legend>Schedule</legend>
        {(["DATETIME", "CRON", "none"] as Kind[]).map((k) => (
          <label key={k} className="chip">
            <input type="radio" name="kind" checked={kind === k} onChange={() => setKind(k)} />{" "}
            {k === "DATETIME" ? "At a time" : k === "CRON" ? "Cron" : "No schedule"}
          </label>
        ))}
        {kind === "DATETIME" && (
          <label>
            Start at (your time zone)
            <input type="datetime-local" required value={when} onChange={(e) => setWhen(e.target.value)} />
          </label>
        )}
        {kind === "CRON" && (
          <>
            <label>
              Cron expression (5 fields)
              <input
                required
                value={expression}
                placeholder="0 9 * * 1-5"
                onChange={(e) => setExpression(e.target.value)}
              />
            </label>
            <label>
              Time zone
              <input required value={timezone} onChange={(e) => setTimezone(e.target.value)} />
            </label>
          </>
        )}
        <button type="submit">Save the schedule</button>
      </fieldset>
      <p role="status" className={outcome && outcome !== "Schedule saved." ? "error" : "ok"}>
        {outcome}
      </p>
    </form>
  );
}
