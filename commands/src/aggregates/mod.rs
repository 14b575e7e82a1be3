//! The aggregates. Each one decides, from its own past events only, what a
//! command causes; cqrs-es stores the result with optimistic concurrency on
//! `(aggregate_type, aggregate_id, sequence)`, so two commands racing on one
//! aggregate cannot both append from the same state.
//!
//! Ids: organizations and projects are keyed by a UUID derived from their
//! name ([`organization_id`], [`project_id`]), so "name already taken" is an
//! aggregate rule, not a read-model check that could race.

mod agent;
mod approval_rule;
mod environment;
mod identity;
mod job;
mod memberships;
mod organization;
mod pipeline;
mod pipeline_template;
mod project;
mod release;

use serde::{Deserialize, Serialize};

pub use agent::{Agent, AgentCommand, AGENT_STATE_SHAPE};
pub use approval_rule::{approval_rule_id, ApprovalRule, ApprovalRuleCommand};
pub use environment::{Environment, EnvironmentCommand};
pub use identity::{
    resource_limit_id, service_account_id, signing_key_id, team_id, user_id, ResourceLimit,
    ResourceLimitCommand, ServiceAccount, ServiceAccountCommand, SigningKey, SigningKeyCommand,
    Team, TeamCommand, User, UserCommand,
};
pub use job::{Job, JobCommand, JobStatus};
pub use memberships::{membership_id, MembershipCommand};
pub use organization::{Organization, OrganizationCommand};
pub use pipeline::{Pipeline, PipelineCommand, PIPELINE_SNAPSHOT_EVERY, PIPELINE_STATE_SHAPE};
pub use pipeline_template::{PipelineTemplate, PipelineTemplateCommand};
pub use project::{Project, ProjectCommand};
pub use release::{
    release_id, release_lifecycle_id, release_pipeline_id, Release, ReleaseCommand,
    ReleaseLifecycle, ReleaseLifecycleCommand,
};

use phobos_core::events::{NamedEvent, EVENT_VERSION};

/// A core event as cqrs-es stores it: the variant name as `event_type`,
/// [`EVENT_VERSION`] as `event_version`, the event itself as payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Stored<E>(pub E);

impl<E> cqrs_es::DomainEvent for Stored<E>
where
    E: NamedEvent
        + Serialize
        + serde::de::DeserializeOwned
        + Clone
        + PartialEq
        + std::fmt::Debug
        + Sync
        + Send,
{
    fn event_type(&self) -> String {
        self.0.name().to_string()
    }
    fn event_version(&self) -> String {
        EVENT_VERSION.to_string()
    }
}

/// The serialized shape `N` of a snapshotted aggregate's state: written as
/// the number `N`, and any other number (or none) fails to decode, so a
/// snapshot from a build with another shape is ignored and the aggregate
/// rebuilt from its events (`crate::snapshots`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Shape<const N: u32>;

impl<const N: u32> Serialize for Shape<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(N)
    }
}

impl<'de, const N: u32> Deserialize<'de> for Shape<N> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let found = u32::deserialize(d)?;
        if found == N {
            Ok(Shape)
        } else {
            Err(serde::de::Error::custom(format!(
                "state of shape {found}; this build reads shape {N}"
            )))
        }
    }
}

/// The name of a command, stored in each event's metadata.
pub trait CommandName {
    fn command_name(&self) -> &'static str;
}

macro_rules! command_name {
    ($ty:ty { $($variant:ident),* $(,)? }) => {
        impl $crate::aggregates::CommandName for $ty {
            fn command_name(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => stringify!($variant),)*
                }
            }
        }
    };
}
pub(crate) use command_name;

fn name_id(kind: &str, name: &str) -> String {
    let ns = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"https://phobos.invalid/names");
    uuid::Uuid::new_v5(&ns, format!("{kind}/{name}").as_bytes()).to_string()
}

/// The id of the organization called `name`.
pub fn organization_id(name: &str) -> String {
    name_id("organization", name)
}

/// The id of the project called `name` in organization `organization_id`.
pub fn project_id(organization_id: &str, name: &str) -> String {
    name_id("project", &format!("{organization_id}/{name}"))
}

/// The id of the environment called `name` in project `project_id`.
pub fn environment_id(project_id: &str, name: &str) -> String {
    name_id("environment", &format!("{project_id}/{name}"))
}

/// The id of the agent called `name`.
pub fn agent_id(name: &str) -> String {
    name_id("agent", name)
}

/// The id of organization `organization_id`'s agent called `name` (shared
/// agents: [`agent_id`]).
pub fn organization_agent_id(organization_id: &str, name: &str) -> String {
    name_id("agent", &format!("{organization_id}/{name}"))
}
