//! Jobs: one run of one task on an agent.

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::named_event;

/// What a job runs: its actions with every input evaluated, and the agent
/// tags it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub tags: Vec<String>,
    pub actions: Vec<JobAction>,
}

/// One action of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobAction {
    /// The action's alias, or its label.
    pub name: String,
    pub plugin: String,
    pub action: String,
    pub inputs: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobEvent {
    JobQueued {
        pipeline_id: String,
        project_id: String,
        node_path: String,
        spec: JobSpec,
        queued_at: DateTime<Utc>,
    },
    /// `token_sha256`: the SHA-256 (hex) of the job token handed to the
    /// claiming agent; the token itself is stored nowhere. Absent in events
    /// recorded before job tokens were checked against the log (their
    /// tokens no longer work).
    JobClaimed {
        agent_id: String,
        session_id: String,
        claimed_at: DateTime<Utc>,
        #[serde(default)]
        token_sha256: Option<String>,
    },
    /// `deadline`: when the server fails the job if it has not ended (its
    /// timeout, plus the heartbeat timeout for the executor to report);
    /// a durable timer keeps it. Absent in events recorded before the
    /// timers kept it.
    JobStarted {
        started_at: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<DateTime<Utc>>,
    },
    ActionOutputsRecorded {
        action: String,
        outputs: serde_json::Value,
    },
    /// `outputs` gathers every action's outputs, by action name.
    JobSucceeded {
        outputs: IndexMap<String, serde_json::Value>,
        finished_at: DateTime<Utc>,
    },
    JobFailed {
        message: String,
        outputs: IndexMap<String, serde_json::Value>,
        finished_at: DateTime<Utc>,
    },
    /// The job's executor is asked to stop: SIGTERM to its commands, then
    /// SIGKILL after `grace_seconds`, and report CANCELED. If it has not by
    /// `confirm_by`, the job is canceled without it (a timer).
    JobCancelRequested {
        reason: String,
        grace_seconds: u32,
        confirm_by: DateTime<Utc>,
        requested_at: DateTime<Utc>,
    },
    /// The job is over, canceled. `forced`: without waiting for its
    /// executor, whose reports are refused from now on.
    JobCanceled {
        message: String,
        outputs: IndexMap<String, serde_json::Value>,
        forced: bool,
        finished_at: DateTime<Utc>,
    },
}
named_event!(JobEvent {
    JobQueued,
    JobClaimed,
    JobStarted,
    ActionOutputsRecorded,
    JobSucceeded,
    JobFailed,
    JobCancelRequested,
    JobCanceled
});
