//! Offering jobs to agents, driven by the event log.
//!
//! The dispatcher keeps the set of open jobs (queued, not yet claimed) by
//! following the log: `JobQueued` opens one and is broadcast to the job
//! streams; `JobClaimed`, `JobFailed` close it. It starts from a consistent
//! snapshot: the read model's queued jobs and the projection checkpoint
//! they reflect, read in one repeatable-read transaction; it then follows
//! the log from that checkpoint. A stream takes the snapshot of open jobs
//! and subscribes under one lock, so no offer falls between the two.

use phobos_core::events::aggregate;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use phobos_commands::health::Health;
use phobos_commands::log::{read_after, Position};
use phobos_commands::subscription;
use phobos_commands::wakeup::Wakeup;
use phobos_core::events::JobEvent;
use phobos_proto::v1::JobOffer;
use sqlx::{PgPool, Row};
use tokio::sync::{broadcast, watch};

/// A job waiting for an agent: the offer, and the organization whose
/// project it belongs to (which decides which organization agents see it).
#[derive(Debug, Clone)]
pub struct OpenJob {
    pub offer: JobOffer,
    pub organization_id: String,
}

/// Its name on `/readyz`.
pub const NAME: &str = "dispatcher";

pub struct Dispatcher {
    open: Mutex<BTreeMap<String, OpenJob>>,
    offers: broadcast::Sender<OpenJob>,
    /// project id → organization id (projects never move).
    organizations: Mutex<HashMap<String, String>>,
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher {
            open: Mutex::new(BTreeMap::new()),
            offers: broadcast::channel(4096).0,
            organizations: Mutex::new(HashMap::new()),
        }
    }
}

impl Dispatcher {
    /// The open jobs now, and every offer after them.
    pub fn subscribe(&self) -> (Vec<OpenJob>, broadcast::Receiver<OpenJob>) {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let rx = self.offers.subscribe();
        (open.values().cloned().collect(), rx)
    }

    fn opened(&self, job: OpenJob) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.insert(job.offer.job_id.clone(), job.clone());
        let _ = self.offers.send(job);
    }

    /// The organization of `project_id`, from the read model (projects are
    /// created, and projected, long before their jobs).
    async fn organization_of(
        &self,
        pool: &PgPool,
        project_id: &str,
    ) -> Result<String, sqlx::Error> {
        if let Some(o) = self
            .organizations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(project_id)
        {
            return Ok(o.clone());
        }
        let org: Option<uuid::Uuid> = match project_id.parse::<uuid::Uuid>() {
            Ok(id) => {
                sqlx::query_scalar("SELECT organization_id FROM projects WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
            }
            Err(_) => None,
        };
        // An unknown project matches no organization agent.
        let org = org.map(|o| o.to_string()).unwrap_or_default();
        self.organizations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(project_id.to_owned(), org.clone());
        Ok(org)
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
            "SELECT j.id, j.pipeline_id, j.node_path, j.tags, p.organization_id
               FROM jobs j JOIN projects p ON p.id = j.project_id
              WHERE j.status = 'QUEUED'",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        for r in rows {
            let id: uuid::Uuid = r.try_get("id")?;
            let pipeline: uuid::Uuid = r.try_get("pipeline_id")?;
            let organization: uuid::Uuid = r.try_get("organization_id")?;
            self.opened(OpenJob {
                offer: JobOffer {
                    job_id: id.to_string(),
                    pipeline_id: pipeline.to_string(),
                    node_path: r.try_get("node_path")?,
                    tags: r.try_get("tags")?,
                },
                organization_id: organization.to_string(),
            });
        }
        Ok(from)
    }

    /// Follows the log until `shutdown`.
    pub async fn run(&self, pool: PgPool, mut shutdown: watch::Receiver<bool>, health: &Health) {
        let mut cursor = loop {
            match self.snapshot(&pool).await {
                Ok(p) => break p,
                Err(e) => {
                    tracing::warn!(error = %e, "dispatcher snapshot failed; retrying");
                    health.failed(NAME, format!("cannot read the open jobs: {e}"), None);
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
                        if e.aggregate_type != aggregate::JOB {
                            cursor = e.position;
                            continue;
                        }
                        match e.decode::<JobEvent>() {
                            Ok(JobEvent::JobQueued {
                                pipeline_id,
                                project_id,
                                node_path,
                                spec,
                                ..
                            }) => {
                                let organization_id = match self
                                    .organization_of(&pool, &project_id)
                                    .await
                                {
                                    Ok(o) => o,
                                    Err(err) => {
                                        // Read this batch again from here.
                                        tracing::warn!(error = %err, "cannot look up the job's organization; retrying");
                                        break;
                                    }
                                };
                                tracing::debug!(job_id = %e.aggregate_id, "job offered");
                                self.opened(OpenJob {
                                    offer: JobOffer {
                                        job_id: e.aggregate_id.clone(),
                                        pipeline_id,
                                        node_path,
                                        tags: spec.tags,
                                    },
                                    organization_id,
                                });
                            }
                            Ok(JobEvent::JobClaimed { .. } | JobEvent::JobFailed { .. }) => {
                                self.closed(&e.aggregate_id)
                            }
                            Ok(_) => {}
                            Err(err) => tracing::error!(error = %err, "undecodable job event"),
                        }
                        cursor = e.position;
                    }
                    health.progressed(NAME, Some(cursor));
                    if full {
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "dispatcher read failed; retrying");
                    health.failed(NAME, format!("cannot read the log: {e}"), Some(cursor));
                }
            }
            wakeup.wait(&mut shutdown).await;
        }
    }
}
