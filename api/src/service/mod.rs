//! Services: what the transports (GraphQL, gRPC) call. Each one checks who
//! is asking, validates, runs one command, and returns the read model of
//! what it made. Errors carry a [`Code`], mapped once to GraphQL `problems`
//! and once to gRPC status.

use std::sync::Arc;
use std::time::Duration;

use phobos_commands::log::Position;
use phobos_commands::{Appended, CommandBus, CommandContext, CommandError, DomainError};
use phobos_projections::QueryError;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

mod abilities;
pub(crate) use abilities::{NodeAction, PipelineAbilities, ScopeAction};
mod access;
mod activity;
pub(crate) use activity::ActivityScope;
mod approvals;
pub(crate) use approvals::{Decision, RuleInput};
mod agent_sessions;
mod agents;
pub(crate) use agents::NewAgent;
mod children;
pub(crate) use children::ChildBuilder;
mod environments;
pub(crate) use environments::{Protection, ProtectionInput};
mod identity;
pub(crate) use identity::MembershipScope;
mod job_logs;
pub(crate) use job_logs::text_prefix;
mod organizations;
mod pipelines;
mod reads;
mod releases;
pub(crate) use releases::{Change, DeploymentOutcome, NewRelease, Participants};
mod notifications;
mod resource_limits;
mod service_accounts;
mod sign_in;
pub(crate) use service_accounts::{policies_of, service_account_id_of};
mod templates;
mod todo;
pub(crate) use todo::{TodoItem, TodoKind};

use crate::auth::{constant_time_eq, AuthError, Claims, TokenKind, Tokens};
use crate::config::Config;
use crate::object_store::ObjectStore;

/// What kind of failure, for the transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Unauthenticated,
    Forbidden,
    NotFound,
    Invalid,
    Conflict,
    TooLarge,
    /// Over a resource limit.
    LimitExceeded,
    Unavailable,
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::NotFound => "NOT_FOUND",
            Code::Invalid => "BAD_REQUEST",
            Code::Conflict => "CONFLICT",
            Code::TooLarge => "TOO_LARGE",
            Code::LimitExceeded => "LIMIT_EXCEEDED",
            Code::Unavailable => "UNAVAILABLE",
            Code::Internal => "INTERNAL",
        }
    }

    /// The HTTP status of this code, for the plain HTTP endpoints
    /// (`GET /jobs/{id}/log`); GraphQL answers carry [`Code::as_str`].
    pub fn http_status(self) -> actix_web::http::StatusCode {
        use actix_web::http::StatusCode as S;
        match self {
            Code::Unauthenticated => S::UNAUTHORIZED,
            Code::Forbidden => S::FORBIDDEN,
            Code::NotFound => S::NOT_FOUND,
            Code::Invalid => S::BAD_REQUEST,
            Code::Conflict => S::CONFLICT,
            Code::TooLarge => S::PAYLOAD_TOO_LARGE,
            Code::LimitExceeded => S::TOO_MANY_REQUESTS,
            Code::Unavailable => S::SERVICE_UNAVAILABLE,
            Code::Internal => S::INTERNAL_SERVER_ERROR,
        }
    }
}

/// One thing wrong with a request: a field, or a place in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub field: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Problem {
    /// A template diagnostic, located, as a problem of `field`.
    fn of_diagnostic(d: &phobos_core::template::Diagnostic, field: &str) -> Problem {
        Problem {
            message: d.message.clone(),
            field: Some(field.to_string()),
            line: d.line.map(|l| l as u32),
            column: d.column.map(|c| c as u32),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    pub code: Code,
    pub message: String,
    pub problems: Vec<Problem>,
}

impl ServiceError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ServiceError {
            code,
            message: message.into(),
            problems: vec![],
        }
    }
    pub(crate) fn field(code: Code, field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ServiceError {
            code,
            problems: vec![Problem {
                message: message.clone(),
                field: Some(field.to_string()),
                line: None,
                column: None,
            }],
            message,
        }
    }
}

impl From<AuthError> for ServiceError {
    fn from(e: AuthError) -> Self {
        let code = match e {
            AuthError::Forbidden => Code::Forbidden,
            _ => Code::Unauthenticated,
        };
        ServiceError::new(code, e.to_string())
    }
}

impl From<CommandError> for ServiceError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Rejected(d) => {
                let code = match &d {
                    DomainError::AlreadyExists(_) | DomainError::Conflict(_) => Code::Conflict,
                    DomainError::NotFound(_) => Code::NotFound,
                    DomainError::Invalid(_) | DomainError::Unsupported(_) => Code::Invalid,
                    DomainError::Unavailable(_) => Code::Unavailable,
                    DomainError::LimitExceeded(_) => Code::LimitExceeded,
                };
                let mut err = ServiceError::new(code, d.to_string());
                if let DomainError::Unsupported(list) = d {
                    err.problems = list
                        .into_iter()
                        .map(|m| Problem {
                            message: m,
                            field: None,
                            line: None,
                            column: None,
                        })
                        .collect();
                }
                err
            }
            CommandError::Contended(m) => ServiceError::new(Code::Conflict, m),
            CommandError::Store(m) => {
                tracing::error!(error = %m, "event store unavailable");
                ServiceError::new(
                    Code::Unavailable,
                    "the database is unavailable; try again shortly",
                )
            }
            CommandError::Corrupt(m) => {
                tracing::error!(error = %m, "stored event unreadable");
                ServiceError::new(Code::Internal, "internal error reading stored events")
            }
        }
    }
}

impl From<QueryError> for ServiceError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::BadCursor(m) => ServiceError::field(Code::Invalid, "after", m),
            QueryError::Database(d) => {
                tracing::error!(error = %d, "read model query failed");
                ServiceError::new(
                    Code::Unavailable,
                    "the database is unavailable; try again shortly",
                )
            }
        }
    }
}

/// Everything the transports share.
pub struct App {
    pub config: Config,
    pub pool: PgPool,
    pub bus: Arc<CommandBus>,
    pub tokens: Tokens,
    pub objects: Box<dyn ObjectStore>,
    /// The read-model projection's checkpoint, after each batch.
    pub projected: watch::Receiver<Position>,
    /// What the background workers are doing (`/readyz`).
    pub health: Arc<phobos_commands::health::Health>,
    /// The one clock of this server (the aggregates read the same one).
    pub clock: Arc<dyn phobos_commands::clock::Clock>,
    /// External OIDC providers whose ID tokens are accepted.
    pub issuers: crate::oidc::ExternalIssuers,
    /// Sign-in attempts per email (10 a minute, aliases included).
    pub login_attempts: crate::rate::MemoryStore,
    /// Request counts for `PHOBOS_HTTP_RATE_LIMIT`.
    pub rate_limits: Box<dyn crate::rate::RateLimitStore>,
    /// External identities whose user exists (so it is not created again).
    pub known_users: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// What `login` and `refreshSession` return.
pub struct SessionTokens {
    pub access_token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: chrono::DateTime<chrono::Utc>,
}

const STALE_REFRESH: &str =
    "the refresh token is invalid, was used already, or has expired: log in again";

/// A refused refresh token is UNAUTHENTICATED, whatever the aggregate said.
fn stale_refresh(e: CommandError) -> ServiceError {
    match e {
        CommandError::Rejected(DomainError::NotFound(_)) => {
            ServiceError::field(Code::Unauthenticated, "refreshToken", STALE_REFRESH)
        }
        other => other.into(),
    }
}

/// How long a mutation waits for its result to reach the read models.
const PROJECTION_WAIT: Duration = Duration::from_secs(10);

pub(crate) fn check_name(field: &str, value: &str) -> Result<(), ServiceError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && value.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(ServiceError::field(
            Code::Invalid,
            field,
            format!("{field} {value:?} is not a valid name: use 1 to 64 lowercase letters, digits, '-' or '_', starting with a letter or digit"),
        ))
    }
}

pub(crate) fn parse_id(field: &str, value: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(value).map_err(|_| {
        ServiceError::field(
            Code::Invalid,
            field,
            format!("{field} {value:?} is not an id"),
        )
    })
}

impl App {
    pub fn context(&self, claims: &Claims) -> CommandContext {
        CommandContext::new(claims.actor())
    }

    /// Users and service accounts (not agents: their tokens are for the
    /// agent API).
    pub fn user(&self, claims: &Claims) -> Result<(), ServiceError> {
        if matches!(claims.kind, TokenKind::User | TokenKind::ServiceAccount) {
            Ok(())
        } else {
            Err(AuthError::Forbidden.into())
        }
    }

    /// Waits until the read models have passed what a command appended,
    /// so a mutation shows its own result (a changed row as much as a new
    /// one).
    pub(crate) async fn wait_projected(
        &self,
        appended: Appended,
        what: &str,
    ) -> Result<(), ServiceError> {
        let Some(last) = appended.last().await? else {
            return Ok(());
        };
        let mut rx = self.projected.clone();
        let deadline = tokio::time::Instant::now() + PROJECTION_WAIT;
        loop {
            if *rx.borrow_and_update() >= last {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .map_or(true, |r| r.is_err())
            {
                return Err(ServiceError::new(
                    Code::Unavailable,
                    format!(
                        "the {what} was saved but is not visible yet; query it again in a moment"
                    ),
                ));
            }
        }
    }

    /// [`wait_projected`](Self::wait_projected), then reads the result with
    /// `find`, which must see it by then.
    pub(crate) async fn projected<T, Fut>(
        &self,
        appended: Appended,
        what: &str,
        find: impl FnOnce() -> Fut,
    ) -> Result<T, ServiceError>
    where
        Fut: std::future::Future<Output = Result<Option<T>, QueryError>>,
    {
        self.wait_projected(appended, what).await?;
        find().await?.ok_or_else(|| {
            tracing::error!(what, "projected, yet not in the read models");
            ServiceError::new(
                Code::Internal,
                format!("the {what} was saved but its read model is missing"),
            )
        })
    }

    #[tracing::instrument(skip_all, fields(email = %email))]
    pub async fn login(&self, email: &str, password: &str) -> Result<SessionTokens, ServiceError> {
        let (Some(e), Some(p)) = (&self.config.admin_email, &self.config.admin_password) else {
            return Err(ServiceError::new(
                Code::Unauthenticated,
                "no built-in user is configured: set PHOBOS_ADMIN_USER_EMAIL and PHOBOS_ADMIN_USER_PASSWORD",
            ));
        };
        // Attempts per email, however many a request aliases.
        if let crate::rate::RateDecision::Limited { retry_after } =
            crate::rate::RateLimitStore::check(&self.login_attempts, &format!("login:{email}"))
                .await
        {
            return Err(ServiceError::new(
                Code::Unauthenticated,
                format!("too many sign-in attempts for {email:?}; try again in {retry_after} s"),
            ));
        }
        let ok = constant_time_eq(email.as_bytes(), e.as_bytes())
            & constant_time_eq(password.as_bytes(), p.0.as_bytes());
        if !ok {
            tracing::info!("login refused");
            return Err(AuthError::BadLogin.into());
        }
        // The built-in identity provider's user is an administrator.
        self.create_user(
            email,
            Some(email.to_string()),
            &self.config.token_issuer_url,
            email,
            true,
        )
        .await?;
        self.start_session(email).await
    }

    /// A new session of user `username`: its first access and refresh
    /// tokens.
    pub(crate) async fn start_session(
        &self,
        username: &str,
    ) -> Result<SessionTokens, ServiceError> {
        let user_id = phobos_commands::aggregates::user_id(username);
        let session_id = Uuid::new_v4().to_string();
        let (refresh, hash) = self.refresh_secret(&user_id)?;
        let cmd = phobos_commands::aggregates::UserCommand::StartSession {
            session_id: session_id.clone(),
            refresh_sha256: hash,
            ttl_minutes: self.config.refresh_token_minutes,
            max_sessions: self.config.max_sessions_per_user,
        };
        self.bus
            .user(&user_id, cmd, &self.context_of(username))
            .await?;
        Ok(self.session_tokens(username, &session_id, refresh).await)
    }

    /// `refreshSession`: a new access token and a new refresh token for a
    /// live session's refresh token (which then no longer works).
    #[tracing::instrument(skip_all)]
    pub async fn refresh_session(&self, refresh: &str) -> Result<SessionTokens, ServiceError> {
        let (user_id, username) = self.refresh_owner(refresh).await?;
        // The configured built-in user has sessions (a removed or renamed
        // admin's refresh tokens stop working), and so do the users of the
        // configured OIDC providers (`oidcLogin`): a provider removed from
        // the configuration ends its users' sessions.
        let built_in = self.config.admin_email.as_deref() == Some(username.as_str());
        if !built_in && !self.of_configured_provider(&user_id).await? {
            return Err(ServiceError::field(
                Code::Unauthenticated,
                "refreshToken",
                STALE_REFRESH,
            ));
        }
        let (new_refresh, new_hash) = self.refresh_secret(&user_id)?;
        let cmd = phobos_commands::aggregates::UserCommand::RefreshSession {
            refresh_sha256: crate::credentials::sha256_hex(refresh),
            new_refresh_sha256: new_hash.clone(),
            ttl_minutes: self.config.refresh_token_minutes,
        };
        self.bus
            .user(&user_id, cmd, &self.context_of(&username))
            .await
            .map_err(stale_refresh)?;
        // The session id travels in the access token only; a refreshed
        // session keeps its id, read back from the user's stream.
        let sid = self.session_of(&user_id, &new_hash).await?;
        Ok(self.session_tokens(&username, &sid, new_refresh).await)
    }

    /// `logout`: the refresh token's session ends.
    #[tracing::instrument(skip_all)]
    pub async fn logout(&self, refresh: &str) -> Result<(), ServiceError> {
        let (user_id, username) = self.refresh_owner(refresh).await?;
        let cmd = phobos_commands::aggregates::UserCommand::EndSession {
            refresh_sha256: crate::credentials::sha256_hex(refresh),
        };
        self.bus
            .user(&user_id, cmd, &self.context_of(&username))
            .await
            .map_err(stale_refresh)?;
        Ok(())
    }

    fn context_of(&self, username: &str) -> CommandContext {
        CommandContext::new(phobos_core::events::Actor::User(username.to_string()))
    }

    /// A refresh token names its user: `phr_<user id>.<secret>`.
    fn refresh_secret(&self, user_id: &str) -> Result<(String, String), ServiceError> {
        crate::credentials::new_secret(&format!("phr_{user_id}.")).map_err(|e| {
            tracing::error!(error = %e, "no randomness for a refresh token");
            ServiceError::new(
                Code::Unavailable,
                "cannot make a token right now; try again",
            )
        })
    }

    async fn refresh_owner(&self, refresh: &str) -> Result<(String, String), ServiceError> {
        let stale = || ServiceError::field(Code::Unauthenticated, "refreshToken", STALE_REFRESH);
        let user_id = refresh
            .strip_prefix("phr_")
            .and_then(|r| r.split_once('.'))
            .map(|(u, _)| u)
            .and_then(|u| Uuid::parse_str(u).ok())
            .ok_or_else(stale)?;
        let user = phobos_projections::identity::user(&self.pool, user_id)
            .await?
            .ok_or_else(stale)?;
        Ok((user_id.to_string(), user.username))
    }

    /// The id of the session whose refresh token hashes to `hash`.
    async fn session_of(&self, user_id: &str, hash: &str) -> Result<String, ServiceError> {
        let events = phobos_commands::log::read_aggregate(
            &self.pool,
            phobos_core::events::aggregate::USER,
            user_id,
        )
        .await
        .map_err(|e| ServiceError::new(Code::Unavailable, e.to_string()))?;
        events
            .iter()
            .rev()
            .filter_map(|e| e.decode::<phobos_core::events::UserEvent>().ok())
            .find_map(|e| match e {
                phobos_core::events::UserEvent::SessionStarted {
                    session_id,
                    refresh_sha256,
                    ..
                }
                | phobos_core::events::UserEvent::SessionRefreshed {
                    session_id,
                    refresh_sha256,
                    ..
                } if refresh_sha256 == hash => Some(session_id),
                _ => None,
            })
            .ok_or_else(|| {
                ServiceError::new(
                    Code::Internal,
                    "the refreshed session is missing from the log",
                )
            })
    }

    async fn session_tokens(&self, username: &str, sid: &str, refresh: String) -> SessionTokens {
        let now = self.clock.now();
        let ttl = chrono::Duration::minutes(self.config.access_token_minutes);
        SessionTokens {
            access_token: self
                .tokens
                .issue_at(TokenKind::User, username, Some(sid), now, ttl)
                .await,
            expires_at: now + ttl,
            refresh_token: refresh,
            refresh_expires_at: now + chrono::Duration::minutes(self.config.refresh_token_minutes),
        }
    }
}
