//! Email clients (`PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE`): `smtp`, `ses` and
//! `plunk`, one small interface chosen by the config string here. What is
//! sent, to whom and when is [`crate::notifications`]'s.

mod plunk;
mod ses;
mod smtp;

use crate::config::EmailClientConfig;

/// One mail to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The idempotency key of the (event, recipient) pair (a UUID, the
    /// notification's id): sent as the `Message-ID` (SMTP), a header
    /// (Plunk) or a tag (SES), so a mail sent twice after a crash can be
    /// recognized as one.
    pub key: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a send failed, in the provider's words (never a credential).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct EmailError(pub String);

#[async_trait::async_trait]
pub trait EmailClient: Send + Sync {
    /// Sends `mail`; an error is retried later.
    async fn send(&self, mail: &Mail) -> Result<(), EmailError>;
}

/// The client `config` names.
pub async fn from_config(config: &EmailClientConfig) -> Result<Box<dyn EmailClient>, EmailError> {
    Ok(match config {
        EmailClientConfig::Smtp {
            host,
            port,
            from,
            username,
            password,
            disable_tls,
        } => Box::new(smtp::Smtp::new(
            host,
            *port,
            from,
            username.as_deref(),
            password.as_ref().map(|p| p.0.as_str()),
            *disable_tls,
        )?),
        EmailClientConfig::Ses {
            from,
            configuration_set,
            region,
        } => Box::new(ses::Ses::new(from, configuration_set.clone(), region).await),
        EmailClientConfig::Plunk {
            endpoint,
            api_key,
            from,
        } => Box::new(plunk::Plunk::new(endpoint, &api_key.0, from.clone())?),
    })
}
