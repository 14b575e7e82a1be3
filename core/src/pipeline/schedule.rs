//! `updatePipelineNodeSchedule`: a node that has not started gets another
//! schedule, or none.

use chrono::{DateTime, Utc};

use super::start::Refusal;
use super::{NodeStatus, PipelineRun};
use crate::events::PipelineEvent;
use crate::template::model::{Schedule, When};
use crate::template::schedule::next_start;

impl PipelineRun {
    /// Sets the schedule of the node at `path` (`None`: removes it), for a
    /// node in CREATED or BLOCKED (used when it leaves BLOCKED) or SCHEDULED
    /// by its schedule (worked out again now: `NodeScheduled`, or without a
    /// schedule `NodeBecameReady`). Checked like the template's: a bad
    /// schedule is `Invalid`, naming what is wrong.
    pub fn update_schedule(
        &self,
        path: &str,
        schedule: Option<Schedule>,
        now: DateTime<Utc>,
    ) -> Result<Vec<PipelineEvent>, Refusal> {
        let (Some(graph), Some(state)) = (&self.graph, self.nodes.get(path)) else {
            return Err(Refusal::NotFound(format!("node {path}")));
        };
        let node = graph
            .node(path)
            .ok_or_else(|| Refusal::NotFound(format!("node {path}")))?;
        if node.when == When::Manual && schedule.is_some() {
            return Err(Refusal::Invalid(format!(
                "{path} has when = \"manual\"; a schedule needs when = \"auto\""
            )));
        }
        let start_at = schedule
            .as_ref()
            .map(|s| next_start(s, now))
            .transpose()
            .map_err(Refusal::Invalid)?;
        let scheduled_by_itself = state.status == NodeStatus::Scheduled && state.attempt == 0;
        if !matches!(state.status, NodeStatus::Created | NodeStatus::Blocked)
            && !scheduled_by_itself
        {
            let why = if state.status == NodeStatus::Scheduled {
                "; it is a gate waiting for its next attempt"
            } else {
                ""
            };
            return Err(Refusal::WrongState(format!(
                "{path} is {}; only a node that has not started (CREATED, BLOCKED or SCHEDULED) can get another schedule{why}",
                state.status
            )));
        }
        let mut out = vec![PipelineEvent::NodeScheduleUpdated {
            path: path.to_string(),
            schedule,
            at: now,
        }];
        if scheduled_by_itself {
            out.push(match start_at {
                Some(start_at) => PipelineEvent::NodeScheduled {
                    path: path.to_string(),
                    start_at,
                    at: now,
                },
                None => self.make_ready(node, now),
            });
        }
        Ok(out)
    }
}
