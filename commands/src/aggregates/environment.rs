use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::access::{Member, Role};
use phobos_core::events::aggregate;
use phobos_core::events::EnvironmentEvent;
use serde::{Deserialize, Serialize};

use super::{command_name, Stored};
use crate::clock::Services;
use crate::error::DomainError;

/// An environment of a project, keyed by its name
/// ([`environment_id`](super::environment_id)), so creating it on first use
/// by two deployments at once makes one.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Environment {
    name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub enum EnvironmentCommand {
    /// Refused with AlreadyExists when it exists (a deployment's policy
    /// takes that as done).
    CreateEnvironment {
        project_id: String,
        name: String,
        description: String,
    },
    /// Replaces the environment's protection rules; NotFound until it
    /// exists.
    SetProtectionRules {
        principals: Vec<Member>,
        roles: Vec<Role>,
    },
}
command_name!(EnvironmentCommand {
    CreateEnvironment,
    SetProtectionRules
});

impl Aggregate for Environment {
    const TYPE: &'static str = aggregate::ENVIRONMENT;
    type Command = EnvironmentCommand;
    type Event = Stored<EnvironmentEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        match command {
            EnvironmentCommand::CreateEnvironment {
                project_id,
                name,
                description,
            } => {
                if self.name.is_some() {
                    return Err(DomainError::AlreadyExists(format!("environment {name}")));
                }
                let e = EnvironmentEvent::EnvironmentCreated {
                    project_id,
                    name,
                    description,
                    created_at: services.now(),
                };
                sink.write(Stored(e), self).await;
                Ok(())
            }
            EnvironmentCommand::SetProtectionRules { principals, roles } => {
                if self.name.is_none() {
                    return Err(DomainError::NotFound("this environment".into()));
                }
                let e = EnvironmentEvent::EnvironmentProtectionRulesSet {
                    principals,
                    roles,
                    set_at: services.now(),
                };
                sink.write(Stored(e), self).await;
                Ok(())
            }
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event.0 {
            EnvironmentEvent::EnvironmentCreated { name, .. } => self.name = Some(name),
            EnvironmentEvent::EnvironmentProtectionRulesSet { .. } => {}
        }
    }
}
