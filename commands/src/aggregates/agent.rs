use chrono::Utc;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::events::AgentEvent;
use serde::{Deserialize, Serialize};

use super::{command_name, Stored};
use crate::error::DomainError;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Agent {
    name: Option<String>,
    session_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub enum AgentCommand {
    /// Registers the agent if it is new, then opens a session.
    StartAgentSession {
        name: String,
        internal: bool,
        session_id: String,
        tags: Vec<String>,
    },
}
command_name!(AgentCommand { StartAgentSession });

impl Aggregate for Agent {
    const TYPE: &'static str = "Agent";
    type Command = AgentCommand;
    type Event = Stored<AgentEvent>;
    type Error = DomainError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        match command {
            AgentCommand::StartAgentSession {
                name,
                internal,
                session_id,
                tags,
            } => {
                let now = Utc::now();
                if self.name.is_none() {
                    let e = AgentEvent::AgentRegistered {
                        name,
                        internal,
                        registered_at: now,
                    };
                    sink.write(Stored(e), self).await;
                }
                if self.session_id.as_deref() == Some(session_id.as_str()) {
                    return Ok(());
                }
                let e = AgentEvent::AgentSessionStarted {
                    session_id,
                    tags,
                    started_at: now,
                };
                sink.write(Stored(e), self).await;
                Ok(())
            }
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event.0 {
            AgentEvent::AgentRegistered { name, .. } => self.name = Some(name),
            AgentEvent::AgentSessionStarted { session_id, .. } => {
                self.session_id = Some(session_id)
            }
        }
    }
}
