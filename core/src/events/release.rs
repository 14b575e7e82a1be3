//! Release lifecycles and releases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::named_event;
use crate::template::ExecutionGraph;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReleaseLifecycleEvent {
    /// A lifecycle of an organization (`project_id` None: usable by all its
    /// projects) or of one project; `path` is `ORG/NAME` or
    /// `ORG/PROJECT/NAME`. Its template (in the object store under
    /// `object_key`, checked by `sha256`) is version 1.
    ReleaseLifecycleCreated {
        organization_id: String,
        #[serde(default)]
        project_id: Option<String>,
        path: String,
        name: String,
        object_key: String,
        sha256: String,
        size: u64,
        created_at: DateTime<Utc>,
    },
    /// A new version of its template (`updateReleaseLifecycle`); releases
    /// keep the version they were made with.
    ReleaseLifecycleVersionCreated {
        version: u32,
        object_key: String,
        sha256: String,
        size: u64,
        created_at: DateTime<Utc>,
    },
}
named_event!(ReleaseLifecycleEvent {
    ReleaseLifecycleCreated,
    ReleaseLifecycleVersionCreated
});

/// What a release runs in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseDeploymentTemplate {
    pub environment: String,
    /// A pipeline template of the release's project.
    pub template_id: String,
}

/// One variable of a release, given to every template of the release that
/// declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseVariable {
    pub key: String,
    pub value: String,
    /// Masked wherever the release is shown or compared.
    #[serde(default)]
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReleaseEvent {
    /// An immutable snapshot: the lifecycle and the version of its template,
    /// each environment's deployment template, and the variables. `graph`
    /// is its lifecycle pipeline compiled with them; a policy creates it as
    /// pipeline `pipeline_id`.
    ReleaseCreated {
        project_id: String,
        lifecycle_id: String,
        lifecycle_version: u32,
        semantic_version: String,
        deployment_templates: Vec<ReleaseDeploymentTemplate>,
        variables: Vec<ReleaseVariable>,
        #[serde(default)]
        due_date: Option<DateTime<Utc>>,
        #[serde(default)]
        notes: String,
        #[serde(default)]
        pre_release: bool,
        /// Who takes part (users and teams); none in events from before
        /// participants existed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        participants: Vec<crate::access::Member>,
        pipeline_id: String,
        graph: Box<ExecutionGraph>,
        created_at: DateTime<Utc>,
    },
    /// What may change after creation, all of it: notes, due date and
    /// participants (none in events from before participants existed,
    /// when there were none).
    ReleaseUpdated {
        notes: String,
        #[serde(default)]
        due_date: Option<DateTime<Utc>>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        participants: Vec<crate::access::Member>,
        updated_at: DateTime<Utc>,
    },
}
named_event!(ReleaseEvent {
    ReleaseCreated,
    ReleaseUpdated
});
