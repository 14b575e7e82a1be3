//! Who may do what: the built-in roles and the members that hold them.
//!
//! Roles are totally ordered: each includes everything the ones below it
//! may do (Owner ⊃ Release Manager ⊃ Developer ⊃ Viewer), so a caller's
//! role in a scope is the highest of its memberships there, and an
//! organization membership counts in all of the organization's projects.
//! Which role each permission needs is data, in `phobos-api`'s `authz`.

use serde::{Deserialize, Serialize};

/// A built-in role. The order of the variants is the order of power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything in its scope, changes nothing.
    Viewer,
    /// Creates and runs pipelines; starts, cancels and retries nodes.
    Developer,
    /// A Developer who also manages pipeline templates, service accounts,
    /// release lifecycles and environment protection rules.
    ReleaseManager,
    /// Administers the organization or project: memberships, agents,
    /// environments, approval rules, and everything below.
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Owner,
        Role::ReleaseManager,
        Role::Developer,
        Role::Viewer,
    ];

    /// As stored (events, read models): `owner`, `release_manager` …
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::ReleaseManager => "release_manager",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The name people read (docs, error messages).
    pub fn title(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::ReleaseManager => "Release Manager",
            Role::Developer => "Developer",
            Role::Viewer => "Viewer",
        }
    }
}

/// What kind of principal a membership names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    User,
    Team,
    ServiceAccount,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::User => "user",
            MemberKind::Team => "team",
            MemberKind::ServiceAccount => "service_account",
        }
    }

    pub fn parse(s: &str) -> Option<MemberKind> {
        Some(match s {
            "user" => MemberKind::User,
            "team" => MemberKind::Team,
            "service_account" => MemberKind::ServiceAccount,
            _ => return None,
        })
    }
}

/// The principal of a membership: its kind, id and name (the name as it
/// was when the membership was made, for reading the log).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    pub kind: MemberKind,
    pub id: String,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power_and_stored_in_snake_case() {
        assert!(Role::Owner > Role::ReleaseManager);
        assert!(Role::ReleaseManager > Role::Developer);
        assert!(Role::Developer > Role::Viewer);
        assert_eq!(
            serde_json::to_string(&Role::ReleaseManager).unwrap(),
            "\"release_manager\""
        );
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
        for k in [
            MemberKind::User,
            MemberKind::Team,
            MemberKind::ServiceAccount,
        ] {
            assert_eq!(MemberKind::parse(k.as_str()), Some(k));
        }
    }
}
