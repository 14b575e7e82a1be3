//! Opaque credentials (job tokens, agent tokens): random secrets shown once
//! to their holder and stored only as a SHA-256 hash, so they survive a
//! restart and work on every instance sharing the database.

use base64::Engine;
use sha2::{Digest, Sha256};

/// Prefix of agent tokens.
pub const AGENT_TOKEN_PREFIX: &str = "pha_";
/// Prefix of job tokens.
pub const JOB_TOKEN_PREFIX: &str = "phj_";

/// A new secret `<prefix><43 characters>` and its hash.
pub fn new_secret(prefix: &str) -> Result<(String, String), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let token = format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = sha256_hex(&token);
    Ok((token, hash))
}

/// The hash under which a credential is stored.
pub fn sha256_hex(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` is the credential stored as `hash`, compared in time
/// independent of where they differ.
pub fn matches(token: &str, hash: &str) -> bool {
    crate::auth::constant_time_eq(sha256_hex(token).as_bytes(), hash.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fresh_and_match_only_their_hash() {
        let (a, ha) = new_secret(JOB_TOKEN_PREFIX).unwrap();
        let (b, hb) = new_secret(JOB_TOKEN_PREFIX).unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(JOB_TOKEN_PREFIX) && a.len() == 4 + 43);
        assert!(matches(&a, &ha) && matches(&b, &hb));
        assert!(!matches(&a, &hb));
        assert!(!ha.contains(&a));
    }
}
