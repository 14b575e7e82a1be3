use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::events::aggregate;
use phobos_core::events::OrganizationEvent;
use serde::{Deserialize, Serialize};

use super::{command_name, Stored};
use crate::clock::Services;
use crate::error::DomainError;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Organization {
    name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub enum OrganizationCommand {
    CreateOrganization { name: String, description: String },
}
command_name!(OrganizationCommand { CreateOrganization });

impl Aggregate for Organization {
    const TYPE: &'static str = aggregate::ORGANIZATION;
    type Command = OrganizationCommand;
    type Event = Stored<OrganizationEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        match command {
            OrganizationCommand::CreateOrganization { name, description } => {
                if self.name.is_some() {
                    return Err(DomainError::AlreadyExists(format!("organization {name:?}")));
                }
                let e = OrganizationEvent::OrganizationCreated {
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
            OrganizationEvent::OrganizationCreated { name, .. } => self.name = Some(name),
        }
    }
}
