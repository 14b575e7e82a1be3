//! Users and teams.
//!
//! A user is keyed by its username ([`user_id`]), so its first sight by two
//! requests at once makes one user; the identity (issuer and subject) it
//! was created with is kept, and a different identity claiming the same
//! username is refused.

use std::collections::HashMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use phobos_core::events::aggregate;
use phobos_core::events::{
    ResourceLimitEvent, ServiceAccountEvent, SigningKeyEvent, TeamEvent, TrustPolicy, UserEvent,
};
use serde::{Deserialize, Serialize};

use super::{command_name, name_id, Stored};
use crate::clock::Services;
use crate::error::DomainError;

/// The id of the user called `username`.
pub fn user_id(username: &str) -> String {
    name_id("user", username)
}

/// The id of the team called `name`.
pub fn team_id(name: &str) -> String {
    name_id("team", name)
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct User {
    /// (issuer, subject) of the identity it was created for.
    identity: Option<(String, String)>,
    /// Its live sessions, oldest first.
    #[serde(default)]
    sessions: Vec<Session>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    id: String,
    refresh_sha256: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Deserialize)]
pub enum UserCommand {
    /// Refused with AlreadyExists when this identity has it already (the
    /// caller takes that as done), with Conflict when another has.
    CreateUser {
        username: String,
        email: Option<String>,
        issuer: String,
        subject: String,
        admin: bool,
    },
    /// A sign-in: a new session; the oldest live ones end when the user
    /// would have more than `max_sessions`.
    StartSession {
        session_id: String,
        refresh_sha256: String,
        ttl_minutes: i64,
        max_sessions: u32,
    },
    /// Exchanges a live session's refresh token for a new one.
    RefreshSession {
        refresh_sha256: String,
        new_refresh_sha256: String,
        ttl_minutes: i64,
    },
    /// `logout`: the session of this refresh token ends.
    EndSession { refresh_sha256: String },
}
command_name!(UserCommand {
    CreateUser,
    StartSession,
    RefreshSession,
    EndSession
});

/// The message of a refresh token that is not a live session's.
const STALE_REFRESH: &str =
    "the refresh token is invalid, was used already, or has expired: log in again";

impl Aggregate for User {
    const TYPE: &'static str = aggregate::USER;
    type Command = UserCommand;
    type Event = Stored<UserEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        match command {
            UserCommand::CreateUser {
                username,
                email,
                issuer,
                subject,
                admin,
            } => {
                if let Some((i, s)) = &self.identity {
                    return Err(if *i == issuer && *s == subject {
                        DomainError::AlreadyExists(format!("user {username:?}"))
                    } else {
                        DomainError::Conflict(format!(
                            "username {username:?} belongs to another identity (issuer {i}); set the provider's USERNAME_CLAIM to a claim that is unique across providers"
                        ))
                    });
                }
                let e = UserEvent::UserCreated {
                    username,
                    email,
                    issuer,
                    subject,
                    admin,
                    created_at: services.now(),
                };
                sink.write(Stored(e), self).await;
                Ok(())
            }
            UserCommand::StartSession {
                session_id,
                refresh_sha256,
                ttl_minutes,
                max_sessions,
            } => {
                if self.identity.is_none() {
                    return Err(DomainError::NotFound("the user does not exist".into()));
                }
                let now = services.now();
                let live: Vec<&Session> = self
                    .sessions
                    .iter()
                    .filter(|s| s.expires_at > now)
                    .collect();
                let over = (live.len() + 1).saturating_sub(max_sessions.max(1) as usize);
                let ended: Vec<String> = live.iter().take(over).map(|s| s.id.clone()).collect();
                for id in ended {
                    let e = UserEvent::SessionEnded {
                        session_id: id,
                        reason: format!(
                            "revoked: the user signed in again with {max_sessions} sessions open (PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER)"
                        ),
                        ended_at: now,
                    };
                    sink.write(Stored(e), self).await;
                }
                let e = UserEvent::SessionStarted {
                    session_id,
                    refresh_sha256,
                    expires_at: now + chrono::Duration::minutes(ttl_minutes),
                    started_at: now,
                };
                sink.write(Stored(e), self).await;
                Ok(())
            }
            UserCommand::RefreshSession {
                refresh_sha256,
                new_refresh_sha256,
                ttl_minutes,
            } => {
                let now = services.now();
                let s = self
                    .sessions
                    .iter()
                    .find(|s| s.refresh_sha256 == refresh_sha256 && s.expires_at > now)
                    .ok_or_else(|| DomainError::NotFound(STALE_REFRESH.into()))?;
                // A session lasts `ttl` from its sign-in: refreshing does not
                // extend it (a stolen refresh token dies with its session).
                let _ = ttl_minutes;
                let e = UserEvent::SessionRefreshed {
                    session_id: s.id.clone(),
                    refresh_sha256: new_refresh_sha256,
                    expires_at: s.expires_at,
                    refreshed_at: now,
                };
                sink.write(Stored(e), self).await;
                Ok(())
            }
            UserCommand::EndSession { refresh_sha256 } => {
                let now = services.now();
                let s = self
                    .sessions
                    .iter()
                    .find(|s| s.refresh_sha256 == refresh_sha256 && s.expires_at > now)
                    .ok_or_else(|| DomainError::NotFound(STALE_REFRESH.into()))?;
                let e = UserEvent::SessionEnded {
                    session_id: s.id.clone(),
                    reason: "logout".into(),
                    ended_at: now,
                };
                sink.write(Stored(e), self).await;
                Ok(())
            }
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event.0 {
            UserEvent::UserCreated {
                issuer, subject, ..
            } => self.identity = Some((issuer, subject)),
            UserEvent::SessionStarted {
                session_id,
                refresh_sha256,
                expires_at,
                ..
            } => self.sessions.push(Session {
                id: session_id,
                refresh_sha256,
                expires_at,
            }),
            UserEvent::SessionRefreshed {
                session_id,
                refresh_sha256,
                expires_at,
                ..
            } => {
                if let Some(s) = self.sessions.iter_mut().find(|s| s.id == session_id) {
                    s.refresh_sha256 = refresh_sha256;
                    s.expires_at = expires_at;
                }
            }
            UserEvent::SessionEnded { session_id, .. } => {
                self.sessions.retain(|s| s.id != session_id)
            }
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Team {
    name: Option<String>,
    /// user id → maintainer
    members: HashMap<String, bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub enum TeamCommand {
    CreateTeam {
        name: String,
        description: String,
    },
    AddTeamMember {
        user_id: String,
        username: String,
        maintainer: bool,
    },
    RemoveTeamMember {
        user_id: String,
        username: String,
    },
}
command_name!(TeamCommand {
    CreateTeam,
    AddTeamMember,
    RemoveTeamMember
});

impl Team {
    /// Whether `user_id` is a maintainer of the team.
    pub fn is_maintainer(&self, user_id: &str) -> bool {
        self.members.get(user_id).copied().unwrap_or(false)
    }
}

impl Aggregate for Team {
    const TYPE: &'static str = aggregate::TEAM;
    type Command = TeamCommand;
    type Event = Stored<TeamEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let now = services.now();
        let e = match command {
            TeamCommand::CreateTeam { name, description } => {
                if self.name.is_some() {
                    return Err(DomainError::AlreadyExists(format!("team {name:?}")));
                }
                TeamEvent::TeamCreated {
                    name,
                    description,
                    created_at: now,
                }
            }
            TeamCommand::AddTeamMember {
                user_id,
                username,
                maintainer,
            } => {
                let Some(team) = &self.name else {
                    return Err(DomainError::NotFound("the team does not exist".into()));
                };
                if self.members.contains_key(&user_id) {
                    return Err(DomainError::AlreadyExists(format!(
                        "{username:?} is already a member of team {team:?}"
                    )));
                }
                TeamEvent::TeamMemberAdded {
                    user_id,
                    username,
                    maintainer,
                    added_at: now,
                }
            }
            TeamCommand::RemoveTeamMember { user_id, username } => {
                let Some(team) = &self.name else {
                    return Err(DomainError::NotFound("the team does not exist".into()));
                };
                if !self.members.contains_key(&user_id) {
                    return Err(DomainError::NotFound(format!(
                        "{username:?} is not a member of team {team:?}"
                    )));
                }
                TeamEvent::TeamMemberRemoved {
                    user_id,
                    username,
                    removed_at: now,
                }
            }
        };
        sink.write(Stored(e), self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event.0 {
            TeamEvent::TeamCreated { name, .. } => self.name = Some(name),
            TeamEvent::TeamMemberAdded {
                user_id,
                maintainer,
                ..
            } => {
                self.members.insert(user_id, maintainer);
            }
            TeamEvent::TeamMemberRemoved { user_id, .. } => {
                self.members.remove(&user_id);
            }
        }
    }
}

/// The id of signing key `kid`.
pub fn signing_key_id(kid: &str) -> String {
    name_id("signing_key", kid)
}

/// A signing key's life, as the server that holds it reports it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SigningKey {
    created: bool,
    retired: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub enum SigningKeyCommand {
    RecordKeyCreated {
        kid: String,
        algorithm: String,
        public_jwk: serde_json::Value,
        created_at: chrono::DateTime<chrono::Utc>,
        provider: phobos_core::events::SigningKeyProvider,
    },
    RecordKeyRetired {
        kid: String,
        retired_at: chrono::DateTime<chrono::Utc>,
        decommission_at: chrono::DateTime<chrono::Utc>,
    },
}
command_name!(SigningKeyCommand {
    RecordKeyCreated,
    RecordKeyRetired
});

impl Aggregate for SigningKey {
    const TYPE: &'static str = aggregate::SIGNING_KEY;
    type Command = SigningKeyCommand;
    type Event = Stored<SigningKeyEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let e = match command {
            SigningKeyCommand::RecordKeyCreated {
                kid,
                algorithm,
                public_jwk,
                created_at,
                provider,
            } => {
                if self.created {
                    return Err(DomainError::AlreadyExists(format!("signing key {kid}")));
                }
                SigningKeyEvent::SigningKeyCreated {
                    kid,
                    algorithm,
                    public_jwk,
                    created_at,
                    provider,
                }
            }
            SigningKeyCommand::RecordKeyRetired {
                kid,
                retired_at,
                decommission_at,
            } => {
                if !self.created || self.retired {
                    return Err(DomainError::Conflict(format!(
                        "signing key {kid} is not a live key"
                    )));
                }
                SigningKeyEvent::SigningKeyRetired {
                    kid,
                    retired_at,
                    decommission_at,
                }
            }
        };
        sink.write(Stored(e), self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event.0 {
            SigningKeyEvent::SigningKeyCreated { .. } => self.created = true,
            SigningKeyEvent::SigningKeyRetired { .. } => self.retired = true,
        }
    }
}

/// The id of the service account `name` of organization or project
/// `scope_id`.
pub fn service_account_id(scope_id: &str, name: &str) -> String {
    name_id("service_account", &format!("{scope_id}/{name}"))
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ServiceAccount {
    path: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub enum ServiceAccountCommand {
    CreateServiceAccount {
        organization_id: String,
        project_id: Option<String>,
        path: String,
        name: String,
        description: String,
        trust_policies: Vec<TrustPolicy>,
    },
    UpdateServiceAccount {
        description: String,
        trust_policies: Vec<TrustPolicy>,
    },
}
command_name!(ServiceAccountCommand {
    CreateServiceAccount,
    UpdateServiceAccount
});

impl Aggregate for ServiceAccount {
    const TYPE: &'static str = aggregate::SERVICE_ACCOUNT;
    type Command = ServiceAccountCommand;
    type Event = Stored<ServiceAccountEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let now = services.now();
        let e = match command {
            ServiceAccountCommand::CreateServiceAccount {
                organization_id,
                project_id,
                path,
                name,
                description,
                trust_policies,
            } => {
                if self.path.is_some() {
                    return Err(DomainError::AlreadyExists(format!(
                        "service account {path}"
                    )));
                }
                ServiceAccountEvent::ServiceAccountCreated {
                    organization_id,
                    project_id,
                    path,
                    name,
                    description,
                    trust_policies,
                    created_at: now,
                }
            }
            ServiceAccountCommand::UpdateServiceAccount {
                description,
                trust_policies,
            } => {
                if self.path.is_none() {
                    return Err(DomainError::NotFound(
                        "the service account does not exist".into(),
                    ));
                }
                ServiceAccountEvent::ServiceAccountUpdated {
                    description,
                    trust_policies,
                    updated_at: now,
                }
            }
        };
        sink.write(Stored(e), self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        if let ServiceAccountEvent::ServiceAccountCreated { path, .. } = event.0 {
            self.path = Some(path);
        }
    }
}

/// The id of resource limit `name`.
pub fn resource_limit_id(name: &str) -> String {
    name_id("resource_limit", name)
}

/// One resource limit's value over time.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ResourceLimit {
    value: Option<i32>,
}

#[derive(Debug, Clone, Deserialize)]
pub enum ResourceLimitCommand {
    UpdateResourceLimit { name: String, value: i32 },
}
command_name!(ResourceLimitCommand {
    UpdateResourceLimit
});

impl Aggregate for ResourceLimit {
    const TYPE: &'static str = aggregate::RESOURCE_LIMIT;
    type Command = ResourceLimitCommand;
    type Event = Stored<ResourceLimitEvent>;
    type Error = DomainError;
    type Services = Services;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let ResourceLimitCommand::UpdateResourceLimit { name, value } = command;
        if value < 0 {
            return Err(DomainError::Invalid(format!("{name} cannot be negative")));
        }
        let e = ResourceLimitEvent::ResourceLimitUpdated {
            name,
            value,
            updated_at: services.now(),
        };
        sink.write(Stored(e), self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        let ResourceLimitEvent::ResourceLimitUpdated { value, .. } = event.0;
        self.value = Some(value);
    }
}
