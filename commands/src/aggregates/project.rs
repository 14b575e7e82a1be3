use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::events::aggregate;
use phobos_core::events::ProjectEvent;
use serde::{Deserialize, Serialize};

use super::{command_name, Stored};
use crate::clock::Services;
use crate::error::DomainError;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Project {
    name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub enum ProjectCommand {
    CreateProject {
        organization_id: String,
        organization_name: String,
        name: String,
        description: String,
    },
}
command_name!(ProjectCommand { CreateProject });

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
            ProjectEvent::ProjectCreated { name, .. } => self.name = Some(name),
        }
    }
}
