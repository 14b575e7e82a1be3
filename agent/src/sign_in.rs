//! Signing in as a service account (organization agents): the external
//! OIDC token in a file (e.g. a Kubernetes projected service account token,
//! which its platform renews) is exchanged with CreateServiceAccountToken
//! for a Phobos token of the account, and exchanged again, reading the file
//! anew, when two thirds of that token's life have passed.

use std::time::Duration;

use phobos_proto::v1::agent_service_client::AgentServiceClient;
use phobos_proto::v1::CreateServiceAccountTokenRequest;
use tonic::transport::Channel;
use tracing::{info, warn};

use crate::auth::BearerAuth;
use crate::backoff::Backoff;
use crate::config::ServiceAccountLogin;
use crate::error::AgentError;

/// A Phobos token and how long it lives.
struct Signed {
    token: String,
    lifetime: Duration,
}

async fn exchange(channel: &Channel, login: &ServiceAccountLogin) -> Result<Signed, AgentError> {
    let external = std::fs::read_to_string(&login.token_file).map_err(|e| {
        AgentError::ServiceAccountToken(format!(
            "cannot read the OIDC token file {}: {e}",
            login.token_file.display()
        ))
    })?;
    let response = AgentServiceClient::new(channel.clone())
        .create_service_account_token(CreateServiceAccountTokenRequest {
            service_account_path: login.path.clone(),
            token: external.trim().to_owned(),
        })
        .await
        .map_err(|status| AgentError::SignInRefused {
            service_account: login.path.clone(),
            code: status.code(),
            message: status.message().to_owned(),
        })?
        .into_inner();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let lifetime = Duration::from_secs(u64::try_from(response.expires_at_unix - now).unwrap_or(0));
    Ok(Signed {
        token: response.token,
        lifetime,
    })
}

/// Signs in once; the returned auth carries the account's token and the
/// agent's name.
pub(crate) async fn sign_in(
    channel: &Channel,
    login: &ServiceAccountLogin,
    agent_name: &str,
) -> Result<(BearerAuth, Duration), AgentError> {
    let signed = exchange(channel, login).await?;
    info!(service_account = %login.path, "signed in as the service account");
    Ok((
        BearerAuth::for_agent(&signed.token, agent_name)?,
        signed.lifetime,
    ))
}

/// When to renew a token that lives `lifetime`.
pub(crate) fn renew_after(lifetime: Duration) -> Duration {
    (lifetime * 2 / 3).max(Duration::from_secs(5))
}

/// Renews the token for as long as the agent runs; a failed renewal is
/// retried with backoff while the current token still works.
pub(crate) async fn keep_renewing(
    channel: Channel,
    login: ServiceAccountLogin,
    auth: BearerAuth,
    mut lifetime: Duration,
) {
    let mut backoff = Backoff::new();
    let mut wait = renew_after(lifetime);
    loop {
        tokio::time::sleep(wait).await;
        match exchange(&channel, &login).await {
            Ok(signed) => match auth.set(&signed.token) {
                Ok(()) => {
                    backoff.reset();
                    lifetime = signed.lifetime;
                    wait = renew_after(lifetime);
                    info!(service_account = %login.path, "service account token renewed");
                }
                Err(error) => {
                    warn!(%error, "the server sent an unusable token");
                    wait = backoff.next_delay();
                }
            },
            Err(error) => {
                warn!(%error, "could not renew the service account token; retrying");
                wait = backoff.next_delay();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_renewed_after_two_thirds_of_their_life() {
        assert_eq!(
            renew_after(Duration::from_secs(3600)),
            Duration::from_secs(2400)
        );
        assert_eq!(renew_after(Duration::from_secs(1)), Duration::from_secs(5));
        assert_eq!(renew_after(Duration::ZERO), Duration::from_secs(5));
    }
}
