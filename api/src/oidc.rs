//! External OIDC providers (`PHOBOS_OAUTH_PROVIDERS_{n}_*`): an ID token
//! from a configured issuer is accepted as a bearer token.
//!
//! Each provider's discovery document names its JWKS; the keys are fetched
//! on first use and cached. A token signed with a key the cache does not
//! hold makes the cache refresh (at most once per [`REFETCH_AFTER`]), so a
//! key rollover at the issuer is picked up without a restart; the cache is
//! also refreshed when older than [`MAX_AGE`].

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::auth::AuthError;
use crate::config::OauthProvider;
use crate::http_client::HttpClient;

/// How soon an unknown key id may make the keys be fetched again.
const REFETCH_AFTER: Duration = Duration::from_secs(2);
/// How long fetched keys are trusted without fetching them again.
const MAX_AGE: Duration = Duration::from_secs(600);

/// Who an accepted external token says its holder is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    pub issuer: String,
    pub subject: String,
    pub username: String,
    pub email: Option<String>,
    pub expires_at: i64,
    pub issued_at: i64,
}

pub struct ExternalIssuers {
    providers: Vec<Provider>,
    /// Issuers named by service accounts' trust policies, by URL.
    trusted: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<IssuerKeys>>>,
    /// The UI provider's sign-in endpoints and when they were read (the
    /// sign-in page asks at each load; read again after [`MAX_AGE`]).
    sign_in: Mutex<Option<(Instant, SignInEndpoints)>>,
    http: HttpClient,
}

struct Provider {
    /// Its index n in `PHOBOS_OAUTH_PROVIDERS_{n}_*` (for messages).
    index: usize,
    config: OauthProvider,
    keys: IssuerKeys,
}

/// One issuer's published keys, cached.
pub(crate) struct IssuerKeys {
    issuer_url: String,
    cache: Mutex<KeyCache>,
}

#[derive(Default)]
struct KeyCache {
    jwks: Option<JwkSet>,
    fetched: Option<Instant>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    /// Where a browser signs in (the authorization code flow).
    #[serde(default)]
    authorization_endpoint: Option<String>,
    /// Where a code is exchanged for tokens.
    #[serde(default)]
    token_endpoint: Option<String>,
}

/// The authorization code flow's endpoints of the UI's provider
/// (`PHOBOS_OAUTH_PROVIDERS_0_*`), from its discovery document.
#[derive(Debug, Clone)]
pub struct SignInEndpoints {
    pub authorization: String,
    pub token: String,
}

#[derive(Deserialize)]
struct Unverified {
    iss: Option<String>,
}

/// Whether two issuer URLs name the same issuer (a trailing `/` aside).
pub(crate) fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

impl ExternalIssuers {
    pub fn new(providers: &[OauthProvider], http: HttpClient) -> ExternalIssuers {
        ExternalIssuers {
            providers: providers
                .iter()
                .enumerate()
                .map(|(index, c)| Provider {
                    index,
                    config: c.clone(),
                    keys: IssuerKeys::new(&c.issuer_url),
                })
                .collect(),
            trusted: Default::default(),
            sign_in: Mutex::new(None),
            http,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// The UI's provider (the first): where a browser signs in and where
    /// its code is exchanged. None when no provider is configured.
    pub async fn sign_in_endpoints(&self) -> Result<Option<SignInEndpoints>, String> {
        let Some(p) = self.providers.first() else {
            return Ok(None);
        };
        let mut cached = self.sign_in.lock().await;
        if let Some((at, e)) = cached.as_ref() {
            if at.elapsed() < MAX_AGE {
                return Ok(Some(e.clone()));
            }
        }
        let d = p.keys.discovery(&self.http).await?;
        match (d.authorization_endpoint, d.token_endpoint) {
            (Some(authorization), Some(token)) => {
                let e = SignInEndpoints {
                    authorization,
                    token,
                };
                *cached = Some((Instant::now(), e.clone()));
                Ok(Some(e))
            }
            _ => Err(format!(
                "the discovery document of {} names no authorization_endpoint or token_endpoint, so a browser cannot sign in with it (PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL)",
                p.config.issuer_url
            )),
        }
    }

    /// The authorization code flow's last step, for the UI's provider: the
    /// browser's `code` and PKCE `code_verifier` are exchanged at the token
    /// endpoint (as a public client, `client_id` only), and the ID token
    /// answered is verified like a bearer token.
    pub async fn exchange_code(
        &self,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<ExternalIdentity, AuthError> {
        let refused = |why: String| AuthError::Unverifiable(why);
        let endpoints = self
            .sign_in_endpoints()
            .await
            .map_err(refused)?
            .ok_or_else(|| {
                refused(
                    "no OIDC provider is configured: set PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL and _CLIENT_ID"
                        .into(),
                )
            })?;
        let client_id = &self.providers[0].config.client_id;
        let (status, body) = self
            .http
            .post_form(
                &endpoints.token,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("code_verifier", code_verifier),
                    ("redirect_uri", redirect_uri),
                    ("client_id", client_id),
                ],
            )
            .await
            .map_err(|e| refused(format!("the provider's token endpoint failed: {e}")))?;
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if !(200..300).contains(&status) {
            // The provider's own words (RFC 6749 §5.2), never the code.
            let error = answer["error"].as_str().unwrap_or("no error code");
            let detail = answer["error_description"].as_str().unwrap_or("");
            return Err(refused(format!(
                "the provider refused the sign-in ({status}: {error}{}{detail}); sign in again",
                if detail.is_empty() { "" } else { ": " }
            )));
        }
        let id_token = answer["id_token"].as_str().ok_or_else(|| {
            refused(
                "the provider answered no id_token: is `openid` in PHOBOS_OAUTH_PROVIDERS_0_SCOPE?"
                    .into(),
            )
        })?;
        self.verify(id_token).await
    }

    /// Checks `token` against the provider that issued it: signature (with
    /// the issuer's published keys), `iss`, `aud` (the provider's client
    /// id) and `exp`.
    pub async fn verify(&self, token: &str) -> Result<ExternalIdentity, AuthError> {
        let iss = unverified_issuer(token).ok_or(AuthError::Invalid)?;
        let p = self
            .providers
            .iter()
            .find(|p| same_issuer(&p.config.issuer_url, &iss))
            .ok_or(AuthError::Invalid)?;
        let claims = p
            .keys
            .verify(&self.http, token, Some(&p.config.client_id))
            .await?;
        let text = |k: &str| claims.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let username = text(&p.config.username_claim).ok_or_else(|| {
            AuthError::Unverifiable(format!(
                "the token has no string claim {:?}, which PHOBOS_OAUTH_PROVIDERS_{}_USERNAME_CLAIM names",
                p.config.username_claim, p.index
            ))
        })?;
        let num = |k: &str| claims.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
        Ok(ExternalIdentity {
            issuer: iss,
            subject: text("sub").unwrap_or_default(),
            username,
            email: text("email"),
            expires_at: num("exp"),
            issued_at: num("iat"),
        })
    }

    /// The claims of `token` if `issuer` signed it (signature, `iss`,
    /// `exp`; no audience: a service account's trust policy binds claims
    /// itself). The issuer's keys are fetched and cached like a provider's.
    pub async fn verify_from(
        &self,
        issuer: &str,
        token: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, AuthError> {
        let keys = {
            let mut t = self.trusted.lock().unwrap_or_else(|p| p.into_inner());
            t.entry(issuer.trim_end_matches('/').to_string())
                .or_insert_with(|| std::sync::Arc::new(IssuerKeys::new(issuer)))
                .clone()
        };
        keys.verify(&self.http, token, None).await
    }
}

/// The `iss` of a token, unverified (to pick the keys to verify it with).
pub(crate) fn unverified_issuer(token: &str) -> Option<String> {
    jsonwebtoken::dangerous::insecure_decode_claims::<Unverified>(token)
        .ok()
        .and_then(|c| c.iss)
}

impl IssuerKeys {
    fn new(issuer_url: &str) -> IssuerKeys {
        IssuerKeys {
            issuer_url: issuer_url.to_string(),
            cache: Mutex::new(KeyCache::default()),
        }
    }

    /// Checks signature, `iss`, `exp` and (when given) `aud`.
    async fn verify(
        &self,
        http: &HttpClient,
        token: &str,
        audience: Option<&str>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, AuthError> {
        let header = decode_header(token).map_err(|_| AuthError::Invalid)?;
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
                | Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::EdDSA
        ) {
            return Err(AuthError::Invalid);
        }
        let iss = unverified_issuer(token).ok_or(AuthError::Invalid)?;
        if !same_issuer(&iss, &self.issuer_url) {
            return Err(AuthError::Invalid);
        }
        let key = self.key(http, header.kid.as_deref()).await?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&iss]);
        match audience {
            Some(a) => {
                v.set_audience(&[a]);
                v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            }
            None => {
                v.validate_aud = false;
                v.set_required_spec_claims(&["exp", "iss"]);
            }
        }
        v.leeway = 5;
        Ok(
            decode::<serde_json::Map<String, serde_json::Value>>(token, &key, &v)
                .map_err(|_| AuthError::Invalid)?
                .claims,
        )
    }

    async fn key(&self, http: &HttpClient, kid: Option<&str>) -> Result<DecodingKey, AuthError> {
        let mut cache = self.cache.lock().await;
        let age = cache.fetched.map(|t| t.elapsed());
        let find = |jwks: &JwkSet| match kid {
            Some(k) => jwks.find(k).cloned(),
            None if jwks.keys.len() == 1 => jwks.keys.first().cloned(),
            None => None,
        };
        let cached = cache.jwks.as_ref().and_then(find);
        let stale = age.is_none_or(|a| a > MAX_AGE);
        let may_refetch = age.is_none_or(|a| a > REFETCH_AFTER);
        let jwk = match cached {
            Some(j) if !stale => j,
            cached => {
                if !may_refetch && cached.is_none() {
                    return Err(AuthError::Invalid);
                }
                match self.fetch(http).await {
                    Ok(jwks) => {
                        let found = find(&jwks);
                        cache.jwks = Some(jwks);
                        cache.fetched = Some(Instant::now());
                        found.ok_or(AuthError::Invalid)?
                    }
                    Err(e) => {
                        tracing::warn!(issuer = %self.issuer_url, error = %e, "fetching the issuer's keys failed");
                        cached.ok_or_else(|| {
                            AuthError::Unverifiable(format!(
                                "the keys of issuer {} could not be fetched ({e}); try again shortly",
                                self.issuer_url
                            ))
                        })?
                    }
                }
            }
        };
        DecodingKey::from_jwk(&jwk).map_err(|_| AuthError::Invalid)
    }

    async fn fetch(&self, http: &HttpClient) -> Result<JwkSet, String> {
        let d = self.discovery(http).await?;
        http.get_json(&d.jwks_uri).await.map_err(|e| e.to_string())
    }

    /// The issuer's discovery document, checked to be its own.
    async fn discovery(&self, http: &HttpClient) -> Result<Discovery, String> {
        let base = self.issuer_url.trim_end_matches('/');
        let d: Discovery = http
            .get_json(&format!("{base}/.well-known/openid-configuration"))
            .await
            .map_err(|e| e.to_string())?;
        if !same_issuer(&d.issuer, &self.issuer_url) {
            return Err(format!(
                "its discovery document names issuer {:?}, not {:?}",
                d.issuer, self.issuer_url
            ));
        }
        Ok(d)
    }
}
