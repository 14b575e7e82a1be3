//! Tokens: signed JWTs for users (after `login`) and internal agents. Job
//! tokens are opaque secrets checked against the log (`credentials.rs`).
//!
//! Signed with the server's asymmetric keys (`keys/`: the `memory` JWS
//! provider draws them at start-up and keeps them only in memory, so tokens
//! die with the process; the `awskms` provider's keys live in KMS and are
//! shared by every instance), published in the JWKS.

use chrono::{Duration, Utc};
use phobos_core::events::Actor;
use serde::{Deserialize, Serialize};

/// What a token lets its holder do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A person, signed in.
    User,
    /// An agent: may open sessions and claim jobs.
    Agent,
    /// A service account (`sub` is its path), after
    /// `serviceAccountCreateToken`.
    ServiceAccount,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub kind: TokenKind,
    pub iss: String,
    /// The internal identity provider's client id
    /// (`PHOBOS_OIDC_INTERNAL_IDENTITY_PROVIDER_CLIENT_ID`).
    #[serde(default)]
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    /// The built-in identity provider's session the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl Claims {
    /// The actor events record for this token's holder.
    pub fn actor(&self) -> Actor {
        match self.kind {
            TokenKind::User => Actor::User(self.sub.clone()),
            TokenKind::Agent => Actor::Agent(self.sub.clone()),
            TokenKind::ServiceAccount => Actor::ServiceAccount(self.sub.clone()),
        }
    }
}

/// Why a token was refused. Never includes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required: send `Authorization: Bearer <token>` (get a token with the login mutation)")]
    Missing,
    #[error("the token is invalid or has expired: log in again")]
    Invalid,
    #[error("this token may not do that")]
    Forbidden,
    #[error("wrong email or password")]
    BadLogin,
    /// An external token that could not be checked, and why.
    #[error("the token could not be verified: {0}")]
    Unverifiable(String),
}

pub struct Tokens {
    issuer: String,
    audience: String,
    ring: crate::keys::KeyRing,
    /// Signs the server's own agents' long-lived tokens; never rotated (and
    /// not published: only this process verifies them), so rotating the
    /// user keys does not lock its internal agents out.
    internal: crate::keys::KeyRing,
    clock: std::sync::Arc<dyn phobos_commands::clock::Clock>,
    /// Where a shared ring learns keys other instances made.
    db: Option<sqlx::PgPool>,
}

impl Tokens {
    /// Fresh in-memory signing keys (the `memory` JWS provider); returns
    /// the first key's creation, for the log.
    pub fn in_memory(
        issuer: &str,
        audience: &str,
        clock: std::sync::Arc<dyn phobos_commands::clock::Clock>,
        rotation_days: u32,
        decommission_days: u32,
    ) -> Result<(Tokens, Vec<crate::keys::KeyChange>), crate::keys::KeyError> {
        let (ring, first) =
            crate::keys::KeyRing::new(clock.now(), rotation_days, decommission_days)?;
        let (tokens, mut changes) = Tokens::with_ring(issuer, audience, clock, ring, None)?;
        changes.insert(0, first);
        Ok((tokens, changes))
    }

    /// Tokens signed by `ring` (of either provider; a shared one reads the
    /// log through `db`), plus the internal agents' key, whose creation is
    /// returned for the log.
    pub fn with_ring(
        issuer: &str,
        audience: &str,
        clock: std::sync::Arc<dyn phobos_commands::clock::Clock>,
        ring: crate::keys::KeyRing,
        db: Option<sqlx::PgPool>,
    ) -> Result<(Tokens, Vec<crate::keys::KeyChange>), crate::keys::KeyError> {
        let (internal, agents) = crate::keys::KeyRing::new(clock.now(), 0, 0)?;
        Ok((
            Tokens {
                issuer: issuer.to_string(),
                audience: audience.to_string(),
                ring,
                internal,
                clock,
                db,
            },
            vec![agents],
        ))
    }

    pub async fn issue(&self, kind: TokenKind, sub: &str, ttl: Duration) -> String {
        self.issue_at(kind, sub, None, self.clock.now(), ttl).await
    }

    /// A token issued at `now` (the server's clock), of session `sid`.
    pub async fn issue_at(
        &self,
        kind: TokenKind,
        sub: &str,
        sid: Option<&str>,
        now: chrono::DateTime<Utc>,
        ttl: Duration,
    ) -> String {
        let claims = Claims {
            sid: sid.map(str::to_string),
            sub: sub.to_string(),
            kind,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        };
        let ring = match claims.kind {
            TokenKind::Agent => &self.internal,
            _ => &self.ring,
        };
        // An empty token verifies as nothing: the caller's next request
        // fails as unauthenticated, and the log says why.
        ring.sign(&claims).await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "signing a token failed");
            String::new()
        })
    }

    /// Checks a token; one signed by a shared key this instance has not
    /// seen yet (another instance rotated) makes it read the log again,
    /// at most every 2 s.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let result = self.verify_known(token);
        if result.is_ok() || !self.ring.is_shared() {
            return result;
        }
        let Some(db) = &self.db else { return result };
        let kid = jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid);
        let unknown = kid.is_some_and(|k| !self.ring.knows(&k) && !self.internal.knows(&k));
        if !unknown || !self.ring.may_refresh() {
            return result;
        }
        match crate::keys::logged_keys(db).await {
            Ok(events) => {
                if let Err(e) = self.ring.load(&events, self.clock.now()) {
                    tracing::warn!(error = %e, "signing keys not reloaded");
                }
            }
            Err(e) => tracing::warn!(error = %e, "signing keys not reloaded"),
        }
        self.verify_known(token)
    }

    fn verify_known(&self, token: &str) -> Result<Claims, AuthError> {
        let now = self.clock.now();
        self.ring
            .verify(token, &self.issuer, &self.audience, now)
            .or_else(|_| {
                // The internal key signs agent tokens only.
                self.internal
                    .verify::<Claims>(token, &self.issuer, &self.audience, now)
                    .and_then(|c| {
                        if c.kind == TokenKind::Agent {
                            Ok(c)
                        } else {
                            Err(AuthError::Invalid)
                        }
                    })
            })
    }

    /// Rotates the signing key when it is due (see `keys/`), learning
    /// shared keys first, and records it; returns the changes' count.
    pub async fn maintain(
        &self,
        db: &sqlx::PgPool,
        bus: &phobos_commands::CommandBus,
    ) -> Result<usize, crate::keys::KeyError> {
        crate::keys::maintain(&self.ring, db, bus, self.clock.now()).await
    }

    /// The algorithms its tokens are signed with.
    pub fn algorithms(&self) -> Vec<String> {
        self.ring.algorithms()
    }

    /// The JWKS of the keys that verify now.
    pub fn jwks(&self) -> serde_json::Value {
        self.ring.jwks(self.clock.now())
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Reads `Bearer <token>` from an Authorization header value.
    pub async fn verify_header(&self, header: Option<&str>) -> Result<Claims, AuthError> {
        self.verify(bearer(header)?).await
    }

    /// Whether this server issued `token` (by its unverified `iss`).
    pub fn issued(&self, token: &str) -> bool {
        #[derive(Deserialize)]
        struct Iss {
            iss: Option<String>,
        }
        jsonwebtoken::dangerous::insecure_decode_claims::<Iss>(token)
            .ok()
            .and_then(|c| c.iss)
            .is_some_and(|i| i == self.issuer)
    }
}

/// The token of a `Bearer <token>` Authorization header value.
pub fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
    let h = header.ok_or(AuthError::Missing)?;
    h.strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or(AuthError::Missing)
}

/// Compares in time independent of where the strings differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Compared as digests, so not even the length shows.
    use sha2::Digest;
    let (a, b) = (sha2::Sha256::digest(a), sha2::Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tokens_round_trip_and_foreign_ones_fail() {
        let clock: std::sync::Arc<dyn phobos_commands::clock::Clock> =
            std::sync::Arc::new(phobos_commands::clock::SystemClock);
        let (t, _) = Tokens::in_memory("http://x", "phobos", clock.clone(), 0, 7).unwrap();
        let tok = t
            .issue(TokenKind::User, "a@b.c", Duration::minutes(5))
            .await;
        let c = t.verify(&tok).await.unwrap();
        assert_eq!(c.sub, "a@b.c");
        assert_eq!(c.actor(), Actor::User("a@b.c".into()));
        let (other, _) = Tokens::in_memory("http://x", "phobos", clock, 0, 7).unwrap();
        assert_eq!(other.verify(&tok).await.unwrap_err(), AuthError::Invalid);
        let expired = t
            .issue(TokenKind::User, "a@b.c", Duration::minutes(-5))
            .await;
        assert_eq!(t.verify(&expired).await.unwrap_err(), AuthError::Invalid);
        assert_eq!(t.verify_header(None).await.unwrap_err(), AuthError::Missing);
        assert!(t
            .verify_header(Some(&format!("Bearer {tok}")))
            .await
            .is_ok());
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }

    #[tokio::test]
    async fn internal_agents_outlive_key_rotation_and_user_tokens_do_not() {
        use phobos_commands::clock::{Clock, ManualClock};
        let manual = ManualClock::at(Utc::now());
        let clock: std::sync::Arc<dyn Clock> = std::sync::Arc::new(manual.clone());
        let (t, keys) = Tokens::in_memory("http://x", "phobos", clock, 1, 1).unwrap();
        assert_eq!(keys.len(), 2, "both keys are recorded");
        let agent = t
            .issue(TokenKind::Agent, "internal-0", Duration::days(3650))
            .await;
        let user = t.issue(TokenKind::User, "a@b.c", Duration::days(30)).await;
        for _ in 0..3 {
            manual.advance(Duration::days(1));
            t.ring.rotate_if_due(manual.now()).await.unwrap();
        }
        assert!(
            t.verify(&agent).await.is_ok(),
            "the internal agent's key is not rotated"
        );
        assert_eq!(
            t.verify(&user).await.unwrap_err(),
            AuthError::Invalid,
            "its key is decommissioned"
        );
        // The internal key is not published.
        let kid = jsonwebtoken::decode_header(&agent).unwrap().kid.unwrap();
        let jwks = t.jwks();
        assert!(
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .all(|k| k["kid"] != kid.as_str()),
            "{jwks}"
        );
    }
}
