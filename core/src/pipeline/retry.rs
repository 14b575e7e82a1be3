//! `retryPipelineNode`: a FAILED node runs again, and what its failure
//! caused is undone.

use chrono::{DateTime, Utc};

use super::start::Refusal;
use super::{NodeStatus, PipelineRun, PipelineStatus, StageStatus};
use crate::events::{PipelineEvent, SkipCause};

impl PipelineRun {
    /// Retries the FAILED or CANCELED node at `path`: it goes back to BLOCKED and, once
    /// it may, runs again as a new attempt (a new job; earlier attempts stay
    /// readable) at once, even if it is manual or scheduled. The nodes its
    /// failure skipped, its stage, the later stages and the pipeline go back
    /// to where they would be without it. Nothing that succeeded runs again.
    /// If another node of the stage is still FAILED, [`advance`](Self::advance)
    /// skips the reset nodes again, naming it.
    pub fn retry_node(
        &self,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        let Some(state) = self.nodes.get(path) else {
            return Err(Refusal::NotFound(format!("node {path}")));
        };
        if !matches!(state.status, NodeStatus::Failed | NodeStatus::Canceled) {
            return Err(Refusal::WrongState(format!(
                "{path} is {}; only a FAILED or CANCELED node can be retried",
                state.status
            )));
        }
        if self.status == PipelineStatus::Canceling {
            return Err(Refusal::WrongState(
                "the pipeline is CANCELING; retry once it is CANCELED".to_string(),
            ));
        }
        let stage_index = state.stage;
        let Some(stage) = self.stages.get(stage_index) else {
            return Err(Refusal::NotFound(format!("the stage of node {path}")));
        };
        // A later stage runs only after the earlier ones succeeded.
        if let Some(earlier) = self.stages[..stage_index]
            .iter()
            .find(|s| matches!(s.status, StageStatus::Failed | StageStatus::Canceled))
        {
            return Err(Refusal::WrongState(format!(
                "{path} is in a stage after stage {}, which is {}; retry a node of that stage first",
                earlier.name, earlier.status
            )));
        }
        let mut out = Vec::new();
        if matches!(
            self.status,
            PipelineStatus::Failed | PipelineStatus::Canceled
        ) {
            out.push(PipelineEvent::PipelineReopened { at: now });
        }
        if matches!(stage.status, StageStatus::Failed | StageStatus::Canceled) {
            out.push(PipelineEvent::StageReopened {
                stage: stage.name.clone(),
                at: now,
            });
        }
        // Later stages skipped because this one failed, and their nodes.
        for later in self.stages.iter().skip(stage_index + 1) {
            if matches!(later.status, StageStatus::Skipped | StageStatus::Canceled) {
                out.push(PipelineEvent::StageReset {
                    stage: later.name.clone(),
                    at: now,
                });
            }
        }
        // A cancelPipeline canceled the nodes that had not run: they run
        // again too (not those of earlier stages, which had finished).
        let pipeline_canceled = self.status == PipelineStatus::Canceled && self.cancel.is_some();
        for (p, n) in &self.nodes {
            if p == path {
                continue;
            }
            let caused = match &n.skip_cause {
                Some(SkipCause::NodeFailed { path: by } | SkipCause::NodeCanceled { path: by }) => {
                    by == path
                }
                Some(
                    SkipCause::StageFailed { stage: by } | SkipCause::StageCanceled { stage: by },
                ) => by == &stage.name,
                _ => false,
            };
            let skipped = n.status == NodeStatus::Skipped && caused;
            let canceled_unrun = pipeline_canceled
                && n.status == NodeStatus::Canceled
                && n.attempt == 0
                && n.stage >= stage_index;
            if skipped || canceled_unrun {
                let status = if n.stage == stage_index {
                    NodeStatus::Blocked
                } else {
                    NodeStatus::Created
                };
                out.push(PipelineEvent::NodeReset {
                    path: p.clone(),
                    status,
                    at: now,
                });
            }
        }
        out.push(PipelineEvent::NodeRetried {
            path: path.to_string(),
            attempt: state.attempt + 1,
            at: now,
        });
        Ok(out)
    }
}
