//! Tokens: signed JWTs for users (after `login`) and internal agents. Job
//! tokens are opaque secrets checked against the log (`credentials.rs`).
//!
//! The `memory` JWS provider: an HS256 key drawn at start-up and kept only
//! in memory, so tokens die with the process (fine for one instance; the
//! `awskms` provider is for more).

use chrono::{Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
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
}

impl Claims {
    /// The actor events record for this token's holder.
    pub fn actor(&self) -> Actor {
        match self.kind {
            TokenKind::User => Actor::User(self.sub.clone()),
            TokenKind::Agent => Actor::Agent(self.sub.clone()),
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
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Tokens {
    /// A fresh in-memory key.
    pub fn in_memory(issuer: &str, audience: &str) -> Result<Tokens, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(Tokens {
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
        })
    }

    pub fn issue(&self, kind: TokenKind, sub: &str, ttl: Duration) -> String {
        let now = Utc::now();
        let claims = Claims {
            sub: sub.to_string(),
            kind,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        };
        // Signing with an HMAC key held in memory cannot fail.
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default()
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.leeway = 5;
        decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|_| AuthError::Invalid)
    }

    /// Reads `Bearer <token>` from an Authorization header value.
    pub fn verify_header(&self, header: Option<&str>) -> Result<Claims, AuthError> {
        self.verify(bearer(header)?)
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
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_ones_fail() {
        let t = Tokens::in_memory("http://x", "phobos").unwrap();
        let tok = t.issue(TokenKind::User, "a@b.c", Duration::minutes(5));
        let c = t.verify(&tok).unwrap();
        assert_eq!(c.sub, "a@b.c");
        assert_eq!(c.actor(), Actor::User("a@b.c".into()));
        let other = Tokens::in_memory("http://x", "phobos").unwrap();
        assert_eq!(other.verify(&tok).unwrap_err(), AuthError::Invalid);
        let expired = t.issue(TokenKind::User, "a@b.c", Duration::minutes(-5));
        assert_eq!(t.verify(&expired).unwrap_err(), AuthError::Invalid);
        assert_eq!(t.verify_header(None).unwrap_err(), AuthError::Missing);
        assert!(t.verify_header(Some(&format!("Bearer {tok}"))).is_ok());
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }
}
