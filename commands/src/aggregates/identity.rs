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
use phobos_core::events::{TeamEvent, UserEvent};
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
}
command_name!(UserCommand { CreateUser });

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
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event.0 {
            UserEvent::UserCreated {
                issuer, subject, ..
            } => self.identity = Some((issuer, subject)),
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
