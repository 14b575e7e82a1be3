//! The `timers` read model (`migrations/0006_timers.sql`): a row exists
//! exactly while the log says a timer is pending. Written here, in the
//! projector's batch transaction, and nowhere else; the timers worker in
//! `phobos_commands::timers` reads it and fires what is due.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// The id of a node's timer: one per node at a time.
pub fn node_timer_id(pipeline_id: &str, path: &str) -> String {
    format!("node:{pipeline_id}:{path}")
}

/// The node at `path` starts at `fire_at` (`NodeScheduled`); replaces any
/// earlier timer of that node.
pub(crate) async fn set_node_timer(
    tx: &mut PgConnection,
    pipeline_id: &str,
    path: &str,
    fire_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO timers (id, kind, aggregate_id, node_path, fire_at) VALUES ($1, 'node', $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET fire_at = EXCLUDED.fire_at",
    )
    .bind(node_timer_id(pipeline_id, path))
    .bind(pipeline_id)
    .bind(path)
    .bind(at_or_after(fire_at))
    .execute(tx)
    .await?;
    Ok(())
}

/// `t` rounded up to PostgreSQL's microseconds: rounded down, a timer
/// would fire a fraction before its time, find nothing due, and wait for
/// its lease to pass.
fn at_or_after(t: DateTime<Utc>) -> DateTime<Utc> {
    let extra = t.timestamp_subsec_nanos() % 1_000;
    if extra == 0 {
        t
    } else {
        t + chrono::Duration::nanoseconds(i64::from(1_000 - extra))
    }
}

/// The node left the state its timer was for (ready, skipped, failed).
pub(crate) async fn clear_node_timer(
    tx: &mut PgConnection,
    pipeline_id: &str,
    path: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM timers WHERE id = $1")
        .bind(node_timer_id(pipeline_id, path))
        .execute(tx)
        .await?;
    Ok(())
}

/// The id of a job's timer of `kind`: `cancel` (its executor must have
/// confirmed a cancel by then) or `timeout` (it must have ended).
pub fn job_timer_id(kind: &str, job_id: &str) -> String {
    format!("{kind}:{job_id}")
}

/// A job was asked to stop (`JobCancelRequested`): unless it ends first, it
/// is canceled without its executor at `confirm_by`.
pub(crate) async fn set_cancel_timer(
    tx: &mut PgConnection,
    job_id: &str,
    confirm_by: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    set_job_timer(tx, "cancel", job_id, confirm_by).await
}

/// A job's timer of `kind` (see [`job_timer_id`]) fires at `at`.
pub(crate) async fn set_job_timer(
    tx: &mut PgConnection,
    kind: &str,
    job_id: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO timers (id, kind, aggregate_id, fire_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET fire_at = EXCLUDED.fire_at",
    )
    .bind(job_timer_id(kind, job_id))
    .bind(kind)
    .bind(job_id)
    .bind(at_or_after(at))
    .execute(tx)
    .await?;
    Ok(())
}

/// The job ended: nothing is left to confirm or to time out.
pub(crate) async fn clear_job_timers(
    tx: &mut PgConnection,
    job_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM timers WHERE id = ANY($1)")
        .bind([
            job_timer_id("cancel", job_id),
            job_timer_id("timeout", job_id),
        ])
        .execute(tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::at_or_after;
    use chrono::{TimeZone, Utc};

    #[test]
    fn timer_times_round_up_to_microseconds() {
        let t = Utc.timestamp_opt(1_800_000_000, 123_456_001).unwrap();
        assert_eq!(at_or_after(t).timestamp_subsec_nanos(), 123_457_000);
        let exact = Utc.timestamp_opt(1_800_000_000, 5_000).unwrap();
        assert_eq!(at_or_after(exact), exact);
    }
}
