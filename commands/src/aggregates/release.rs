//! Release lifecycles and releases.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::events::aggregate;
use phobos_core::events::{
    ReleaseDeploymentTemplate, ReleaseEvent, ReleaseLifecycleEvent, ReleaseVariable,
};
use phobos_core::template::ExecutionGraph;
use serde::{Deserialize, Serialize};

use super::{command_name, name_id, Stored};
use crate::clock::Services;
use crate::error::DomainError;

/// The id of the release lifecycle `name` of organization or project
/// `scope_id`.
pub fn release_lifecycle_id(scope_id: &str, name: &str) -> String {
    name_id("release_lifecycle", &format!("{scope_id}/{name}"))
}

/// The id of release `semantic_version` of project `project_id`: one per
/// version, so two creates of one version cannot both succeed.
pub fn release_id(project_id: &str, semantic_version: &str) -> String {
    name_id("release", &format!("{project_id}/{semantic_version}"))
}

/// The id of the lifecycle pipeline of release `release_id`.
pub fn release_pipeline_id(release_id: &str) -> String {
    name_id("release_pipeline", release_id)
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ReleaseLifecycle {
    /// Its newest template version; 0 while it does not exist.
    version: u32,
}

/// The caller has checked the HCL with the template engine and stored it
/// in the object store under `object_key` before sending these.
#[derive(Debug, Clone, Deserialize)]
pub enum ReleaseLifecycleCommand {
    CreateReleaseLifecycle {
        organization_id: String,
        project_id: Option<String>,
        path: String,
        name: String,
        object_key: String,
        sha256: String,
        size: u64,
    },
    /// A new template version; refused unless `expected_version` is the
    /// newest (two updates racing: the second is told to look again).
    UpdateReleaseLifecycle {
        expected_version: u32,
        object_key: String,
        sha256: String,
        size: u64,
    },
}
command_name!(ReleaseLifecycleCommand {
    CreateReleaseLifecycle,
    UpdateReleaseLifecycle
});

impl Aggregate for ReleaseLifecycle {
    const TYPE: &'static str = aggregate::RELEASE_LIFECYCLE;
    type Command = ReleaseLifecycleCommand;
    type Event = Stored<ReleaseLifecycleEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let e = match command {
            ReleaseLifecycleCommand::CreateReleaseLifecycle {
                organization_id,
                project_id,
                path,
                name,
                object_key,
                sha256,
                size,
            } => {
                if self.version > 0 {
                    return Err(DomainError::AlreadyExists(format!(
                        "release lifecycle {path}"
                    )));
                }
                ReleaseLifecycleEvent::ReleaseLifecycleCreated {
                    organization_id,
                    project_id,
                    path,
                    name,
                    object_key,
                    sha256,
                    size,
                    created_at: services.now(),
                }
            }
            ReleaseLifecycleCommand::UpdateReleaseLifecycle {
                expected_version,
                object_key,
                sha256,
                size,
            } => {
                if self.version == 0 {
                    return Err(DomainError::NotFound("this release lifecycle".into()));
                }
                if expected_version != self.version {
                    return Err(DomainError::Conflict(format!(
                        "the lifecycle is at version {} now, not {expected_version}: read it again and retry",
                        self.version
                    )));
                }
                ReleaseLifecycleEvent::ReleaseLifecycleVersionCreated {
                    version: self.version + 1,
                    object_key,
                    sha256,
                    size,
                    created_at: services.now(),
                }
            }
        };
        sink.write(Stored(e), self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event.0 {
            ReleaseLifecycleEvent::ReleaseLifecycleCreated { .. } => self.version = 1,
            ReleaseLifecycleEvent::ReleaseLifecycleVersionCreated { version, .. } => {
                self.version = version
            }
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Release {
    created: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub enum ReleaseCommand {
    /// The service has compiled `graph` from the lifecycle's template
    /// version and checked every deployment template and variable.
    CreateRelease {
        project_id: String,
        lifecycle_id: String,
        lifecycle_version: u32,
        semantic_version: String,
        deployment_templates: Vec<ReleaseDeploymentTemplate>,
        variables: Vec<ReleaseVariable>,
        due_date: Option<chrono::DateTime<chrono::Utc>>,
        notes: String,
        pre_release: bool,
        participants: Vec<phobos_core::access::Member>,
        graph: Box<ExecutionGraph>,
        created_at: chrono::DateTime<chrono::Utc>,
    },
    /// The whole of what may change: notes, due date, participants.
    UpdateRelease {
        notes: String,
        due_date: Option<chrono::DateTime<chrono::Utc>>,
        participants: Vec<phobos_core::access::Member>,
    },
}
command_name!(ReleaseCommand {
    CreateRelease,
    UpdateRelease
});

impl Aggregate for Release {
    const TYPE: &'static str = aggregate::RELEASE;
    type Command = ReleaseCommand;
    type Event = Stored<ReleaseEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let e = match command {
            ReleaseCommand::CreateRelease {
                project_id,
                lifecycle_id,
                lifecycle_version,
                semantic_version,
                deployment_templates,
                variables,
                due_date,
                notes,
                pre_release,
                participants,
                graph,
                created_at,
            } => {
                if self.created {
                    return Err(DomainError::AlreadyExists(format!(
                        "release {semantic_version} in this project"
                    )));
                }
                let id = release_id(&project_id, &semantic_version);
                ReleaseEvent::ReleaseCreated {
                    pipeline_id: release_pipeline_id(&id),
                    project_id,
                    lifecycle_id,
                    lifecycle_version,
                    semantic_version,
                    deployment_templates,
                    variables,
                    due_date,
                    notes,
                    pre_release,
                    participants,
                    graph,
                    created_at,
                }
            }
            ReleaseCommand::UpdateRelease {
                notes,
                due_date,
                participants,
            } => {
                if !self.created {
                    return Err(DomainError::NotFound("this release".into()));
                }
                ReleaseEvent::ReleaseUpdated {
                    notes,
                    due_date,
                    participants,
                    updated_at: services.now(),
                }
            }
        };
        sink.write(Stored(e), self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        if let ReleaseEvent::ReleaseCreated { .. } = event.0 {
            self.created = true;
        }
    }
}
