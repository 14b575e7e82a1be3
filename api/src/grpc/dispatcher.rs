//! Offering jobs to agents, driven by the event log.
//!
//! The dispatcher keeps the set of open jobs (queued, not yet claimed) by
//! following the log: `JobQueued` opens one and is broadcast to the job
//! streams; `JobClaimed`, `JobFailed` close it. It starts from a consistent
//! snapshot: the read model's queued jobs and the projection checkpoint
//! they reflect, read in one repeatable-read transaction; it then follows
//! the log from that checkpoint. A stream takes the snapshot of open jobs
//! and subscribes under one lock, so no offer falls between the two.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use phobos_commands::log::{read_after, Position};
use phobos_commands::subscription;
use phobos_commands::wakeup::Wakeup;
use phobos_core::events::JobEvent;
use phobos_proto::v1::JobOffer;
use sqlx::{PgPool, Row};
use tokio::sync::{broadcast, watch};

pub struct Dispatcher {
    open: Mutex<BTreeMap<String, JobOffer>>,
    offers: broadcast::Sender<JobOffer>,
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher {
            open: Mutex::new(BTreeMap::new()),
            offers: broadcast::channel(4096).0,
        }
    }
}

/// Whether an agent with `agent_tags` may run a job needing `job_tags`.
pub fn tags_fit(job_tags: &[String], agent_tags: &[String]) -> bool {
    job_tags.iter().all(|t| agent_tags.contains(t))
}

impl Dispatcher {
    /// The open jobs now, and every offer after them.
    pub fn subscribe(&self) -> (Vec<JobOffer>, broadcast::Receiver<JobOffer>) {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let rx = self.offers.subscribe();
        (open.values().cloned().collect(), rx)
    }

    fn opened(&self, offer: JobOffer) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.insert(offer.job_id.clone(), offer.clone());
        let _ = self.offers.send(offer);
    }

    fn closed(&self, job_id: &str) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(job_id);
    }

    async fn snapshot(&self, pool: &PgPool) -> Result<Position, sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
        let from = subscription::checkpoint(&mut *tx, phobos_projections::PROJECTION_SUBSCRIPTION)
            .await
            .map_err(|e| match e {
                phobos_commands::error::LogError::Database(d) => d,
                other => sqlx::Error::Protocol(other.to_string()),
            })?;
        let rows = sqlx::query(
            "SELECT id, pipeline_id, node_path, tags FROM jobs WHERE status = 'QUEUED'",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        for r in rows {
            let id: uuid::Uuid = r.try_get("id")?;
            let pipeline: uuid::Uuid = r.try_get("pipeline_id")?;
            self.opened(JobOffer {
                job_id: id.to_string(),
                pipeline_id: pipeline.to_string(),
                node_path: r.try_get("node_path")?,
                tags: r.try_get("tags")?,
            });
        }
        Ok(from)
    }

    /// Follows the log until `shutdown`.
    pub async fn run(&self, pool: PgPool, mut shutdown: watch::Receiver<bool>) {
        let mut cursor = loop {
            match self.snapshot(&pool).await {
                Ok(p) => break p,
                Err(e) => {
                    tracing::warn!(error = %e, "dispatcher snapshot failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
        };
        let mut wakeup = Wakeup::new(&pool, Duration::from_millis(500)).await;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let mut read = read_after(&pool, cursor, 500).await;
            for delay in wakeup.catch_up() {
                if !matches!(&read, Ok(e) if e.is_empty()) {
                    break;
                }
                tokio::time::sleep(delay).await;
                read = read_after(&pool, cursor, 500).await;
            }
            match read {
                Ok(events) => {
                    let full = events.len() == 500;
                    for e in events {
                        cursor = e.position;
                        if e.aggregate_type != "Job" {
                            continue;
                        }
                        match e.decode::<JobEvent>() {
                            Ok(JobEvent::JobQueued {
                                pipeline_id,
                                node_path,
                                spec,
                                ..
                            }) => {
                                tracing::debug!(job_id = %e.aggregate_id, "job offered");
                                self.opened(JobOffer {
                                    job_id: e.aggregate_id.clone(),
                                    pipeline_id,
                                    node_path,
                                    tags: spec.tags,
                                });
                            }
                            Ok(JobEvent::JobClaimed { .. } | JobEvent::JobFailed { .. }) => {
                                self.closed(&e.aggregate_id)
                            }
                            Ok(_) => {}
                            Err(err) => tracing::error!(error = %err, "undecodable job event"),
                        }
                    }
                    if full {
                        continue;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "dispatcher read failed; retrying"),
            }
            wakeup.wait(&mut shutdown).await;
        }
    }
}
