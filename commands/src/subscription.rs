//! Checkpointed readers of the event log.
//!
//! A subscription has a name and a checkpoint row. Each batch runs in one
//! transaction: lock the checkpoint row, read the next events in global
//! order, hand them to the [`Handler`] on the same connection, move the
//! checkpoint, commit. So a handler that writes only through that
//! connection (a projector) applies every event exactly once: a crash before
//! commit rolls its writes back with the checkpoint. A handler with effects
//! outside the transaction (a policy issuing commands) is at-least-once and
//! must be idempotent.
//!
//! Readers wake on `NOTIFY phobos_events` (sent once per appending
//! transaction) and also poll, because a notification can be lost across a
//! reconnect, or arrive while its events are still held back behind an
//! older open transaction.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool, Row};
use tokio::sync::watch;
use tracing::Instrument;

use crate::error::LogError;
use crate::log::{read_after, Position, RecordedEvent};

/// What a subscription does with each batch.
#[async_trait]
pub trait Handler: Send {
    /// Handles `events` (in global order) inside the batch transaction `tx`.
    /// An error rolls the batch back; it is retried after a pause.
    async fn handle(
        &mut self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), LogError>;
}

/// How a subscription reads.
#[derive(Debug, Clone)]
pub struct SubscriptionConfig {
    pub name: String,
    pub batch_size: i64,
    /// How long to wait for a notification before reading anyway.
    pub poll_interval: Duration,
}

impl SubscriptionConfig {
    pub fn new(name: impl Into<String>) -> Self {
        SubscriptionConfig {
            name: name.into(),
            batch_size: 500,
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// The checkpoint of `name` (START when it has none).
pub async fn checkpoint(pool: &PgPool, name: &str) -> Result<Position, LogError> {
    let row = sqlx::query(
        "SELECT tx_id::text AS tx, global_position FROM subscription_checkpoints WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some(r) => Position {
            tx_id: r.get::<String, _>("tx").parse().unwrap_or(0),
            global_position: r.get("global_position"),
        },
        None => Position::START,
    })
}

/// Runs one batch; returns how many events it handled and the checkpoint
/// after it.
pub async fn run_once(
    pool: &PgPool,
    config: &SubscriptionConfig,
    handler: &mut dyn Handler,
) -> Result<(usize, Position), LogError> {
    sqlx::query(
        "INSERT INTO subscription_checkpoints (name, tx_id, global_position) VALUES ($1, '0'::xid8, 0)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(&config.name)
    .execute(pool)
    .await?;
    // No lock and no write before the read: a transaction that holds a
    // transaction id holds back every reader's horizon (its own included),
    // so this one takes an id only when the handler first writes.
    let mut tx = pool.begin().await?;
    let row = sqlx::query(
        "SELECT tx_id::text AS tx, global_position FROM subscription_checkpoints WHERE name = $1",
    )
    .bind(&config.name)
    .fetch_one(&mut *tx)
    .await?;
    let from = Position {
        tx_id: row.get::<String, _>("tx").parse().unwrap_or(0),
        global_position: row.get("global_position"),
    };
    let events = read_after(&mut *tx, from, config.batch_size).await?;
    let Some(last) = events.last().map(|e| e.position) else {
        tx.rollback().await?;
        return Ok((0, from));
    };
    handler.handle(&mut tx, &events).await?;
    // Moves the checkpoint only from where this batch started: if another
    // worker of the same subscription got there first, this batch rolls
    // back (its writes with it).
    let moved = sqlx::query(
        "UPDATE subscription_checkpoints SET tx_id = $2::text::xid8, global_position = $3, updated_at = now()
          WHERE name = $1 AND tx_id = $4::text::xid8 AND global_position = $5",
    )
    .bind(&config.name)
    .bind(last.tx_id.to_string())
    .bind(last.global_position)
    .bind(from.tx_id.to_string())
    .bind(from.global_position)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if moved == 0 {
        tx.rollback().await?;
        tracing::debug!("another worker of this subscription applied the batch first");
        return Ok((0, from));
    }
    tx.commit().await?;
    Ok((events.len(), last))
}

/// After a notification, the events it announced can still be held back for
/// a moment behind an older transaction that is about to commit (another
/// subscriber's batch). Rather than wait a whole poll interval, look again
/// a few times, quickly.
pub const CATCH_UP_DELAYS_MS: [u64; 7] = [1, 2, 4, 8, 16, 32, 64];

/// Runs the subscription until `shutdown` turns true. After each batch the
/// new checkpoint is sent on `applied` (for readers that wait for a
/// projection to catch up).
pub async fn run(
    pool: PgPool,
    config: SubscriptionConfig,
    mut handler: Box<dyn Handler>,
    applied: Option<watch::Sender<Position>>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), LogError> {
    let span = tracing::info_span!("subscription", name = %config.name);
    async move {
        let mut listener = connect_listener(&pool).await;
        let mut failures = 0u32;
        let mut notified = false;
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let mut result = run_once(&pool, &config, handler.as_mut()).await;
            if notified {
                notified = false;
                for ms in CATCH_UP_DELAYS_MS {
                    if !matches!(result, Ok((0, _))) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    result = run_once(&pool, &config, handler.as_mut()).await;
                }
            }
            match result {
                Ok((n, at)) => {
                    failures = 0;
                    if n > 0 {
                        tracing::debug!(events = n, checkpoint = %at, "batch applied");
                        if let Some(a) = &applied {
                            a.send_replace(at);
                        }
                    }
                    if n as i64 == config.batch_size {
                        continue;
                    }
                }
                Err(e) => {
                    failures += 1;
                    let pause = Duration::from_millis(200 * 2u64.pow(failures.min(5)));
                    tracing::warn!(error = %e, retry_in = ?pause, "batch failed; it will be retried");
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
            }
            // Wait for a notification, the poll interval, or shutdown.
            match listener.as_mut() {
                Some(l) => {
                    tokio::select! {
                        r = l.recv() => match r {
                            Ok(_) => notified = true,
                            Err(e) => {
                                tracing::debug!(error = %e, "notification listener lost; polling");
                                listener = None;
                            }
                        },
                        _ = tokio::time::sleep(config.poll_interval) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                None => {
                    tokio::select! {
                        _ = tokio::time::sleep(config.poll_interval) => {}
                        _ = shutdown.changed() => {}
                    }
                    listener = connect_listener(&pool).await;
                }
            }
        }
    }
    .instrument(span)
    .await
}

async fn connect_listener(pool: &PgPool) -> Option<PgListener> {
    let mut l = PgListener::connect_with(pool).await.ok()?;
    l.listen("phobos_events").await.ok()?;
    Some(l)
}
