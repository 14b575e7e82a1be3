//! Agents, their credentials and their sessions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::named_event;

/// Which jobs an agent may take: those of its own organization, or any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgentType {
    Organization,
    Shared,
}

/// The longest session error message kept (longer ones are cut, marked
/// with `…`).
pub const SESSION_ERROR_MAX_CHARS: usize = 2_000;

/// The most errors one session keeps; the agent's own log has the rest.
pub const SESSION_ERRORS_MAX: u32 = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AgentEvent {
    /// Recorded by servers before agents were resources: the agent named
    /// itself when it first opened a session. Such an agent is shared and
    /// runs untagged jobs.
    AgentRegistered {
        name: String,
        internal: bool,
        registered_at: DateTime<Utc>,
    },
    /// An agent resource. `organization_id` is set for organization agents.
    AgentCreated {
        name: String,
        agent_type: AgentType,
        organization_id: Option<String>,
        tags: Vec<String>,
        run_untagged_jobs: bool,
        internal: bool,
        created_at: DateTime<Utc>,
    },
    AgentUpdated {
        tags: Vec<String>,
        run_untagged_jobs: bool,
        updated_at: DateTime<Utc>,
    },
    /// Its credentials stop working and its sessions end.
    AgentDeleted { deleted_at: DateTime<Utc> },
    /// A credential for this agent alone: only its SHA-256 (hex) is kept.
    AgentTokenCreated {
        token_id: String,
        token_sha256: String,
        created_at: DateTime<Utc>,
    },
    /// A session opened; `tags` are the agent's tags at that moment.
    AgentSessionStarted {
        session_id: String,
        tags: Vec<String>,
        started_at: DateTime<Utc>,
    },
    /// A session that stopped heartbeating was closed.
    AgentSessionExpired {
        session_id: String,
        last_heartbeat_at: DateTime<Utc>,
        expired_at: DateTime<Utc>,
    },
    /// The agent reported something that went wrong in a session (a job
    /// it claimed whose executor would not start, a claim that failed).
    /// `message` is the agent's, at most [`SESSION_ERROR_MAX_CHARS`]
    /// characters.
    AgentSessionErrorReported {
        session_id: String,
        message: String,
        reported_at: DateTime<Utc>,
    },
    /// An organization agent may now sign in with the tokens of service
    /// account `service_account_id` (its path then: paths never change).
    AgentServiceAccountAssigned {
        service_account_id: String,
        service_account_path: String,
        assigned_at: DateTime<Utc>,
    },
    /// No service account signs in as it any more.
    AgentServiceAccountUnassigned { unassigned_at: DateTime<Utc> },
}
named_event!(AgentEvent {
    AgentRegistered,
    AgentCreated,
    AgentUpdated,
    AgentDeleted,
    AgentTokenCreated,
    AgentSessionStarted,
    AgentSessionExpired,
    AgentSessionErrorReported,
    AgentServiceAccountAssigned,
    AgentServiceAccountUnassigned
});
