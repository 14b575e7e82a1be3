//! The sender: due outbox rows → mails.
//!
//! A row is claimed by moving its `next_attempt_at` a lease ahead in one
//! short statement (no transaction stays open while a mail is sent: an
//! open transaction would hold back every follower of the log). A sender
//! that dies mid-send leaves the row to be tried again when the lease
//! ends: at least once, with the same key.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use phobos_commands::clock::Clock;
use sqlx::{PgPool, Row};
use tokio::sync::watch;
use tracing::Instrument;

use crate::email::{EmailClient, Mail};

pub const SENDER: &str = "notification-sender";

/// Rows claimed at once; each may take the send timeout, so a claim's
/// lease covers all of them.
const BATCH: i64 = 10;

/// The wait before attempt `attempts + 1`, after `attempts` failed: 10 s,
/// then three times longer each time, at most an hour.
pub(crate) fn retry_delay(attempts: u32) -> chrono::Duration {
    let seconds = 10i64.saturating_mul(3i64.saturating_pow(attempts.saturating_sub(1)));
    chrono::Duration::seconds(seconds.min(3600))
}

/// A notification as the admin query shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: uuid::Uuid,
    pub kind: String,
    pub recipient: String,
    pub username: String,
    pub subject: String,
    pub link: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Sends due notifications until `stop`; a send may take `send_timeout`
/// (`PHOBOS_ASYNC_TASK_TIMEOUT`).
pub async fn run(
    pool: PgPool,
    client: Arc<dyn EmailClient>,
    clock: Arc<dyn Clock>,
    max_attempts: u32,
    send_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    loop {
        let sent = send_due(
            &pool,
            client.as_ref(),
            clock.as_ref(),
            max_attempts,
            send_timeout,
        )
        .await
        .map_err(|e| format!("notification sender: {e}"))?;
        if sent == 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.wait_for(|s| *s) => return Ok(()),
            }
        }
        if *stop.borrow() {
            return Ok(());
        }
    }
}

/// Claims and sends up to 10 due rows; returns how many it tried.
async fn send_due(
    pool: &PgPool,
    client: &dyn EmailClient,
    clock: &dyn Clock,
    max_attempts: u32,
    send_timeout: Duration,
) -> Result<usize, sqlx::Error> {
    let now = clock.now();
    let lease = (send_timeout.as_secs_f64() * BATCH as f64 + 60.0).max(300.0);
    let rows = sqlx::query(
        "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = $1 + make_interval(secs => $2)
          WHERE id IN (SELECT id FROM notifications
                        WHERE status = 'PENDING' AND next_attempt_at <= $1
                        ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
          RETURNING id, kind, recipient, subject, text_body, html_body, attempts",
    )
    .bind(now)
    .bind(lease)
    .bind(BATCH)
    .fetch_all(pool)
    .await?;
    for r in &rows {
        let id: uuid::Uuid = r.try_get("id")?;
        let kind: String = r.try_get("kind")?;
        let attempts: i32 = r.try_get("attempts")?;
        let mail = Mail {
            key: id.to_string(),
            to: r.try_get("recipient")?,
            subject: r.try_get("subject")?,
            text: r.try_get("text_body")?,
            html: r.try_get("html_body")?,
        };
        let span = tracing::info_span!("notification", %id, kind, attempt = attempts);
        async {
            let outcome = match tokio::time::timeout(send_timeout, client.send(&mail)).await {
                Ok(outcome) => outcome.map_err(|e| e.0),
                Err(_) => Err(format!(
                    "the email provider did not answer within {} s (PHOBOS_ASYNC_TASK_TIMEOUT)",
                    send_timeout.as_secs()
                )),
            };
            let now = clock.now();
            match outcome {
                Ok(()) => {
                    sqlx::query("UPDATE notifications SET status = 'SENT', sent_at = $2, last_error = NULL WHERE id = $1 AND status = 'PENDING' AND attempts = $3")
                        .bind(id)
                        .bind(now)
                        .bind(attempts)
                        .execute(pool)
                        .await?;
                    tracing::info!("notification sent");
                }
                Err(error) if attempts as u32 >= max_attempts => {
                    sqlx::query("UPDATE notifications SET status = 'FAILED', last_error = $2 WHERE id = $1 AND status = 'PENDING' AND attempts = $3")
                        .bind(id)
                        .bind(&error)
                        .bind(attempts)
                        .execute(pool)
                        .await?;
                    tracing::error!(%error, attempts, "a notification could not be sent and is given up (PHOBOS_EMAIL_MAX_ATTEMPTS); check the email settings; the admin query `notifications` lists it");
                }
                Err(error) => {
                    let next = now + retry_delay(attempts as u32);
                    sqlx::query("UPDATE notifications SET next_attempt_at = $2, last_error = $3 WHERE id = $1 AND status = 'PENDING' AND attempts = $4")
                        .bind(id)
                        .bind(next)
                        .bind(&error)
                        .bind(attempts)
                        .execute(pool)
                        .await?;
                    tracing::warn!(%error, retry_at = %next, "a notification could not be sent; it is tried again");
                }
            }
            Ok::<(), sqlx::Error>(())
        }
        .instrument(span)
        .await?;
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use chrono::{DateTime, Utc};
    use phobos_commands::clock::SystemClock;
    use sqlx::PgPool;

    use super::{retry_delay, send_due, BATCH};
    use crate::email::{EmailClient, EmailError, Mail};

    /// While "sending", another sender claims the row (as it would once the
    /// first one's lease ran out); records the lease the first claim took.
    struct TakenOver {
        pool: PgPool,
        lease_end: Mutex<Option<DateTime<Utc>>>,
    }

    #[async_trait::async_trait]
    impl EmailClient for TakenOver {
        async fn send(&self, mail: &Mail) -> Result<(), EmailError> {
            let id: uuid::Uuid = mail.key.parse().unwrap();
            let end: DateTime<Utc> =
                sqlx::query_scalar("SELECT next_attempt_at FROM notifications WHERE id = $1")
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await
                    .unwrap();
            *self.lease_end.lock().unwrap() = Some(end);
            sqlx::query("UPDATE notifications SET attempts = attempts + 1 WHERE id = $1")
                .bind(id)
                .execute(&self.pool)
                .await
                .unwrap();
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_send_taken_over_by_another_sender_leaves_the_row_to_it() {
        let opts = phobos_commands::testing::fresh_database("sender_claim")
            .await
            .expect("a test PostgreSQL");
        let pool = PgPool::connect_with(opts).await.unwrap();
        let id = uuid::Uuid::new_v4();
        sqlx::query(
            "INSERT INTO notifications (id, key, kind, recipient, username, subject, text_body, html_body, link, status, next_attempt_at, created_at)
             VALUES ($1, 'event/ada@example.com', 'PIPELINE_FAILED', 'ada@example.com', 'ada', 's', 't', 'h', 'l', 'PENDING', now() - interval '1 minute', now())",
        )
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
        let client = TakenOver {
            pool: pool.clone(),
            lease_end: Mutex::new(None),
        };
        let timeout = Duration::from_secs(60);
        let started = Utc::now();
        let tried = send_due(&pool, &client, &SystemClock, 5, timeout)
            .await
            .unwrap();
        assert_eq!(tried, 1);
        // The claim's lease lasts while every row of a batch may take the
        // send timeout.
        let end = client.lease_end.lock().unwrap().unwrap();
        let covers = chrono::Duration::seconds(BATCH * timeout.as_secs() as i64);
        assert!(
            end >= started + covers,
            "lease ends {end}, claimed at {started}"
        );
        // The first sender's outcome is not written over the second's claim.
        let (status, sent): (String, Option<DateTime<Utc>>) =
            sqlx::query_as("SELECT status, sent_at FROM notifications WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((status.as_str(), sent), ("PENDING", None));
        pool.close().await;
    }

    #[test]
    fn retries_back_off_to_an_hour() {
        let s: Vec<i64> = (1..=7).map(|n| retry_delay(n).num_seconds()).collect();
        assert_eq!(s, [10, 30, 90, 270, 810, 2430, 3600]);
        assert_eq!(retry_delay(u32::MAX).num_seconds(), 3600);
    }
}
