use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::events::aggregate;
use phobos_core::events::OrganizationEvent;
use serde::{Deserialize, Serialize};

use super::memberships::{MembershipCommand, Memberships};
use super::Stored;
use crate::clock::Services;
use crate::error::DomainError;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Organization {
    name: Option<String>,
    #[serde(default)]
    members: Memberships,
}

#[derive(Debug, Clone, Deserialize)]
pub enum OrganizationCommand {
    /// Memberships: refused with NotFound before the organization exists.
    Membership(MembershipCommand),
    CreateOrganization {
        name: String,
        description: String,
    },
}
impl super::CommandName for OrganizationCommand {
    fn command_name(&self) -> &'static str {
        match self {
            Self::CreateOrganization { .. } => "CreateOrganization",
            Self::Membership(m) => m.name(),
        }
    }
}

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
            OrganizationCommand::Membership(cmd) => {
                let Some(name) = &self.name else {
                    return Err(DomainError::NotFound(
                        "the organization does not exist".to_string(),
                    ));
                };
                let scope = format!("organization {name:?}");
                let e = self.members.decide(&scope, cmd, services.now())?;
                sink.write(Stored(OrganizationEvent::Membership(e)), self)
                    .await;
                Ok(())
            }
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
            OrganizationEvent::Membership(m) => self.members.apply(m),
            OrganizationEvent::OrganizationCreated { name, .. } => self.name = Some(name),
        }
    }
}
