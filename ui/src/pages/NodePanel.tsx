// A node's details, beside the graph, with its own URL (`?node=PATH`):
// status and reason, its attempts oldest first, the actions the caller may
// take (only those whose `viewerCan…` is true, each confirmed first), and
// the log of the chosen attempt.
import { useEffect, useState } from "react";
import { useMutation, useQuery } from "urql";
import { graphql, ProblemFields } from "../gql";
import { problemLines } from "../graphql";
import { href, navigate, type Route } from "../router";
import { Failure, lastSegment, Loading, Status, Time } from "./common";
import { LogView } from "./LogView";
import { ScheduleForm } from "./ScheduleForm";

/** The states in which a node's schedule may still change. */
const NOT_STARTED = new Set(["CREATED", "BLOCKED", "APPROVAL_PENDING", "WAITING", "SCHEDULED"]);

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
        viewerCanReject
        viewerCanRevoke
        approval {
          satisfied
          rules {
            ruleId
            name
            approvalsRequired
            approvalsReceived
            remaining
            allowSelfApproval
          }
          approvals {
            principal {
              name
            }
            at
          }
          rejections {
            principal {
              name
            }
            comment
            at
          }
          override {
            by
            comment
            at
          }
        }
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

/** Starts a node that waits for someone (the release page starts deployments with it). */
export const StartNode = graphql(
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

const Reject = graphql(
  `
    mutation RejectNode($i: PipelineNodeCommentInput!) {
      rejectPipelineNode(input: $i) {
        ...Outcome
      }
    }
  `,
  [Outcome],
);
const Revoke = graphql(
  `
    mutation RevokeNode($i: PipelineNodeApprovalInput!) {
      revokePipelineNodeApproval(input: $i) {
        ...Outcome
      }
    }
  `,
  [Outcome],
);

type Action = "start" | "cancel" | "retry" | "approve" | "reject" | "revoke";
const WHAT: Record<Action, string> = {
  start: "Start this node now: it has been waiting for someone to start it.",
  cancel: "Cancel this node: its job gets SIGTERM, then SIGKILL after the grace period.",
  retry: "Run this node again as a new attempt; what succeeded does not run again.",
  approve: "Approve this node: when its rules are met, it goes on.",
  reject: "Reject this node: your comment is recorded; the node stays pending (a rejection is advisory).",
  revoke: "Take back your approval: the node waits for its rules again.",
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
  const [, start] = useMutation(StartNode);
  const [, cancel] = useMutation(Cancel);
  const [, retry] = useMutation(Retry);
  const [, approve] = useMutation(Approve);
  const [, reject] = useMutation(Reject);
  const [, revoke] = useMutation(Revoke);
  const [comment, setComment] = useState("");
  if (error) return <Failure what={`node ${path}`} error={error} />;
  if (!data) return <Loading what={`node ${path}`} />;
  if (!node) return <p>This pipeline has no node {path}.</p>;
  const attempts = node.attempts;
  const chosen = attempts.find((a) => a.number === route.attempt) ?? attempts[attempts.length - 1];
  const act = async (a: Action) => {
    setConfirm(null);
    const i = { pipelineId, nodePath: path };
    const send = {
      start: async () => (await start({ i })).data?.startPipelineNode,
      cancel: async () => (await cancel({ i: { ...i, force: node.status === "CANCELING" } })).data?.cancelPipelineNode,
      retry: async () => (await retry({ i })).data?.retryPipelineNode,
      approve: async () => (await approve({ i })).data?.approvePipelineNode,
      reject: async () => (await reject({ i: { ...i, comment } })).data?.rejectPipelineNode,
      revoke: async () => (await revoke({ i })).data?.revokePipelineNodeApproval,
    };
    const r = await send[a]();
    setComment("");
    const problems = r?.problems ?? [{ message: "the server gave no answer", field: null, line: null, column: null }];
    setOutcome(problems.length ? problemLines(problems).join("\n") : `${a[0].toUpperCase() + a.slice(1)}: accepted.`);
    refetch({ requestPolicy: "network-only" });
  };
  const can: Record<Action, boolean> = {
    start: node.viewerCanStart,
    cancel: node.viewerCanCancel,
    retry: node.viewerCanRetry,
    approve: node.viewerCanApprove,
    reject: node.viewerCanReject,
    revoke: node.viewerCanRevoke,
  };
  const approval = node.approval;
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
      {!node.startedAt && NOT_STARTED.has(node.status) && (
        <ScheduleForm pipelineId={pipelineId} path={path} onSaved={() => refetch({ requestPolicy: "network-only" })} />
      )}
      {node.childPipeline && (
        <p>
          Runs pipeline{" "}
          <a
            href={href({ ...route, id: lastSegment(node.childPipeline.prn), node: undefined })}
            onClick={(e) => {
              e.preventDefault();
              navigate(href({ ...route, id: lastSegment(node.childPipeline!.prn), node: undefined }));
            }}
          >
            {lastSegment(node.childPipeline.prn).slice(0, 8)}
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
          {confirm === "reject" && (
            <label>
              Why
              <textarea value={comment} onChange={(e) => setComment(e.target.value)} rows={2} />
            </label>
          )}
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
      {approval && (
        <section aria-labelledby="approval-title">
          <h4 id="approval-title">
            Approval {approval.satisfied ? <Status status="APPROVED" /> : <Status status="APPROVAL_PENDING" />}
          </h4>
          <ul className="rules">
            {approval.rules.map((r) => (
              <li key={r.ruleId}>
                <strong>{r.name}</strong>: {r.approvalsReceived} of {r.approvalsRequired}
                {r.remaining > 0 && <span className="muted"> ({r.remaining} still needed)</span>}
                {!r.allowSelfApproval && <span className="muted"> · not by the pipeline's creator</span>}
              </li>
            ))}
          </ul>
          {approval.approvals.length + approval.rejections.length > 0 && (
            <ul className="decisions">
              {approval.approvals.map((d, k) => (
                <li key={`a${k}`}>
                  <Status status="APPROVED" /> by {d.principal.name} <Time at={d.at} />
                </li>
              ))}
              {approval.rejections.map((d, k) => (
                <li key={`r${k}`}>
                  <Status status="REJECTED" /> by {d.principal.name} <Time at={d.at} />
                  {d.comment && <q>{d.comment}</q>}
                </li>
              ))}
            </ul>
          )}
          {approval.override && (
            <p>
              Overridden by {approval.override.by} <Time at={approval.override.at} />:{" "}
              <q>{approval.override.comment}</q>
            </p>
          )}
        </section>
      )}
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
