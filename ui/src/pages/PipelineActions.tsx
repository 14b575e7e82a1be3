// What may be done to a whole pipeline: Cancel (Force cancel once it is
// CANCELING), shown only when `viewerCanCancel` is true, confirmed first.
import { useEffect, useRef, useState } from "react";
import { useClient, useMutation } from "urql";
import { graphql, ProblemFields } from "../gql";
import { problemLines } from "../graphql";

const Query = graphql(`
  query PipelineAbilities($id: ID!) {
    pipeline(id: $id) {
      id
      viewerCanCancel
    }
  }
`);

const Cancel = graphql(
  `
    mutation CancelPipeline($i: CancelPipelineInput!) {
      cancelPipeline(input: $i) {
        pipeline {
          id
          status
        }
        problems {
          ...ProblemFields
        }
      }
    }
  `,
  [ProblemFields],
);

export function PipelineActions({ id, status }: { id: string; status: string }) {
  const client = useClient();
  const [canCancel, setCanCancel] = useState(false);
  // What the caller may do changes with the status: ask again at each
  // change, and keep only the answer to the last question (answers can
  // arrive out of order: one asked while RUNNING, after the one asked once
  // SUCCEEDED, showed Cancel on a finished pipeline).
  const asked = useRef(0);
  useEffect(() => {
    const mine = ++asked.current;
    void client
      .query(Query, { id }, { requestPolicy: "network-only" })
      .toPromise()
      .then((r) => {
        if (mine === asked.current) setCanCancel(Boolean(r.data?.pipeline?.viewerCanCancel));
      });
  }, [client, id, status]);
  const [, cancel] = useMutation(Cancel);
  const [confirm, setConfirm] = useState(false);
  const [outcome, setOutcome] = useState("");
  if (!canCancel) return outcome ? <p role="status">{outcome}</p> : null;
  const force = status === "CANCELING";
  const label = force ? "Force cancel" : "Cancel pipeline";
  const send = async () => {
    setConfirm(false);
    const r = await cancel({ i: { id, force } });
    const problems = r.data?.cancelPipeline.problems ?? [];
    setOutcome(r.error ? r.error.message : problems.length ? problemLines(problems).join("\n") : `${label}: accepted.`);
  };
  return (
    <div className="row actions">
      {confirm ? (
        <div role="dialog" aria-label={`Confirm ${label.toLowerCase()}`} className="confirm">
          <p>
            {force
              ? "Force: every node and job is CANCELED at once, and whatever the executors still report is refused."
              : "Cancel every node of this pipeline: running jobs get SIGTERM, then SIGKILL after the grace period; nodes not started are canceled."}
          </p>
          <button type="button" autoFocus onClick={() => void send()}>
            {label}
          </button>
          <button type="button" onClick={() => setConfirm(false)}>
            Keep it running
          </button>
        </div>
      ) : (
        <button type="button" onClick={() => setConfirm(true)}>
          {label}
        </button>
      )}
      {outcome && <p role="status">{outcome}</p>}
    </div>
  );
}
