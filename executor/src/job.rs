//! One job, start to finish: fetch it, mark it RUNNING, run its actions in
//! order with their output in the job log, report outputs, close the log and
//! only then report SUCCEEDED or FAILED.

use std::time::Duration;

use anyhow::Context;
use phobos_proto::v1::{
    GetJobRequest, Job, JobHeartbeatRequest, JobStatus, SetActionOutputsRequest,
    SetJobStatusRequest,
};
use tokio::time::Instant;
use tonic::{Code, Status};
use tracing::{error, info, info_span, warn, Instrument};

use crate::actions::{self, ActionOutcome, JobContext};
use crate::client::{self, JobClient};
use crate::env::JobEnv;
use crate::interrupt::Interrupt;
use crate::logs::{LogStream, LogWriter};
use crate::retry::{self, retry};
use crate::workdir::WorkDir;

/// How the job ended, for the process exit status.
pub enum JobOutcome {
    Succeeded,
    Failed,
}

/// Runs the job `env` names. Problems talking to the server are reported as
/// a FAILED job when the server can still be told.
pub async fn run(env: JobEnv) -> JobOutcome {
    let client = match client::connect(&env) {
        Ok(client) => client,
        Err(e) => {
            error!("cannot run the job: {e:#}");
            return JobOutcome::Failed;
        }
    };
    let mut interrupt = Interrupt::install();
    match execute(&client, &env.job_id, &mut interrupt).await {
        Ok(None) => {
            info!("job succeeded");
            JobOutcome::Succeeded
        }
        Ok(Some(failure)) => {
            info!(%failure, "job failed");
            JobOutcome::Failed
        }
        Err(e) => {
            error!("executor error: {e:#}");
            let message = format!("job executor error: {e:#}");
            if let Err(status) = set_status(&client, &env.job_id, JobStatus::Failed, message).await
            {
                error!(code = ?status.code(), error = status.message(), "could not report the job as failed");
            }
            JobOutcome::Failed
        }
    }
}

/// Runs the job and reports its final status. `Ok(Some(message))`: the job
/// failed (and was reported so); `Err`: the server could not be talked to.
async fn execute(
    client: &JobClient,
    job_id: &str,
    interrupt: &mut Interrupt,
) -> anyhow::Result<Option<String>> {
    let fetching = Instant::now();
    let job = retry("GetJob", || {
        let mut client = client.clone();
        let request = GetJobRequest {
            job_id: job_id.to_owned(),
        };
        async move { client.get_job(request).await.map(|r| r.into_inner()) }
    })
    .await
    .map_err(status_error)
    .context("could not fetch the job")?;
    info!(pipeline_id = %job.pipeline_id, node_path = %job.node_path, actions = job.actions.len(), timeout_seconds = job.timeout_seconds, "job fetched");
    let timeout =
        (job.timeout_seconds > 0).then(|| Duration::from_secs(job.timeout_seconds.into()));
    if let Some(timeout) = timeout {
        retry::retry_until(fetching + timeout + REPORT_GRACE);
    }
    let work_dir =
        WorkDir::create(job_id).context("could not create the job's working directory")?;
    let context = JobContext {
        job_id: job_id.to_owned(),
        pipeline_id: job.pipeline_id.clone(),
        node_path: job.node_path.clone(),
        work_dir: work_dir.path().to_owned(),
    };
    set_status(client, job_id, JobStatus::Running, String::new())
        .await
        .map_err(status_error)
        .context("could not mark the job as running")?;

    let logs = LogStream::open(client.clone(), job_id.to_owned());
    let writer = logs.writer();
    let heartbeat = heartbeat(
        client.clone(),
        job_id.to_owned(),
        job.heartbeat_interval_seconds,
    );
    let run = run_actions(client, &context, &job, &writer, interrupt);
    // Dropping `run` stops the running command (see `exec_command`).
    let actions = tokio::select! {
        actions = run => actions,
        ended = heartbeat => {
            let failure = ended;
            writer.write(format!("==> {failure}\n")).await;
            Ok(Some(failure))
        }
        () = sleep_until_timeout(fetching, timeout) => {
            let failure = format!(
                "the job ran longer than its timeout of {} s (PHOBOS_JOB_TIMEOUT_SECONDS) and was stopped",
                timeout.map(|t| t.as_secs()).unwrap_or_default()
            );
            writer.write(format!("==> {failure}\n")).await;
            Ok(Some(failure))
        }
    };
    drop(work_dir);
    if let Err(e) = &actions {
        writer
            .write(format!("==> job executor error: {e:#}\n"))
            .await;
    }
    drop(writer);
    let closed = logs.close().await.context("could not store the job log");
    let failure = actions?;
    let length = closed?;
    info!(log_bytes = length, "job log stored");

    let (status, message) = match &failure {
        None => (JobStatus::Succeeded, String::new()),
        Some(message) => (JobStatus::Failed, message.clone()),
    };
    set_status(client, job_id, status, message)
        .await
        .map_err(status_error)
        .context("could not report the job's final status")?;
    Ok(failure)
}

/// How long after the job's timeout its final report is still retried.
const REPORT_GRACE: Duration = Duration::from_secs(60);

async fn sleep_until_timeout(from: Instant, timeout: Option<Duration>) {
    match timeout {
        Some(timeout) => tokio::time::sleep_until(from + timeout).await,
        None => std::future::pending().await,
    }
}

/// Tells the server every `interval_seconds` that the executor is alive.
/// Resolves (with the reason) only when the server says the job is over,
/// e.g. because it was failed for running too long.
async fn heartbeat(mut client: JobClient, job_id: String, interval_seconds: u32) -> String {
    let interval = Duration::from_secs(interval_seconds.max(1).into());
    loop {
        tokio::time::sleep(interval).await;
        let request = JobHeartbeatRequest {
            job_id: job_id.clone(),
        };
        match client.heartbeat(request).await {
            Ok(_) => {}
            Err(status) if status.code() == Code::FailedPrecondition => {
                return format!("the server ended the job: {}", status.message())
            }
            // Unavailable and the like: the next beat tries again; the
            // server waits a while before it gives up on an executor.
            Err(status) => {
                warn!(code = ?status.code(), error = status.message(), "heartbeat not delivered")
            }
        }
    }
}

/// Runs the actions in order until one fails or a termination signal
/// arrives (which stops the running command). `Ok(Some(message))`: the job
/// failed; `Err`: an action's outputs could not be reported.
async fn run_actions(
    client: &JobClient,
    context: &JobContext,
    job: &Job,
    log: &LogWriter,
    interrupt: &mut Interrupt,
) -> anyhow::Result<Option<String>> {
    for action in &job.actions {
        let label = actions::label(action);
        let span = info_span!("action", name = %action.name, action = %label);
        let stopped = |signal: &str| {
            format!(
                "the job executor was stopped by {signal} before action {} finished",
                action.name
            )
        };
        if let Some(signal) = interrupt.received() {
            let failure = stopped(signal);
            log.write(format!("==> {failure}\n")).await;
            return Ok(Some(failure));
        }
        let run = async {
            info!("action starting");
            log.write(format!("==> action {}: {label}\n", action.name))
                .await;
            actions::run(action, context, log).await
        }
        .instrument(span.clone());
        let outcome = tokio::select! {
            outcome = run => outcome,
            signal = interrupt.wait() => {
                // Dropping the action stopped its command.
                let failure = stopped(signal);
                log.write(format!("==> {failure}\n")).await;
                return Ok(Some(failure));
            }
        };
        match outcome {
            ActionOutcome::Ran { outputs, failure } => {
                let request = SetActionOutputsRequest {
                    job_id: context.job_id.clone(),
                    action: action.name.clone(),
                    outputs_json: serde_json::Value::Object(outputs).to_string(),
                };
                retry("SetActionOutputs", || {
                    let mut client = client.clone();
                    let request = request.clone();
                    async move { client.set_action_outputs(request).await.map(|_| ()) }
                })
                .instrument(span.clone())
                .await
                .map_err(status_error)
                .with_context(|| {
                    format!("could not report the outputs of action {}", action.name)
                })?;
                if let Some(failure) = failure {
                    log.write(format!("==> {failure}\n")).await;
                    return Ok(Some(failure));
                }
            }
            ActionOutcome::Refused(failure) => {
                span.in_scope(|| warn!(%failure, "action not run"));
                log.write(format!("==> {failure}\n")).await;
                return Ok(Some(failure));
            }
        }
    }
    Ok(None)
}

async fn set_status(
    client: &JobClient,
    job_id: &str,
    status: JobStatus,
    message: String,
) -> Result<(), Status> {
    let request = SetJobStatusRequest {
        job_id: job_id.to_owned(),
        status: status.into(),
        message,
    };
    retry("SetJobStatus", || {
        let mut client = client.clone();
        let request = request.clone();
        async move { client.set_job_status(request).await.map(|_| ()) }
    })
    .await
}

/// A gRPC status as an error that shows its code and message.
fn status_error(status: Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", status.code(), status.message())
}
