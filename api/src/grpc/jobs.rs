//! `JobService`: what an executor reports for the one job its token names.

use std::sync::Arc;

use phobos_commands::aggregates::JobCommand;
use phobos_commands::log::read_first;
use phobos_core::events::{Actor, JobEvent};
use phobos_proto::v1::job_service_server::JobService;
use phobos_proto::v1::*;
use tonic::{Request, Response, Status, Streaming};

use super::{claims, forbidden, status};
use crate::auth::TokenKind;
use crate::service::App;

pub struct JobApi {
    app: Arc<App>,
}

impl JobApi {
    pub fn new(app: Arc<App>) -> Self {
        JobApi { app }
    }

    /// Only the job's own token may read or report for it.
    fn check_token<T>(&self, req: &Request<T>, job_id: &str) -> Result<(), Status> {
        let c = claims(&self.app.tokens, req)?;
        if c.kind != TokenKind::Job || c.sub != job_id {
            return Err(forbidden());
        }
        Ok(())
    }

    /// [`check_token`](Self::check_token), and the context of what the
    /// executor reports: it joins the job's chain of work (the correlation
    /// and trace ids of the event that queued it).
    async fn authorize<T>(
        &self,
        req: &Request<T>,
        job_id: &str,
    ) -> Result<phobos_commands::CommandContext, Status> {
        self.check_token(req, job_id)?;
        job_context(&self.app, job_id, Actor::Job(job_id.to_string())).await
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
            .map_err(|e| status(e.into()))
    }
}

#[tonic::async_trait]
impl JobService for JobApi {
    #[tracing::instrument(skip_all, fields(job_id = %req.get_ref().job_id))]
    async fn get_job(&self, req: Request<GetJobRequest>) -> Result<Response<Job>, Status> {
        let job_id = req.get_ref().job_id.clone();
        self.check_token(&req, &job_id)?;
        let first = read_first(&self.app.pool, "Job", &job_id)
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?
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
        }))
    }

    #[tracing::instrument(skip_all, fields(job_id = %req.get_ref().job_id, status = req.get_ref().status))]
    async fn set_job_status(
        &self,
        req: Request<SetJobStatusRequest>,
    ) -> Result<Response<SetJobStatusResponse>, Status> {
        let job_id = req.get_ref().job_id.clone();
        let ctx = self.authorize(&req, &job_id).await?;
        let r = req.into_inner();
        let cmd = match JobStatus::try_from(r.status) {
            Ok(JobStatus::Running) => JobCommand::StartJob,
            Ok(JobStatus::Succeeded) => JobCommand::SucceedJob,
            Ok(JobStatus::Failed) => JobCommand::FailJob { message: r.message },
            _ => {
                return Err(Status::invalid_argument(
                    "status must be RUNNING, SUCCEEDED or FAILED",
                ))
            }
        };
        self.command(&job_id, cmd, &ctx).await?;
        Ok(Response::new(SetJobStatusResponse {}))
    }

    async fn write_logs(
        &self,
        req: Request<Streaming<LogChunk>>,
    ) -> Result<Response<WriteLogsResponse>, Status> {
        // The token is checked against every chunk's job.
        let c = claims(&self.app.tokens, &req)?;
        if c.kind != TokenKind::Job {
            return Err(forbidden());
        }
        let mut stream = req.into_inner();
        let mut stored = 0u64;
        while let Some(chunk) = stream.message().await? {
            if chunk.job_id != c.sub {
                return Err(forbidden());
            }
            let job: uuid::Uuid = chunk
                .job_id
                .parse()
                .map_err(|_| Status::invalid_argument("job_id is not an id"))?;
            sqlx::query(
                "INSERT INTO job_log_chunks (job_id, byte_offset, data) VALUES ($1, $2, $3)
                 ON CONFLICT (job_id, byte_offset) DO NOTHING",
            )
            .bind(job)
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
        let ctx = self.authorize(&req, &job_id).await?;
        let r = req.into_inner();
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
}

/// A context for a command about `job_id` by `actor`, in the chain of work
/// that queued the job.
pub(crate) async fn job_context(
    app: &App,
    job_id: &str,
    actor: Actor,
) -> Result<phobos_commands::CommandContext, Status> {
    let mut ctx = phobos_commands::CommandContext::new(actor);
    let queued = read_first(&app.pool, "Job", job_id)
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    if let Some(meta) = queued.and_then(|e| e.metadata()) {
        ctx.correlation_id = meta.correlation_id;
        ctx.trace_id = meta.trace_id;
    }
    Ok(ctx)
}
