//! Offering jobs to agents, driven by the event log.
//!
//! The dispatcher keeps the set of open jobs (queued, not yet claimed) by
//! following the log: `JobQueued` opens one and is broadcast to the job
//! streams; `JobClaimed`, `JobFailed` close it. It starts from a consistent
//! snapshot: the read model's queued jobs and the projection checkpoint
//! they reflect, read in one repeatable-read transaction; it then follows
//! the log from that checkpoint. A stream takes the snapshot of open jobs
//! and subscribes under one lock, so no offer falls between the two.
//!
//! It also passes cancellations on: it knows which agent claimed each job
//! in flight (`JobClaimed`), and sends `JobCancelRequested` (graceful) and
//! a forced `JobCanceled` of a claimed job to that agent's streams, again to
//! each stream the agent opens while the job is canceling.

use phobos_core::events::aggregate;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use phobos_commands::health::Health;
use phobos_commands::log::{read_after, Position};
use phobos_commands::subscription;
use phobos_commands::wakeup::Wakeup;
use phobos_core::events::JobEvent;
use phobos_proto::v1::{JobCancellation, JobOffer};
use sqlx::{PgPool, Row};
use tokio::sync::{broadcast, watch};

/// A job waiting for an agent: the offer, and the organization whose
/// project it belongs to (which decides which organization agents see it).
#[derive(Debug, Clone)]
pub struct OpenJob {
    pub offer: JobOffer,
    pub organization_id: String,
}

/// What the dispatcher sends to job streams.
#[derive(Debug, Clone)]
pub enum Work {
    Offer(OpenJob),
    /// For the streams of the agent that claimed the job.
    Cancel {
        agent_id: String,
        cancel: JobCancellation,
    },
}

/// How long a forced cancellation is sent again to an agent that
/// reconnects (a graceful one: until its job ends).
const FORCED_CANCEL_KEPT: Duration = Duration::from_secs(600);

/// Its name on `/readyz`.
pub const NAME: &str = "dispatcher";

/// A cancellation to send again: the agent, what to send, and when it was
/// forced.
type Pending = (String, JobCancellation, Option<std::time::Instant>);

pub struct Dispatcher {
    open: Mutex<BTreeMap<String, OpenJob>>,
    work: broadcast::Sender<Work>,
    /// project id → organization id (projects never move).
    organizations: Mutex<HashMap<String, String>>,
    /// Jobs claimed and not ended: job id → agent id.
    claimed: Mutex<HashMap<String, String>>,
    /// Cancellations to send again to a stream opened later, by job id.
    canceling: Mutex<HashMap<String, Pending>>,
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher {
            open: Mutex::new(BTreeMap::new()),
            work: broadcast::channel(4096).0,
            organizations: Mutex::new(HashMap::new()),
            claimed: Mutex::new(HashMap::new()),
            canceling: Mutex::new(HashMap::new()),
        }
    }
}

/// What a new stream starts with: the open jobs, the cancellations pending
/// for any agent, and every piece of work after them.
pub struct Subscription {
    pub open: Vec<OpenJob>,
    pub cancels: Vec<(String, JobCancellation)>,
    pub live: broadcast::Receiver<Work>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Dispatcher {
    /// The open jobs and pending cancellations now, and all work after them.
    pub fn subscribe(&self) -> Subscription {
        let open = lock(&self.open);
        let mut canceling = lock(&self.canceling);
        canceling
            .retain(|_, (_, _, forced)| forced.is_none_or(|at| at.elapsed() < FORCED_CANCEL_KEPT));
        let live = self.work.subscribe();
        Subscription {
            open: open.values().cloned().collect(),
            cancels: canceling
                .values()
                .map(|(agent, c, _)| (agent.clone(), c.clone()))
                .collect(),
            live,
        }
    }

    fn opened(&self, job: OpenJob) {
        let mut open = lock(&self.open);
        open.insert(job.offer.job_id.clone(), job.clone());
        let _ = self.work.send(Work::Offer(job));
    }

    fn was_claimed(&self, job_id: &str, agent_id: String) {
        self.closed(job_id);
        lock(&self.claimed).insert(job_id.to_owned(), agent_id);
    }

    /// `job_id` must stop; its agent (if it claimed it) is told.
    fn cancel(&self, job_id: &str, force: bool, grace_seconds: u32) {
        self.closed(job_id);
        let agent = if force {
            lock(&self.claimed).remove(job_id)
        } else {
            lock(&self.claimed).get(job_id).cloned()
        };
        let Some(agent_id) = agent else {
            return; // never claimed: nothing runs it
        };
        let cancel = JobCancellation {
            job_id: job_id.to_owned(),
            force,
            grace_seconds,
        };
        let forced = force.then(std::time::Instant::now);
        // Under the lock, so a stream subscribing now sees it in its
        // snapshot or live (perhaps both: cancelling twice is harmless).
        let mut canceling = lock(&self.canceling);
        canceling.insert(
            job_id.to_owned(),
            (agent_id.clone(), cancel.clone(), forced),
        );
        let _ = self.work.send(Work::Cancel { agent_id, cancel });
    }

    /// The job ended by itself.
    fn ended(&self, job_id: &str) {
        self.closed(job_id);
        lock(&self.claimed).remove(job_id);
        lock(&self.canceling).remove(job_id);
    }

    /// The organization of `project_id`, from the read model (projects are
    /// created, and projected, long before their jobs).
    async fn organization_of(
        &self,
        pool: &PgPool,
        project_id: &str,
    ) -> Result<String, sqlx::Error> {
        if let Some(o) = lock(&self.organizations).get(project_id) {
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
        lock(&self.organizations).insert(project_id.to_owned(), org.clone());
        Ok(org)
    }

    fn closed(&self, job_id: &str) {
        lock(&self.open).remove(job_id);
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
        let in_flight = sqlx::query(
            "SELECT id, agent_id, status, cancel_grace_seconds FROM jobs
              WHERE status IN ('CLAIMED', 'RUNNING', 'CANCELING') AND agent_id IS NOT NULL",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        for r in in_flight {
            let id: uuid::Uuid = r.try_get("id")?;
            let agent: uuid::Uuid = r.try_get("agent_id")?;
            let id = id.to_string();
            self.was_claimed(&id, agent.to_string());
            if r.try_get::<String, _>("status")? == "CANCELING" {
                let grace: Option<i32> = r.try_get("cancel_grace_seconds")?;
                self.cancel(&id, false, grace.unwrap_or_default().max(0) as u32);
            }
        }
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
                    // Not kept in the read model: a job offered again after
                    // a restart starts the agent's spans in a trace of their own.
                    traceparent: String::new(),
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
                                        traceparent: e
                                            .metadata()
                                            .and_then(|m| {
                                                phobos_telemetry::traceparent_of(
                                                    &m.trace_id,
                                                    &m.span_id,
                                                )
                                            })
                                            .unwrap_or_default(),
                                    },
                                    organization_id,
                                });
                            }
                            Ok(JobEvent::JobClaimed { agent_id, .. }) => {
                                self.was_claimed(&e.aggregate_id, agent_id)
                            }
                            Ok(JobEvent::JobSucceeded { .. } | JobEvent::JobFailed { .. }) => {
                                self.ended(&e.aggregate_id)
                            }
                            Ok(JobEvent::JobCancelRequested { grace_seconds, .. }) => {
                                tracing::debug!(job_id = %e.aggregate_id, "job cancel sent");
                                self.cancel(&e.aggregate_id, false, grace_seconds)
                            }
                            Ok(JobEvent::JobCanceled { forced: true, .. }) => {
                                self.cancel(&e.aggregate_id, true, 0)
                            }
                            Ok(JobEvent::JobCanceled { .. }) => self.ended(&e.aggregate_id),
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
