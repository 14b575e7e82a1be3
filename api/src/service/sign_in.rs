//! Signing in through the UI with an OIDC provider (`oidcLogin`): the
//! browser runs the authorization code flow with PKCE against the provider
//! and hands the code to this server, which exchanges it, verifies the ID
//! token and starts a session of the same kind the built-in login starts.
//! So no provider token is kept in the browser, and the UI refreshes and
//! ends an OIDC user's session as it does the administrator's.

use phobos_projections::identity;
use uuid::Uuid;

use super::{App, Code, ServiceError, SessionTokens};

impl App {
    /// `oidcLogin`: a session for the user the provider signed in.
    #[tracing::instrument(skip_all)]
    pub async fn oidc_login(
        &self,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<SessionTokens, ServiceError> {
        let refused = |field: &str, e: crate::auth::AuthError| {
            tracing::info!(error = %e, "OIDC sign-in refused");
            ServiceError::field(Code::Unauthenticated, field, e.to_string())
        };
        if code_verifier.len() < 43 {
            return Err(ServiceError::field(
                Code::Invalid,
                "codeVerifier",
                "a PKCE code verifier has 43 to 128 characters (RFC 7636); send the one the authorization request was made with",
            ));
        }
        let who = self
            .issuers
            .exchange_code(code, code_verifier, redirect_uri)
            .await
            .map_err(|e| refused("code", e))?;
        self.ensure_user(&who)
            .await
            .map_err(|e| refused("code", e))?;
        self.start_session(&who.username).await
    }

    /// Whether user `user_id` signed in with a provider that is still
    /// configured (its sessions may be refreshed).
    pub(super) async fn of_configured_provider(&self, user_id: &str) -> Result<bool, ServiceError> {
        let Ok(id) = Uuid::parse_str(user_id) else {
            return Ok(false);
        };
        let Some(issuer) = identity::user_issuer(&self.pool, id).await? else {
            return Ok(false);
        };
        Ok(self
            .config
            .oauth_providers
            .iter()
            .any(|p| crate::oidc::same_issuer(&p.issuer_url, &issuer)))
    }
}
