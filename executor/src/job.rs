//! One job, start to finish: fetch it, mark it RUNNING, run its actions in
//! order with their output in the job log, report outputs, close the log and
//! only then report SUCCEEDED or FAILED, or CANCELED when it was asked to
//! stop (see [`crate::cancel`]); after a forced cancel, nothing is reported:
//! the server refuses it.

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
use crate::cancel::{Cancel, Stop};
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
    Canceled,
}

/// How the actions ended.
enum End {
    Succeeded,
    Failed(String),
    /// Stopped by a cancel; `forced`: the server has canceled the job
    /// already and takes no more reports.
    Canceled {
        message: String,
        forced: bool,
    },
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
    let cancel = Cancel::new();
    if env.token_on_stdin {
        cancel.listen_on_stdin();
    }
    match execute(&client, &env.job_id, &mut interrupt, &cancel).await {
        Ok(End::Succeeded) => {
            info!("job succeeded");
            JobOutcome::Succeeded
        }
        Ok(End::Failed(failure)) => {
            info!(%failure, "job failed");
            JobOutcome::Failed
        }
        Ok(End::Canceled { message, .. }) => {
            info!(%message, "job canceled");
            JobOutcome::Canceled
        }
        Err(e) if cancel.current().is_some_and(|s| s.force) => {
            info!("job canceled with force; the server no longer takes its reports ({e:#})");
            JobOutcome::Canceled
        }
        Err(e) => {
            error!("executor error: {e:#}");
            let message = format!("job executor error: {e:#}");
            if let Err(status) =
                set_status(&client, &env.job_id, JobStatus::Failed, message, None).await
            {
                error!(code = ?status.code(), error = status.message(), "could not report the job as failed");
            }
            JobOutcome::Failed
        }
    }
}

/// Runs the job and reports its final status (which `Ok` says); `Err`: the
/// server could not be talked to.
async fn execute(
    client: &JobClient,
    job_id: &str,
    interrupt: &mut Interrupt,
    cancel: &Cancel,
) -> anyhow::Result<End> {
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
    set_status(client, job_id, JobStatus::Running, String::new(), None)
        .await
        .map_err(status_error)
        .context("could not mark the job as running")?;

    let logs = LogStream::open(client.clone(), job_id.to_owned());
    let writer = logs.writer();
    let heartbeat = tokio::spawn(
        heartbeat(
            client.clone(),
            job_id.to_owned(),
            job.heartbeat_interval_seconds,
            cancel.clone(),
        )
        .in_current_span(),
    );
    let run = run_actions(client, &context, &job, &writer, interrupt, cancel);
    // Dropping `run` stops the running command (see `exec_command`).
    let actions = tokio::select! {
        actions = run => actions,
        () = sleep_until_timeout(fetching, timeout) => {
            let failure = format!(
                "the job ran longer than its timeout of {} s (PHOBOS_JOB_TIMEOUT_SECONDS) and was stopped",
                timeout.map(|t| t.as_secs()).unwrap_or_default()
            );
            writer.write(format!("==> {failure}\n")).await;
            Ok(End::Failed(failure))
        }
    };
    heartbeat.abort();
    drop(work_dir);
    if let Err(e) = &actions {
        writer
            .write(format!("==> job executor error: {e:#}\n"))
            .await;
    }
    drop(writer);
    let end = actions?;
    if let End::Canceled { forced: true, .. } = end {
        // The server takes neither the log's end nor a status any more.
        let _ = tokio::time::timeout(Duration::from_secs(2), logs.close()).await;
        return Ok(end);
    }
    let length = logs.close().await.context("could not store the job log")?;
    info!(log_bytes = length, "job log stored");

    let (status, message) = match &end {
        End::Succeeded => (JobStatus::Succeeded, String::new()),
        End::Failed(message) => (JobStatus::Failed, message.clone()),
        End::Canceled { message, .. } => (JobStatus::Canceled, message.clone()),
    };
    set_status(client, job_id, status, message, Some(length))
        .await
        .map_err(status_error)
        .context("could not report the job's final status")?;
    Ok(end)
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
/// Its answer may ask the job to stop (when the agent could not pass a
/// cancel on); when the server says the job is over already (failed for
/// running too long, or canceled with force), the job stops at once.
async fn heartbeat(mut client: JobClient, job_id: String, interval_seconds: u32, cancel: Cancel) {
    let interval = Duration::from_secs(interval_seconds.max(1).into());
    loop {
        tokio::time::sleep(interval).await;
        let request = JobHeartbeatRequest {
            job_id: job_id.clone(),
        };
        match client.heartbeat(request).await {
            Ok(answer) => {
                let answer = answer.into_inner();
                if answer.cancel_requested {
                    cancel.request(Stop {
                        force: false,
                        grace: Duration::from_secs(answer.cancel_grace_seconds.into()),
                    });
                }
            }
            Err(status) if status.code() == Code::FailedPrecondition => {
                warn!(
                    error = status.message(),
                    "the server ended the job; stopping it"
                );
                cancel.request(Stop {
                    force: true,
                    grace: Duration::ZERO,
                });
            }
            // Unavailable and the like: the next beat tries again; the
            // server waits a while before it gives up on an executor.
            Err(status) => {
                warn!(code = ?status.code(), error = status.message(), "heartbeat not delivered")
            }
        }
    }
}

/// Runs the actions in order until one fails, a cancel stops the job, or a
/// termination signal arrives (which stops the running command). `Err`: an
/// action's outputs could not be reported.
async fn run_actions(
    client: &JobClient,
    context: &JobContext,
    job: &Job,
    log: &LogWriter,
    interrupt: &mut Interrupt,
    cancel: &Cancel,
) -> anyhow::Result<End> {
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
            return Ok(End::Failed(failure));
        }
        if let Some(stop) = cancel.current() {
            let message = format!("canceled before action {} started", action.name);
            log.write(format!("==> {message}\n")).await;
            return Ok(End::Canceled {
                message,
                forced: stop.force,
            });
        }
        let run = async {
            info!("action starting");
            log.write(format!("==> action {}: {label}\n", action.name))
                .await;
            actions::run(action, context, log, cancel).await
        }
        .instrument(span.clone());
        let outcome = tokio::select! {
            outcome = run => outcome,
            signal = interrupt.wait() => {
                // Dropping the action stopped its command.
                let failure = stopped(signal);
                log.write(format!("==> {failure}\n")).await;
                return Ok(End::Failed(failure));
            }
        };
        match outcome {
            ActionOutcome::Ran { outputs, failure } => {
                report_outputs(client, context, &action.name, outputs)
                    .instrument(span.clone())
                    .await?;
                if let Some(failure) = failure {
                    log.write(format!("==> {failure}\n")).await;
                    return Ok(End::Failed(failure));
                }
            }
            ActionOutcome::Refused(failure) => {
                span.in_scope(|| warn!(%failure, "action not run"));
                log.write(format!("==> {failure}\n")).await;
                return Ok(End::Failed(failure));
            }
            ActionOutcome::Canceled { outputs, message } => {
                log.write(format!("==> {message}\n")).await;
                let forced = cancel.current().is_some_and(|s| s.force);
                if !forced {
                    report_outputs(client, context, &action.name, outputs)
                        .instrument(span.clone())
                        .await?;
                }
                return Ok(End::Canceled { message, forced });
            }
        }
    }
    Ok(End::Succeeded)
}

async fn report_outputs(
    client: &JobClient,
    context: &JobContext,
    action: &str,
    outputs: serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let request = SetActionOutputsRequest {
        job_id: context.job_id.clone(),
        action: action.to_owned(),
        outputs_json: serde_json::Value::Object(outputs).to_string(),
    };
    retry("SetActionOutputs", || {
        let mut client = client.clone();
        let request = request.clone();
        async move { client.set_action_outputs(request).await.map(|_| ()) }
    })
    .await
    .map_err(status_error)
    .with_context(|| format!("could not report the outputs of action {action}"))
}

/// Reports `status`; a final one with `log_bytes`, the length of the log
/// stored in full.
async fn set_status(
    client: &JobClient,
    job_id: &str,
    status: JobStatus,
    message: String,
    log_bytes: Option<u64>,
) -> Result<(), Status> {
    let request = SetJobStatusRequest {
        job_id: job_id.to_owned(),
        status: status.into(),
        message,
        log_bytes,
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
