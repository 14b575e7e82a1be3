//! `JobService`: what an executor reports for the one job its token names.

use phobos_core::events::aggregate;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phobos_commands::aggregates::{Job as JobState, JobCommand};
use phobos_commands::log::{read_aggregate, read_first, RecordedEvent};
use phobos_core::events::{Actor, JobEvent};
use phobos_proto::v1::job_service_server::JobService;
use phobos_proto::v1::*;
use tonic::{Request, Response, Status, Streaming};

use super::status;
use crate::credentials;
use crate::service::App;

/// How long after a job finished its token still works, for the last log
/// chunk and a repeated final report whose answer was lost.
pub(crate) const FINISHED_GRACE: chrono::Duration = chrono::Duration::seconds(30);
/// How often a log stream looks at the job again (to refuse chunks once it
/// is over).
const LOG_RECHECK: Duration = Duration::from_secs(2);

pub struct JobApi {
    app: Arc<App>,
    /// When this instance last noted each job's executor alive.
    noted: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
}

/// How often an executor's liveness is written at most: the reaper waits a
/// whole `PHOBOS_JOB_HEARTBEAT_TIMEOUT_SECONDS` (60 s by default) of
/// silence, so a note a second old is as good, and each call of a job's
/// executor need not write one.
const NOTE_EVERY: Duration = Duration::from_secs(1);

/// Whether a call may still be made for a job that has finished.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AfterFinish {
    Refused,
    /// Within [`FINISHED_GRACE`].
    InGrace,
}

/// The bearer token of a call, if any.
fn bearer<T>(req: &Request<T>) -> Option<String> {
    let value = req.metadata().get("authorization")?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_owned())
}

impl JobApi {
    pub fn new(app: Arc<App>) -> Self {
        JobApi {
            app,
            noted: Default::default(),
        }
    }

    /// Only the token handed out with the job's claim works, checked against
    /// the job's own events (so on every instance and after restarts), and
    /// only while the job is not finished (or within the grace after).
    /// Records that the executor was heard from. Returns the job's events
    /// (read once: the first is its `JobQueued`).
    async fn check_token<T>(
        &self,
        req: &Request<T>,
        job_id: &str,
        after_finish: AfterFinish,
    ) -> Result<Vec<RecordedEvent>, Status> {
        let invalid = || {
            Status::unauthenticated(
                "the job token is not valid for this job (only the token returned by ClaimJob for it is)",
            )
        };
        let token = bearer(req).ok_or_else(invalid)?;
        if !token.starts_with(credentials::JOB_TOKEN_PREFIX) {
            return Err(invalid());
        }
        let unreadable = |e: phobos_commands::error::LogError| {
            tracing::warn!(error = %e, "cannot read the job");
            Status::unavailable("the job cannot be read right now; try again")
        };
        let events = read_aggregate(&self.app.pool, aggregate::JOB, job_id)
            .await
            .map_err(unreadable)?;
        let job = JobState::fold(&events)
            .map_err(unreadable)?
            .ok_or_else(invalid)?;
        match job.token_sha256() {
            Some(hash) if credentials::matches(&token, hash) => {}
            _ => return Err(invalid()),
        }
        if job.force_canceled() {
            // Forced: nothing the executor still reports is recorded.
            return Err(Status::failed_precondition(
                "the job was canceled with force; its token no longer works",
            ));
        }
        if job.status().finished() {
            let in_grace = job
                .finished_at()
                .is_some_and(|at| self.app.clock.now() < at + FINISHED_GRACE);
            if !(after_finish == AfterFinish::InGrace && in_grace) {
                return Err(Status::failed_precondition(format!(
                    "the job is {}; its token no longer works",
                    job.status().as_str()
                )));
            }
        } else {
            self.heard_from(job_id).await;
        }
        Ok(events)
    }

    /// Notes that the executor of `job_id` is alive. Best effort: a missed
    /// note only makes the job look silent a little sooner.
    async fn heard_from(&self, job_id: &str) {
        let Ok(id) = job_id.parse::<uuid::Uuid>() else {
            return;
        };
        {
            let mut noted = self.noted.lock().unwrap_or_else(|p| p.into_inner());
            if noted
                .get(job_id)
                .is_some_and(|at| at.elapsed() < NOTE_EVERY)
            {
                return;
            }
            if noted.len() > 10_000 {
                noted.retain(|_, at| at.elapsed() < NOTE_EVERY);
            }
            noted.insert(job_id.to_owned(), Instant::now());
        }
        // Without waiting for the WAL flush: a note lost in a crash only
        // makes the job look silent sooner, and every executor call would
        // otherwise wait for one more fsync.
        let noted = async {
            let mut tx = self.app.pool.begin().await?;
            sqlx::query("SET LOCAL synchronous_commit TO OFF")
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO job_liveness (job_id, last_seen_at) VALUES ($1, $2)
                 ON CONFLICT (job_id) DO UPDATE SET last_seen_at = $2",
            )
            .bind(id)
            .bind(self.app.clock.now())
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = noted {
            tracing::warn!(error = %e, "could not note the executor's heartbeat");
        }
    }

    /// [`check_token`](Self::check_token), and the context of what the
    /// executor reports: it joins the job's chain of work (the correlation
    /// and trace ids of the event that queued it).
    async fn authorize<T>(
        &self,
        req: &Request<T>,
        job_id: &str,
        after_finish: AfterFinish,
    ) -> Result<phobos_commands::CommandContext, Status> {
        let events = self.check_token(req, job_id, after_finish).await?;
        Ok(context_of(events.first(), Actor::Job(job_id.to_string())))
    }

    async fn command(
        &self,
        job_id: &str,
        cmd: JobCommand,
        ctx: &phobos_commands::CommandContext,
    ) -> Result<(), Status> {
        self.app
            .bus
            .job(job_id, cmd, ctx)
            .await
            .map(drop)
            .map_err(|e| status(e.into()))
    }

    /// Records where the job's log ends (the executor stored all of it);
    /// a repeated report keeps the first length.
    async fn store_log_end(&self, job_id: &str, length: u64) -> Result<(), Status> {
        let uuid: uuid::Uuid = job_id
            .parse()
            .map_err(|_| Status::invalid_argument("job_id is not an id"))?;
        let length = i64::try_from(length)
            .map_err(|_| Status::invalid_argument("log_bytes is out of range"))?;
        sqlx::query(
            "INSERT INTO job_log_ends (job_id, length) VALUES ($1, $2) ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(uuid)
        .bind(length)
        .execute(&self.app.pool)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "log end not stored");
            Status::unavailable("log storage is unavailable; report the status again")
        })?;
        Ok(())
    }

    /// Fails the job because it went over a limit; returns the status that
    /// tells the executor.
    async fn over_limit(&self, job_id: &str, message: String) -> Status {
        tracing::warn!(job_id, %message, "job over a limit");
        let ctx = match job_context(&self.app, job_id, Actor::System("limits".into())).await {
            Ok(ctx) => ctx,
            Err(status) => return status,
        };
        if let Err(e) = self
            .app
            .bus
            .job(
                job_id,
                JobCommand::FailJob {
                    message: message.clone(),
                },
                &ctx,
            )
            .await
        {
            tracing::warn!(error = %e, "could not fail the job over its limit");
        }
        Status::resource_exhausted(message)
    }
}

#[tonic::async_trait]
impl JobService for JobApi {
    #[tracing::instrument(skip_all, fields(job_id = %req.get_ref().job_id))]
    async fn get_job(&self, req: Request<GetJobRequest>) -> Result<Response<Job>, Status> {
        let job_id = req.get_ref().job_id.clone();
        let events = self
            .check_token(&req, &job_id, AfterFinish::Refused)
            .await?;
        let first = events
            .first()
            .ok_or_else(|| Status::not_found("no such job"))?;
        let Ok(JobEvent::JobQueued {
            pipeline_id,
            node_path,
            spec,
            ..
        }) = first.decode::<JobEvent>()
        else {
            return Err(Status::internal("the job's first event is not JobQueued"));
        };
        let limits = &self.app.config.jobs;
        Ok(Response::new(Job {
            job_id,
            pipeline_id,
            node_path,
            actions: spec
                .actions
                .into_iter()
                .map(|a| Action {
                    name: a.name,
                    plugin: a.plugin,
                    action: a.action,
                    inputs_json: a.inputs.to_string(),
                })
                .collect(),
            timeout_seconds: limits.timeout_seconds,
            heartbeat_interval_seconds: (limits.heartbeat_timeout_seconds / 3).max(1),
        }))
    }

    #[tracing::instrument(skip_all, fields(job_id = %req.get_ref().job_id, status = req.get_ref().status))]
    async fn set_job_status(
        &self,
        req: Request<SetJobStatusRequest>,
    ) -> Result<Response<SetJobStatusResponse>, Status> {
        let job_id = req.get_ref().job_id.clone();
        let ctx = self.authorize(&req, &job_id, AfterFinish::InGrace).await?;
        let r = req.into_inner();
        let status = JobStatus::try_from(r.status);
        if let (Some(length), Ok(JobStatus::Succeeded | JobStatus::Failed | JobStatus::Canceled)) =
            (r.log_bytes, status)
        {
            self.store_log_end(&job_id, length).await?;
        }
        let cmd = match status {
            Ok(JobStatus::Running) => {
                let limits = &self.app.config.jobs;
                JobCommand::StartJob {
                    deadline_seconds: Some(
                        limits
                            .timeout_seconds
                            .saturating_add(limits.heartbeat_timeout_seconds),
                    ),
                }
            }
            Ok(JobStatus::Succeeded) => JobCommand::SucceedJob,
            Ok(JobStatus::Failed) => JobCommand::FailJob { message: r.message },
            Ok(JobStatus::Canceled) => JobCommand::ConfirmCanceled { message: r.message },
            _ => {
                return Err(Status::invalid_argument(
                    "status must be RUNNING, SUCCEEDED, FAILED or CANCELED",
                ))
            }
        };
        self.command(&job_id, cmd, &ctx).await?;
        Ok(Response::new(SetJobStatusResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn write_logs(
        &self,
        req: Request<Streaming<LogChunk>>,
    ) -> Result<Response<WriteLogsResponse>, Status> {
        let max = self.app.config.jobs.log_max_bytes;
        // The stream is for the job of its first chunk; the token is checked
        // for it, and again every LOG_RECHECK while chunks come.
        let token_check = Request::from_parts(req.metadata().clone(), Default::default(), ());
        let mut stream = req.into_inner();
        let mut stored = 0u64;
        let mut job: Option<(String, uuid::Uuid, Instant)> = None;
        while let Some(chunk) = stream.message().await? {
            let uuid = match &job {
                Some((id, _, _)) if *id != chunk.job_id => {
                    return Err(Status::invalid_argument(
                        "every chunk of a log stream must be for the same job",
                    ))
                }
                Some((_, uuid, checked)) if checked.elapsed() < LOG_RECHECK => *uuid,
                _ => {
                    self.check_token(&token_check, &chunk.job_id, AfterFinish::InGrace)
                        .await?;
                    let uuid: uuid::Uuid = chunk
                        .job_id
                        .parse()
                        .map_err(|_| Status::invalid_argument("job_id is not an id"))?;
                    job = Some((chunk.job_id.clone(), uuid, Instant::now()));
                    uuid
                }
            };
            let end = chunk.offset.saturating_add(chunk.data.len() as u64);
            if end > max {
                return Err(self
                    .over_limit(
                        &chunk.job_id,
                        format!(
                            "the job's log reached its limit of {max} bytes (PHOBOS_JOB_LOG_MAX_BYTES); the job was stopped"
                        ),
                    )
                    .await);
            }
            sqlx::query(
                "INSERT INTO job_log_chunks (job_id, byte_offset, data) VALUES ($1, $2, $3)
                 ON CONFLICT (job_id, byte_offset) DO NOTHING",
            )
            .bind(uuid)
            .bind(chunk.offset as i64)
            .bind(&chunk.data)
            .execute(&self.app.pool)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "log chunk not stored");
                Status::unavailable("log storage is unavailable; resend the chunk")
            })?;
            stored += chunk.data.len() as u64;
        }
        Ok(Response::new(WriteLogsResponse {
            bytes_stored: stored,
        }))
    }

    #[tracing::instrument(skip_all, fields(job_id = %req.get_ref().job_id, action = %req.get_ref().action))]
    async fn set_action_outputs(
        &self,
        req: Request<SetActionOutputsRequest>,
    ) -> Result<Response<SetActionOutputsResponse>, Status> {
        let job_id = req.get_ref().job_id.clone();
        let ctx = self.authorize(&req, &job_id, AfterFinish::Refused).await?;
        let r = req.into_inner();
        let max = self.app.config.jobs.outputs_max_bytes;
        if r.outputs_json.len() > max {
            return Err(self
                .over_limit(
                    &job_id,
                    format!(
                        "the outputs of action {} are {} bytes; the limit is {max} (PHOBOS_JOB_OUTPUTS_MAX_BYTES)",
                        r.action,
                        r.outputs_json.len()
                    ),
                )
                .await);
        }
        let outputs: serde_json::Value = serde_json::from_str(&r.outputs_json)
            .map_err(|e| Status::invalid_argument(format!("outputs_json is not JSON: {e}")))?;
        if !outputs.is_object() {
            return Err(Status::invalid_argument(
                "outputs_json must be a JSON object",
            ));
        }
        self.command(
            &job_id,
            JobCommand::RecordActionOutputs {
                action: r.action,
                outputs,
            },
            &ctx,
        )
        .await?;
        Ok(Response::new(SetActionOutputsResponse {}))
    }

    #[tracing::instrument(skip_all, fields(job_id = %req.get_ref().job_id))]
    async fn heartbeat(
        &self,
        req: Request<JobHeartbeatRequest>,
    ) -> Result<Response<JobHeartbeatResponse>, Status> {
        let job_id = req.get_ref().job_id.clone();
        let events = self
            .check_token(&req, &job_id, AfterFinish::Refused)
            .await?;
        // The fallback for an executor whose agent could not pass the
        // cancellation on.
        let grace = JobState::fold(&events)
            .ok()
            .flatten()
            .and_then(|j| j.cancel_requested());
        Ok(Response::new(JobHeartbeatResponse {
            cancel_requested: grace.is_some(),
            cancel_grace_seconds: grace.unwrap_or_default(),
        }))
    }
}

/// A context for a command about `job_id` by `actor`, in the chain of work
/// that queued the job.
pub(crate) async fn job_context(
    app: &App,
    job_id: &str,
    actor: Actor,
) -> Result<phobos_commands::CommandContext, Status> {
    let queued = read_first(&app.pool, aggregate::JOB, job_id)
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    Ok(context_of(queued.as_ref(), actor))
}

/// A context for a command by `actor` that joins the chain of work of the
/// job's first event, `queued` (its correlation and trace ids).
pub(crate) fn context_of(
    queued: Option<&RecordedEvent>,
    actor: Actor,
) -> phobos_commands::CommandContext {
    let mut ctx = phobos_commands::CommandContext::new(actor);
    if let Some(meta) = queued.and_then(|e| e.metadata()) {
        ctx.correlation_id = meta.correlation_id;
        if ctx.trace_id != meta.trace_id {
            // The call did not carry the job's trace: continue it under the
            // command that queued the job.
            ctx.trace_id = meta.trace_id;
            ctx.parent_span_id = meta.span_id;
        }
    }
    ctx
}
