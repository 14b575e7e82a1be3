//! `cancelPipeline` and `cancelPipelineNode`: what has not started is
//! CANCELED at once; a node whose job may be in flight is CANCELING until
//! its job stops (graceful), or CANCELED at once with its job (forced).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::start::Refusal;
use super::{NodeState, NodeStatus, PipelineRun, PipelineStatus, StageStatus};
use crate::events::{NodeOutputs, PipelineEvent};

/// A pipeline's cancellation: forced or not, and the grace its jobs'
/// commands get between SIGTERM and SIGKILL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    pub force: bool,
    pub grace_seconds: u32,
}

impl NodeState {
    /// Has a job, or a child pipeline, that may be running somewhere
    /// (queued, claimed, running or asked to stop).
    pub(super) fn job_in_flight(&self) -> bool {
        (self.job_id.is_some() || self.child_pipeline_id.is_some())
            && matches!(
                self.status,
                NodeStatus::Ready
                    | NodeStatus::Pending
                    | NodeStatus::Running
                    | NodeStatus::Canceling
            )
    }
}

impl PipelineRun {
    /// `cancelPipeline`. Refused once the pipeline has finished, and when it
    /// is canceling already unless this one is forced.
    /// [`advance`](Self::advance) cancels the nodes.
    pub fn cancel_pipeline(
        &self,
        force: bool,
        grace_seconds: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        if self.status.is_terminal() {
            return Err(Refusal::WrongState(format!(
                "the pipeline is {}; only a pipeline that has not finished can be canceled",
                self.status
            )));
        }
        if self.status == PipelineStatus::Canceling && (!force || self.forced()) {
            return Err(Refusal::WrongState(format!(
                "the pipeline is CANCELING already{}",
                if self.forced() {
                    ""
                } else {
                    "; cancel it with force = true to stop its jobs at once"
                }
            )));
        }
        Ok(vec![PipelineEvent::PipelineCancelRequested {
            force,
            grace_seconds,
            at: now,
        }])
    }

    /// `cancelPipelineNode`: the node at `path` stops. Its not-started
    /// siblings are then skipped as after a failure, and its stage ends
    /// CANCELED (FAILED if a sibling failed).
    pub fn cancel_node(
        &self,
        path: &str,
        force: bool,
        grace_seconds: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        let Some(state) = self.nodes.get(path) else {
            return Err(Refusal::NotFound(format!("node {path}")));
        };
        if state.status.is_terminal() {
            return Err(Refusal::WrongState(format!(
                "{path} is {}; only a node that has not finished can be canceled",
                state.status
            )));
        }
        if state.status == NodeStatus::Canceling && !force {
            return Err(Refusal::WrongState(format!(
                "{path} is CANCELING already; cancel it with force = true to stop its job at once"
            )));
        }
        let reason = "canceled by cancelPipelineNode";
        Ok(vec![self.stop(
            path,
            state,
            force,
            grace_seconds,
            reason,
            now,
        )])
    }

    /// The event that stops one node that has not finished.
    fn stop(
        &self,
        path: &str,
        state: &NodeState,
        force: bool,
        grace_seconds: u32,
        reason: &str,
        now: DateTime<Utc>,
    ) -> PipelineEvent {
        let in_flight = state.job_in_flight();
        if in_flight && !force {
            return PipelineEvent::NodeCancelRequested {
                path: path.to_string(),
                job_id: state.job_id.clone(),
                grace_seconds,
                at: now,
                child_pipeline_id: state.child_pipeline_id.clone(),
            };
        }
        PipelineEvent::NodeCanceled {
            path: path.to_string(),
            reason: reason.to_string(),
            forced: force && in_flight,
            job_id: state.job_id.clone().filter(|_| in_flight),
            outputs: NodeOutputs::new(),
            at: now,
            child_pipeline_id: state.child_pipeline_id.clone().filter(|_| in_flight),
        }
    }

    fn forced(&self) -> bool {
        self.cancel.is_some_and(|c| c.force)
    }

    /// The job `job_id` of the node at `path` was canceled. Idempotent: a
    /// job that is not the node's current one, or a node already finished
    /// (a forced cancel), gives no events.
    pub fn job_canceled(
        &self,
        path: &str,
        job_id: &str,
        reason: &str,
        outputs: NodeOutputs,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        let Some(state) = self.nodes.get(path) else {
            return Err(Refusal::NotFound(format!("node {path}")));
        };
        if !state.job_in_flight() || state.job_id.as_deref() != Some(job_id) {
            return Ok(vec![]);
        }
        Ok(vec![PipelineEvent::NodeCanceled {
            path: path.to_string(),
            reason: if reason.is_empty() {
                "its job was canceled".to_string()
            } else {
                format!("its job was canceled: {reason}")
            },
            forced: false,
            job_id: None,
            outputs,
            at: now,
            child_pipeline_id: None,
        }])
    }

    /// What follows while the pipeline is CANCELING: every node not
    /// finished stops; then each stage ends (like its nodes: FAILED if one
    /// failed, CANCELED if one was canceled or it never ran, else
    /// SUCCEEDED), then the pipeline is CANCELED.
    pub(super) fn advance_cancel(&self, now: DateTime<Utc>) -> Vec<PipelineEvent> {
        let request = self.cancel.unwrap_or(CancelRequest {
            force: false,
            grace_seconds: 0,
        });
        let stops: Vec<_> = self
            .nodes
            .iter()
            .filter(|(_, n)| !n.status.is_terminal())
            .filter(|(_, n)| request.force || n.status != NodeStatus::Canceling)
            .map(|(path, n)| {
                self.stop(
                    path,
                    n,
                    request.force,
                    request.grace_seconds,
                    "canceled by cancelPipeline",
                    now,
                )
            })
            .collect();
        if !stops.is_empty() {
            return stops;
        }
        let mut ended = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            if stage.status.is_terminal() {
                continue;
            }
            let nodes: Vec<_> = self.nodes.values().filter(|n| n.stage == i).collect();
            if nodes.iter().any(|n| !n.status.is_terminal()) {
                continue;
            }
            let has = |s: NodeStatus| nodes.iter().any(|n| n.status == s);
            let never_ran = self.stages[i].status == StageStatus::Created;
            let stage = stage.name.clone();
            ended.push(if has(NodeStatus::Failed) {
                PipelineEvent::StageFailed { stage, at: now }
            } else if never_ran || has(NodeStatus::Canceled) {
                PipelineEvent::StageCanceled { stage, at: now }
            } else {
                PipelineEvent::StageSucceeded { stage, at: now }
            });
        }
        if !ended.is_empty() {
            return ended;
        }
        if self.stages.iter().all(|s| s.status.is_terminal()) {
            return vec![PipelineEvent::PipelineCanceled {
                reason: if request.force {
                    "canceled by cancelPipeline (forced)".to_string()
                } else {
                    "canceled by cancelPipeline".to_string()
                },
                at: now,
            }];
        }
        vec![]
    }
}
