//! Service accounts: machine principals of an organization or a project,
//! signed in by exchanging an external OIDC token (a CI job's) that one of
//! their trust policies accepts.

use std::collections::BTreeMap;

use phobos_commands::aggregates::{
    organization_id, project_id, service_account_id, ServiceAccountCommand,
};
use phobos_core::events::TrustPolicy;
use phobos_projections::identity::{self, ServiceAccountRow};
use uuid::Uuid;

use super::{check_name, parse_id, App, Code, MembershipScope, ServiceError};
use crate::auth::{Claims, TokenKind};
use crate::authz::{Permission, Scope};

/// How long a service account's token lasts.
pub const SERVICE_ACCOUNT_TOKEN_MINUTES: i64 = 60;

/// The message of every refused exchange (which check failed is logged,
/// not told).
const REFUSED: &str = "the token is not accepted by the service account: it must be signed by an issuer of one of its trust policies, unexpired, and carry every bound claim of that policy";

/// The id of the service account at `path` (`ORG/NAME` or
/// `ORG/PROJECT/NAME`, or its PRN), if the path has that shape.
pub(crate) fn service_account_id_of(path: &str) -> Option<Uuid> {
    let path = path.strip_prefix("prn:service_account:").unwrap_or(path);
    let parts: Vec<&str> = path.split('/').collect();
    let id = match parts.as_slice() {
        [org, name] => service_account_id(&organization_id(org), name),
        [org, p, name] => service_account_id(&project_id(&organization_id(org), p), name),
        _ => return None,
    };
    Uuid::parse_str(&id).ok()
}

fn check_policies(policies: &[TrustPolicy]) -> Result<(), ServiceError> {
    let bad = |m: String| ServiceError::field(Code::Invalid, "oidcTrustPolicies", m);
    if policies.is_empty() {
        return Err(bad(
            "a service account needs at least one trust policy to sign in with".into(),
        ));
    }
    for p in policies {
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|l| p.issuer.starts_with(l));
        if !(p.issuer.starts_with("https://") || loopback) {
            return Err(bad(format!(
                "issuer {:?} is not an https URL (plain http only on the loopback, for tests)",
                p.issuer
            )));
        }
        if !p.bound_claims.contains_key("aud") {
            return Err(bad(format!(
                "the trust policy of issuer {} binds no aud claim, so a token the issuer made for another service would do: bind aud to the audience its tokens for Phobos carry",
                p.issuer
            )));
        }
        if p.bound_claims.is_empty() {
            return Err(bad(format!(
                "the trust policy of issuer {} binds no claim, so any token of that issuer would do: bind at least one (e.g. sub or project_path)",
                p.issuer
            )));
        }
    }
    Ok(())
}

/// Whether `claims` carry every bound claim (a list claim, such as `aud`,
/// matches when it holds the value).
fn satisfies(policy: &TrustPolicy, claims: &serde_json::Map<String, serde_json::Value>) -> bool {
    policy
        .bound_claims
        .iter()
        .all(|(k, want)| match claims.get(k) {
            Some(serde_json::Value::String(s)) => s == want,
            Some(serde_json::Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(want)),
            Some(serde_json::Value::Bool(b)) => b.to_string() == *want,
            Some(serde_json::Value::Number(n)) => n.to_string() == *want,
            _ => false,
        })
}

impl App {
    #[tracing::instrument(skip_all, fields(name = %name))]
    pub async fn create_service_account(
        &self,
        claims: &Claims,
        at: MembershipScope<'_>,
        name: &str,
        description: &str,
        policies: Vec<TrustPolicy>,
    ) -> Result<ServiceAccountRow, ServiceError> {
        self.user(claims)?;
        let (scope, scope_id, path) = self
            .authorize_scope(claims, &at, Permission::ManageServiceAccounts)
            .await?;
        let path = format!("{path}/{name}");
        check_name("name", name)?;
        check_policies(&policies)?;
        let id = service_account_id(&scope_id, name);
        let cmd = ServiceAccountCommand::CreateServiceAccount {
            organization_id: scope.organization.to_string(),
            project_id: scope.project.map(|p| p.to_string()),
            path,
            name: name.to_string(),
            description: description.to_string(),
            trust_policies: policies,
        };
        let appended = self
            .bus
            .service_account(&id, cmd, &self.context(claims))
            .await
            .map_err(|e| super::identity::on_field(e, "name"))?;
        let uuid = parse_id("id", &id)?;
        self.projected(appended, "service account", || {
            identity::service_account(&self.pool, uuid)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(service_account = %id))]
    pub async fn update_service_account(
        &self,
        claims: &Claims,
        id: Uuid,
        description: Option<String>,
        policies: Option<Vec<TrustPolicy>>,
    ) -> Result<ServiceAccountRow, ServiceError> {
        self.user(claims)?;
        let missing = || {
            ServiceError::field(
                Code::NotFound,
                "id",
                format!("service account {id} does not exist"),
            )
        };
        let row = identity::service_account(&self.pool, id)
            .await?
            .ok_or_else(missing)?;
        let scope = Scope {
            organization: row.organization_id,
            project: row.project_id,
        };
        let subject = self
            .authorize(claims, Permission::ManageServiceAccounts, scope, missing)
            .await?;
        if policies.is_some() && !subject.admin {
            // Whoever decides who may sign in as the account must hold, in
            // every scope where it is a member, at least its role there: or
            // a Release Manager could sign in as an Owner's account.
            for m in identity::memberships_of_member(&self.pool, row.id).await? {
                let at = Scope {
                    organization: m.organization_id,
                    project: m.project_id,
                };
                if subject.role_in(at).is_none_or(|r| r < m.role) {
                    return Err(ServiceError::field(
                        Code::Forbidden,
                        "oidcTrustPolicies",
                        format!(
                            "the service account is a member with role {} where you hold less; only someone with that role there (or an administrator) may change who signs in as it",
                            m.role.title()
                        ),
                    ));
                }
            }
        }
        let policies = policies.unwrap_or(row.trust_policies.clone());
        check_policies(&policies)?;
        let cmd = ServiceAccountCommand::UpdateServiceAccount {
            description: description.unwrap_or(row.description.clone()),
            trust_policies: policies,
        };
        let appended = self
            .bus
            .service_account(&id.to_string(), cmd, &self.context(claims))
            .await?;
        self.projected(appended, "service account", || {
            identity::service_account(&self.pool, id)
        })
        .await
    }

    pub async fn service_account_by_id(
        &self,
        claims: &Claims,
        id: Uuid,
    ) -> Result<Option<ServiceAccountRow>, ServiceError> {
        let Some(row) = identity::service_account(&self.pool, id).await? else {
            self.user(claims)?;
            return Ok(None);
        };
        let scope = Scope {
            organization: row.organization_id,
            project: row.project_id,
        };
        Ok(self.sees(claims, scope).await?.then_some(row))
    }

    /// The service accounts of a scope the caller sees.
    pub async fn service_accounts_of(
        &self,
        claims: &Claims,
        scope: Scope,
    ) -> Result<Vec<ServiceAccountRow>, ServiceError> {
        if !self.sees(claims, scope).await? {
            return Ok(vec![]);
        }
        Ok(identity::service_accounts(&self.pool, scope.organization, scope.project).await?)
    }

    /// `serviceAccountCreateToken`: a token of the service account for an
    /// external OIDC token one of its trust policies accepts.
    #[tracing::instrument(skip_all, fields(service_account = %path))]
    pub async fn service_account_token(
        &self,
        path: &str,
        token: &str,
    ) -> Result<(String, chrono::DateTime<chrono::Utc>), ServiceError> {
        let refused = || ServiceError::field(Code::Unauthenticated, "token", REFUSED);
        let Some(id) = service_account_id_of(path) else {
            return Err(ServiceError::field(
                Code::Invalid,
                "serviceAccountPath",
                format!("{path:?} is not a service account path: use ORG/NAME, ORG/PROJECT/NAME or its PRN"),
            ));
        };
        let Some(sa) = identity::service_account(&self.pool, id).await? else {
            tracing::info!("no such service account");
            return Err(refused());
        };
        let Some(iss) = crate::oidc::unverified_issuer(token) else {
            return Err(refused());
        };
        let policies: Vec<&TrustPolicy> = sa
            .trust_policies
            .iter()
            .filter(|p| p.issuer.trim_end_matches('/') == iss.trim_end_matches('/'))
            .collect();
        if policies.is_empty() {
            tracing::info!(issuer = %iss, "no trust policy for the token's issuer");
            return Err(refused());
        }
        let claims = match self.issuers.verify_from(&iss, token).await {
            Ok(c) => c,
            Err(e @ crate::auth::AuthError::Unverifiable(_)) => {
                // The fetch's details (hosts, ports, statuses) stay in the log.
                tracing::warn!(issuer = %iss, error = %e, "the issuer's keys could not be read");
                return Err(refused());
            }
            Err(_) => {
                tracing::info!(issuer = %iss, "the token does not verify");
                return Err(refused());
            }
        };
        if !policies.iter().any(|p| satisfies(p, &claims)) {
            tracing::info!(issuer = %iss, "the token's claims match no trust policy");
            return Err(refused());
        }
        let ttl = chrono::Duration::minutes(SERVICE_ACCOUNT_TOKEN_MINUTES);
        let now = self.clock.now();
        Ok((
            self.tokens
                .issue_at(TokenKind::ServiceAccount, &sa.path, None, now, ttl)
                .await,
            now + ttl,
        ))
    }
}

/// Trust policies from GraphQL input.
pub(crate) fn policies_of(input: Vec<(String, Vec<(String, String)>)>) -> Vec<TrustPolicy> {
    input
        .into_iter()
        .map(|(issuer, claims)| TrustPolicy {
            issuer,
            bound_claims: claims.into_iter().collect::<BTreeMap<_, _>>(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_claims_must_all_match() {
        let p = TrustPolicy {
            issuer: "https://gitlab.example".into(),
            bound_claims: [
                ("sub".to_string(), "project:acme/web".to_string()),
                ("aud".to_string(), "phobos".to_string()),
            ]
            .into_iter()
            .collect(),
        };
        let claims = |v: serde_json::Value| v.as_object().unwrap().clone();
        assert!(satisfies(
            &p,
            &claims(serde_json::json!({"sub": "project:acme/web", "aud": ["x", "phobos"]}))
        ));
        assert!(!satisfies(
            &p,
            &claims(serde_json::json!({"sub": "project:acme/web"}))
        ));
        assert!(!satisfies(
            &p,
            &claims(serde_json::json!({"sub": "project:acme/other", "aud": "phobos"}))
        ));
        assert!(check_policies(&[]).is_err());
        assert!(check_policies(&[TrustPolicy {
            issuer: "https://x".into(),
            bound_claims: Default::default()
        }])
        .is_err());
        assert_eq!(
            service_account_id_of("prn:service_account:acme/ci"),
            service_account_id_of("acme/ci")
        );
        assert!(service_account_id_of("nope").is_none());
    }
}
