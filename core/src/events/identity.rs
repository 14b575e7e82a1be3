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
    /// A sign-in with the built-in identity provider: a session whose
    /// refresh token (stored as its SHA-256) lasts until `expires_at`.
    SessionStarted {
        session_id: String,
        refresh_sha256: String,
        expires_at: DateTime<Utc>,
        started_at: DateTime<Utc>,
    },
    /// `refreshSession`: the session's refresh token was exchanged for a
    /// new one (the old one no longer works).
    SessionRefreshed {
        session_id: String,
        refresh_sha256: String,
        expires_at: DateTime<Utc>,
        refreshed_at: DateTime<Utc>,
    },
    /// The session ended: `logout`, or revoked as the oldest when the user
    /// went over `PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER`.
    SessionEnded {
        session_id: String,
        reason: String,
        ended_at: DateTime<Utc>,
    },
}
named_event!(UserEvent {
    UserCreated,
    SessionStarted,
    SessionRefreshed,
    SessionEnded
});

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

/// Where a signing key's private part lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigningKeyProvider {
    /// Drawn in the server's memory: it dies with the process. Events
    /// written before the field existed are of this kind.
    #[default]
    Memory,
    /// A key of AWS KMS (`kid` is its KMS key id): it outlives the process,
    /// and every instance of the server signs with it.
    Awskms,
}

impl SigningKeyProvider {
    pub fn is_memory(&self) -> bool {
        *self == SigningKeyProvider::Memory
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SigningKeyEvent {
    /// The server drew a signing key (`algorithm`, its public part as a
    /// JWK); tokens name it by `kid`.
    SigningKeyCreated {
        kid: String,
        algorithm: String,
        public_jwk: serde_json::Value,
        created_at: DateTime<Utc>,
        /// Added 2026-12-01 (stop 18); absent in older events: `memory`.
        #[serde(default, skip_serializing_if = "SigningKeyProvider::is_memory")]
        provider: SigningKeyProvider,
    },
    /// A rotation replaced it; it verifies until `decommission_at`.
    SigningKeyRetired {
        kid: String,
        retired_at: DateTime<Utc>,
        decommission_at: DateTime<Utc>,
    },
}
named_event!(SigningKeyEvent {
    SigningKeyCreated,
    SigningKeyRetired
});

/// A service account's OIDC trust policy: tokens from `issuer` whose claims
/// match every bound claim may be exchanged for a token of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustPolicy {
    pub issuer: String,
    pub bound_claims: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServiceAccountEvent {
    /// A machine principal of an organization (`project_id` None: usable in
    /// all its projects) or of one project; `path` is `ORG/NAME` or
    /// `ORG/PROJECT/NAME`.
    ServiceAccountCreated {
        organization_id: String,
        #[serde(default)]
        project_id: Option<String>,
        path: String,
        name: String,
        description: String,
        trust_policies: Vec<TrustPolicy>,
        created_at: DateTime<Utc>,
    },
    /// Its description and trust policies, as they are now.
    ServiceAccountUpdated {
        description: String,
        trust_policies: Vec<TrustPolicy>,
        updated_at: DateTime<Utc>,
    },
}
named_event!(ServiceAccountEvent {
    ServiceAccountCreated,
    ServiceAccountUpdated
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResourceLimitEvent {
    /// An administrator set resource limit `name` to `value`.
    ResourceLimitUpdated {
        name: String,
        value: i32,
        updated_at: DateTime<Utc>,
    },
}
named_event!(ResourceLimitEvent {
    ResourceLimitUpdated
});
