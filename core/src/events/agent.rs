//! Agents and their sessions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::named_event;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AgentEvent {
    AgentRegistered {
        name: String,
        internal: bool,
        registered_at: DateTime<Utc>,
    },
    /// A session opened; `tags` are the tags the agent offers in it.
    AgentSessionStarted {
        session_id: String,
        tags: Vec<String>,
        started_at: DateTime<Utc>,
    },
}
named_event!(AgentEvent {
    AgentRegistered,
    AgentSessionStarted
});
