//! Waiting for the log to grow, for every follower of it (subscriptions,
//! the job dispatcher).
//!
//! A follower wakes on `NOTIFY phobos_events`, on its poll interval, or on
//! shutdown. After a notification, the events it announced can still be held
//! back for a moment behind an older transaction about to commit (another
//! follower's batch); [`Wakeup::catch_up`] gives the short delays at which to
//! look again rather than wait a whole poll interval.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;

/// The delays of [`Wakeup::catch_up`].
const CATCH_UP_DELAYS_MS: [u64; 7] = [1, 2, 4, 8, 16, 32, 64];

pub struct Wakeup {
    pool: PgPool,
    listener: Option<PgListener>,
    poll: Duration,
    notified: bool,
}

impl Wakeup {
    pub async fn new(pool: &PgPool, poll: Duration) -> Self {
        Wakeup {
            listener: listen(pool).await,
            pool: pool.clone(),
            poll,
            notified: false,
        }
    }

    /// Waits for a notification, the poll interval, or shutdown. A lost
    /// listener is reconnected on the next wait; meanwhile it polls.
    pub async fn wait(&mut self, shutdown: &mut watch::Receiver<bool>) {
        match self.listener.as_mut() {
            Some(l) => tokio::select! {
                r = l.recv() => match r {
                    Ok(_) => self.notified = true,
                    Err(e) => {
                        tracing::debug!(error = %e, "notification listener lost; polling");
                        self.listener = None;
                    }
                },
                _ = tokio::time::sleep(self.poll) => {}
                _ = shutdown.changed() => {}
            },
            None => {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll) => {}
                    _ = shutdown.changed() => {}
                }
                self.listener = listen(&self.pool).await;
            }
        }
    }

    /// When the last wake was a notification: the delays at which to read
    /// again while a read finds nothing. Empty otherwise.
    pub fn catch_up(&mut self) -> impl Iterator<Item = Duration> {
        let n = if std::mem::take(&mut self.notified) {
            CATCH_UP_DELAYS_MS.len()
        } else {
            0
        };
        CATCH_UP_DELAYS_MS
            .into_iter()
            .take(n)
            .map(Duration::from_millis)
    }
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut l = PgListener::connect_with(pool).await.ok()?;
    l.listen("phobos_events").await.ok()?;
    Some(l)
}
