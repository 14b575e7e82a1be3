//! The server's signing keys (the `memory` JWS provider): asymmetric
//! (ES256, P-256) keys drawn in this process, published with their key ids
//! in the JWKS that `/.well-known/openid-configuration` names.
//!
//! Rotation: with `PHOBOS_ASYMMETRIC_SIGNING_KEY_ROTATION_PERIOD_DAYS` > 0,
//! the signing key is replaced once it is that old; the old key keeps
//! verifying (and stays in the JWKS) until
//! `…_DECOMMISSION_PERIOD_DAYS` after it was replaced, then is dropped.
//! Every key's creation and retirement is an event (`SigningKey`
//! aggregate), so the log says which key signed when. Time is the server's
//! clock, passed in: token expiry is checked against it too, not against
//! the machine's.

use std::sync::RwLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::auth::AuthError;

struct SigningKey {
    kid: String,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: serde_json::Value,
}

/// A key's life, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChange {
    Created {
        kid: String,
        public_jwk: serde_json::Value,
        at: DateTime<Utc>,
    },
    Retired {
        kid: String,
        at: DateTime<Utc>,
        decommission_at: DateTime<Utc>,
    },
}

pub struct KeyRing {
    keys: RwLock<Vec<SigningKey>>,
    rotation: Option<Duration>,
    decommission: Duration,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.debug_struct("KeyRing")
            .field("rotation", &self.rotation)
            .finish()
    }
}

/// Why a key could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw a signing key: {0}")]
pub struct KeyError(String);

fn draw(now: DateTime<Utc>) -> Result<SigningKey, KeyError> {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .map_err(|e| KeyError(e.to_string()))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref())
        .map_err(|e| KeyError(e.to_string()))?;
    let public = pair.public_key().as_ref().to_vec(); // 0x04 || x || y
    if public.len() != 65 {
        return Err(KeyError(format!(
            "unexpected public key of {} bytes",
            public.len()
        )));
    }
    let mut id = [0u8; 12];
    getrandom::fill(&mut id).map_err(|e| KeyError(e.to_string()))?;
    let kid = URL_SAFE_NO_PAD.encode(id);
    let x = URL_SAFE_NO_PAD.encode(&public[1..33]);
    let y = URL_SAFE_NO_PAD.encode(&public[33..65]);
    Ok(SigningKey {
        jwk: serde_json::json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid, "x": x, "y": y,
        }),
        decoding: DecodingKey::from_ec_components(&x, &y).map_err(|e| KeyError(e.to_string()))?,
        encoding: EncodingKey::from_ec_der(doc.as_ref()),
        kid,
        created_at: now,
        retired_at: None,
    })
}

impl KeyRing {
    /// A ring with one fresh key; `rotation_days` 0: never rotated.
    pub fn new(
        now: DateTime<Utc>,
        rotation_days: u32,
        decommission_days: u32,
    ) -> Result<(KeyRing, KeyChange), KeyError> {
        let key = draw(now)?;
        let change = KeyChange::Created {
            kid: key.kid.clone(),
            public_jwk: key.jwk.clone(),
            at: now,
        };
        Ok((
            KeyRing {
                keys: RwLock::new(vec![key]),
                rotation: (rotation_days > 0).then(|| Duration::days(rotation_days.into())),
                decommission: Duration::days(decommission_days.into()),
            },
            change,
        ))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<SigningKey>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Rotates when the signing key is due, and drops decommissioned keys;
    /// returns what changed, for the log.
    pub fn rotate_if_due(&self, now: DateTime<Utc>) -> Result<Vec<KeyChange>, KeyError> {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        let mut changes = Vec::new();
        let decommission = self.decommission;
        keys.retain(|k| k.retired_at.is_none_or(|r| r + decommission > now));
        let due = match (self.rotation, keys.last()) {
            (Some(period), Some(current)) => current.created_at + period <= now,
            (_, None) => true,
            (None, _) => false,
        };
        if due {
            let key = draw(now)?;
            if let Some(old) = keys.last_mut() {
                old.retired_at = Some(now);
                changes.push(KeyChange::Retired {
                    kid: old.kid.clone(),
                    at: now,
                    decommission_at: now + decommission,
                });
            }
            changes.push(KeyChange::Created {
                kid: key.kid.clone(),
                public_jwk: key.jwk.clone(),
                at: now,
            });
            keys.push(key);
        }
        Ok(changes)
    }

    /// Signs `claims` with the current key.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let keys = self.read();
        let key = keys
            .last()
            .ok_or_else(|| KeyError("no signing key".into()))?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        encode(&header, claims, &key.encoding).map_err(|e| KeyError(e.to_string()))
    }

    /// Checks the signature (with the key the token names, if it is not
    /// decommissioned), `iss`, `aud`, and `exp` against `now`.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
        now: DateTime<Utc>,
    ) -> Result<T, AuthError> {
        let header = decode_header(token).map_err(|_| AuthError::Invalid)?;
        if header.alg != Algorithm::ES256 {
            return Err(AuthError::Invalid);
        }
        let kid = header.kid.ok_or(AuthError::Invalid)?;
        let keys = self.read();
        let key = keys
            .iter()
            .filter(|k| k.retired_at.is_none_or(|r| r + self.decommission > now))
            .find(|k| k.kid == kid)
            .ok_or(AuthError::Invalid)?;
        let mut v = Validation::new(Algorithm::ES256);
        v.set_issuer(&[issuer]);
        v.set_audience(&[audience]);
        // Expiry against the server's clock, below.
        v.validate_exp = false;
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = decode::<serde_json::Value>(token, &key.decoding, &v)
            .map_err(|_| AuthError::Invalid)?;
        let exp = data
            .claims
            .get("exp")
            .and_then(|e| e.as_i64())
            .ok_or(AuthError::Invalid)?;
        if exp + 5 < now.timestamp() {
            return Err(AuthError::Invalid);
        }
        serde_json::from_value(data.claims).map_err(|_| AuthError::Invalid)
    }

    /// The JWKS: every key that still verifies.
    pub fn jwks(&self, now: DateTime<Utc>) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .read()
            .iter()
            .filter(|k| k.retired_at.is_none_or(|r| r + self.decommission > now))
            .map(|k| k.jwk.clone())
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

/// The name of the rotation worker (`/readyz`).
pub const ROTATION: &str = "signing_key_rotation";

/// Records key changes as events.
pub async fn record(
    bus: &phobos_commands::CommandBus,
    changes: Vec<KeyChange>,
) -> Result<(), phobos_commands::CommandError> {
    use phobos_commands::aggregates::{signing_key_id, SigningKeyCommand};
    let ctx = phobos_commands::CommandContext::new(phobos_core::events::Actor::System(
        "signing_keys".into(),
    ));
    for c in changes {
        let (kid, cmd) = match c {
            KeyChange::Created {
                kid,
                public_jwk,
                at,
            } => (
                kid.clone(),
                SigningKeyCommand::RecordKeyCreated {
                    kid,
                    algorithm: "ES256".into(),
                    public_jwk,
                    created_at: at,
                },
            ),
            KeyChange::Retired {
                kid,
                at,
                decommission_at,
            } => (
                kid.clone(),
                SigningKeyCommand::RecordKeyRetired {
                    kid,
                    retired_at: at,
                    decommission_at,
                },
            ),
        };
        bus.signing_key(&signing_key_id(&kid), cmd, &ctx).await?;
    }
    Ok(())
}

/// Checks every minute whether the signing key is due for rotation.
pub async fn rotate(
    app: std::sync::Arc<crate::service::App>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    loop {
        let changes = app.tokens.rotate_if_due().map_err(|e| e.to_string())?;
        if !changes.is_empty() {
            tracing::info!(changes = changes.len(), "signing key rotated");
            record(&app.bus, changes).await.map_err(|e| e.to_string())?;
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phobos_commands::clock::{Clock, ManualClock};

    #[derive(Serialize, serde::Deserialize)]
    struct C {
        sub: String,
        iss: String,
        aud: String,
        exp: i64,
    }

    fn token(ring: &KeyRing, now: DateTime<Utc>) -> String {
        ring.sign(&C {
            sub: "a".into(),
            iss: "http://phobos".into(),
            aud: "phobos".into(),
            exp: (now + Duration::days(60)).timestamp(),
        })
        .unwrap()
    }

    fn ok(ring: &KeyRing, t: &str, now: DateTime<Utc>) -> bool {
        ring.verify::<C>(t, "http://phobos", "phobos", now).is_ok()
    }

    #[test]
    fn rotation_keeps_old_tokens_until_decommission_by_the_servers_clock() {
        let clock = ManualClock::at(Utc::now());
        let (ring, first) = KeyRing::new(clock.now(), 30, 7).unwrap();
        let KeyChange::Created { kid: k1, .. } = first else {
            panic!()
        };
        let before = token(&ring, clock.now());
        assert!(ok(&ring, &before, clock.now()));
        assert!(
            ring.rotate_if_due(clock.now()).unwrap().is_empty(),
            "not due yet"
        );

        clock.advance(Duration::days(30));
        let changes = ring.rotate_if_due(clock.now()).unwrap();
        assert!(
            matches!(&changes[0], KeyChange::Retired { kid, .. } if *kid == k1),
            "{changes:?}"
        );
        assert!(
            matches!(&changes[1], KeyChange::Created { .. }),
            "{changes:?}"
        );
        assert_eq!(ring.jwks(clock.now())["keys"].as_array().unwrap().len(), 2);
        let after = token(&ring, clock.now());
        assert!(
            ok(&ring, &before, clock.now()),
            "signed before rotation, within decommission"
        );
        assert!(ok(&ring, &after, clock.now()));

        clock.advance(Duration::days(7));
        assert!(
            !ok(&ring, &before, clock.now()),
            "its key is decommissioned"
        );
        assert!(ok(&ring, &after, clock.now()));
        ring.rotate_if_due(clock.now()).unwrap();
        let jwks = ring.jwks(clock.now());
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
        assert_ne!(jwks["keys"][0]["kid"], serde_json::json!(k1));
    }

    #[test]
    fn expiry_is_checked_against_the_servers_clock_and_foreign_tokens_fail() {
        let clock = ManualClock::at(Utc::now());
        let (ring, _) = KeyRing::new(clock.now(), 0, 7).unwrap();
        let t = token(&ring, clock.now());
        clock.advance(Duration::days(61));
        assert!(!ok(&ring, &t, clock.now()), "expired by the server's clock");
        let (other, _) = KeyRing::new(clock.now(), 0, 7).unwrap();
        assert!(!ok(&ring, &token(&other, clock.now()), clock.now()));
        clock.advance(Duration::days(365));
        assert!(
            ring.rotate_if_due(clock.now()).unwrap().is_empty(),
            "rotation 0: never"
        );
    }
}
