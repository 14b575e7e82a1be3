//! The status enums of the API: the core's (and the job aggregate's) enums,
//! one GraphQL value per variant. Core knows no GraphQL, so each is mirrored
//! here with a `From`; values serialize as the same strings the read models
//! store (`SCREAMING_SNAKE_CASE`), so clients that compared strings keep
//! working.

use async_graphql::Enum;
use phobos_commands::aggregates::JobStatus as CoreJobStatus;
use phobos_core::events::PipelineType as CorePipelineType;
use phobos_core::pipeline::{
    NodeStatus as CoreNodeStatus, PipelineStatus as CorePipelineStatus,
    StageStatus as CoreStageStatus,
};

macro_rules! mirror {
    ($(#[$doc:meta])* $name:ident from $core:ident { $($(#[$vdoc:meta])* $v:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $v),*
        }

        impl From<$core> for $name {
            fn from(s: $core) -> Self {
                match s {
                    $($core::$v => Self::$v),*
                }
            }
        }

        impl From<$name> for $core {
            fn from(s: $name) -> Self {
                match s {
                    $($name::$v => Self::$v),*
                }
            }
        }

        impl $name {
            /// From the read model's text. A value this build does not
            /// know is a bug (the projector writes only the core's names).
            pub fn from_row(s: &str) -> async_graphql::Result<Self> {
                $core::parse(s).map(Self::from).ok_or_else(|| {
                    tracing::error!(status = s, "unknown status in the read model");
                    async_graphql::Error::new("internal error: unknown status in the read model")
                })
            }
        }
    };
}

pub(crate) use mirror;

mirror!(
    /// What started a pipeline.
    PipelineType from CorePipelineType {
        /// `createPipeline`.
        Runbook,
        /// A `pipeline` node with `pipeline_type = "nested"`.
        Nested,
        /// A `pipeline` node with `pipeline_type = "deployment"`, or a
        /// release's deployment.
        Deployment,
        /// A release's lifecycle (`createRelease`).
        ReleaseLifecycle,
    }
);

mirror!(
    /// Where a pipeline is.
    PipelineStatus from CorePipelineStatus {
        /// Created; its first stage has not started.
        Created,
        /// A stage is running.
        Running,
        /// Its current stage waits for someone (a manual start, approvals).
        Waiting,
        /// Every stage succeeded (or was skipped).
        Succeeded,
        /// A stage failed.
        Failed,
        /// `cancelPipeline` is stopping it.
        Canceling,
        /// Canceled.
        Canceled,
    }
);

mirror!(
    /// Where a stage is.
    StageStatus from CoreStageStatus {
        /// An earlier stage has not finished.
        Created,
        /// Its nodes are running or can run.
        Running,
        /// Nothing in it can run until someone acts.
        Waiting,
        /// Every node succeeded or was skipped.
        Succeeded,
        /// A node failed.
        Failed,
        /// Its pipeline is being canceled.
        Canceling,
        /// A node was canceled, or the pipeline.
        Canceled,
        /// An earlier stage failed, so it did not run.
        Skipped,
    }
);

mirror!(
    /// Where a pipeline node is.
    NodeStatus from CoreNodeStatus {
        /// Its stage has not started.
        Created,
        /// Waiting for its section or its dependencies.
        Blocked,
        /// Waiting for approvals.
        ApprovalPending,
        /// `when = "manual"`: waiting for `startPipelineNode`.
        Waiting,
        /// Has a start time.
        Scheduled,
        /// May run; its job is being queued.
        Ready,
        /// Its job is queued or claimed.
        Pending,
        /// Its job (or child pipeline) is running.
        Running,
        /// Done, and it worked.
        Succeeded,
        /// Done, and it did not work (`reason` says why).
        Failed,
        /// Its job was asked to stop.
        Canceling,
        /// Stopped by a cancel.
        Canceled,
        /// It did not run (`reason` says why: `when = "never"`, a false `if`,
        /// a failed sibling or stage).
        Skipped,
    }
);

mirror!(
    /// Where a job is.
    JobStatus from CoreJobStatus {
        /// Not yet queued (never visible in the read models).
        New,
        /// Waiting for an agent.
        Queued,
        /// An agent took it; its executor has not started it yet.
        Claimed,
        /// Its executor runs it.
        Running,
        /// Its commands succeeded.
        Succeeded,
        /// A command failed, or the job could not run (`message` says why).
        Failed,
        /// Its executor was asked to stop it.
        Canceling,
        /// Stopped by a cancel.
        Canceled,
    }
);

impl JobStatus {
    /// What a job's status means for the node attempt it runs.
    pub fn attempt_status(self) -> NodeStatus {
        match self {
            JobStatus::New | JobStatus::Queued | JobStatus::Claimed => NodeStatus::Pending,
            JobStatus::Running => NodeStatus::Running,
            JobStatus::Succeeded => NodeStatus::Succeeded,
            JobStatus::Failed => NodeStatus::Failed,
            JobStatus::Canceling => NodeStatus::Canceling,
            JobStatus::Canceled => NodeStatus::Canceled,
        }
    }
}
