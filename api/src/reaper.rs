//! Jobs whose executor is gone: a worker on every instance that fails each
//! claimed or running job whose executor has not been heard from for
//! `PHOBOS_JOB_HEARTBEAT_TIMEOUT_SECONDS` (its executor, agent or machine
//! died). (A job past its timeout is failed by its `timeout:` timer, from
//! the deadline in its `JobStarted`; liveness is not in the log, so this
//! check stays here.)
//!
//! Several instances may reap the same job at once: the `Job` aggregate lets
//! one `FailJob` through and refuses the others. An instance starts reaping
//! only once it has been up for a whole heartbeat timeout, so executors that
//! kept retrying while no server answered have had time to check in again.
//! Times are the server's clock (`App::clock`), the one that stamps the
//! events and the liveness notes the reaper compares.

use std::sync::Arc;
use std::time::Duration;

use phobos_commands::aggregates::JobCommand;
use phobos_commands::{CommandContext, CommandError};
use phobos_core::events::Actor;
use sqlx::Row;
use tokio::sync::watch;
use tracing::Instrument;

use crate::service::App;

/// Its name on `/readyz`.
pub const NAME: &str = "reaper";

/// How often the reaper looks.
const EVERY: Duration = Duration::from_secs(2);

pub async fn run(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let limits = app.config.jobs.clone();
    let started = tokio::time::Instant::now();
    let patience = Duration::from_secs(limits.heartbeat_timeout_seconds.into());
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        if started.elapsed() < patience {
            continue;
        }
        match reap(&app).await {
            Ok(_) => app.health.progressed(NAME, None),
            Err(e) => {
                tracing::warn!(error = %e, "could not look for abandoned jobs; trying again");
                app.health
                    .failed(NAME, format!("cannot look for abandoned jobs: {e}"), None);
            }
        }
    }
}

/// Fails every job that is silent or over time; returns how many.
async fn reap(app: &App) -> Result<usize, sqlx::Error> {
    let limits = &app.config.jobs;
    let rows = sqlx::query(
        "SELECT j.id, j.status, j.started_at, a.name AS agent,
                COALESCE(l.last_seen_at, j.claimed_at) AS last_seen,
                COALESCE(l.last_seen_at, j.claimed_at) < $2 - make_interval(secs => $1) AS silent
           FROM jobs j
           LEFT JOIN job_liveness l ON l.job_id = j.id
           LEFT JOIN agents a ON a.id = j.agent_id
          WHERE j.status IN ('CLAIMED', 'RUNNING')
            AND COALESCE(l.last_seen_at, j.claimed_at) < $2 - make_interval(secs => $1)",
    )
    .bind(f64::from(limits.heartbeat_timeout_seconds))
    .bind(app.clock.now())
    .fetch_all(&app.pool)
    .await?;
    let mut failed = 0;
    for row in rows {
        let id: uuid::Uuid = row.try_get("id")?;
        let status: String = row.try_get("status")?;
        let agent: Option<String> = row.try_get("agent")?;
        let last_seen: Option<chrono::DateTime<chrono::Utc>> = row.try_get("last_seen")?;
        let silent: Option<bool> = row.try_get("silent")?;
        let agent = agent
            .map(|a| format!("agent {a:?}"))
            .unwrap_or_else(|| "its agent".into());
        let since = last_seen
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_else(|| "its claim".into());
        let message = if silent == Some(true) && status == "CLAIMED" {
            format!(
                "the job executor never reported: {agent} claimed the job at {since} and nothing was heard from it for {} s (PHOBOS_JOB_HEARTBEAT_TIMEOUT_SECONDS); the agent or its machine died",
                limits.heartbeat_timeout_seconds
            )
        } else {
            format!(
                "the job executor stopped reporting: last heard from at {since}, more than {} s ago (PHOBOS_JOB_HEARTBEAT_TIMEOUT_SECONDS); the executor on {agent}, or its machine, died",
                limits.heartbeat_timeout_seconds
            )
        };
        let job_id = id.to_string();
        let span = tracing::info_span!("reap", job_id = %job_id);
        let ctx = CommandContext::new(Actor::System("reaper".into()));
        let result = app
            .bus
            .job(
                &job_id,
                JobCommand::FailJob {
                    message: message.clone(),
                },
                &ctx,
            )
            .instrument(span.clone())
            .await;
        span.in_scope(|| match result {
            Ok(_) => {
                tracing::warn!(%message, "job failed: its executor is gone");
                failed += 1;
            }
            // It finished meanwhile, or another instance failed it first.
            Err(CommandError::Rejected(e)) => tracing::debug!(error = %e, "job not reaped"),
            Err(e) => tracing::warn!(error = %e, "could not fail an abandoned job"),
        });
    }
    Ok(failed)
}
