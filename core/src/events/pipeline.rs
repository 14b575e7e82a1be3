//! A pipeline run: its graph, and the life of its stages and nodes.

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::{named_event, ApprovalRuleSnapshot, JobSpec};
use crate::access::Member;
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

/// What kind of pipeline a run is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PipelineType {
    /// Created directly (`createPipeline`).
    #[default]
    Runbook,
    /// Started by a `pipeline` node with `pipeline_type = "nested"`.
    Nested,
    /// Started by a `pipeline` node with `pipeline_type = "deployment"` (or
    /// a release lifecycle's deployment), in an environment.
    Deployment,
    /// A release's lifecycle (`createRelease`).
    ReleaseLifecycle,
}

impl PipelineType {
    pub const ALL: &'static [PipelineType] = &[
        Self::Runbook,
        Self::Nested,
        Self::Deployment,
        Self::ReleaseLifecycle,
    ];

    /// The name used in read models and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Runbook => "RUNBOOK",
            Self::Nested => "NESTED",
            Self::Deployment => "DEPLOYMENT",
            Self::ReleaseLifecycle => "RELEASE_LIFECYCLE",
        }
    }

    /// The value [`as_str`](Self::as_str) names.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == s)
    }
}

/// The node of another pipeline that started this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentRef {
    pub pipeline_id: String,
    pub node_path: String,
}

/// Where a pipeline comes from. A pipeline created directly has the
/// default (a RUNBOOK without parent); events recorded before nested
/// pipelines existed have none, which reads as the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineOrigin {
    #[serde(default)]
    pub pipeline_type: PipelineType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentRef>,
    /// A deployment's environment (its name in the project).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The templates of its ancestors, the root's first: its nesting depth
    /// is the length.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ancestry: Vec<String>,
    /// A release's lifecycle pipeline: the release (added 2026-12-01,
    /// stop 18).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<String>,
}

impl PipelineOrigin {
    /// Created directly.
    pub fn is_runbook(&self) -> bool {
        *self == PipelineOrigin::default()
    }
}

/// What a ready nested or deployment pipeline node starts: its child's id
/// (fixed here, so whoever creates it does it once), template and
/// variables (evaluated when the node became ready).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildSpec {
    pub child_pipeline_id: String,
    /// As the template wrote it: an id or a PRN of a pipeline template.
    pub template_ref: String,
    pub pipeline_type: PipelineType,
    pub environment: Option<String>,
    pub variables: IndexMap<String, serde_json::Value>,
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
        /// Nested and deployment pipelines: their type, parent and
        /// environment.
        #[serde(default, skip_serializing_if = "PipelineOrigin::is_runbook")]
        origin: PipelineOrigin,
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
        /// A nested or deployment pipeline node: the pipeline it starts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child: Option<ChildSpec>,
    },
    /// The job of a ready task is queued for an agent: the node is PENDING
    /// until the job starts.
    NodeJobQueued {
        path: String,
        job_id: String,
        at: DateTime<Utc>,
    },
    /// The child pipeline of a ready nested or deployment node exists: the
    /// node runs while it does.
    NodeChildPipelineStarted {
        path: String,
        child_pipeline_id: String,
        at: DateTime<Utc>,
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
    /// A node with `approval_rules` left BLOCKED: it waits for approvals
    /// (its rules' principals and counts are fixed next).
    NodeApprovalPending {
        path: String,
        /// The ids of its rules (the template's references, resolved when
        /// the pipeline was created).
        rule_ids: Vec<String>,
        at: DateTime<Utc>,
    },
    /// The principals and counts of the node's rules, as they were when it
    /// entered APPROVAL_PENDING (by the policy worker).
    NodeApprovalRulesFixed {
        path: String,
        rules: Vec<ApprovalRuleSnapshot>,
        at: DateTime<Utc>,
    },
    /// `principal` approved; it counts for `rules` (the ids of those it was
    /// eligible for when it approved). The actor is in the metadata.
    NodeApproved {
        path: String,
        principal: Member,
        rules: Vec<String>,
        at: DateTime<Utc>,
    },
    /// `principal` took its approval back (the node was still pending).
    NodeApprovalRevoked {
        path: String,
        principal: Member,
        at: DateTime<Utc>,
    },
    /// An advisory rejection: shown on the node, which stays pending.
    NodeRejected {
        path: String,
        principal: Member,
        comment: String,
        at: DateTime<Utc>,
    },
    /// An Owner (`by`, as an actor string) let the node go on without its
    /// approvals, saying why.
    NodeApprovalOverridden {
        path: String,
        by: String,
        comment: String,
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
        /// A nested pipeline node: its child, which is canceled too.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child_pipeline_id: Option<String>,
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
        /// A nested pipeline node still running its child, which a forced
        /// cancel cancels at once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child_pipeline_id: Option<String>,
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
    NodeApprovalPending,
    NodeApprovalRulesFixed,
    NodeApproved,
    NodeApprovalRevoked,
    NodeRejected,
    NodeApprovalOverridden,
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
    PipelineCanceled,
    NodeChildPipelineStarted,
    NodeJobQueued
});
