//! What a client needs to know before it signs in: `authSettings` and
//! `serverInfo`, readable without a token (they name no resource).

use async_graphql::SimpleObject;

use crate::config::Config;

/// How to sign in (as Tharsis answers it): the first OAuth provider, and
/// whether the built-in login is on.
#[derive(SimpleObject)]
pub struct AuthSettings {
    /// `PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL`.
    pub oidc_issuer_url: Option<String>,
    /// `PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID`.
    pub oidc_client_id: Option<String>,
    /// `PHOBOS_OAUTH_PROVIDERS_0_SCOPE` (default `openid profile email`).
    pub oidc_scope: Option<String>,
    /// The provider's `authorization_endpoint` (from its discovery
    /// document), where the UI sends a browser to sign in; then
    /// `oidcLogin`. Null without a provider, or when its discovery
    /// document cannot be read now (the server logs why).
    pub oidc_authorization_endpoint: Option<String>,
    /// `login` with the built-in admin user works
    /// (`PHOBOS_ADMIN_USER_EMAIL` and `_PASSWORD` are set).
    pub built_in_login: bool,
}

impl AuthSettings {
    pub fn of(config: &Config) -> Self {
        let first = config.oauth_providers.first();
        AuthSettings {
            oidc_issuer_url: first.map(|p| p.issuer_url.clone()),
            oidc_client_id: first.map(|p| p.client_id.clone()),
            oidc_scope: first.map(|p| {
                p.scope
                    .clone()
                    .unwrap_or_else(|| "openid profile email".to_owned())
            }),
            oidc_authorization_endpoint: None,
            built_in_login: config.admin_email.is_some() && config.admin_password.is_some(),
        }
    }
}

/// The server's public settings.
#[derive(SimpleObject)]
pub struct ServerInfo {
    /// This build's version.
    pub version: String,
    /// `PHOBOS_API_URL`.
    pub api_url: String,
    /// `PHOBOS_UI_URL`.
    pub ui_url: String,
    /// `PHOBOS_SUPPORT_URL`, for a support link; null when unset.
    pub support_url: Option<String>,
    /// What agents dial: the API URL's scheme and host with
    /// `PHOBOS_EXTERNAL_GRPC_PORT` (the gRPC port behind a proxy), e.g.
    /// `https://phobos.example.com:443`.
    pub agent_server_url: String,
}

impl ServerInfo {
    pub fn of(config: &Config) -> Self {
        ServerInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            api_url: config.api_url.clone(),
            ui_url: config.ui_url.clone(),
            support_url: config.support_url.clone(),
            agent_server_url: agent_server_url(&config.api_url, config.external_grpc_port),
        }
    }
}

/// `scheme://host:port` of `api_url` with the port replaced.
fn agent_server_url(api_url: &str, port: u16) -> String {
    let (scheme, rest) = api_url.split_once("://").unwrap_or(("http", api_url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = match authority.rsplit_once(':') {
        // An IPv6 literal keeps its brackets; a port goes.
        Some((host, port)) if !port.contains(']') => host,
        _ => authority,
    };
    format!("{scheme}://{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::agent_server_url;

    #[test]
    fn the_agent_url_is_the_api_host_with_the_external_grpc_port() {
        assert_eq!(
            agent_server_url("http://localhost:9000", 9010),
            "http://localhost:9010"
        );
        assert_eq!(
            agent_server_url("https://phobos.example.com/", 443),
            "https://phobos.example.com:443"
        );
        assert_eq!(
            agent_server_url("https://[::1]:9000/x", 9443),
            "https://[::1]:9443"
        );
        assert_eq!(agent_server_url("http://[::1]", 9010), "http://[::1]:9010");
    }
}
