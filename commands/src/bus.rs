//! Running commands: the only way events are appended.

use cqrs_es::{Aggregate, AggregateError, CqrsFramework, EventStore};
use phobos_core::events::{Actor, EventMetadata};
use postgres_es::{postgres_cqrs, PostgresCqrs};

use crate::graph_cache::GraphCache;
use crate::snapshots::SnapshotStore;
use sqlx::PgPool;
use tracing::Instrument;

use std::sync::Arc;

use crate::aggregates::*;
use crate::clock::{Clock, Services, SystemClock};
use crate::error::{CommandError, DomainError};
use crate::log::{Position, RecordedEvent};

/// Who runs a command and in what chain of work.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub actor: Actor,
    pub correlation_id: String,
    pub causation_id: String,
    pub trace_id: String,
    /// The span the command's span continues when it runs outside a span
    /// of `trace_id` (a policy continuing the event's command; empty: none
    /// known).
    pub parent_span_id: String,
}

impl CommandContext {
    /// A new chain of work started by `actor` (one API request, one agent
    /// call): fresh correlation and causation ids, and the trace of the
    /// current span (the request's) when traces are exported, else a new
    /// trace id.
    pub fn new(actor: Actor) -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        let (trace_id, parent_span_id) = phobos_telemetry::current_ids()
            .unwrap_or_else(|| (phobos_telemetry::new_trace_id(), String::new()));
        CommandContext {
            actor,
            correlation_id: id.clone(),
            causation_id: id,
            trace_id,
            parent_span_id,
        }
    }

    /// A command caused by `event`, run by `actor` (a policy): it inherits
    /// the event's correlation and trace ids, and names it as cause.
    pub fn caused_by(actor: Actor, event: &RecordedEvent) -> Self {
        let meta = event.metadata();
        let trace_id = meta
            .as_ref()
            .map(|m| m.trace_id.clone())
            .unwrap_or_default();
        // Under the handler's span when it continues the event's trace,
        // else under the command that appended the event.
        let parent_span_id = match phobos_telemetry::current_ids() {
            Some((t, s)) if t == trace_id => s,
            _ => meta.as_ref().map(|m| m.span_id.clone()).unwrap_or_default(),
        };
        CommandContext {
            actor,
            correlation_id: meta
                .as_ref()
                .map(|m| m.correlation_id.clone())
                .unwrap_or_else(|| event.event_id.to_string()),
            causation_id: event.event_id.to_string(),
            trace_id,
            parent_span_id,
        }
    }

    fn metadata(&self, command: &str) -> EventMetadata {
        EventMetadata {
            actor: self.actor.clone(),
            command: command.to_string(),
            correlation_id: self.correlation_id.clone(),
            causation_id: self.causation_id.clone(),
            trace_id: self.trace_id.clone(),
            span_id: phobos_telemetry::current_span_id().unwrap_or_default(),
        }
    }
}

/// What a command appended: the aggregate whose stream it ended. A caller
/// that must show the result waits until the read models have passed
/// [`last`](Self::last) (`App::wait_projected` in the api crate); waiting
/// for "a row exists" is not enough when a command changes rows that exist.
/// Read only when asked, so the commands nobody waits on (policies,
/// executors' reports) cost no extra query.
#[derive(Debug, Clone)]
pub struct Appended {
    pool: PgPool,
    aggregate_type: &'static str,
    id: String,
}

impl Appended {
    /// The position of the aggregate's last event, read now: at or after
    /// the command's own last event (an idempotent command that appended
    /// nothing gives the existing last event; a concurrent later command
    /// can only make it later). `None` when the stream is empty.
    pub async fn last(&self) -> Result<Option<Position>, CommandError> {
        last_position(&self.pool, self.aggregate_type, &self.id).await
    }
}

/// Runs commands against the aggregates, stored in PostgreSQL.
pub struct CommandBus {
    pool: PgPool,
    organizations: PostgresCqrs<Organization>,
    projects: PostgresCqrs<Project>,
    templates: PostgresCqrs<PipelineTemplate>,
    pipelines: CqrsFramework<Pipeline, SnapshotStore<Pipeline>>,
    agents: CqrsFramework<Agent, SnapshotStore<Agent>>,
    jobs: PostgresCqrs<Job>,
    environments: PostgresCqrs<Environment>,
    users: PostgresCqrs<User>,
    teams: PostgresCqrs<Team>,
    approval_rules: PostgresCqrs<ApprovalRule>,
    signing_keys: PostgresCqrs<SigningKey>,
    service_accounts: PostgresCqrs<ServiceAccount>,
    resource_limits: PostgresCqrs<ResourceLimit>,
    release_lifecycles: PostgresCqrs<ReleaseLifecycle>,
    releases: PostgresCqrs<Release>,
    locks: crate::locks::AggregateLocks,
    /// Loads pipelines for reads of the write model (`pipeline_state`),
    /// apart from the command path's own store and cache.
    pipeline_reader: SnapshotStore<Pipeline>,
    services: Services,
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
        Self::configured(pool, clock, PIPELINE_SNAPSHOT_EVERY)
    }

    /// A bus that snapshots pipelines and agents every `snapshot_every`
    /// events and keeps their last committed states in memory
    /// (`usize::MAX`: neither; the benchmark's plain event-sourced
    /// baseline). Jobs,
    /// projects and templates have short streams and are loaded from their
    /// events alone.
    pub fn configured(pool: PgPool, clock: Arc<dyn Clock>, snapshot_every: usize) -> Self {
        let services = Services {
            clock,
            graphs: Arc::new(GraphCache::new(pool.clone())),
        };
        let snapshotted = |services: Services| {
            (
                CqrsFramework::new(
                    SnapshotStore::new(pool.clone(), snapshot_every),
                    vec![],
                    services.clone(),
                ),
                CqrsFramework::new(
                    SnapshotStore::new(pool.clone(), snapshot_every),
                    vec![],
                    services,
                ),
            )
        };
        let (pipelines, agents) = snapshotted(services.clone());
        CommandBus {
            organizations: postgres_cqrs(pool.clone(), vec![], services.clone()),
            projects: postgres_cqrs(pool.clone(), vec![], services.clone()),
            templates: postgres_cqrs(pool.clone(), vec![], services.clone()),
            pipelines,
            agents,
            environments: postgres_cqrs(pool.clone(), vec![], services.clone()),
            users: postgres_cqrs(pool.clone(), vec![], services.clone()),
            teams: postgres_cqrs(pool.clone(), vec![], services.clone()),
            approval_rules: postgres_cqrs(pool.clone(), vec![], services.clone()),
            signing_keys: postgres_cqrs(pool.clone(), vec![], services.clone()),
            service_accounts: postgres_cqrs(pool.clone(), vec![], services.clone()),
            resource_limits: postgres_cqrs(pool.clone(), vec![], services.clone()),
            release_lifecycles: postgres_cqrs(pool.clone(), vec![], services.clone()),
            releases: postgres_cqrs(pool.clone(), vec![], services.clone()),
            locks: Default::default(),
            jobs: postgres_cqrs(pool.clone(), vec![], services.clone()),
            pipeline_reader: SnapshotStore::new(pool.clone(), snapshot_every),
            services,
            pool,
        }
    }

    /// Removes snapshots written in a shape this build does not read
    /// (snapshots are a cache; the events stay). Run once at start-up.
    pub async fn sweep_stale_snapshots(&self) -> Result<u64, CommandError> {
        let mut removed = 0;
        for (kind, shape) in [
            (Pipeline::TYPE, PIPELINE_STATE_SHAPE),
            (Agent::TYPE, AGENT_STATE_SHAPE),
        ] {
            removed += crate::snapshots::sweep_stale(&self.pool, kind, shape)
                .await
                .map_err(|e| CommandError::Store(e.to_string()))?;
        }
        Ok(removed)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Pipeline `id` as its commands see it now (graph attached), for
    /// asking what a command would do ([`Pipeline::events_of`]) without
    /// running it; `None` if it does not exist. Appends nothing.
    pub async fn pipeline_state(&self, id: &str) -> Result<Option<Pipeline>, CommandError> {
        let store_error = |e: String| CommandError::Store(e);
        let context = self
            .pipeline_reader
            .load_aggregate(id)
            .await
            .map_err(|e| store_error(e.to_string()))?;
        let mut pipeline = context.aggregate;
        if !pipeline.run.exists() {
            return Ok(None);
        }
        if pipeline.run.graph.is_none() {
            let graph = self
                .services
                .graphs
                .get(id)
                .await
                .map_err(|e| store_error(e.to_string()))?;
            pipeline.run.attach_graph(graph);
        }
        Ok(Some(pipeline))
    }

    /// The time the aggregates decide at.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.services.now()
    }

    pub async fn organization(
        &self,
        id: &str,
        cmd: OrganizationCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.organizations, id, cmd, ctx).await
    }
    pub async fn project(
        &self,
        id: &str,
        cmd: ProjectCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.projects, id, cmd, ctx).await
    }
    pub async fn pipeline_template(
        &self,
        id: &str,
        cmd: PipelineTemplateCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.templates, id, cmd, ctx).await
    }
    pub async fn pipeline(
        &self,
        id: &str,
        cmd: PipelineCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.pipelines, id, cmd, ctx).await
    }
    pub async fn agent(
        &self,
        id: &str,
        cmd: AgentCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.agents, id, cmd, ctx).await
    }
    pub async fn job(
        &self,
        id: &str,
        cmd: JobCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.jobs, id, cmd, ctx).await
    }
    pub async fn environment(
        &self,
        id: &str,
        cmd: EnvironmentCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.environments, id, cmd, ctx).await
    }
    pub async fn user(
        &self,
        id: &str,
        cmd: UserCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.users, id, cmd, ctx).await
    }
    pub async fn team(
        &self,
        id: &str,
        cmd: TeamCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.teams, id, cmd, ctx).await
    }
    pub async fn resource_limit(
        &self,
        id: &str,
        cmd: ResourceLimitCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.resource_limits, id, cmd, ctx).await
    }
    pub async fn service_account(
        &self,
        id: &str,
        cmd: ServiceAccountCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(
            &self.pool,
            &self.locks,
            &self.service_accounts,
            id,
            cmd,
            ctx,
        )
        .await
    }
    pub async fn signing_key(
        &self,
        id: &str,
        cmd: SigningKeyCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.signing_keys, id, cmd, ctx).await
    }
    pub async fn approval_rule(
        &self,
        id: &str,
        cmd: ApprovalRuleCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.approval_rules, id, cmd, ctx).await
    }
    pub async fn release_lifecycle(
        &self,
        id: &str,
        cmd: ReleaseLifecycleCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(
            &self.pool,
            &self.locks,
            &self.release_lifecycles,
            id,
            cmd,
            ctx,
        )
        .await
    }
    pub async fn release(
        &self,
        id: &str,
        cmd: ReleaseCommand,
        ctx: &CommandContext,
    ) -> Result<Appended, CommandError> {
        execute(&self.pool, &self.locks, &self.releases, id, cmd, ctx).await
    }
}

async fn execute<A, S>(
    pool: &PgPool,
    locks: &crate::locks::AggregateLocks,
    cqrs: &CqrsFramework<A, S>,
    id: &str,
    cmd: A::Command,
    ctx: &CommandContext,
) -> Result<Appended, CommandError>
where
    A: Aggregate<Error = DomainError>,
    S: EventStore<A>,
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
        otel.name = tracing::field::Empty,
    );
    phobos_telemetry::name(&span, || format!("command {name}"));
    // A command run outside a span of its trace (a policy's, a timer's)
    // continues the trace under the span that caused it.
    if phobos_telemetry::exporting()
        && phobos_telemetry::current_trace_id().as_deref() != Some(ctx.trace_id.as_str())
    {
        phobos_telemetry::set_parent(&span, &ctx.trace_id, &ctx.parent_span_id);
    }
    let started = std::time::Instant::now();
    let result = async move {
        let metadata = ctx.metadata(name).to_map();
        let _one_at_a_time = locks.lock(A::TYPE, id).await;
        let mut attempt = 0;
        loop {
            match cqrs
                .execute_with_metadata(id, cmd.clone(), metadata.clone())
                .await
            {
                Ok(()) => {
                    return Ok(Appended {
                        pool: pool.clone(),
                        aggregate_type: A::TYPE,
                        id: id.to_string(),
                    });
                }
                Err(AggregateError::UserError(DomainError::Unavailable(m))) => {
                    tracing::warn!(error = %m, "event store error");
                    return Err(CommandError::Store(m));
                }
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
                // A resource limit the database refused the append for
                // (`migrations/0013_resource_limits.sql`).
                Err(
                    ref e @ (AggregateError::DatabaseConnectionError(_)
                    | AggregateError::UnexpectedError(_)),
                ) if limit_refusal(e).is_some() => {
                    let m = limit_refusal(e).unwrap_or_default();
                    tracing::info!(limit = %m, "over a resource limit");
                    return Err(CommandError::Rejected(DomainError::LimitExceeded(m)));
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
    .await;
    record(A::TYPE, name, &result, started.elapsed());
    result
}

/// Counts a command by aggregate, name and outcome, and times it
/// (`phobos_commands_total`, `phobos_command_duration_seconds`: see
/// `api/src/metrics.rs`). A no-op until the binary installs a recorder.
fn record(
    aggregate: &'static str,
    command: &'static str,
    result: &Result<Appended, CommandError>,
    took: std::time::Duration,
) {
    let outcome = match result {
        Ok(_) => "appended",
        Err(CommandError::Rejected(_)) => "refused",
        Err(CommandError::Contended(_)) => "contended",
        Err(_) => "failed",
    };
    metrics::counter!(
        "phobos_commands_total",
        "aggregate" => aggregate,
        "command" => command,
        "outcome" => outcome,
    )
    .increment(1);
    metrics::histogram!(
        "phobos_command_duration_seconds",
        "aggregate" => aggregate,
        "command" => command,
    )
    .record(took.as_secs_f64());
}

/// The message of a resource limit's refusal, if `e` is one (anywhere in
/// its chain of sources).
fn limit_refusal(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    const MARK: &str = "phobos_resource_limit: ";
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if let Some(i) = text.find(MARK) {
            return Some(text[i + MARK.len()..].to_string());
        }
        cur = err.source();
    }
    None
}

/// Where the stream of `aggregate_type`/`id` ends (primary-key lookup).
async fn last_position(
    pool: &PgPool,
    aggregate_type: &str,
    id: &str,
) -> Result<Option<Position>, CommandError> {
    let row = sqlx::query(
        "SELECT tx_id::text AS tx_text, global_position FROM events
         WHERE aggregate_type = $1 AND aggregate_id = $2
         ORDER BY sequence DESC LIMIT 1",
    )
    .bind(aggregate_type)
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|e| CommandError::Store(e.to_string()))?;
    row.map(|r| Position::from_row(&r))
        .transpose()
        .map_err(|e| CommandError::Store(e.to_string()))
}
