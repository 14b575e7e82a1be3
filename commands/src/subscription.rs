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

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{PgConnection, PgExecutor, PgPool};
use tokio::sync::watch;
use tracing::Instrument;

use crate::error::LogError;
use crate::health::Health;
use crate::log::{read_after, Position, RecordedEvent};
use crate::wakeup::Wakeup;

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
    /// Where its progress and failures are shown (`/readyz`).
    pub health: Option<Arc<Health>>,
}

impl SubscriptionConfig {
    pub fn new(name: impl Into<String>) -> Self {
        SubscriptionConfig {
            name: name.into(),
            batch_size: 500,
            poll_interval: Duration::from_millis(500),
            health: None,
        }
    }

    /// Reports progress and failures to `health`.
    pub fn with_health(mut self, health: Arc<Health>) -> Self {
        self.health = Some(health);
        self
    }
}

/// The checkpoint of `name` (START when it has none).
pub async fn checkpoint<'e>(db: impl PgExecutor<'e>, name: &str) -> Result<Position, LogError> {
    let row = sqlx::query("SELECT tx_id::text AS tx_text, global_position FROM subscription_checkpoints WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await?;
    Ok(match row {
        Some(r) => Position::from_row(&r)?,
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
    let from = checkpoint(&mut *tx, &config.name).await?;
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

/// Runs the subscription until `shutdown` turns true. After each batch the
/// new checkpoint is sent on `applied` (for readers that wait for a
/// projection to catch up).
pub async fn run(
    pool: PgPool,
    config: SubscriptionConfig,
    mut handler: Box<dyn Handler>,
    applied: Option<Arc<watch::Sender<Position>>>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), LogError> {
    let span = tracing::info_span!("subscription", name = %config.name);
    async move {
        let mut wakeup = Wakeup::new(&pool, config.poll_interval).await;
        let mut failures = 0u32;
        let mut at = checkpoint(&pool, &config.name).await.ok();
        if let Some(h) = &config.health {
            h.progressed(&config.name, at);
        }
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let mut result = run_once(&pool, &config, handler.as_mut()).await;
            for delay in wakeup.catch_up() {
                if !matches!(result, Ok((0, _))) {
                    break;
                }
                tokio::time::sleep(delay).await;
                result = run_once(&pool, &config, handler.as_mut()).await;
            }
            match result {
                Ok((n, reached)) => {
                    failures = 0;
                    // The checkpoint may also have been moved by another
                    // worker of this subscription (another instance): readers
                    // waiting on `applied` are told either way.
                    if at != Some(reached) {
                        if let Some(a) = &applied {
                            a.send_replace(reached);
                        }
                    }
                    at = Some(reached);
                    if let Some(h) = &config.health {
                        h.progressed(&config.name, at);
                    }
                    if n > 0 {
                        tracing::debug!(events = n, checkpoint = %reached, "batch applied");
                    }
                    if n as i64 == config.batch_size {
                        continue;
                    }
                }
                Err(e) => {
                    failures += 1;
                    let pause = Duration::from_millis(200 * 2u64.pow(failures.min(5)));
                    let after = at.map(|p| p.to_string()).unwrap_or_default();
                    tracing::error!(error = %e, after_checkpoint = %after, retry_in = ?pause, attempt = failures, "batch failed (the event after the checkpoint); it will be retried");
                    if let Some(h) = &config.health {
                        h.failed(&config.name, e.to_string(), at);
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
            }
            wakeup.wait(&mut shutdown).await;
        }
    }
    .instrument(span)
    .await
}
