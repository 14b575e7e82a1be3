//! `retryPipelineNode`: a FAILED node runs again, and what its failure
//! caused is undone.

use chrono::{DateTime, Utc};

use super::start::Refusal;
use super::{NodeStatus, PipelineRun, PipelineStatus, StageStatus};
use crate::events::{PipelineEvent, SkipCause};

impl PipelineRun {
    /// Retries the FAILED node at `path`: it goes back to BLOCKED and, once
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
        if state.status != NodeStatus::Failed {
            return Err(Refusal::WrongState(format!(
                "{path} is {}; only a FAILED node can be retried",
                state.status
            )));
        }
        let stage_index = state.stage;
        let Some(stage) = self.stages.get(stage_index) else {
            return Err(Refusal::NotFound(format!("the stage of node {path}")));
        };
        let mut out = Vec::new();
        if self.status == PipelineStatus::Failed {
            out.push(PipelineEvent::PipelineReopened { at: now });
        }
        if stage.status == StageStatus::Failed {
            out.push(PipelineEvent::StageReopened {
                stage: stage.name.clone(),
                at: now,
            });
        }
        // Later stages skipped because this one failed, and their nodes.
        for later in self.stages.iter().skip(stage_index + 1) {
            if later.status == StageStatus::Skipped {
                out.push(PipelineEvent::StageReset {
                    stage: later.name.clone(),
                    at: now,
                });
            }
        }
        for (p, n) in &self.nodes {
            let caused = match &n.skip_cause {
                Some(SkipCause::NodeFailed { path: by }) => by == path,
                Some(SkipCause::StageFailed { stage: by }) => by == &stage.name,
                _ => false,
            };
            if n.status == NodeStatus::Skipped && caused {
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
