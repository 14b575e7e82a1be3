//! `/metrics`: the server's state in the Prometheus text format.
//!
//! Libraries record through the `metrics` facade (the command bus counts
//! and times every command); this module installs the one Prometheus
//! recorder of the process and, at each scrape, sets the gauges read from
//! the database and the workers' health: how far each log follower trails
//! the log, jobs by status, agents connected. `metrics-exporter-prometheus`
//! is used without its HTTP listener: the server serves the page itself.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use phobos_commands::health::WorkerState;

use crate::service::App;

/// Seconds: from a fast command (a few ms) to a slow one.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The job statuses shown as gauges: those of work not yet finished.
const LIVE_JOB_STATUSES: &[&str] = &["QUEUED", "CLAIMED", "RUNNING", "CANCELING"];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder (once; later calls return the same
/// handle). None when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    metrics::describe_counter!(
        "phobos_commands_total",
        "Commands run, by aggregate, command and outcome (appended, refused, contended, failed)."
    );
    metrics::describe_histogram!(
        "phobos_command_duration_seconds",
        metrics::Unit::Seconds,
        "How long commands took, by aggregate and command."
    );
    metrics::describe_gauge!(
        "phobos_follower_lag_events",
        "Events in the log after a follower's checkpoint."
    );
    metrics::describe_gauge!(
        "phobos_follower_failing",
        "1 while a background worker's last attempt failed."
    );
    metrics::describe_gauge!(
        "phobos_follower_restarts",
        "How often a background worker was restarted."
    );
    metrics::describe_gauge!("phobos_jobs", "Jobs not yet finished, by status.");
    metrics::describe_gauge!(
        "phobos_agents_connected",
        "Agents with a session that heartbeated within the heartbeat timeout."
    );
}

/// Each background worker with its state and, for a log follower, how
/// many events of the log are after its checkpoint (None: not a follower,
/// or the count failed).
pub(crate) async fn workers(app: &App) -> Vec<(String, WorkerState, Option<i64>)> {
    let mut out = Vec::new();
    for (name, state) in app.health.snapshot() {
        let lag = match state.position {
            Some(p) => sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM events WHERE (tx_id, global_position) > ($1::text::xid8, $2)",
            )
            .bind(p.tx_id.to_string())
            .bind(p.global_position)
            .fetch_one(&app.pool)
            .await
            .ok(),
            None => None,
        };
        out.push((name, state, lag));
    }
    out
}

/// The page: the gauges set now, then everything the recorder holds.
#[tracing::instrument(skip_all)]
pub(crate) async fn render(app: &App) -> Result<String, sqlx::Error> {
    let Some(handle) = install() else {
        return Ok(String::new());
    };
    for (name, state, lag) in workers(app).await {
        if let Some(lag) = lag {
            metrics::gauge!("phobos_follower_lag_events", "follower" => name.clone())
                .set(lag as f64);
        }
        metrics::gauge!("phobos_follower_failing", "follower" => name.clone())
            .set(if state.failing { 1.0 } else { 0.0 });
        metrics::gauge!("phobos_follower_restarts", "follower" => name)
            .set(f64::from(state.restarts));
    }
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM jobs WHERE status = ANY($1) GROUP BY status")
            .bind(LIVE_JOB_STATUSES)
            .fetch_all(&app.pool)
            .await?;
    for status in LIVE_JOB_STATUSES {
        let n = counts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        metrics::gauge!("phobos_jobs", "status" => *status).set(n as f64);
    }
    let agents: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT agent_id) FROM agent_session_heartbeats
          WHERE last_heartbeat_at > $1 - make_interval(secs => $2)",
    )
    .bind(app.clock.now())
    .bind(f64::from(app.config.jobs.heartbeat_timeout_seconds))
    .fetch_one(&app.pool)
    .await?;
    metrics::gauge!("phobos_agents_connected").set(agents as f64);
    Ok(handle.render())
}
