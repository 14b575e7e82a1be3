//! Running commands: the only way events are appended.

use cqrs_es::{Aggregate, AggregateError};
use phobos_core::events::{Actor, EventMetadata};
use postgres_es::{postgres_cqrs, PostgresCqrs};
use sqlx::PgPool;
use tracing::Instrument;

use std::sync::Arc;

use crate::aggregates::*;
use crate::clock::{Clock, Services, SystemClock};
use crate::error::{CommandError, DomainError};
use crate::log::RecordedEvent;

/// Who runs a command and in what chain of work.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub actor: Actor,
    pub correlation_id: String,
    pub causation_id: String,
    pub trace_id: String,
}

impl CommandContext {
    /// A new chain of work started by `actor` (one API request, one agent
    /// call): fresh correlation, causation and trace ids.
    pub fn new(actor: Actor) -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        CommandContext {
            actor,
            correlation_id: id.clone(),
            causation_id: id,
            trace_id: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// A command caused by `event`, run by `actor` (a policy): it inherits
    /// the event's correlation and trace ids, and names it as cause.
    pub fn caused_by(actor: Actor, event: &RecordedEvent) -> Self {
        let meta = event.metadata();
        CommandContext {
            actor,
            correlation_id: meta
                .as_ref()
                .map(|m| m.correlation_id.clone())
                .unwrap_or_else(|| event.event_id.to_string()),
            causation_id: event.event_id.to_string(),
            trace_id: meta.map(|m| m.trace_id).unwrap_or_default(),
        }
    }

    fn metadata(&self, command: &str) -> EventMetadata {
        EventMetadata {
            actor: self.actor.clone(),
            command: command.to_string(),
            correlation_id: self.correlation_id.clone(),
            causation_id: self.causation_id.clone(),
            trace_id: self.trace_id.clone(),
        }
    }
}

/// Runs commands against the aggregates, stored in PostgreSQL.
pub struct CommandBus {
    pool: PgPool,
    organizations: PostgresCqrs<Organization>,
    projects: PostgresCqrs<Project>,
    templates: PostgresCqrs<PipelineTemplate>,
    pipelines: PostgresCqrs<Pipeline>,
    agents: PostgresCqrs<Agent>,
    jobs: PostgresCqrs<Job>,
}

/// How often a command is re-run after losing a race to append to its
/// aggregate. Each re-run loads the newer state, so it decides afresh.
const CONFLICT_RETRIES: u32 = 8;

impl CommandBus {
    /// A bus whose aggregates read the machine's clock.
    pub fn new(pool: PgPool) -> Self {
        Self::with_clock(pool, Arc::new(SystemClock))
    }

    /// A bus whose aggregates read `clock` (the one the server owns, or a
    /// test's [`ManualClock`](crate::clock::ManualClock)).
    pub fn with_clock(pool: PgPool, clock: Arc<dyn Clock>) -> Self {
        let services = Services { clock };
        CommandBus {
            organizations: postgres_cqrs(pool.clone(), vec![], services.clone()),
            projects: postgres_cqrs(pool.clone(), vec![], services.clone()),
            templates: postgres_cqrs(pool.clone(), vec![], services.clone()),
            pipelines: postgres_cqrs(pool.clone(), vec![], services.clone()),
            agents: postgres_cqrs(pool.clone(), vec![], services.clone()),
            jobs: postgres_cqrs(pool.clone(), vec![], services),
            pool,
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn organization(
        &self,
        id: &str,
        cmd: OrganizationCommand,
        ctx: &CommandContext,
    ) -> Result<(), CommandError> {
        execute(&self.organizations, id, cmd, ctx).await
    }
    pub async fn project(
        &self,
        id: &str,
        cmd: ProjectCommand,
        ctx: &CommandContext,
    ) -> Result<(), CommandError> {
        execute(&self.projects, id, cmd, ctx).await
    }
    pub async fn pipeline_template(
        &self,
        id: &str,
        cmd: PipelineTemplateCommand,
        ctx: &CommandContext,
    ) -> Result<(), CommandError> {
        execute(&self.templates, id, cmd, ctx).await
    }
    pub async fn pipeline(
        &self,
        id: &str,
        cmd: PipelineCommand,
        ctx: &CommandContext,
    ) -> Result<(), CommandError> {
        execute(&self.pipelines, id, cmd, ctx).await
    }
    pub async fn agent(
        &self,
        id: &str,
        cmd: AgentCommand,
        ctx: &CommandContext,
    ) -> Result<(), CommandError> {
        execute(&self.agents, id, cmd, ctx).await
    }
    pub async fn job(
        &self,
        id: &str,
        cmd: JobCommand,
        ctx: &CommandContext,
    ) -> Result<(), CommandError> {
        execute(&self.jobs, id, cmd, ctx).await
    }
}

async fn execute<A>(
    cqrs: &PostgresCqrs<A>,
    id: &str,
    cmd: A::Command,
    ctx: &CommandContext,
) -> Result<(), CommandError>
where
    A: Aggregate<Error = DomainError>,
    A::Command: CommandName + Clone,
{
    let name = cmd.command_name();
    let span = tracing::info_span!(
        "command",
        command = name,
        aggregate = A::TYPE,
        id,
        actor = %ctx.actor,
        correlation_id = %ctx.correlation_id,
        trace_id = %ctx.trace_id,
    );
    async move {
        let metadata = ctx.metadata(name).to_map();
        let mut attempt = 0;
        loop {
            match cqrs
                .execute_with_metadata(id, cmd.clone(), metadata.clone())
                .await
            {
                Ok(()) => return Ok(()),
                Err(AggregateError::UserError(e)) => {
                    tracing::debug!(error = %e, "command refused");
                    return Err(CommandError::Rejected(e));
                }
                Err(AggregateError::AggregateConflict) if attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    tracing::debug!(
                        attempt,
                        "lost a race to append; re-running on the newer state"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(2 * u64::from(attempt)))
                        .await;
                }
                Err(AggregateError::AggregateConflict) => {
                    return Err(CommandError::Contended(format!("{} {id}", A::TYPE)))
                }
                Err(AggregateError::DeserializationError(e)) => {
                    return Err(CommandError::Corrupt(e.to_string()))
                }
                Err(AggregateError::DatabaseConnectionError(e))
                | Err(AggregateError::UnexpectedError(e)) => {
                    tracing::warn!(error = %e, "event store error");
                    return Err(CommandError::Store(e.to_string()));
                }
            }
        }
    }
    .instrument(span)
    .await
}
