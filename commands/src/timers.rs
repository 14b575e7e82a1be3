//! The timers worker: fires what the `timers` read model says is due.
//!
//! Runs on every instance (under `health::supervise`). Each pass reads the
//! due rows (`fire_at <= now` by the server's [`Clock`]), takes a short
//! lease on each in `timer_leases` (one autocommit statement, so no row lock
//! is held while a command runs and no reader horizon is held back), and
//! sends the command the timer stands for with actor `system:timers`.
//!
//! Exactly once in effect: the lease keeps two instances from firing one
//! timer together; a crash after the command and before the projector
//! removes the row fires it again once the lease has passed, and the
//! aggregate then finds nothing to do (a node already READY). Durable: the
//! rows come from the log, so a restarted server fires what fell due while
//! it was down on its first pass.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use phobos_core::events::Actor;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::aggregates::{JobCommand, PipelineCommand};
use crate::clock::Clock;
use crate::{CommandBus, CommandContext, CommandError};

/// Its name on `/readyz`.
pub const NAME: &str = "timers";

/// The longest a pass waits for the next one: a timer fires within about
/// this long of its time.
const MAX_WAIT: Duration = Duration::from_millis(500);

/// How long a lease keeps other instances off a timer.
const LEASE: chrono::Duration = chrono::Duration::seconds(5);

/// Due timers taken per pass.
const BATCH: i64 = 100;

#[derive(Debug, sqlx::FromRow)]
struct Due {
    id: String,
    kind: String,
    aggregate_id: String,
    node_path: Option<String>,
}

/// Runs until `stop` turns true. `instance` names this server in leases.
pub async fn run(
    pool: PgPool,
    bus: Arc<CommandBus>,
    clock: Arc<dyn Clock>,
    instance: String,
    health: Arc<crate::health::Health>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), sqlx::Error> {
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let fired = pass(&pool, &bus, &instance, clock.as_ref()).await?;
        health.progressed(NAME, None);
        // The next moment something may be fired: a timer's time, or for
        // one leased (by any instance) the end of its lease.
        let next: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT min(greatest(t.fire_at, l.leased_until))
               FROM timers t LEFT JOIN timer_leases l ON l.id = t.id",
        )
        .fetch_one(&pool)
        .await?;
        let wait = match next {
            // More were due than one batch: go on at once.
            Some(_) if fired as i64 >= BATCH => Duration::ZERO,
            Some(at) => (at - clock.now())
                .to_std()
                .unwrap_or_default()
                .min(MAX_WAIT),
            None => MAX_WAIT,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait.max(Duration::from_millis(20))) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Fires every due timer this instance can lease; returns how many.
async fn pass(
    pool: &PgPool,
    bus: &CommandBus,
    instance: &str,
    clock: &dyn Clock,
) -> Result<usize, sqlx::Error> {
    // Leased ones are left out, so timers that keep failing cannot hide
    // the ones behind them.
    let due: Vec<Due> = sqlx::query_as(
        "SELECT t.id, t.kind, t.aggregate_id, t.node_path
           FROM timers t LEFT JOIN timer_leases l ON l.id = t.id
          WHERE t.fire_at <= $1 AND (l.leased_until IS NULL OR l.leased_until < $1)
          ORDER BY t.fire_at LIMIT $2",
    )
    .bind(clock.now())
    .bind(BATCH)
    .fetch_all(pool)
    .await?;
    let mut fired = 0;
    for t in due {
        let now = clock.now();
        let leased: Option<String> = sqlx::query_scalar(
            "INSERT INTO timer_leases (id, leased_by, leased_until) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET leased_by = EXCLUDED.leased_by, leased_until = EXCLUDED.leased_until
               WHERE timer_leases.leased_until < $4
             RETURNING id",
        )
        .bind(&t.id)
        .bind(instance)
        .bind(now + LEASE)
        .bind(now)
        .fetch_optional(pool)
        .await?;
        if leased.is_none() {
            continue; // another instance fires it
        }
        fire(bus, &t).await;
        fired += 1;
    }
    // Leases whose timer is gone (fired and projected) are not needed.
    sqlx::query(
        "DELETE FROM timer_leases l WHERE NOT EXISTS (SELECT 1 FROM timers t WHERE t.id = l.id)",
    )
    .execute(pool)
    .await?;
    Ok(fired)
}

#[tracing::instrument(name = "timer", skip_all, fields(id = %t.id, kind = %t.kind))]
async fn fire(bus: &CommandBus, t: &Due) {
    let ctx = CommandContext::new(Actor::System("timers".into()));
    let result = match (t.kind.as_str(), &t.node_path) {
        ("node", Some(path)) => bus
            .pipeline(
                &t.aggregate_id,
                PipelineCommand::FireTimer { path: path.clone() },
                &ctx,
            )
            .await
            .map(drop),
        // The executor did not confirm the cancel in time (it or its agent
        // is gone): the job is canceled without it.
        ("cancel", _) => bus
            .job(
                &t.aggregate_id,
                JobCommand::CancelJob {
                    force: true,
                    grace_seconds: 0,
                    reason: "the job's executor did not confirm the cancel within its grace period; canceled without it".into(),
                },
                &ctx,
            )
            .await
            .map(drop),
        // Past its timeout (and the time its executor had to report it):
        // the executor is not stopping it.
        ("timeout", _) => bus
            .job(
                &t.aggregate_id,
                JobCommand::FailJob {
                    message: "the job ran past its timeout (PHOBOS_JOB_TIMEOUT_SECONDS, plus PHOBOS_JOB_HEARTBEAT_TIMEOUT_SECONDS for its executor to report) and its executor did not stop it".into(),
                },
                &ctx,
            )
            .await
            .map(drop),
        _ => {
            tracing::error!("a timer of a kind this build does not know; it is left alone");
            return;
        }
    };
    match result {
        Ok(()) => tracing::debug!("timer fired"),
        // The node moved on (skipped, canceled): nothing to fire.
        Err(CommandError::Rejected(e)) => tracing::debug!(error = %e, "timer refused"),
        Err(e) => tracing::warn!(error = %e, "timer could not fire; it is tried again"),
    }
}
