//! Organizations, projects, pipeline templates and environments.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::named_event;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrganizationEvent {
    OrganizationCreated {
        name: String,
        description: String,
        created_at: DateTime<Utc>,
    },
}
named_event!(OrganizationEvent {
    OrganizationCreated
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProjectEvent {
    ProjectCreated {
        organization_id: String,
        organization_name: String,
        name: String,
        description: String,
        created_at: DateTime<Utc>,
    },
}
named_event!(ProjectEvent { ProjectCreated });

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
}
named_event!(EnvironmentEvent { EnvironmentCreated });
