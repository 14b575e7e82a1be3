//! Commands people give a running pipeline, decided against its state.

use chrono::{DateTime, Utc};

use super::{NodeStatus, PipelineRun};
use crate::events::PipelineEvent;

/// Why a command does not fit the pipeline's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0} does not exist in this pipeline")]
    NotFound(String),
    /// The state does not allow it; the message names the state.
    #[error("{0}")]
    WrongState(String),
    /// The request itself is wrong (a schedule that cannot be used).
    #[error("{0}")]
    Invalid(String),
}

impl PipelineRun {
    /// The job `job_id` of the READY node at `path` was queued: the node is
    /// PENDING. Idempotent; nothing for another job or a node that moved on.
    pub fn job_queued(
        &self,
        path: &str,
        job_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        let Some(state) = self.nodes.get(path) else {
            return Err(Refusal::NotFound(format!("node {path}")));
        };
        if state.status != NodeStatus::Ready || state.job_id.as_deref() != Some(job_id) {
            return Ok(vec![]);
        }
        Ok(vec![PipelineEvent::NodeJobQueued {
            path: path.to_string(),
            job_id: job_id.to_string(),
            at: now,
        }])
    }

    /// `startPipelineNode`: a WAITING node goes on (its inputs evaluated
    /// now). [`advance`](Self::advance) adds what follows.
    pub fn start_node(
        &self,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        let (Some(graph), Some(state)) = (&self.graph, self.nodes.get(path)) else {
            return Err(Refusal::NotFound(format!("node {path}")));
        };
        if state.status != NodeStatus::Waiting {
            let why = match state.status {
                NodeStatus::Created | NodeStatus::Blocked => {
                    "; it has not reached its turn yet (its stage, section or dependencies have not finished)"
                }
                s if s.is_terminal() => "; it has finished",
                _ => "; it is already on its way",
            };
            return Err(Refusal::WrongState(format!(
                "{path} is {}; only a WAITING node (when = \"manual\") can be started{why}",
                state.status
            )));
        }
        let node = graph
            .node(path)
            .ok_or_else(|| Refusal::NotFound(format!("node {path}")))?;
        Ok(vec![self.make_ready(node, now)])
    }
}
