//! Memberships of an organization or a project: the part of both
//! aggregates that says who holds which role there.
//!
//! Invariant: one membership per principal per scope. Its id is derived
//! from the scope and the principal ([`membership_id`]), so two concurrent
//! grants to the same principal conflict on the aggregate instead of making
//! two.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use phobos_core::access::{Member, Role};
use phobos_core::events::MembershipEvent;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// The id of `member`'s membership in the organization or project
/// `scope_id`.
pub fn membership_id(scope_id: &str, member: &Member) -> String {
    super::name_id(
        "membership",
        &format!("{scope_id}/{}/{}", member.kind.as_str(), member.id),
    )
}

#[derive(Debug, Clone, Deserialize)]
pub enum MembershipCommand {
    /// `membership_id`: [`membership_id`] of the scope and the member.
    CreateMembership {
        membership_id: String,
        member: Member,
        role: Role,
    },
    ChangeMembershipRole {
        membership_id: String,
        role: Role,
    },
    DeleteMembership {
        membership_id: String,
    },
}

impl MembershipCommand {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            MembershipCommand::CreateMembership { .. } => "CreateMembership",
            MembershipCommand::ChangeMembershipRole { .. } => "ChangeMembershipRole",
            MembershipCommand::DeleteMembership { .. } => "DeleteMembership",
        }
    }
}

/// The memberships of one scope, by id.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Memberships {
    by_id: HashMap<String, (Member, Role)>,
}

impl Memberships {
    pub(crate) fn decide(
        &self,
        scope: &str,
        cmd: MembershipCommand,
        now: DateTime<Utc>,
    ) -> Result<MembershipEvent, DomainError> {
        let missing = |id: &str| {
            DomainError::NotFound(format!(
                "membership {id} of {scope} (list the scope's memberships for their ids)"
            ))
        };
        Ok(match cmd {
            MembershipCommand::CreateMembership {
                membership_id,
                member,
                role,
            } => {
                let held = self.by_id.get(&membership_id).or_else(|| {
                    self.by_id
                        .values()
                        .find(|(m, _)| m.kind == member.kind && m.id == member.id)
                });
                if let Some((_, held)) = held {
                    return Err(DomainError::AlreadyExists(format!(
                        "{} {:?} is already a member of {scope} as {}: change its role with updateMembership",
                        member.kind.as_str(),
                        member.name,
                        held.title()
                    )));
                }
                MembershipEvent::MembershipCreated {
                    membership_id,
                    member,
                    role,
                    created_at: now,
                }
            }
            MembershipCommand::ChangeMembershipRole {
                membership_id,
                role,
            } => {
                let Some((_, held)) = self.by_id.get(&membership_id) else {
                    return Err(missing(&membership_id));
                };
                if *held == role {
                    return Err(DomainError::Conflict(format!(
                        "the membership already has role {}",
                        role.title()
                    )));
                }
                MembershipEvent::MembershipRoleChanged {
                    membership_id,
                    role,
                    changed_at: now,
                }
            }
            MembershipCommand::DeleteMembership { membership_id } => {
                if !self.by_id.contains_key(&membership_id) {
                    return Err(missing(&membership_id));
                }
                MembershipEvent::MembershipDeleted {
                    membership_id,
                    deleted_at: now,
                }
            }
        })
    }

    pub(crate) fn apply(&mut self, e: MembershipEvent) {
        match e {
            MembershipEvent::MembershipCreated {
                membership_id,
                member,
                role,
                ..
            } => {
                self.by_id.insert(membership_id, (member, role));
            }
            MembershipEvent::MembershipRoleChanged {
                membership_id,
                role,
                ..
            } => {
                if let Some(m) = self.by_id.get_mut(&membership_id) {
                    m.1 = role;
                }
            }
            MembershipEvent::MembershipDeleted { membership_id, .. } => {
                self.by_id.remove(&membership_id);
            }
        }
    }
}
