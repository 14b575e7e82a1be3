use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::events::aggregate;
use phobos_core::events::ProjectEvent;
use serde::{Deserialize, Serialize};

use super::memberships::{MembershipCommand, Memberships};
use super::Stored;
use crate::clock::Services;
use crate::error::DomainError;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Project {
    name: Option<String>,
    #[serde(default)]
    members: Memberships,
}

#[derive(Debug, Clone, Deserialize)]
pub enum ProjectCommand {
    /// Memberships: refused with NotFound before the project exists.
    Membership(MembershipCommand),
    CreateProject {
        organization_id: String,
        organization_name: String,
        name: String,
        description: String,
    },
}
impl super::CommandName for ProjectCommand {
    fn command_name(&self) -> &'static str {
        match self {
            Self::CreateProject { .. } => "CreateProject",
            Self::Membership(m) => m.name(),
        }
    }
}

impl Aggregate for Project {
    const TYPE: &'static str = aggregate::PROJECT;
    type Command = ProjectCommand;
    type Event = Stored<ProjectEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        match command {
            ProjectCommand::Membership(cmd) => {
                let Some(name) = &self.name else {
                    return Err(DomainError::NotFound(
                        "the project does not exist".to_string(),
                    ));
                };
                let scope = format!("project {name:?}");
                let e = self.members.decide(&scope, cmd, services.now())?;
                sink.write(Stored(ProjectEvent::Membership(e)), self).await;
                Ok(())
            }
            ProjectCommand::CreateProject {
                organization_id,
                organization_name,
                name,
                description,
            } => {
                if self.name.is_some() {
                    return Err(DomainError::AlreadyExists(format!(
                        "project {organization_name}/{name}"
                    )));
                }
                let e = ProjectEvent::ProjectCreated {
                    organization_id,
                    organization_name,
                    name,
                    description,
                    created_at: services.now(),
                };
                sink.write(Stored(e), self).await;
                Ok(())
            }
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event.0 {
            ProjectEvent::Membership(m) => self.members.apply(m),
            ProjectEvent::ProjectCreated { name, .. } => self.name = Some(name),
        }
    }
}
