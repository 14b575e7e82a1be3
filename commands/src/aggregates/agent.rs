use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::agent::AgentScope;
use phobos_core::events::aggregate;
use std::collections::BTreeMap;

use phobos_core::events::{AgentEvent, AgentType, SESSION_ERRORS_MAX, SESSION_ERROR_MAX_CHARS};
use serde::{Deserialize, Serialize};

use super::{command_name, Shape, Stored};

/// The serialized shape of an agent's snapshot (see [`Shape`]).
pub const AGENT_STATE_SHAPE: u32 = 1;
use crate::clock::Services;
use crate::error::DomainError;

/// An agent: a resource an administrator creates (or the server, for its
/// internal agents), with tags, credentials and sessions.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Agent {
    shape: Shape<AGENT_STATE_SHAPE>,
    /// Set while the agent exists (created, not deleted).
    scope: Option<AgentScope>,
    internal: bool,
    /// The service account that signs in as it, if any (added with
    /// `AgentServiceAccountAssigned`; older snapshots have none).
    #[serde(default)]
    service_account: Option<String>,
    /// How many errors each session that has reported any has kept (added
    /// with `AgentSessionErrorReported`; older snapshots have none). An
    /// expired session's entry goes.
    #[serde(default)]
    session_errors: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub enum AgentCommand {
    CreateAgent {
        name: String,
        agent_type: AgentType,
        organization_id: Option<String>,
        tags: Vec<String>,
        run_untagged_jobs: bool,
    },
    /// The server's own agents: created on first start, their tags kept in
    /// line with the configuration afterwards. Idempotent.
    EnsureInternalAgent {
        name: String,
        tags: Vec<String>,
    },
    UpdateAgent {
        tags: Vec<String>,
        run_untagged_jobs: bool,
    },
    DeleteAgent,
    CreateAgentToken {
        token_id: String,
        token_sha256: String,
    },
    StartAgentSession {
        session_id: String,
    },
    ExpireAgentSession {
        session_id: String,
        last_heartbeat_at: DateTime<Utc>,
    },
    /// The agent says something went wrong in session `session_id` (one of
    /// its own: the transport checks that). Refused once the session has
    /// kept [`SESSION_ERRORS_MAX`].
    ReportAgentSessionError {
        session_id: String,
        message: String,
    },
    /// Organization agents only.
    AssignServiceAccount {
        service_account_id: String,
        service_account_path: String,
    },
    UnassignServiceAccount,
}
command_name!(AgentCommand {
    CreateAgent,
    EnsureInternalAgent,
    UpdateAgent,
    DeleteAgent,
    CreateAgentToken,
    StartAgentSession,
    ExpireAgentSession,
    ReportAgentSessionError,
    AssignServiceAccount,
    UnassignServiceAccount
});

impl Agent {
    /// What decides which jobs it may take; `None` when it does not exist.
    pub fn scope(&self) -> Option<&AgentScope> {
        self.scope.as_ref()
    }

    fn existing(&self) -> Result<&AgentScope, DomainError> {
        self.scope
            .as_ref()
            .ok_or_else(|| DomainError::NotFound("this agent".into()))
    }
}

impl Aggregate for Agent {
    const TYPE: &'static str = aggregate::AGENT;
    type Command = AgentCommand;
    type Event = Stored<AgentEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let now = services.now();
        let event = match command {
            AgentCommand::CreateAgent {
                name,
                agent_type,
                organization_id,
                tags,
                run_untagged_jobs,
            } => {
                if self.scope.is_some() {
                    return Err(DomainError::AlreadyExists(format!("agent {name:?}")));
                }
                AgentEvent::AgentCreated {
                    name,
                    agent_type,
                    organization_id,
                    tags,
                    run_untagged_jobs,
                    internal: false,
                    created_at: now,
                }
            }
            AgentCommand::EnsureInternalAgent { name, tags } => match &self.scope {
                None => AgentEvent::AgentCreated {
                    name,
                    agent_type: AgentType::Shared,
                    organization_id: None,
                    tags,
                    run_untagged_jobs: true,
                    internal: true,
                    created_at: now,
                },
                Some(s) if s.tags == tags => return Ok(()),
                Some(s) => AgentEvent::AgentUpdated {
                    tags,
                    run_untagged_jobs: s.run_untagged_jobs,
                    updated_at: now,
                },
            },
            AgentCommand::UpdateAgent {
                tags,
                run_untagged_jobs,
            } => {
                self.existing()?;
                AgentEvent::AgentUpdated {
                    tags,
                    run_untagged_jobs,
                    updated_at: now,
                }
            }
            AgentCommand::DeleteAgent => {
                self.existing()?;
                AgentEvent::AgentDeleted { deleted_at: now }
            }
            AgentCommand::CreateAgentToken {
                token_id,
                token_sha256,
            } => {
                self.existing()?;
                AgentEvent::AgentTokenCreated {
                    token_id,
                    token_sha256,
                    created_at: now,
                }
            }
            AgentCommand::AssignServiceAccount {
                service_account_id,
                service_account_path,
            } => {
                let scope = self.existing()?;
                if scope.agent_type != AgentType::Organization || self.internal {
                    return Err(DomainError::Conflict(format!(
                        "agent {:?} is a shared agent: only organization agents sign in as service accounts (give a shared agent a credential with createAgentToken)",
                        scope.name
                    )));
                }
                if self.service_account.as_deref() == Some(service_account_id.as_str()) {
                    return Ok(());
                }
                AgentEvent::AgentServiceAccountAssigned {
                    service_account_id,
                    service_account_path,
                    assigned_at: now,
                }
            }
            AgentCommand::UnassignServiceAccount => {
                let scope = self.existing()?;
                if self.service_account.is_none() {
                    return Err(DomainError::Conflict(format!(
                        "agent {:?} has no service account assigned",
                        scope.name
                    )));
                }
                AgentEvent::AgentServiceAccountUnassigned { unassigned_at: now }
            }
            AgentCommand::StartAgentSession { session_id } => AgentEvent::AgentSessionStarted {
                session_id,
                tags: self.existing()?.tags.clone(),
                started_at: now,
            },
            AgentCommand::ExpireAgentSession {
                session_id,
                last_heartbeat_at,
            } => AgentEvent::AgentSessionExpired {
                session_id,
                last_heartbeat_at,
                expired_at: now,
            },
            AgentCommand::ReportAgentSessionError {
                session_id,
                message,
            } => {
                let scope = self.existing()?;
                if self.session_errors.get(&session_id).copied().unwrap_or(0) >= SESSION_ERRORS_MAX
                {
                    return Err(DomainError::LimitExceeded(format!(
                        "session {session_id} of agent {:?} has reported {SESSION_ERRORS_MAX} errors, the most a session keeps; the agent's own log has the rest",
                        scope.name
                    )));
                }
                let message = message.trim();
                if message.is_empty() {
                    return Err(DomainError::Invalid(
                        "message: an error report needs a message saying what went wrong".into(),
                    ));
                }
                AgentEvent::AgentSessionErrorReported {
                    session_id,
                    message: cut(message, SESSION_ERROR_MAX_CHARS),
                    reported_at: now,
                }
            }
        };
        sink.write(Stored(event), self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event.0 {
            AgentEvent::AgentRegistered { name, internal, .. } => {
                self.internal = internal;
                self.scope = Some(AgentScope {
                    name,
                    agent_type: AgentType::Shared,
                    organization_id: None,
                    tags: vec![],
                    run_untagged_jobs: true,
                });
            }
            AgentEvent::AgentCreated {
                name,
                agent_type,
                organization_id,
                tags,
                run_untagged_jobs,
                internal,
                ..
            } => {
                self.internal = internal;
                self.scope = Some(AgentScope {
                    name,
                    agent_type,
                    organization_id,
                    tags,
                    run_untagged_jobs,
                });
            }
            AgentEvent::AgentUpdated {
                tags,
                run_untagged_jobs,
                ..
            } => {
                if let Some(s) = &mut self.scope {
                    s.tags = tags;
                    s.run_untagged_jobs = run_untagged_jobs;
                }
            }
            AgentEvent::AgentDeleted { .. } => {
                self.scope = None;
                self.service_account = None;
            }
            AgentEvent::AgentServiceAccountAssigned {
                service_account_id, ..
            } => self.service_account = Some(service_account_id),
            AgentEvent::AgentServiceAccountUnassigned { .. } => self.service_account = None,
            // Legacy sessions carried the tags the agent claimed.
            AgentEvent::AgentSessionStarted { tags, .. } => {
                if let Some(s) = &mut self.scope {
                    s.tags = tags;
                }
            }
            AgentEvent::AgentSessionErrorReported { session_id, .. } => {
                *self.session_errors.entry(session_id).or_default() += 1;
            }
            AgentEvent::AgentSessionExpired { session_id, .. } => {
                self.session_errors.remove(&session_id);
            }
            AgentEvent::AgentTokenCreated { .. } => {}
        }
    }
}

/// `text`, at most `max` characters, ending in `…` when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if text.chars().count() > max => format!("{}…", &text[..i]),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("abcdef", 6), "abcdef");
        assert_eq!(cut("abcdefg", 6), "abcde…");
        assert_eq!(cut("ééééééé", 3), "éé…");
        assert_eq!(cut("ééééééé", 3).chars().count(), 3);
    }
}
