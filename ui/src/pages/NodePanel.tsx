// A node's details, beside the graph, with its own URL (`?node=PATH`):
// status and reason, its attempts oldest first, the actions the caller may
// take (only those whose `viewerCan…` is true, each confirmed first), and
// the log of the chosen attempt.
import { useEffect, useState } from "react";
import { useMutation, useQuery } from "urql";
import { graphql, ProblemFields } from "../gql";
import { problemLines } from "../graphql";
import { href, navigate, type Route } from "../router";
import { Failure, Loading, Status, Time } from "./common";
import { LogView } from "./LogView";

const Query = graphql(`
  query NodeDetails($pipelineId: ID!, $path: String!) {
    pipeline(id: $pipelineId) {
      id
      node(path: $path) {
        id
        path
        name
        kind
        section
        status
        reason
        scheduledStartTime
        startedAt
        finishedAt
        viewerCanStart
        viewerCanCancel
        viewerCanRetry
        viewerCanApprove
        attempts {
          number
          status
          startedAt
          finishedAt
          job {
            id
            status
          }
        }
        childPipeline {
          id
          prn
          status
        }
      }
    }
  }
`);

/** What every node mutation answers: the pipeline, or why nothing changed. */
const Outcome = graphql(
  `
    fragment Outcome on PipelinePayload {
      pipeline {
        id
        status
      }
      problems {
        ...ProblemFields
      }
    }
  `,
  [ProblemFields],
);

const Start = graphql(
  `
    mutation StartNode($i: StartPipelineNodeInput!) {
      startPipelineNode(input: $i) {
        ...Outcome
      }
    }
  `,
  [Outcome],
);
const Cancel = graphql(
  `
    mutation CancelNode($i: CancelPipelineNodeInput!) {
      cancelPipelineNode(input: $i) {
        ...Outcome
      }
    }
  `,
  [Outcome],
);
const Retry = graphql(
  `
    mutation RetryNode($i: RetryPipelineNodeInput!) {
      retryPipelineNode(input: $i) {
        ...Outcome
      }
    }
  `,
  [Outcome],
);
const Approve = graphql(
  `
    mutation ApproveNode($i: PipelineNodeApprovalInput!) {
      approvePipelineNode(input: $i) {
        ...Outcome
      }
    }
  `,
  [Outcome],
);

type Action = "start" | "cancel" | "retry" | "approve";
const WHAT: Record<Action, string> = {
  start: "Start this node now: it has been waiting for someone to start it.",
  cancel: "Cancel this node: its job gets SIGTERM, then SIGKILL after the grace period.",
  retry: "Run this node again as a new attempt; what succeeded does not run again.",
  approve: "Approve this node: when its rules are met, it goes on.",
};

export function NodePanel({
  pipelineId,
  route,
  onClose,
}: {
  pipelineId: string;
  route: Extract<Route, { page: "pipeline" }>;
  onClose: () => void;
}) {
  const path = route.node!;
  const [{ data, error }, refetch] = useQuery({
    query: Query,
    variables: { pipelineId, path },
    requestPolicy: "cache-and-network",
  });
  const node = data?.pipeline?.node;
  // What the caller may do changes with the node's status: ask again.
  const status = node?.status;
  useEffect(() => {
    if (status) refetch({ requestPolicy: "network-only" });
  }, [status, refetch]);
  const [confirm, setConfirm] = useState<Action | null>(null);
  const [outcome, setOutcome] = useState<string>("");
  const [, start] = useMutation(Start);
  const [, cancel] = useMutation(Cancel);
  const [, retry] = useMutation(Retry);
  const [, approve] = useMutation(Approve);
  if (error) return <Failure what={`node ${path}`} error={error} />;
  if (!data) return <Loading what={`node ${path}`} />;
  if (!node) return <p>This pipeline has no node {path}.</p>;
  const attempts = node.attempts;
  const chosen = attempts.find((a) => a.number === route.attempt) ?? attempts[attempts.length - 1];
  const act = async (a: Action) => {
    setConfirm(null);
    const i = { pipelineId, nodePath: path };
    const r =
      a === "start"
        ? (await start({ i })).data?.startPipelineNode
        : a === "cancel"
          ? (await cancel({ i: { ...i, force: node.status === "CANCELING" } })).data?.cancelPipelineNode
          : a === "retry"
            ? (await retry({ i })).data?.retryPipelineNode
            : (await approve({ i })).data?.approvePipelineNode;
    const problems = r?.problems ?? [{ message: "the server gave no answer", field: null, line: null, column: null }];
    setOutcome(problems.length ? problemLines(problems).join("\n") : `${a}: done`);
    refetch({ requestPolicy: "network-only" });
  };
  const can: Record<Action, boolean> = {
    start: node.viewerCanStart,
    cancel: node.viewerCanCancel,
    retry: node.viewerCanRetry,
    approve: node.viewerCanApprove,
  };
  return (
    <aside className="panel" aria-labelledby="node-title">
      <div className="row">
        <h3 id="node-title">
          {node.name} <Status status={node.status} />
        </h3>
        <span className="spacer" />
        <button type="button" onClick={onClose} aria-label="Close the node's details">
          ✕
        </button>
      </div>
      <p className="muted">
        <code>{node.path}</code> · {node.kind} · {node.section}
      </p>
      {node.reason && <p className="error">{node.reason}</p>}
      <dl>
        {node.scheduledStartTime && (
          <>
            <dt>Scheduled</dt>
            <dd>
              <Time at={node.scheduledStartTime} />
            </dd>
          </>
        )}
        <dt>Started</dt>
        <dd>
          <Time at={node.startedAt} />
        </dd>
        <dt>Finished</dt>
        <dd>
          <Time at={node.finishedAt} />
        </dd>
      </dl>
      {node.childPipeline && (
        <p>
          Runs pipeline{" "}
          <a
            href={href({ ...route, id: node.childPipeline.prn.split("/").pop()!, node: undefined })}
            onClick={(e) => {
              e.preventDefault();
              navigate(href({ ...route, id: node.childPipeline!.prn.split("/").pop()!, node: undefined }));
            }}
          >
            {node.childPipeline.prn.split("/").pop()!.slice(0, 8)}
          </a>{" "}
          <Status status={node.childPipeline.status} />
        </p>
      )}
      <div className="row actions">
        {(Object.keys(can) as Action[])
          .filter((a) => can[a])
          .map((a) => (
            <button key={a} type="button" onClick={() => setConfirm(a)}>
              {a[0].toUpperCase() + a.slice(1)}
            </button>
          ))}
      </div>
      {confirm && (
        <div role="dialog" aria-label={`Confirm ${confirm}`} className="confirm">
          <p>{WHAT[confirm]}</p>
          <button type="button" autoFocus onClick={() => void act(confirm)}>
            {confirm[0].toUpperCase() + confirm.slice(1)}
          </button>
          <button type="button" onClick={() => setConfirm(null)}>
            Keep as it is
          </button>
        </div>
      )}
      <p role="status" className="outcome">
        {outcome}
      </p>
      {attempts.length > 0 && (
        <>
          <h4>Attempts</h4>
          <ol className="attempts">
            {attempts.map((a) => (
              <li key={a.number}>
                <a
                  href={href({ ...route, attempt: a.number, line: undefined })}
                  aria-current={a === chosen ? "true" : undefined}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(href({ ...route, attempt: a.number, line: undefined }), true);
                  }}
                >
                  #{a.number}
                </a>{" "}
                <Status status={a.status} /> <Time at={a.startedAt} /> → <Time at={a.finishedAt} />
              </li>
            ))}
          </ol>
        </>
      )}
      {chosen && <LogView key={chosen.job.id} jobId={chosen.job.id} route={route} />}
    </aside>
  );
}
