//! The `awskms` JWS provider: signing keys made and held by AWS KMS
//! (`PHOBOS_JWS_PROVIDER_PLUGIN_DATA_*`). The private part never leaves
//! KMS: a token's `header.payload` is sent to KMS's `Sign` (message type
//! RAW), and the public part, from `GetPublicKey`, goes into the JWKS and
//! into the log's `SigningKeyCreated`, from which every instance learns the
//! keys it may verify with. Credentials and endpoint come from the usual
//! AWS chain (`AWS_ACCESS_KEY_ID`…, `AWS_PROFILE`, instance roles,
//! `AWS_ENDPOINT_URL`).

use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec, Tag};
use aws_sdk_kms::Client;
use jsonwebtoken::Algorithm;

use super::der::{self, PublicKey};
use super::KeyError;
use crate::config::KmsKeyConfig;

pub struct Kms {
    client: Client,
    spec: String,
    alias_prefix: String,
    tags: Vec<(String, String)>,
}

impl std::fmt::Debug for Kms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kms")
            .field("spec", &self.spec)
            .field("alias_prefix", &self.alias_prefix)
            .finish()
    }
}

fn kms_error(what: &str, e: impl std::error::Error) -> KeyError {
    KeyError(format!(
        "AWS KMS refused to {what}: {} (check the AWS credentials and region, and that they may use KMS keys)",
        DisplayErrorContext(e)
    ))
}

impl Kms {
    pub async fn new(config: &KmsKeyConfig) -> Kms {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new(config.region.clone()))
            .load()
            .await;
        Kms {
            client: Client::new(&shared),
            spec: config.key_spec.clone(),
            alias_prefix: config.alias_prefix.clone(),
            tags: config.tags.clone(),
        }
    }

    /// A provider on `client` (tests point it at a KMS-compatible server).
    #[cfg(test)]
    pub fn with_client(client: Client, config: &KmsKeyConfig) -> Kms {
        Kms {
            client,
            spec: config.key_spec.clone(),
            alias_prefix: config.alias_prefix.clone(),
            tags: config.tags.clone(),
        }
    }

    /// The JWS algorithm of this provider's keys.
    pub fn algorithm(&self) -> Algorithm {
        if self.spec.starts_with("ECC_") {
            Algorithm::ES256
        } else {
            Algorithm::RS256
        }
    }

    fn signing_algorithm(&self) -> SigningAlgorithmSpec {
        match self.algorithm() {
            Algorithm::ES256 => SigningAlgorithmSpec::EcdsaSha256,
            _ => SigningAlgorithmSpec::RsassaPkcs1V15Sha256,
        }
    }

    /// Makes a key (with the configured spec, tags and an alias
    /// `alias/{prefix}{key id}`), and returns its id and public part.
    pub async fn create(&self) -> Result<(String, PublicKey), KeyError> {
        let tags = self
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| KeyError(format!("bad KMS tag: {e}")))?;
        let made = self
            .client
            .create_key()
            .key_spec(KeySpec::from(self.spec.as_str()))
            .key_usage(KeyUsageType::SignVerify)
            .description("Phobos token signing key")
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| kms_error("create a signing key", e))?;
        let kid = made
            .key_metadata()
            .map(|m| m.key_id().to_string())
            .ok_or_else(|| KeyError("KMS created a key but did not say its id".into()))?;
        self.client
            .create_alias()
            .alias_name(format!("alias/{}{kid}", self.alias_prefix))
            .target_key_id(&kid)
            .send()
            .await
            .map_err(|e| kms_error("name the signing key", e))?;
        let public = self
            .client
            .get_public_key()
            .key_id(&kid)
            .send()
            .await
            .map_err(|e| kms_error("give the signing key's public part", e))?;
        let spki = public
            .public_key()
            .ok_or_else(|| KeyError(format!("KMS key {kid} has no public key")))?;
        let key = der::public_key(spki.as_ref())
            .map_err(|e| KeyError(format!("KMS key {kid}'s public key: {e}")))?;
        Ok((kid, key))
    }

    /// The JWS signature of `message` by key `kid`.
    pub async fn sign(&self, kid: &str, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let out = self
            .client
            .sign()
            .key_id(kid)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(self.signing_algorithm())
            .send()
            .await
            .map_err(|e| kms_error("sign a token", e))?;
        let sig = out
            .signature()
            .ok_or_else(|| KeyError("KMS returned no signature".into()))?
            .as_ref();
        match self.algorithm() {
            Algorithm::ES256 => der::ecdsa_fixed(sig, 32)
                .map_err(|e| KeyError(format!("KMS's ECDSA signature: {e}"))),
            _ => Ok(sig.to_vec()),
        }
    }

    /// Asks KMS to delete a decommissioned key (after KMS's shortest
    /// waiting period, 7 days). Another instance may have asked already.
    pub async fn schedule_deletion(&self, kid: &str) {
        if let Err(e) = self
            .client
            .schedule_key_deletion()
            .key_id(kid)
            .pending_window_in_days(7)
            .send()
            .await
        {
            tracing::info!(%kid, error = %DisplayErrorContext(e), "decommissioned KMS key not scheduled for deletion");
        }
    }
}
