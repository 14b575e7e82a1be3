//! Who is calling and what it may do: authentication of bearer tokens
//! (this server's own, or an external OIDC provider's ID token), and the
//! one authorization check every service runs before it reads or writes.

use phobos_commands::aggregates::{user_id, UserCommand};
use phobos_commands::{CommandContext, CommandError, DomainError};
use phobos_core::events::Actor;
use phobos_projections::identity;
use phobos_projections::queries::{self, ProjectRow};
use uuid::Uuid;

use super::{parse_id, App, Code, ServiceError};
use crate::auth::{bearer, AuthError, Claims, TokenKind};
use crate::authz::{Decision, Permission, Scope, Subject};
use crate::oidc::ExternalIdentity;

impl App {
    /// The claims of an `Authorization: Bearer …` header: a token this
    /// server issued, or an ID token of a configured OIDC provider (whose
    /// user is created on first sight).
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Claims, AuthError> {
        let token = bearer(header)?;
        if self.issuers.is_empty() || self.tokens.issued(token) {
            return self.tokens.verify(token).await;
        }
        let who = self.issuers.verify(token).await?;
        self.ensure_user(&who).await?;
        Ok(Claims {
            sub: who.username,
            kind: TokenKind::User,
            iss: who.issuer,
            aud: String::new(),
            exp: who.expires_at,
            iat: who.issued_at,
            sid: None,
        })
    }

    /// Creates the user of an external identity the first time it is seen.
    pub(super) async fn ensure_user(&self, who: &ExternalIdentity) -> Result<(), AuthError> {
        let key = format!("{}\n{}", who.issuer, who.subject);
        if self.known_users.lock().is_ok_and(|k| k.contains(&key)) {
            return Ok(());
        }
        self.create_user(
            &who.username,
            who.email.clone(),
            &who.issuer,
            &who.subject,
            false,
        )
        .await
        .map_err(|e| AuthError::Unverifiable(e.message))?;
        if let Ok(mut k) = self.known_users.lock() {
            k.insert(key);
        }
        Ok(())
    }

    /// Makes the user exist (AlreadyExists for the same identity is done)
    /// and waits until the read models show it, so its grants are read.
    pub(crate) async fn create_user(
        &self,
        username: &str,
        email: Option<String>,
        issuer: &str,
        subject: &str,
        admin: bool,
    ) -> Result<(), ServiceError> {
        let cmd = UserCommand::CreateUser {
            username: username.to_string(),
            email,
            issuer: issuer.to_string(),
            subject: subject.to_string(),
            admin,
        };
        let ctx = CommandContext::new(Actor::System("identity".into()));
        match self.bus.user(&user_id(username), cmd, &ctx).await {
            Ok(appended) => self.wait_projected(appended, "user").await,
            Err(CommandError::Rejected(DomainError::AlreadyExists(_))) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The caller's grants (one query).
    pub(crate) async fn subject(&self, claims: &Claims) -> Result<Subject, ServiceError> {
        match claims.kind {
            TokenKind::User => {
                let id = parse_id("sub", &user_id(&claims.sub))?;
                Ok(Subject::from_grants(
                    identity::grants(&self.pool, id).await?,
                ))
            }
            TokenKind::ServiceAccount => match super::service_account_id_of(&claims.sub) {
                Some(id) => Ok(Subject::from_grants(
                    identity::grants(&self.pool, id).await?,
                )),
                None => Ok(Subject::nobody()),
            },
            TokenKind::Agent => Ok(Subject::nobody()),
        }
    }

    /// Checks that the caller holds `permission` in `scope`. A scope it
    /// may not see answers `hidden()`, the same error as a resource that
    /// does not exist, so existence does not leak.
    pub(crate) async fn authorize(
        &self,
        claims: &Claims,
        permission: Permission,
        scope: Scope,
        hidden: impl FnOnce() -> ServiceError,
    ) -> Result<Subject, ServiceError> {
        self.user(claims)?;
        let subject = self.subject(claims).await?;
        match subject.decide(permission, scope) {
            Decision::Allowed => Ok(subject),
            Decision::Hidden => Err(hidden()),
            Decision::Forbidden { needs } => Err(ServiceError::new(
                Code::Forbidden,
                format!(
                    "this needs the {} role (or higher) here; ask an Owner for a membership with it",
                    needs.title()
                ),
            )),
        }
    }

    /// Administrators only.
    pub(crate) async fn require_admin(&self, claims: &Claims) -> Result<Subject, ServiceError> {
        self.user(claims)?;
        let subject = self.subject(claims).await?;
        if subject.admin {
            Ok(subject)
        } else {
            Err(ServiceError::new(
                Code::Forbidden,
                "only a system administrator may do this",
            ))
        }
    }

    /// A project and its scope, if it exists.
    pub(crate) async fn project_scope(
        &self,
        project_id: Uuid,
    ) -> Result<Option<(ProjectRow, Scope)>, ServiceError> {
        Ok(queries::project(&self.pool, project_id).await?.map(|p| {
            let s = Scope::project(p.organization_id, p.id);
            (p, s)
        }))
    }

    /// [`authorize`](Self::authorize) in project `project_id`, whose
    /// absence (or invisibility) is a NOT_FOUND problem of `field`.
    pub(crate) async fn authorize_project(
        &self,
        claims: &Claims,
        permission: Permission,
        project_id: Uuid,
        field: &str,
        what: &str,
    ) -> Result<ProjectRow, ServiceError> {
        let missing =
            || ServiceError::field(Code::NotFound, field, format!("{what} does not exist"));
        let Some((p, scope)) = self.project_scope(project_id).await? else {
            self.user(claims)?;
            return Err(missing());
        };
        self.authorize(claims, permission, scope, missing).await?;
        Ok(p)
    }

    /// The organization (by name) or project (by id) a create names, after
    /// checking that the caller holds `permission` there: its scope, the id
    /// of its aggregate, and its path (`ORG` or `ORG/PROJECT`, for names
    /// and PRNs of what is created in it).
    pub(crate) async fn authorize_scope(
        &self,
        claims: &Claims,
        at: &super::MembershipScope<'_>,
        permission: Permission,
    ) -> Result<(Scope, String, String), ServiceError> {
        match at {
            super::MembershipScope::Organization(org) => {
                let id = phobos_commands::aggregates::organization_id(org);
                let uuid = parse_id("organizationName", &id)?;
                let missing = || {
                    ServiceError::field(
                        Code::NotFound,
                        "organizationName",
                        format!("organization {org:?} does not exist"),
                    )
                };
                if queries::organization(&self.pool, uuid).await?.is_none() {
                    self.user(claims)?;
                    return Err(missing());
                }
                let scope = Scope::organization(uuid);
                self.authorize(claims, permission, scope, missing).await?;
                Ok((scope, id, org.to_string()))
            }
            super::MembershipScope::Project(p) => {
                let row = self
                    .authorize_project(claims, permission, *p, "projectId", &format!("project {p}"))
                    .await?;
                Ok((
                    Scope::project(row.organization_id, row.id),
                    row.id.to_string(),
                    format!("{}/{}", row.organization_name, row.name),
                ))
            }
        }
    }

    /// Whether the caller may see `scope` (reads that answer null).
    pub(crate) async fn sees(&self, claims: &Claims, scope: Scope) -> Result<bool, ServiceError> {
        self.user(claims)?;
        Ok(self.subject(claims).await?.sees(scope))
    }
}
