//! The server's signing keys, from one of two JWS providers:
//! - `memory`: ES256 (P-256) keys drawn in this process, which die with it
//!   (one instance, or development);
//! - `awskms` (`kms.rs`): keys made and held by AWS KMS (RS256 for the RSA
//!   key specs, ES256 for `ECC_NIST_P256`), shared by every instance.
//!
//! Either way they are published with their key ids in the JWKS that
//! `/.well-known/openid-configuration` names.
//!
//! Rotation: with `PHOBOS_ASYMMETRIC_SIGNING_KEY_ROTATION_PERIOD_DAYS` > 0,
//! the signing key is replaced once it is that old; the old key keeps
//! verifying (and stays in the JWKS) until
//! `…_DECOMMISSION_PERIOD_DAYS` after it was replaced, then is dropped.
//! Every key's creation and retirement is an event (`SigningKey`
//! aggregate), so the log says which key signed when. Time is the server's
//! clock, passed in: token expiry is checked against it too, not against
//! the machine's.
//!
//! Invariant (awskms): the log is the list of keys. An instance signs only
//! with a key whose `SigningKeyCreated` it has read from the log, and it
//! rotates only while it holds the `signing keys` advisory lock, after
//! reading the log again, so two instances never make two current keys. A
//! key made in KMS whose event was never written (a crash in between) is
//! dropped at the next reading and never signs.

mod der;
mod kms;

use std::sync::{Mutex, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use phobos_core::events::{SigningKeyEvent, SigningKeyProvider};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use kms::Kms;

use crate::auth::AuthError;

enum Signer {
    Memory(EncodingKey),
    /// The KMS key `kid`.
    Kms,
}

struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
    signer: Signer,
    decoding: DecodingKey,
    jwk: serde_json::Value,
}

/// A key's life, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChange {
    Created {
        kid: String,
        algorithm: Algorithm,
        provider: SigningKeyProvider,
        public_jwk: serde_json::Value,
        at: DateTime<Utc>,
    },
    Retired {
        kid: String,
        at: DateTime<Utc>,
        decommission_at: DateTime<Utc>,
    },
}

enum Source {
    Memory,
    Kms(Kms),
}

pub struct KeyRing {
    keys: RwLock<Vec<SigningKey>>,
    rotation: Option<Duration>,
    decommission: Duration,
    source: Source,
    /// When the log was last read for an unknown key id (awskms).
    refreshed: Mutex<Option<std::time::Instant>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.debug_struct("KeyRing")
            .field("rotation", &self.rotation)
            .field("shared", &self.is_shared())
            .finish()
    }
}

/// Why a key could not be made or used.
#[derive(Debug, thiserror::Error)]
#[error("signing key: {0}")]
pub struct KeyError(String);

fn draw_memory(now: DateTime<Utc>) -> Result<SigningKey, KeyError> {
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
    let (jwk, decoding) = public_parts(
        &kid,
        Algorithm::ES256,
        &der::PublicKey::P256 {
            x: public[1..33].to_vec(),
            y: public[33..65].to_vec(),
        },
    )?;
    Ok(SigningKey {
        jwk,
        decoding,
        algorithm: Algorithm::ES256,
        signer: Signer::Memory(EncodingKey::from_ec_der(doc.as_ref())),
        kid,
        created_at: now,
        retired_at: None,
    })
}

/// A public key's JWK and the key that verifies with it.
fn public_parts(
    kid: &str,
    algorithm: Algorithm,
    key: &der::PublicKey,
) -> Result<(serde_json::Value, DecodingKey), KeyError> {
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let alg = format!("{algorithm:?}");
    let jwk = match key {
        der::PublicKey::P256 { x, y } => serde_json::json!({
            "kty": "EC", "crv": "P-256", "alg": alg, "use": "sig", "kid": kid,
            "x": b64(x), "y": b64(y),
        }),
        der::PublicKey::Rsa { n, e } => serde_json::json!({
            "kty": "RSA", "alg": alg, "use": "sig", "kid": kid, "n": b64(n), "e": b64(e),
        }),
    };
    let decoding = decoding_key(&jwk)?;
    Ok((jwk, decoding))
}

fn decoding_key(jwk: &serde_json::Value) -> Result<DecodingKey, KeyError> {
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(jwk.clone()).map_err(|e| KeyError(format!("bad JWK: {e}")))?;
    DecodingKey::from_jwk(&jwk).map_err(|e| KeyError(format!("bad JWK: {e}")))
}

impl KeyRing {
    /// A `memory` ring with one fresh key; `rotation_days` 0: never
    /// rotated.
    pub fn new(
        now: DateTime<Utc>,
        rotation_days: u32,
        decommission_days: u32,
    ) -> Result<(KeyRing, KeyChange), KeyError> {
        let key = draw_memory(now)?;
        let change = created(&key, SigningKeyProvider::Memory);
        let ring = KeyRing::empty(Source::Memory, rotation_days, decommission_days);
        ring.write().push(key);
        Ok((ring, change))
    }

    /// An `awskms` ring, empty until [`KeyRing::load`] reads the log (see
    /// [`maintain`]).
    pub fn kms(kms: Kms, rotation_days: u32, decommission_days: u32) -> KeyRing {
        KeyRing::empty(Source::Kms(kms), rotation_days, decommission_days)
    }

    fn empty(source: Source, rotation_days: u32, decommission_days: u32) -> KeyRing {
        KeyRing {
            keys: RwLock::new(Vec::new()),
            rotation: (rotation_days > 0).then(|| Duration::days(rotation_days.into())),
            decommission: Duration::days(decommission_days.into()),
            source,
            refreshed: Mutex::new(None),
        }
    }

    /// Whether its keys are shared with other instances (awskms).
    pub fn is_shared(&self) -> bool {
        matches!(self.source, Source::Kms(_))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<SigningKey>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<SigningKey>> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    fn live(&self, key: &SigningKey, now: DateTime<Utc>) -> bool {
        key.retired_at.is_none_or(|r| r + self.decommission > now)
    }

    /// Replaces a shared ring's keys with the KMS keys the log lists that
    /// still verify at `now`, oldest first (the last one signs).
    pub fn load(&self, events: &[SigningKeyEvent], now: DateTime<Utc>) -> Result<(), KeyError> {
        if !self.is_shared() {
            return Ok(());
        }
        let mut keys: Vec<SigningKey> = Vec::new();
        for e in events {
            match e {
                SigningKeyEvent::SigningKeyCreated {
                    kid,
                    algorithm,
                    public_jwk,
                    created_at,
                    provider: SigningKeyProvider::Awskms,
                } => {
                    let algorithm = match algorithm.as_str() {
                        "RS256" => Algorithm::RS256,
                        "ES256" => Algorithm::ES256,
                        other => {
                            return Err(KeyError(format!(
                                "the log's key {kid} has algorithm {other}, which this build does not verify"
                            )))
                        }
                    };
                    keys.push(SigningKey {
                        kid: kid.clone(),
                        algorithm,
                        created_at: *created_at,
                        retired_at: None,
                        signer: Signer::Kms,
                        decoding: decoding_key(public_jwk)?,
                        jwk: public_jwk.clone(),
                    });
                }
                SigningKeyEvent::SigningKeyRetired {
                    kid, retired_at, ..
                } => {
                    if let Some(k) = keys.iter_mut().find(|k| k.kid == *kid) {
                        k.retired_at = Some(*retired_at);
                    }
                }
                SigningKeyEvent::SigningKeyCreated { .. } => {}
            }
        }
        keys.retain(|k| self.live(k, now));
        keys.sort_by_key(|k| k.created_at);
        *self.write() = keys;
        Ok(())
    }

    /// Rotates when the signing key is due (or there is none), and drops
    /// decommissioned keys; returns what changed, for the log.
    pub async fn rotate_if_due(&self, now: DateTime<Utc>) -> Result<Vec<KeyChange>, KeyError> {
        let (due, dropped) = {
            let mut keys = self.write();
            let dropped: Vec<String> = keys
                .iter()
                .filter(|k| !self.live(k, now))
                .map(|k| k.kid.clone())
                .collect();
            keys.retain(|k| self.live(k, now));
            let due = match (self.rotation, keys.last()) {
                (_, None) => true,
                // A rotation that recorded the retirement but died before
                // the new key.
                (_, Some(current)) if current.retired_at.is_some() => true,
                (Some(period), Some(current)) => current.created_at + period <= now,
                (None, _) => false,
            };
            (due, dropped)
        };
        if let Source::Kms(kms) = &self.source {
            for kid in dropped {
                kms.schedule_deletion(&kid).await;
            }
        }
        let mut changes = Vec::new();
        if !due {
            return Ok(changes);
        }
        let (key, provider) = match &self.source {
            Source::Memory => (draw_memory(now)?, SigningKeyProvider::Memory),
            Source::Kms(kms) => {
                let (kid, public) = kms.create().await?;
                let algorithm = kms.algorithm();
                let (jwk, decoding) = public_parts(&kid, algorithm, &public)?;
                let key = SigningKey {
                    kid,
                    algorithm,
                    created_at: now,
                    retired_at: None,
                    signer: Signer::Kms,
                    decoding,
                    jwk,
                };
                (key, SigningKeyProvider::Awskms)
            }
        };
        let mut keys = self.write();
        if let Some(old) = keys.last_mut().filter(|k| k.retired_at.is_none()) {
            old.retired_at = Some(now);
            changes.push(KeyChange::Retired {
                kid: old.kid.clone(),
                at: now,
                decommission_at: now + self.decommission,
            });
        }
        changes.push(created(&key, provider));
        keys.push(key);
        Ok(changes)
    }

    /// Signs `claims` with the current key.
    pub async fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let (kid, algorithm) = {
            let keys = self.read();
            let key = keys
                .last()
                .ok_or_else(|| KeyError("no signing key yet".into()))?;
            let mut header = Header::new(key.algorithm);
            header.kid = Some(key.kid.clone());
            if let Signer::Memory(encoding) = &key.signer {
                return encode(&header, claims, encoding).map_err(|e| KeyError(e.to_string()));
            }
            (key.kid.clone(), key.algorithm)
        };
        let Source::Kms(kms) = &self.source else {
            return Err(KeyError("a KMS key in a memory ring".into()));
        };
        let mut header = Header::new(algorithm);
        header.kid = Some(kid.clone());
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(to_json(&header)?),
            URL_SAFE_NO_PAD.encode(to_json(claims)?)
        );
        let signature = kms.sign(&kid, message.as_bytes()).await?;
        Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// Whether it holds the key `kid` (retired or not).
    pub fn knows(&self, kid: &str) -> bool {
        self.read().iter().any(|k| k.kid == kid)
    }

    /// Whether the log may be read again for an unknown key id: at most
    /// every 2 s, so forged key ids cannot make every request a query.
    pub fn may_refresh(&self) -> bool {
        let mut last = self.refreshed.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < std::time::Duration::from_secs(2)) {
            return false;
        }
        *last = Some(now);
        true
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
        let kid = header.kid.ok_or(AuthError::Invalid)?;
        let keys = self.read();
        let key = keys
            .iter()
            .filter(|k| self.live(k, now))
            .find(|k| k.kid == kid)
            .ok_or(AuthError::Invalid)?;
        // The key decides the algorithm, never the token.
        if header.alg != key.algorithm {
            return Err(AuthError::Invalid);
        }
        let mut v = Validation::new(key.algorithm);
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
            .filter(|k| self.live(k, now))
            .map(|k| k.jwk.clone())
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// The algorithms its keys sign with (for the discovery document).
    pub fn algorithms(&self) -> Vec<String> {
        match &self.source {
            Source::Memory => vec!["ES256".into()],
            Source::Kms(kms) => vec![format!("{:?}", kms.algorithm())],
        }
    }
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, KeyError> {
    serde_json::to_vec(v).map_err(|e| KeyError(e.to_string()))
}

fn created(key: &SigningKey, provider: SigningKeyProvider) -> KeyChange {
    KeyChange::Created {
        kid: key.kid.clone(),
        algorithm: key.algorithm,
        provider,
        public_jwk: key.jwk.clone(),
        at: key.created_at,
    }
}

/// The name of the rotation worker (`/readyz`).
pub const ROTATION: &str = "signing_key_rotation";

/// The advisory lock instances take turns on to rotate shared keys.
const ROTATION_LOCK: i64 = 0x5048_4f42_4f53_4b59; // "PHOBOSKY"

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
                algorithm,
                provider,
                public_jwk,
                at,
            } => (
                kid.clone(),
                SigningKeyCommand::RecordKeyCreated {
                    kid,
                    algorithm: format!("{algorithm:?}"),
                    public_jwk,
                    created_at: at,
                    provider,
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

/// The signing keys' events, from the log.
pub async fn logged_keys(db: &sqlx::PgPool) -> Result<Vec<SigningKeyEvent>, KeyError> {
    let events = phobos_commands::log::read_type(db, phobos_core::events::aggregate::SIGNING_KEY)
        .await
        .map_err(|e| KeyError(format!("cannot read the signing keys from the log: {e}")))?;
    events
        .iter()
        .map(|e| {
            e.decode::<SigningKeyEvent>()
                .map_err(|e| KeyError(e.to_string()))
        })
        .collect()
}

/// Rotates the ring when due and records it. A shared (awskms) ring first
/// takes the rotation lock and reads the log again, so it signs with the
/// keys other instances made and never rotates alongside one of them.
pub async fn maintain(
    ring: &KeyRing,
    db: &sqlx::PgPool,
    bus: &phobos_commands::CommandBus,
    now: DateTime<Utc>,
) -> Result<usize, KeyError> {
    let record = |changes: Vec<KeyChange>| async move {
        let n = changes.len();
        record(bus, changes)
            .await
            .map_err(|e| KeyError(format!("cannot record a key change: {e}")))?;
        Ok::<usize, KeyError>(n)
    };
    if !ring.is_shared() {
        return record(ring.rotate_if_due(now).await?).await;
    }
    let mut conn = db
        .acquire()
        .await
        .map_err(|e| KeyError(format!("no database connection: {e}")))?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(ROTATION_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(|e| KeyError(format!("cannot take the rotation lock: {e}")))?;
    let result = async {
        ring.load(&logged_keys(db).await?, now)?;
        record(ring.rotate_if_due(now).await?).await
    }
    .await;
    // Dropping the connection would return it to the pool still locked.
    if let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(ROTATION_LOCK)
        .execute(&mut *conn)
        .await
    {
        tracing::warn!(error = %e, "rotation lock not released; closing its connection");
        let _ = sqlx::Connection::close(conn.detach()).await;
    }
    result
}

/// Checks every minute whether the signing key is due for rotation (and,
/// for shared keys, learns those other instances made).
pub async fn rotate(
    app: std::sync::Arc<crate::service::App>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    loop {
        let changes = app
            .tokens
            .maintain(&app.pool, &app.bus)
            .await
            .map_err(|e| e.to_string())?;
        if changes > 0 {
            tracing::info!(changes, "signing key rotated");
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

    async fn token(ring: &KeyRing, now: DateTime<Utc>) -> String {
        ring.sign(&C {
            sub: "a".into(),
            iss: "http://phobos".into(),
            aud: "phobos".into(),
            exp: (now + Duration::days(60)).timestamp(),
        })
        .await
        .unwrap()
    }

    fn ok(ring: &KeyRing, t: &str, now: DateTime<Utc>) -> bool {
        ring.verify::<C>(t, "http://phobos", "phobos", now).is_ok()
    }

    #[tokio::test]
    async fn rotation_keeps_old_tokens_until_decommission_by_the_servers_clock() {
        let clock = ManualClock::at(Utc::now());
        let (ring, first) = KeyRing::new(clock.now(), 30, 7).unwrap();
        let KeyChange::Created { kid: k1, .. } = first else {
            panic!()
        };
        let before = token(&ring, clock.now()).await;
        assert!(ok(&ring, &before, clock.now()));
        assert!(
            ring.rotate_if_due(clock.now()).await.unwrap().is_empty(),
            "not due yet"
        );

        clock.advance(Duration::days(30));
        let changes = ring.rotate_if_due(clock.now()).await.unwrap();
        assert!(
            matches!(&changes[0], KeyChange::Retired { kid, .. } if *kid == k1),
            "{changes:?}"
        );
        assert!(
            matches!(&changes[1], KeyChange::Created { .. }),
            "{changes:?}"
        );
        assert_eq!(ring.jwks(clock.now())["keys"].as_array().unwrap().len(), 2);
        let after = token(&ring, clock.now()).await;
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
        ring.rotate_if_due(clock.now()).await.unwrap();
        let jwks = ring.jwks(clock.now());
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
        assert_ne!(jwks["keys"][0]["kid"], serde_json::json!(k1));
    }

    #[tokio::test]
    async fn expiry_is_checked_against_the_servers_clock_and_foreign_tokens_fail() {
        let clock = ManualClock::at(Utc::now());
        let (ring, _) = KeyRing::new(clock.now(), 0, 7).unwrap();
        let t = token(&ring, clock.now()).await;
        clock.advance(Duration::days(61));
        assert!(!ok(&ring, &t, clock.now()), "expired by the server's clock");
        let (other, _) = KeyRing::new(clock.now(), 0, 7).unwrap();
        assert!(!ok(&ring, &token(&other, clock.now()).await, clock.now()));
        clock.advance(Duration::days(365));
        assert!(
            ring.rotate_if_due(clock.now()).await.unwrap().is_empty(),
            "rotation 0: never"
        );
    }

    /// moto's KMS, where it is installed (`.ci/run` installs it; skipped
    /// elsewhere, saying so).
    struct Moto(std::process::Child, u16);

    impl Drop for Moto {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn moto() -> Option<Moto> {
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        let bin = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain(home.map(|h| h.join(".cache/moto-venv/bin")))
            .map(|d| d.join("moto_server"))
            .find(|p| p.is_file());
        let Some(bin) = bin else {
            assert!(
                std::env::var_os("CI").is_none(),
                "moto_server is not installed; .ci/run installs it"
            );
            eprintln!("SKIPPED: moto_server is not installed");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "moto_server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(Moto(child, port))
    }

    fn kms_client(port: u16) -> aws_sdk_kms::Client {
        let config = aws_sdk_kms::config::Builder::new()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                "k", "s", None, None, "test",
            ))
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .build();
        aws_sdk_kms::Client::from_conf(config)
    }

    /// What the log holds after `changes` were recorded.
    fn as_events(changes: &[KeyChange]) -> Vec<SigningKeyEvent> {
        changes
            .iter()
            .map(|c| match c.clone() {
                KeyChange::Created {
                    kid,
                    algorithm,
                    provider,
                    public_jwk,
                    at,
                } => SigningKeyEvent::SigningKeyCreated {
                    kid,
                    algorithm: format!("{algorithm:?}"),
                    public_jwk,
                    created_at: at,
                    provider,
                },
                KeyChange::Retired {
                    kid,
                    at,
                    decommission_at,
                } => SigningKeyEvent::SigningKeyRetired {
                    kid,
                    retired_at: at,
                    decommission_at,
                },
            })
            .collect()
    }

    #[tokio::test]
    async fn kms_keys_sign_rotate_and_are_deleted_after_decommission() {
        let Some(moto) = moto() else { return };
        for (spec, alg) in [
            ("RSA_2048", Algorithm::RS256),
            ("ECC_NIST_P256", Algorithm::ES256),
        ] {
            let config = crate::config::KmsKeyConfig {
                region: "us-east-1".into(),
                key_spec: spec.into(),
                alias_prefix: "unit-".into(),
                tags: vec![("team".into(), "platform".into())],
            };
            let kms = || Kms::with_client(kms_client(moto.1), &config);
            let clock = ManualClock::at(Utc::now());
            let ring = KeyRing::kms(kms(), 30, 7);
            let mut log = ring.rotate_if_due(clock.now()).await.unwrap();
            assert!(
                matches!(&log[..], [KeyChange::Created { provider: SigningKeyProvider::Awskms, algorithm, .. }] if *algorithm == alg),
                "{spec}: {log:?}"
            );
            let before = token(&ring, clock.now()).await;
            assert_eq!(decode_header(&before).unwrap().alg, alg);
            assert!(ok(&ring, &before, clock.now()), "{spec}");

            // Another instance learns the key from the log and signs with it.
            let other = KeyRing::kms(kms(), 30, 7);
            assert!(
                !ok(&other, &before, clock.now()),
                "not before it read the log"
            );
            other.load(&as_events(&log), clock.now()).unwrap();
            assert!(ok(&other, &before, clock.now()), "{spec}");
            assert!(
                ok(&ring, &token(&other, clock.now()).await, clock.now()),
                "{spec}"
            );
            assert!(
                other.rotate_if_due(clock.now()).await.unwrap().is_empty(),
                "not due"
            );

            clock.advance(Duration::days(30));
            let rotated = ring.rotate_if_due(clock.now()).await.unwrap();
            assert!(
                matches!(
                    &rotated[..],
                    [KeyChange::Retired { .. }, KeyChange::Created { .. }]
                ),
                "{rotated:?}"
            );
            log.extend(rotated);
            let after = token(&ring, clock.now()).await;
            assert!(
                ok(&ring, &before, clock.now()) && ok(&ring, &after, clock.now()),
                "{spec}"
            );
            assert_eq!(ring.jwks(clock.now())["keys"].as_array().unwrap().len(), 2);
            other.load(&as_events(&log), clock.now()).unwrap();
            assert!(
                ok(&other, &after, clock.now()),
                "{spec}: the other instance learns the new key"
            );

            clock.advance(Duration::days(7));
            assert!(!ok(&ring, &before, clock.now()), "{spec}: decommissioned");
            assert!(ring.rotate_if_due(clock.now()).await.unwrap().is_empty());
            assert_eq!(ring.jwks(clock.now())["keys"].as_array().unwrap().len(), 1);
            let old = decode_header(&before).unwrap().kid.unwrap();
            let state = kms_client(moto.1)
                .describe_key()
                .key_id(&old)
                .send()
                .await
                .unwrap();
            assert_eq!(
                state.key_metadata().unwrap().key_state(),
                Some(&aws_sdk_kms::types::KeyState::PendingDeletion),
                "{spec}: the decommissioned key is deleted"
            );
            // A ring that reads the log now has only the current key.
            let late = KeyRing::kms(kms(), 30, 7);
            late.load(&as_events(&log), clock.now()).unwrap();
            assert!(ok(&late, &after, clock.now()) && !ok(&late, &before, clock.now()));
        }
    }
}
