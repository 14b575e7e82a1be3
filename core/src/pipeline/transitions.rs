//! The allowed changes of status, as data, and the check that a fold keeps
//! to them.
//!
//! Every status change [`PipelineRun::apply`] makes must be a row here:
//! `(from, to, events that may cause it)`. [`check`] compares the run before
//! and after one event and names the first change that is not; the state
//! machine test (`core/tests/state_machine.rs`) runs it after every event of
//! random runs.
//!
//! Node: CREATED → BLOCKED (its stage starts) → SKIPPED (`never`, false
//! `if`, a failure) | FAILED (its `if` or inputs cannot be evaluated) |
//! WAITING (`when = "manual"`) | SCHEDULED (a schedule; READY at its time)
//! | READY → PENDING (its job is queued) → RUNNING → SUCCEEDED | FAILED, or (a gate whose attempt did
//! not succeed, with attempts left) SCHEDULED again; a
//! READY task without actions succeeds at once; WAITING → READY when
//! someone starts it, or SKIPPED when a sibling fails. CREATED → SKIPPED
//! when an earlier stage failed.
//!
//! Approvals: BLOCKED → APPROVAL_PENDING (a node with `approval_rules`, on
//! its first run) → WAITING | SCHEDULED | READY once approved or
//! overridden, as it would have gone from BLOCKED; SKIPPED when a sibling
//! fails; CANCELED. Fixing its rules, approvals, revocations and
//! rejections change no status.
//!
//! `NodeScheduleUpdated` changes no status itself.
//!
//! Stage: CREATED → RUNNING ⇄ WAITING → SUCCEEDED | FAILED; CREATED →
//! SKIPPED. Pipeline: CREATED → RUNNING ⇄ WAITING → SUCCEEDED | FAILED.
//!
//! Cancel: a node not started → CANCELED; with a job in flight → CANCELING
//! → CANCELED (or SUCCEEDED / FAILED if its job ended first), or CANCELED
//! at once when forced. `cancelPipeline` makes the pipeline and its running
//! stages CANCELING, then each stage ends as its nodes did and the pipeline
//! is CANCELED. A canceled node stops its stage like a failed one (its
//! siblings not started are skipped), which ends CANCELED. Retry takes a
//! CANCELED node, stage or pipeline back like a FAILED one.

use super::{NodeStatus as N, PipelineRun, PipelineStatus as P, StageStatus as S};
use crate::events::{NamedEvent, PipelineEvent};

/// `(from, to, events)` for nodes.
pub const NODE_TRANSITIONS: &[(N, N, &[&str])] = &[
    (N::Created, N::Blocked, &["StageStarted"]),
    (N::Created, N::Skipped, &["NodeSkipped"]),
    (N::Blocked, N::Skipped, &["NodeSkipped"]),
    (N::Blocked, N::Failed, &["NodeFailed"]),
    (N::Blocked, N::Waiting, &["NodeWaitingForStart"]),
    (N::Blocked, N::Ready, &["NodeBecameReady"]),
    (N::Blocked, N::Scheduled, &["NodeScheduled"]),
    (N::Blocked, N::ApprovalPending, &["NodeApprovalPending"]),
    (N::ApprovalPending, N::Waiting, &["NodeWaitingForStart"]),
    (N::ApprovalPending, N::Scheduled, &["NodeScheduled"]),
    (N::ApprovalPending, N::Ready, &["NodeBecameReady"]),
    (N::ApprovalPending, N::Failed, &["NodeFailed"]),
    (N::ApprovalPending, N::Skipped, &["NodeSkipped"]),
    (N::ApprovalPending, N::Canceled, &["NodeCanceled"]),
    (N::Scheduled, N::Ready, &["NodeBecameReady"]),
    (N::Scheduled, N::Failed, &["NodeFailed"]),
    (N::Scheduled, N::Skipped, &["NodeSkipped"]),
    (N::Waiting, N::Ready, &["NodeBecameReady"]),
    (N::Waiting, N::Failed, &["NodeFailed"]),
    (N::Waiting, N::Skipped, &["NodeSkipped"]),
    (
        N::Ready,
        N::Running,
        &["NodeStarted", "NodeChildPipelineStarted"],
    ),
    (N::Ready, N::Succeeded, &["NodeSucceeded"]),
    // Its job is queued; then it starts, or ends without having started
    // (a launch failure, the reaper), or is canceled.
    (N::Ready, N::Pending, &["NodeJobQueued"]),
    (N::Pending, N::Running, &["NodeStarted"]),
    (N::Pending, N::Succeeded, &["NodeSucceeded"]),
    (N::Pending, N::Failed, &["NodeFailed"]),
    (N::Pending, N::Scheduled, &["NodeGateAttemptFailed"]),
    (N::Pending, N::Canceling, &["NodeCancelRequested"]),
    (N::Pending, N::Canceled, &["NodeCanceled"]),
    (N::Ready, N::Failed, &["NodeFailed"]),
    // A gate's attempt that did not succeed, with attempts left.
    (N::Running, N::Scheduled, &["NodeGateAttemptFailed"]),
    (N::Ready, N::Scheduled, &["NodeGateAttemptFailed"]),
    (N::Running, N::Succeeded, &["NodeSucceeded"]),
    // retryPipelineNode, and the skips its failure caused.
    (N::Failed, N::Blocked, &["NodeRetried"]),
    (N::Skipped, N::Blocked, &["NodeReset"]),
    (N::Skipped, N::Created, &["NodeReset"]),
    (N::Running, N::Failed, &["NodeFailed"]),
    // cancelPipeline / cancelPipelineNode: what has not started is
    // canceled at once; a job in flight is asked to stop (CANCELING), or
    // stopped at once (forced).
    (N::Created, N::Canceled, &["NodeCanceled"]),
    (N::Blocked, N::Canceled, &["NodeCanceled"]),
    (N::Waiting, N::Canceled, &["NodeCanceled"]),
    (N::Scheduled, N::Canceled, &["NodeCanceled"]),
    (N::Ready, N::Canceled, &["NodeCanceled"]),
    (N::Running, N::Canceled, &["NodeCanceled"]),
    (N::Ready, N::Canceling, &["NodeCancelRequested"]),
    (N::Running, N::Canceling, &["NodeCancelRequested"]),
    (N::Canceling, N::Canceled, &["NodeCanceled"]),
    // The job ended before the cancel reached it.
    (N::Canceling, N::Succeeded, &["NodeSucceeded"]),
    (N::Canceling, N::Failed, &["NodeFailed"]),
    (N::Canceled, N::Blocked, &["NodeRetried", "NodeReset"]),
    (N::Canceled, N::Created, &["NodeReset"]),
];

/// `(from, to, events)` for stages.
pub const STAGE_TRANSITIONS: &[(S, S, &[&str])] = &[
    (S::Created, S::Running, &["StageStarted"]),
    (S::Created, S::Skipped, &["StageSkipped"]),
    (S::Running, S::Waiting, &["StageWaiting"]),
    (S::Waiting, S::Running, &["StageResumed"]),
    (S::Running, S::Succeeded, &["StageSucceeded"]),
    (S::Running, S::Failed, &["StageFailed"]),
    // A running node of a waiting stage failed: its siblings are skipped
    // and the stage fails without running again.
    (S::Waiting, S::Failed, &["StageFailed"]),
    (S::Failed, S::Running, &["StageReopened"]),
    (S::Skipped, S::Created, &["StageReset"]),
    (S::Running, S::Canceling, &["PipelineCancelRequested"]),
    (S::Waiting, S::Canceling, &["PipelineCancelRequested"]),
    (S::Created, S::Canceled, &["StageCanceled"]),
    (S::Running, S::Canceled, &["StageCanceled"]),
    (S::Waiting, S::Canceled, &["StageCanceled"]),
    (S::Canceling, S::Canceled, &["StageCanceled"]),
    (S::Canceling, S::Succeeded, &["StageSucceeded"]),
    (S::Canceling, S::Failed, &["StageFailed"]),
    (S::Canceled, S::Running, &["StageReopened"]),
    (S::Canceled, S::Created, &["StageReset"]),
];

/// `(from, to, events)` for pipelines.
pub const PIPELINE_TRANSITIONS: &[(P, P, &[&str])] = &[
    (P::Created, P::Running, &["PipelineStarted"]),
    (P::Running, P::Waiting, &["PipelineWaiting"]),
    (P::Waiting, P::Running, &["PipelineResumed"]),
    (P::Running, P::Succeeded, &["PipelineSucceeded"]),
    (P::Running, P::Failed, &["PipelineFailed"]),
    (P::Waiting, P::Failed, &["PipelineFailed"]),
    (P::Failed, P::Running, &["PipelineReopened"]),
    (P::Created, P::Canceling, &["PipelineCancelRequested"]),
    (P::Running, P::Canceling, &["PipelineCancelRequested"]),
    (P::Waiting, P::Canceling, &["PipelineCancelRequested"]),
    (P::Canceling, P::Canceled, &["PipelineCanceled"]),
    // A canceled node's stage ended CANCELED, and with it the pipeline.
    (P::Running, P::Canceled, &["PipelineCanceled"]),
    (P::Waiting, P::Canceled, &["PipelineCanceled"]),
    (P::Canceled, P::Running, &["PipelineReopened"]),
];

fn allowed<T: PartialEq>(table: &[(T, T, &[&str])], from: T, to: T, event: &str) -> bool {
    table
        .iter()
        .any(|(f, t, evs)| *f == from && *t == to && evs.contains(&event))
}

/// Checks that every status change from `before` to `after` (the run with
/// `event` applied) is in the tables; names the first that is not.
pub fn check(
    before: &PipelineRun,
    event: &PipelineEvent,
    after: &PipelineRun,
) -> Result<(), String> {
    let name = event.name();
    if before.status != after.status
        && !allowed(PIPELINE_TRANSITIONS, before.status, after.status, name)
    {
        return Err(format!(
            "pipeline {} -> {} by {name} is not an allowed transition",
            before.status, after.status
        ));
    }
    for (b, a) in before.stages.iter().zip(&after.stages) {
        if b.status != a.status && !allowed(STAGE_TRANSITIONS, b.status, a.status, name) {
            return Err(format!(
                "stage {} {} -> {} by {name} is not an allowed transition",
                a.name, b.status, a.status
            ));
        }
    }
    for (path, a) in &after.nodes {
        let from = before.nodes.get(path).map(|n| n.status).unwrap_or_default();
        if from != a.status && !allowed(NODE_TRANSITIONS, from, a.status, name) {
            return Err(format!(
                "node {path} {from} -> {} by {name} is not an allowed transition",
                a.status
            ));
        }
    }
    Ok(())
}
