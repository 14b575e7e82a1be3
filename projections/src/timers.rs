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
    .bind(fire_at)
    .execute(tx)
    .await?;
    Ok(())
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
