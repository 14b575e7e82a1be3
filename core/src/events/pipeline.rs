//! A pipeline run: its graph, and the life of its stages and nodes.

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::{named_event, JobSpec};
use crate::template::ExecutionGraph;

/// Why a node was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SkipCause {
    /// `when = "never"`.
    Never,
    /// Its `if` was false.
    Condition,
    /// A node of its stage failed.
    NodeFailed { path: String },
    /// An earlier stage failed.
    StageFailed { stage: String },
    /// A node of its stage was canceled (`cancelPipelineNode`).
    NodeCanceled { path: String },
    /// An earlier stage ended CANCELED.
    StageCanceled { stage: String },
}

impl SkipCause {
    /// The cause of a skip recorded before causes were, from its reason.
    pub fn from_reason(reason: &str) -> Option<SkipCause> {
        if reason == "when = \"never\"" {
            return Some(SkipCause::Never);
        }
        if reason == "its `if` condition is false" {
            return Some(SkipCause::Condition);
        }
        let failed = reason.strip_suffix(" failed")?;
        Some(match failed.strip_prefix("stage ") {
            Some(stage) => SkipCause::StageFailed {
                stage: stage.to_string(),
            },
            None => SkipCause::NodeFailed {
                path: failed.to_string(),
            },
        })
    }
}

fn first_attempt() -> u32 {
    1
}

/// A finished node's outputs: action name → that action's outputs.
pub type NodeOutputs = IndexMap<String, serde_json::Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PipelineEvent {
    /// The pipeline exists, with the graph compiled from its template and
    /// variables at `created_at` (what `timestamp()` returned).
    PipelineCreated {
        pipeline_id: String,
        project_id: String,
        template_id: String,
        graph: Box<ExecutionGraph>,
        created_at: DateTime<Utc>,
    },
    PipelineStarted {
        at: DateTime<Utc>,
    },
    StageStarted {
        stage: String,
        at: DateTime<Utc>,
    },
    /// A node may run now. For a task, `job` is what its job runs
    /// (`job_id` is fixed here, so whoever queues the job does it once).
    NodeBecameReady {
        path: String,
        job_id: Option<String>,
        job: Option<JobSpec>,
        at: DateTime<Utc>,
        /// Which run of the node this is (a gate runs several times); its
        /// job is `job_id_for(pipeline, path, attempt)`. Events recorded
        /// before gates ran are attempt 1.
        #[serde(default = "first_attempt")]
        attempt: u32,
    },
    NodeStarted {
        path: String,
        job_id: String,
        at: DateTime<Utc>,
    },
    NodeSucceeded {
        path: String,
        outputs: NodeOutputs,
        at: DateTime<Utc>,
    },
    NodeFailed {
        path: String,
        reason: String,
        outputs: NodeOutputs,
        at: DateTime<Utc>,
    },
    NodeSkipped {
        path: String,
        reason: String,
        at: DateTime<Utc>,
        /// Why, as data (a retry undoes the skips a failure caused).
        /// Events recorded before it existed: read from `reason`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<SkipCause>,
    },
    StageSucceeded {
        stage: String,
        at: DateTime<Utc>,
    },
    StageFailed {
        stage: String,
        at: DateTime<Utc>,
    },
    StageSkipped {
        stage: String,
        at: DateTime<Utc>,
    },
    PipelineSucceeded {
        at: DateTime<Utc>,
    },
    PipelineFailed {
        reason: String,
        at: DateTime<Utc>,
    },
    /// A node with `when = "manual"` may run once someone starts it
    /// (`startPipelineNode`: then `NodeBecameReady`, with the user as the
    /// event's actor).
    NodeWaitingForStart {
        path: String,
        at: DateTime<Utc>,
    },
    /// A node with a schedule starts at `start_at` (worked out once, when
    /// it left BLOCKED: `schedule::next_start`). A durable timer, kept by
    /// the timers worker from this event, makes it READY then.
    NodeScheduled {
        path: String,
        start_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// A gate's attempt did not succeed (its job failed, or its
    /// `success_condition` did not hold) and attempts are left: the node is
    /// SCHEDULED again for `next_attempt_at` (the end of this attempt plus
    /// the gate's `interval`). `outputs` are this attempt's.
    NodeGateAttemptFailed {
        path: String,
        attempt: u32,
        reason: String,
        outputs: NodeOutputs,
        next_attempt_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// `updatePipelineNodeSchedule`: the node's schedule is `schedule` from
    /// now on (`None`: it has none), in place of its template's. A
    /// SCHEDULED node is scheduled again (`NodeScheduled`) or, without a
    /// schedule, made ready, in the same command.
    NodeScheduleUpdated {
        path: String,
        schedule: Option<crate::template::model::Schedule>,
        at: DateTime<Utc>,
    },
    /// `retryPipelineNode`: a FAILED node is BLOCKED again; its next run is
    /// attempt `attempt`.
    NodeRetried {
        path: String,
        attempt: u32,
        at: DateTime<Utc>,
    },
    /// A retry undoes a skip the retried failure caused: the node is
    /// `status` again (BLOCKED in the retried node's stage, CREATED in a
    /// later one).
    NodeReset {
        path: String,
        status: crate::pipeline::NodeStatus,
        at: DateTime<Utc>,
    },
    /// A retry runs a FAILED stage again.
    StageReopened {
        stage: String,
        at: DateTime<Utc>,
    },
    /// A retry undoes a stage's skip: it is CREATED again.
    StageReset {
        stage: String,
        at: DateTime<Utc>,
    },
    /// A retry runs a FAILED pipeline again.
    PipelineReopened {
        at: DateTime<Utc>,
    },
    /// Nothing in the stage can run until someone acts: every node not
    /// finished waits for a person, or behind one.
    StageWaiting {
        stage: String,
        at: DateTime<Utc>,
    },
    /// Something in a waiting stage runs again.
    StageResumed {
        stage: String,
        at: DateTime<Utc>,
    },
    /// The pipeline's current stage is waiting.
    PipelineWaiting {
        at: DateTime<Utc>,
    },
    PipelineResumed {
        at: DateTime<Utc>,
    },
    /// `cancelPipeline`: the pipeline stops. What has not started is
    /// CANCELED; jobs in flight are asked to stop (`force`: CANCELED at
    /// once, and the job with them). `grace_seconds` is how long a job's
    /// commands get between SIGTERM and SIGKILL (from
    /// `PHOBOS_JOB_CANCEL_GRACE_SECONDS`, kept here so a replay needs no
    /// configuration).
    PipelineCancelRequested {
        force: bool,
        grace_seconds: u32,
        at: DateTime<Utc>,
    },
    /// A node whose job may be in flight is asked to stop: its job gets the
    /// cancellation; the node is CANCELING until the job ends.
    NodeCancelRequested {
        path: String,
        job_id: Option<String>,
        grace_seconds: u32,
        at: DateTime<Utc>,
    },
    /// The node is CANCELED. `job_id`: a job still in flight that must stop
    /// at once (a forced cancel); `forced` says the node did not wait for
    /// it. `outputs`: what its job reported before it stopped.
    NodeCanceled {
        path: String,
        reason: String,
        #[serde(default)]
        forced: bool,
        #[serde(default)]
        job_id: Option<String>,
        #[serde(default)]
        outputs: NodeOutputs,
        at: DateTime<Utc>,
    },
    /// Every node of the stage has ended and one was canceled (none failed),
    /// or the pipeline was canceled before the stage ran.
    StageCanceled {
        stage: String,
        at: DateTime<Utc>,
    },
    PipelineCanceled {
        reason: String,
        at: DateTime<Utc>,
    },
}
named_event!(PipelineEvent {
    PipelineCreated,
    PipelineStarted,
    StageStarted,
    NodeBecameReady,
    NodeStarted,
    NodeSucceeded,
    NodeFailed,
    NodeSkipped,
    StageSucceeded,
    StageFailed,
    StageSkipped,
    PipelineSucceeded,
    PipelineFailed,
    NodeWaitingForStart,
    NodeScheduled,
    NodeGateAttemptFailed,
    NodeScheduleUpdated,
    NodeRetried,
    NodeReset,
    StageReopened,
    StageReset,
    PipelineReopened,
    StageWaiting,
    StageResumed,
    PipelineWaiting,
    PipelineResumed,
    PipelineCancelRequested,
    NodeCancelRequested,
    NodeCanceled,
    StageCanceled,
    PipelineCanceled
});
