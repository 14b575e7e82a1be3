// What may be done to a whole pipeline: Cancel (Force cancel once it is
// CANCELING), shown only when `viewerCanCancel` is true, confirmed first.
import { useEffect, useState } from "react";
import { useMutation, useQuery } from "urql";
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
  const [{ data }, refetch] = useQuery({ query: Query, variables: { id } });
  // What the caller may do changes with the status: ask again.
  useEffect(() => {
    refetch({ requestPolicy: "network-only" });
  }, [status, refetch]);
  const [, cancel] = useMutation(Cancel);
  const [confirm, setConfirm] = useState(false);
  const [outcome, setOutcome] = useState("");
  if (!data?.pipeline?.viewerCanCancel) return outcome ? <p role="status">{outcome}</p> : null;
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
