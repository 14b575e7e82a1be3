//! Services: what the transports (GraphQL, gRPC) call. Each one checks who
//! is asking, validates, runs one command, and returns the read model of
//! what it made. Errors carry a [`Code`], mapped once to GraphQL `problems`
//! and once to gRPC status.

use std::sync::Arc;
use std::time::Duration;

use phobos_commands::aggregates::*;
use phobos_commands::log::Position;
use phobos_commands::{CommandBus, CommandContext, CommandError, DomainError};
use phobos_core::template::{
    compile, CompileOptions, DiagnosticCode, Severity, TemplateKind, VariableInput,
};
use phobos_projections::queries::{self, OrganizationRow, PipelineRow, ProjectRow, TemplateRow};
use phobos_projections::QueryError;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

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
            Code::Unavailable => "UNAVAILABLE",
            Code::Internal => "INTERNAL",
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

    /// Users only (not agent or job tokens).
    pub fn user(&self, claims: &Claims) -> Result<(), ServiceError> {
        if claims.kind == TokenKind::User {
            Ok(())
        } else {
            Err(AuthError::Forbidden.into())
        }
    }

    /// Waits until `find` sees the result in the read models.
    pub(crate) async fn projected<T, F, Fut>(&self, what: &str, find: F) -> Result<T, ServiceError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, QueryError>>,
    {
        let mut rx = self.projected.clone();
        let deadline = tokio::time::Instant::now() + PROJECTION_WAIT;
        loop {
            if let Some(v) = find().await? {
                return Ok(v);
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return Err(ServiceError::new(
                    Code::Unavailable,
                    format!(
                        "the {what} was created but is not visible yet; query it again in a moment"
                    ),
                ));
            }
        }
    }

    #[tracing::instrument(skip_all, fields(email = %email))]
    pub fn login(
        &self,
        email: &str,
        password: &str,
    ) -> Result<(String, chrono::DateTime<chrono::Utc>), ServiceError> {
        let (Some(e), Some(p)) = (&self.config.admin_email, &self.config.admin_password) else {
            return Err(ServiceError::new(
                Code::Unauthenticated,
                "no built-in user is configured: set PHOBOS_ADMIN_USER_EMAIL and PHOBOS_ADMIN_USER_PASSWORD",
            ));
        };
        let ok = constant_time_eq(email.as_bytes(), e.as_bytes())
            & constant_time_eq(password.as_bytes(), p.as_bytes());
        if !ok {
            tracing::info!("login refused");
            return Err(AuthError::BadLogin.into());
        }
        let ttl = chrono::Duration::minutes(self.config.access_token_minutes);
        Ok((
            self.tokens.issue(TokenKind::User, email, ttl),
            self.clock.now() + ttl,
        ))
    }

    #[tracing::instrument(skip_all, fields(name = %name))]
    pub async fn create_organization(
        &self,
        claims: &Claims,
        name: &str,
        description: &str,
    ) -> Result<OrganizationRow, ServiceError> {
        self.user(claims)?;
        check_name("name", name)?;
        let id = organization_id(name);
        let cmd = OrganizationCommand::CreateOrganization {
            name: name.to_string(),
            description: description.to_string(),
        };
        self.bus
            .organization(&id, cmd, &self.context(claims))
            .await?;
        let uuid = parse_id("id", &id)?;
        self.projected("organization", || queries::organization(&self.pool, uuid))
            .await
    }

    #[tracing::instrument(skip_all, fields(organization = %organization_name, name = %name))]
    pub async fn create_project(
        &self,
        claims: &Claims,
        organization_name: &str,
        name: &str,
        description: &str,
    ) -> Result<ProjectRow, ServiceError> {
        self.user(claims)?;
        check_name("name", name)?;
        let org_id = organization_id(organization_name);
        let org = queries::organization(&self.pool, parse_id("organizationId", &org_id)?)
            .await?
            .ok_or_else(|| {
                ServiceError::field(
                    Code::NotFound,
                    "organizationName",
                    format!("organization {organization_name:?} does not exist: create it first"),
                )
            })?;
        let id = project_id(&org_id, name);
        let cmd = ProjectCommand::CreateProject {
            organization_id: org_id,
            organization_name: org.name,
            name: name.to_string(),
            description: description.to_string(),
        };
        self.bus.project(&id, cmd, &self.context(claims)).await?;
        let uuid = parse_id("id", &id)?;
        self.projected("project", || queries::project(&self.pool, uuid))
            .await
    }

    #[tracing::instrument(skip_all, fields(project = %project_id))]
    pub async fn create_pipeline_template(
        &self,
        claims: &Claims,
        project_id: &str,
        name: &str,
        hcl: &str,
    ) -> Result<TemplateRow, ServiceError> {
        self.user(claims)?;
        let project = parse_id("projectId", project_id)?;
        if queries::project(&self.pool, project).await?.is_none() {
            return Err(ServiceError::field(
                Code::NotFound,
                "projectId",
                format!("project {project_id} does not exist"),
            ));
        }
        let name = if name.is_empty() { "template" } else { name };
        check_name("name", name)?;
        if hcl.len() > self.config.template_max_upload_size {
            return Err(ServiceError::field(
                Code::TooLarge,
                "hcl",
                format!(
                    "the template is {} bytes; the limit is {} (PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE)",
                    hcl.len(),
                    self.config.template_max_upload_size
                ),
            ));
        }
        // Checked now; variable values come with each pipeline.
        if let Err(diags) = compile(
            hcl,
            &CompileOptions::new(TemplateKind::Pipeline, self.clock.now()),
        ) {
            let problems: Vec<Problem> = diags
                .0
                .iter()
                .filter(|d| {
                    d.severity == Severity::Error
                        && d.code != Some(DiagnosticCode::VariableWithoutValue)
                })
                .map(|d| Problem::of_diagnostic(d, "hcl"))
                .collect();
            if !problems.is_empty() {
                return Err(ServiceError {
                    code: Code::Invalid,
                    message: format!("the template has {} error(s)", problems.len()),
                    problems,
                });
            }
        }
        let id = Uuid::new_v4();
        let sha = hex::encode(Sha256::digest(hcl.as_bytes()));
        let key = format!("pipeline-templates/{project}/{id}.hcl");
        self.objects.put(&key, hcl.as_bytes()).await.map_err(|e| {
            tracing::error!(error = %e, "object store write failed");
            ServiceError::new(
                Code::Unavailable,
                "the object store is unavailable; try again shortly",
            )
        })?;
        let cmd = PipelineTemplateCommand::CreatePipelineTemplate {
            project_id: project.to_string(),
            name: name.to_string(),
            object_key: key,
            sha256: sha,
            size: hcl.len() as u64,
        };
        self.bus
            .pipeline_template(&id.to_string(), cmd, &self.context(claims))
            .await?;
        self.projected("pipeline template", || queries::template(&self.pool, id))
            .await
    }

    #[tracing::instrument(skip_all, fields(template = %template_id))]
    pub async fn create_pipeline(
        &self,
        claims: &Claims,
        template_id: &str,
        variables: &[(String, String)],
    ) -> Result<PipelineRow, ServiceError> {
        self.user(claims)?;
        let tid = parse_id("pipelineTemplateId", template_id)?;
        let template = queries::template(&self.pool, tid).await?.ok_or_else(|| {
            ServiceError::field(
                Code::NotFound,
                "pipelineTemplateId",
                format!("pipeline template {template_id} does not exist"),
            )
        })?;
        let bytes = self.objects.get(&template.object_key).await.map_err(|e| {
            tracing::error!(error = %e, "object store read failed");
            ServiceError::new(
                Code::Unavailable,
                "the template text could not be read from the object store",
            )
        })?;
        if hex::encode(Sha256::digest(&bytes)) != template.sha256 {
            tracing::error!(key = %template.object_key, "stored template does not match its checksum");
            return Err(ServiceError::new(
                Code::Internal,
                "the stored template does not match its checksum",
            ));
        }
        let hcl = String::from_utf8_lossy(&bytes);
        let mut opts = CompileOptions::new(TemplateKind::Pipeline, self.clock.now());
        for (k, v) in variables {
            opts = opts.var(k.clone(), VariableInput::Raw(v.clone()));
        }
        let compiled = compile(&hcl, &opts).map_err(|diags| ServiceError {
            code: Code::Invalid,
            message: format!(
                "the pipeline cannot be created: {} problem(s)",
                diags.errors().count()
            ),
            problems: diags
                .errors()
                .map(|d| {
                    Problem::of_diagnostic(
                        d,
                        if d.code.is_some() {
                            "variables"
                        } else {
                            "template"
                        },
                    )
                })
                .collect(),
        })?;
        refuse_unsupported(&hcl, &compiled)?;
        let id = Uuid::new_v4();
        let cmd = PipelineCommand::CreatePipeline {
            pipeline_id: id.to_string(),
            project_id: template.project_id.to_string(),
            template_id: tid.to_string(),
            graph: Box::new(compiled.graph),
        };
        self.bus
            .pipeline(&id.to_string(), cmd, &self.context(claims))
            .await?;
        self.projected("pipeline", || queries::pipeline(&self.pool, id))
            .await
    }
}

/// Refuses a pipeline that needs what this server cannot do yet, with one
/// located problem per use (blocks, and node features such as manual
/// starts), rather than running it without them or leaving it waiting.
fn refuse_unsupported(
    source: &str,
    compiled: &phobos_core::template::Compiled,
) -> Result<(), ServiceError> {
    use phobos_core::pipeline::{unsupported, unsupported_blocks};
    let mut found = unsupported_blocks(&compiled.template);
    for (path, message) in unsupported(&compiled.graph) {
        let span = compiled
            .template
            .stages
            .iter()
            .flat_map(|s| s.nodes())
            .find(|n| n.path == path)
            .and_then(|n| n.span.clone());
        found.error(span, message);
    }
    found.locate(source);
    let problems: Vec<Problem> = found
        .errors()
        .map(|d| Problem::of_diagnostic(d, "template"))
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(ServiceError {
        code: Code::Invalid,
        message: format!(
            "this server cannot run the pipeline yet: {} problem(s)",
            problems.len()
        ),
        problems,
    })
}
