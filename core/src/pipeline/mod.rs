//! The pipeline state machine: a pure fold of [`PipelineEvent`]s, and the
//! rules that decide which events come next.
//!
//! The write side (`phobos-commands`) wraps [`PipelineRun`] in an aggregate:
//! a command records what happened (a node finished), then [`PipelineRun::advance`]
//! is asked, again and again, what follows from it until nothing does. The
//! rules live only here, so replay and the live server cannot disagree.
//!
//! Node life: `Created` → `Ready` → `Running` → `Succeeded` | `Failed`, or
//! `Created` → `Skipped`. The states that manual starts, approvals, schedules
//! and gates need (waiting for someone or something) slot in between
//! `Created` and `Ready`; today [`unsupported`] refuses templates that use
//! them, so a pipeline never waits for a step this server cannot take.

mod advance;
mod approval;
mod cancel;
mod children;
mod gate;
mod inputs;
mod retry;
mod schedule;
mod start;
mod support;
pub mod transitions;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::events::{NodeOutputs, PipelineEvent};
use crate::template::ExecutionGraph;

pub use approval::{ApprovalState, GivenApproval, Override, Rejection};
pub use cancel::CancelRequest;
pub use children::{child_pipeline_id_for, ChildOutcome, MAX_NESTING_DEPTH};
pub use inputs::{action_outputs_value, job_id_for};
pub use start::Refusal;
pub use support::{unsupported, unsupported_blocks};

/// Where a pipeline is. The allowed changes: [`transitions`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PipelineStatus {
    #[default]
    Created,
    Running,
    /// Its current stage waits for someone.
    Waiting,
    Succeeded,
    Failed,
    /// `cancelPipeline`: waits for the jobs in flight to stop.
    Canceling,
    Canceled,
}

/// Where a stage is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StageStatus {
    #[default]
    Created,
    Running,
    /// Nothing in it can run until someone acts.
    Waiting,
    Succeeded,
    Failed,
    /// Its pipeline is canceling: it waits for its jobs in flight.
    Canceling,
    Canceled,
    Skipped,
}

/// Where a node is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NodeStatus {
    /// Its stage has not started.
    #[default]
    Created,
    /// Its stage runs; it waits for its section or its dependencies.
    Blocked,
    /// Waiting for its approval rules to be satisfied (or overridden).
    ApprovalPending,
    /// `when = "manual"`: waits for someone to start it.
    Waiting,
    /// Has a start time (its schedule); a timer makes it READY then.
    Scheduled,
    /// May run: its job is being queued (or, without actions, it is about
    /// to succeed).
    Ready,
    /// Its job is queued or claimed (`NodeJobQueued`), not started yet.
    Pending,
    Running,
    Succeeded,
    Failed,
    /// Its job was asked to stop; it ends when the job does.
    Canceling,
    Canceled,
    Skipped,
}

macro_rules! status_str {
    ($ty:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $ty {
            /// Every value, in the order of the life cycle.
            pub const ALL: &'static [$ty] = &[$(Self::$v),*];

            /// The name used in read models and the API.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s,)* }
            }

            /// The value [`as_str`](Self::as_str) names.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
status_str!(PipelineStatus {
    Created => "CREATED", Running => "RUNNING", Waiting => "WAITING", Succeeded => "SUCCEEDED",
    Failed => "FAILED", Canceling => "CANCELING", Canceled => "CANCELED",
});
status_str!(StageStatus {
    Created => "CREATED", Running => "RUNNING", Waiting => "WAITING", Succeeded => "SUCCEEDED",
    Failed => "FAILED", Canceling => "CANCELING", Canceled => "CANCELED", Skipped => "SKIPPED",
});
status_str!(NodeStatus {
    Created => "CREATED", Blocked => "BLOCKED", ApprovalPending => "APPROVAL_PENDING",
    Waiting => "WAITING", Scheduled => "SCHEDULED", Ready => "READY", Pending => "PENDING",
    Running => "RUNNING", Succeeded => "SUCCEEDED", Failed => "FAILED",
    Canceling => "CANCELING", Canceled => "CANCELED", Skipped => "SKIPPED",
});

impl StageStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Canceled | Self::Skipped
        )
    }
}

impl NodeStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Canceled | Self::Skipped
        )
    }

    /// Has work in flight (or about to be): it will move without anyone
    /// acting.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::Scheduled | Self::Ready | Self::Pending | Self::Running | Self::Canceling
        )
    }

    /// Waits for a person.
    pub fn awaits_someone(self) -> bool {
        matches!(self, Self::Waiting | Self::ApprovalPending)
    }
}

impl PipelineStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }
}

/// `updatePipelineNodeSchedule`'s schedule for a node. (Not an
/// `Option<Schedule>` inside the state's `Option`: serde writes
/// `Some(None)` as `null` and reads it back as `None`, so a snapshot lost a
/// removal; the property test found it.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ScheduleOverride {
    Set(crate::template::model::Schedule),
    Removed,
}

/// A stage's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageState {
    pub name: String,
    pub status: StageStatus,
}

/// A node's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeState {
    pub status: NodeStatus,
    /// The index of its stage in the graph.
    #[serde(default)]
    pub stage: usize,
    /// When its schedule starts it (`NodeScheduled`), or its gate's next
    /// attempt (`NodeGateAttemptFailed`).
    #[serde(default)]
    pub scheduled_start: Option<DateTime<Utc>>,
    /// The run of the node its job is for (0: not run yet).
    #[serde(default)]
    pub attempt: u32,
    /// A schedule set by `updatePipelineNodeSchedule` in place of the
    /// template's.
    #[serde(default)]
    pub schedule_override: Option<ScheduleOverride>,
    /// Why it was skipped, while it is.
    #[serde(default)]
    pub skip_cause: Option<crate::events::SkipCause>,
    pub job_id: Option<String>,
    /// A nested or deployment pipeline node: the child of its current run.
    #[serde(default)]
    pub child_pipeline_id: Option<String>,
    pub outputs: NodeOutputs,
    /// Its approvals, from when it entered APPROVAL_PENDING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalState>,
}

/// One pipeline run, as its events made it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineRun {
    pub id: String,
    pub project_id: String,
    pub template_id: String,
    /// The graph of `PipelineCreated`. Not part of the serialized state: a
    /// snapshot of a 2,000-node run would otherwise carry (and decode) the
    /// whole template on every load; the write side re-attaches it from a
    /// cache ([`PipelineRun::attach_graph`]).
    #[serde(skip)]
    pub graph: Option<Arc<ExecutionGraph>>,
    pub created_at: Option<DateTime<Utc>>,
    pub status: PipelineStatus,
    pub stages: Vec<StageState>,
    /// By node path, in graph order.
    pub nodes: IndexMap<String, NodeState>,
    /// `cancelPipeline`, while it is canceling or canceled.
    #[serde(default)]
    pub cancel: Option<CancelRequest>,
    /// Its type, parent and environment.
    #[serde(default)]
    pub origin: crate::events::PipelineOrigin,
}

impl PipelineRun {
    /// Whether `PipelineCreated` has been applied.
    pub fn exists(&self) -> bool {
        !self.id.is_empty()
    }

    /// Gives a run restored without its graph (from a snapshot) the graph
    /// of its `PipelineCreated`.
    pub fn attach_graph(&mut self, graph: Arc<ExecutionGraph>) {
        self.graph = Some(graph);
    }

    /// Folds one event in. Total: an event that does not fit (which the
    /// rules never produce) changes nothing rather than failing a replay.
    pub fn apply(&mut self, event: &PipelineEvent) {
        use PipelineEvent::*;
        match event {
            PipelineCreated {
                pipeline_id,
                project_id,
                template_id,
                graph,
                created_at,
                origin,
            } => {
                self.id = pipeline_id.clone();
                self.origin = origin.clone();
                self.project_id = project_id.clone();
                self.template_id = template_id.clone();
                self.created_at = Some(*created_at);
                self.stages = graph
                    .stages
                    .iter()
                    .map(|s| StageState {
                        name: s.name.clone(),
                        status: StageStatus::Created,
                    })
                    .collect();
                self.nodes = graph
                    .stages
                    .iter()
                    .enumerate()
                    .flat_map(|(i, s)| s.nodes.iter().map(move |n| (i, n)))
                    .map(|(i, n)| {
                        let state = NodeState {
                            stage: i,
                            ..NodeState::default()
                        };
                        (n.path.clone(), state)
                    })
                    .collect();
                self.graph = Some(Arc::new((**graph).clone()));
            }
            PipelineStarted { .. } | PipelineResumed { .. } => {
                self.status = PipelineStatus::Running
            }
            PipelineWaiting { .. } => self.status = PipelineStatus::Waiting,
            StageStarted { stage, .. } => {
                self.set_stage(stage, StageStatus::Running);
                // Its nodes now wait for their section or dependencies.
                // (Logs written before BLOCKED existed: the same command
                // made each of them READY or SKIPPED right after.)
                // (Folded without the graph: a run restored from a
                // snapshot gets its graph only after its events.)
                if let Some(i) = self.stages.iter().position(|s| &s.name == stage) {
                    for node in self.nodes.values_mut() {
                        if node.stage == i && node.status == NodeStatus::Created {
                            node.status = NodeStatus::Blocked;
                        }
                    }
                }
            }
            StageWaiting { stage, .. } => self.set_stage(stage, StageStatus::Waiting),
            StageResumed { stage, .. } => self.set_stage(stage, StageStatus::Running),
            NodeWaitingForStart { path, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Waiting;
                }
            }
            NodeApprovalPending { path, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::ApprovalPending;
                    n.approval = Some(ApprovalState::default());
                }
            }
            NodeApprovalRulesFixed { path, .. }
            | NodeApproved { path, .. }
            | NodeApprovalRevoked { path, .. }
            | NodeRejected { path, .. }
            | NodeApprovalOverridden { path, .. } => {
                if let Some(a) = self.nodes.get_mut(path).and_then(|n| n.approval.as_mut()) {
                    a.apply(event);
                }
            }
            NodeScheduled { path, start_at, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Scheduled;
                    n.scheduled_start = Some(*start_at);
                }
            }
            StageSucceeded { stage, .. } => self.set_stage(stage, StageStatus::Succeeded),
            StageFailed { stage, .. } => self.set_stage(stage, StageStatus::Failed),
            StageSkipped { stage, .. } => self.set_stage(stage, StageStatus::Skipped),
            NodeBecameReady {
                path,
                job_id,
                attempt,
                child,
                ..
            } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Ready;
                    n.job_id = job_id.clone();
                    n.child_pipeline_id = child.as_ref().map(|c| c.child_pipeline_id.clone());
                    n.attempt = *attempt;
                }
            }
            NodeJobQueued { path, job_id, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    if n.status == NodeStatus::Ready && n.job_id.as_deref() == Some(job_id) {
                        n.status = NodeStatus::Pending;
                    }
                }
            }
            NodeChildPipelineStarted { path, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Running;
                }
            }
            NodeGateAttemptFailed {
                path,
                outputs,
                next_attempt_at,
                ..
            } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Scheduled;
                    n.scheduled_start = Some(*next_attempt_at);
                    n.outputs = outputs.clone();
                }
            }
            NodeStarted { path, job_id, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Running;
                    n.job_id = Some(job_id.clone());
                }
            }
            NodeSucceeded { path, outputs, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Succeeded;
                    n.outputs = outputs.clone();
                }
            }
            NodeFailed { path, outputs, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Failed;
                    n.outputs = outputs.clone();
                }
            }
            NodeSkipped {
                path,
                reason,
                cause,
                ..
            } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Skipped;
                    n.skip_cause = cause
                        .clone()
                        .or_else(|| crate::events::SkipCause::from_reason(reason));
                }
            }
            NodeScheduleUpdated { path, schedule, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.schedule_override = Some(match schedule {
                        Some(s) => ScheduleOverride::Set(s.clone()),
                        None => ScheduleOverride::Removed,
                    });
                }
            }
            NodeRetried { path, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Blocked;
                    n.scheduled_start = None;
                }
            }
            NodeReset { path, status, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = *status;
                    n.skip_cause = None;
                }
            }
            StageReopened { stage, .. } => self.set_stage(stage, StageStatus::Running),
            StageReset { stage, .. } => self.set_stage(stage, StageStatus::Created),
            PipelineReopened { .. } => {
                self.status = PipelineStatus::Running;
                self.cancel = None;
            }
            PipelineCancelRequested {
                force,
                grace_seconds,
                ..
            } => {
                self.status = PipelineStatus::Canceling;
                self.cancel = Some(CancelRequest {
                    force: *force || self.cancel.is_some_and(|c| c.force),
                    grace_seconds: *grace_seconds,
                });
                for s in &mut self.stages {
                    if matches!(s.status, StageStatus::Running | StageStatus::Waiting) {
                        s.status = StageStatus::Canceling;
                    }
                }
            }
            NodeCancelRequested { path, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Canceling;
                }
            }
            NodeCanceled { path, outputs, .. } => {
                if let Some(n) = self.nodes.get_mut(path) {
                    n.status = NodeStatus::Canceled;
                    n.scheduled_start = None;
                    if !outputs.is_empty() {
                        n.outputs = outputs.clone();
                    }
                }
            }
            StageCanceled { stage, .. } => self.set_stage(stage, StageStatus::Canceled),
            PipelineCanceled { .. } => self.status = PipelineStatus::Canceled,
            PipelineSucceeded { .. } => self.status = PipelineStatus::Succeeded,
            PipelineFailed { .. } => self.status = PipelineStatus::Failed,
        }
    }

    fn set_stage(&mut self, stage: &str, status: StageStatus) {
        if let Some(s) = self.stages.iter_mut().find(|s| s.name == stage) {
            s.status = status;
        }
    }

    /// The state of the node at `path`.
    pub fn node(&self, path: &str) -> Option<&NodeState> {
        self.nodes.get(path)
    }
}

#[cfg(test)]
mod tests;
