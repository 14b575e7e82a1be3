//! The events of every aggregate: the permanent record.
//!
//! Invariants, kept by review:
//! - names are in the past tense, and every event has a version
//!   ([`EVENT_VERSION`] today);
//! - a stored event never changes meaning: a new shape gets a new version and
//!   an upcaster in `phobos-commands`, never an edit here;
//! - events carry everything needed to rebuild state (a pipeline's whole
//!   execution graph, a job's resolved inputs), so replaying the log needs
//!   nothing else.

mod agent;
pub mod aggregate;
mod approval_rule;
mod identity;
mod job;
mod metadata;
mod organization;
mod pipeline;
mod release;

pub use agent::{AgentEvent, AgentType, SESSION_ERRORS_MAX, SESSION_ERROR_MAX_CHARS};
pub use approval_rule::{ApprovalRuleEvent, ApprovalRuleSnapshot};
pub use identity::{
    ResourceLimitEvent, ServiceAccountEvent, SigningKeyEvent, SigningKeyProvider, TeamEvent,
    TrustPolicy, UserEvent,
};
pub use job::{JobAction, JobEvent, JobSpec};
pub use metadata::{Actor, ActorParseError, EventMetadata};
pub use organization::{
    EnvironmentEvent, MembershipEvent, OrganizationEvent, PipelineTemplateEvent, ProjectEvent,
};
pub use pipeline::{
    ChildSpec, NodeOutputs, ParentRef, PipelineEvent, PipelineOrigin, PipelineType, SkipCause,
};
pub use release::{
    ReleaseDeploymentTemplate, ReleaseEvent, ReleaseLifecycleEvent, ReleaseVariable,
};

/// The version every event is written with today.
pub const EVENT_VERSION: &str = "1";

/// What cqrs-es stores beside each event: its name and version.
pub trait NamedEvent {
    /// The variant's name, e.g. `PipelineCreated`.
    fn name(&self) -> &'static str;
}

macro_rules! named_event {
    ($ty:ty { $($variant:ident),* $(,)? }) => {
        impl $crate::events::NamedEvent for $ty {
            fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => stringify!($variant),)*
                }
            }
        }
    };
}
pub(crate) use named_event;
