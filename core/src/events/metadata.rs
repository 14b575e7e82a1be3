//! Who and why, stored with every event.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    /// A person, by email.
    User(String),
    /// A service account, by id.
    ServiceAccount(String),
    /// An agent, by id.
    Agent(String),
    /// A job's executor, by job id.
    Job(String),
    /// The server itself: a policy, a timer, start-up.
    System(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, who) = match self {
            Actor::User(s) => ("user", s),
            Actor::ServiceAccount(s) => ("service_account", s),
            Actor::Agent(s) => ("agent", s),
            Actor::Job(s) => ("job", s),
            Actor::System(s) => ("system", s),
        };
        write!(f, "{kind}:{who}")
    }
}

/// A stored actor string is not `<kind>:<who>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an actor: expected user:<email>, service_account:<id>, agent:<id>, job:<id> or system:<name>")]
pub struct ActorParseError(pub String);

impl FromStr for Actor {
    type Err = ActorParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ActorParseError(s.to_string());
        let (kind, who) = s.split_once(':').ok_or_else(err)?;
        let who = who.to_string();
        Ok(match kind {
            "user" => Actor::User(who),
            "service_account" => Actor::ServiceAccount(who),
            "agent" => Actor::Agent(who),
            "job" => Actor::Job(who),
            "system" => Actor::System(who),
            _ => return Err(err()),
        })
    }
}

/// Metadata of one event: the actor, the command that produced it, and the
/// ids that tie a chain of work together.
///
/// `correlation_id` is shared by everything one request set off (a policy's
/// commands inherit it); `causation_id` is the event (or request) that
/// directly caused this command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    pub actor: Actor,
    pub command: String,
    pub correlation_id: String,
    pub causation_id: String,
    pub trace_id: String,
    /// The OpenTelemetry span of the command that appended the event (16
    /// hex digits), so the spans of what it causes nest under it. Empty
    /// when traces were not exported, and in events stored before it
    /// existed (their map has no `span_id`).
    #[serde(default)]
    pub span_id: String,
}

impl EventMetadata {
    /// The flat map cqrs-es stores.
    pub fn to_map(&self) -> HashMap<String, String> {
        HashMap::from([
            ("actor".to_string(), self.actor.to_string()),
            ("command".to_string(), self.command.clone()),
            ("correlation_id".to_string(), self.correlation_id.clone()),
            ("causation_id".to_string(), self.causation_id.clone()),
            ("trace_id".to_string(), self.trace_id.clone()),
            ("span_id".to_string(), self.span_id.clone()),
        ])
    }

    /// Reads the flat map back; `None` when a key is missing or the actor
    /// does not parse.
    pub fn from_map(map: &HashMap<String, String>) -> Option<EventMetadata> {
        Some(EventMetadata {
            actor: map.get("actor")?.parse().ok()?,
            command: map.get("command")?.clone(),
            correlation_id: map.get("correlation_id")?.clone(),
            causation_id: map.get("causation_id")?.clone(),
            trace_id: map.get("trace_id")?.clone(),
            span_id: map.get("span_id").cloned().unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_through_the_stored_map() {
        let m = EventMetadata {
            actor: Actor::User("admin@example.com".into()),
            command: "CreatePipeline".into(),
            correlation_id: "c".into(),
            causation_id: "d".into(),
            trace_id: "t".into(),
            span_id: "s".into(),
        };
        assert_eq!(EventMetadata::from_map(&m.to_map()), Some(m));
        assert_eq!(
            "system:policy".parse::<Actor>().unwrap(),
            Actor::System("policy".into())
        );
        assert!("robot:x".parse::<Actor>().is_err());
    }

    /// Events stored before span ids were kept still decode, with none.
    #[test]
    fn metadata_stored_without_a_span_id_decodes() {
        let stored: HashMap<String, String> = serde_json::from_str(
            r#"{"actor":"user:admin","command":"CreatePipeline","correlation_id":"c","causation_id":"c","trace_id":"0af7651916cd43dd8448eb211c80319c"}"#,
        )
        .unwrap();
        let m = EventMetadata::from_map(&stored).unwrap();
        assert_eq!(m.trace_id, "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(m.span_id, "");
    }
}
