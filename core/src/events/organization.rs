//! Organizations, projects, pipeline templates and environments.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::named_event;
use crate::access::{Member, Role};

/// The membership events, the same in an organization and in a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MembershipEvent {
    /// `member` holds `role` in the scope (the aggregate the event is in).
    MembershipCreated {
        membership_id: String,
        member: Member,
        role: Role,
        created_at: DateTime<Utc>,
    },
    MembershipRoleChanged {
        membership_id: String,
        role: Role,
        changed_at: DateTime<Utc>,
    },
    MembershipDeleted {
        membership_id: String,
        deleted_at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrganizationEvent {
    OrganizationCreated {
        name: String,
        description: String,
        created_at: DateTime<Utc>,
    },
    /// A membership in the organization (it counts in all its projects).
    #[serde(untagged)]
    Membership(MembershipEvent),
}

impl super::NamedEvent for OrganizationEvent {
    fn name(&self) -> &'static str {
        match self {
            Self::OrganizationCreated { .. } => "OrganizationCreated",
            Self::Membership(m) => m.name(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProjectEvent {
    ProjectCreated {
        organization_id: String,
        organization_name: String,
        name: String,
        description: String,
        created_at: DateTime<Utc>,
    },
    /// A membership in the project only.
    #[serde(untagged)]
    Membership(MembershipEvent),
}

impl super::NamedEvent for ProjectEvent {
    fn name(&self) -> &'static str {
        match self {
            Self::ProjectCreated { .. } => "ProjectCreated",
            Self::Membership(m) => m.name(),
        }
    }
}

named_event!(MembershipEvent {
    MembershipCreated,
    MembershipRoleChanged,
    MembershipDeleted
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PipelineTemplateEvent {
    /// The HCL text is in the object store under `object_key`; `sha256`
    /// identifies it, so the text read back can be checked.
    PipelineTemplateCreated {
        project_id: String,
        name: String,
        object_key: String,
        sha256: String,
        size: u64,
        created_at: DateTime<Utc>,
    },
}
named_event!(PipelineTemplateEvent {
    PipelineTemplateCreated
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EnvironmentEvent {
    /// A project's environment `name` exists (`createEnvironment`, or the
    /// first deployment to it).
    EnvironmentCreated {
        project_id: String,
        name: String,
        description: String,
        created_at: DateTime<Utc>,
    },
    /// Who may start or approve a deployment into the environment, in
    /// place of what was set before: these principals (users, teams,
    /// service accounts), and whoever holds one of `roles` (or a higher
    /// one) in the project. Both empty: the environment is unprotected.
    EnvironmentProtectionRulesSet {
        principals: Vec<crate::access::Member>,
        roles: Vec<crate::access::Role>,
        set_at: DateTime<Utc>,
    },
}
named_event!(EnvironmentEvent {
    EnvironmentCreated,
    EnvironmentProtectionRulesSet
});
