//! Users and teams.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::named_event;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UserEvent {
    /// A user was seen for the first time: the built-in identity provider's
    /// admin at its first login, or an external OIDC provider's user at its
    /// first call. `issuer` and `subject` say which identity it is, so
    /// another provider's user with the same username is refused.
    UserCreated {
        username: String,
        #[serde(default)]
        email: Option<String>,
        issuer: String,
        subject: String,
        admin: bool,
        created_at: DateTime<Utc>,
    },
}
named_event!(UserEvent { UserCreated });

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TeamEvent {
    TeamCreated {
        name: String,
        description: String,
        created_at: DateTime<Utc>,
    },
    /// `maintainer`: may add and remove the team's members.
    TeamMemberAdded {
        user_id: String,
        username: String,
        maintainer: bool,
        added_at: DateTime<Utc>,
    },
    TeamMemberRemoved {
        user_id: String,
        username: String,
        removed_at: DateTime<Utc>,
    },
}
named_event!(TeamEvent {
    TeamCreated,
    TeamMemberAdded,
    TeamMemberRemoved
});
