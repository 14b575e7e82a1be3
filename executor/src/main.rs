//! `phobos-job-executor`: runs one Phobos job. Started by an agent with
//! `PHOBOS_JOB_ID`, `PHOBOS_JOB_TOKEN` and `PHOBOS_GRPC_URL`; fetches the job,
//! runs its actions in order, streams their output into the job log, reports
//! action outputs and the job's status.
//!
//! Exit status: 0 when the job succeeded, 1 when it did not, 2 when the
//! environment is incomplete.

mod actions;
mod auth;
mod cancel;
mod client;
mod env;
mod harden;
mod interrupt;
mod job;
mod logs;
mod retry;
mod workdir;

use std::process::ExitCode;

use tracing::{info_span, Instrument};

use crate::env::JobEnv;
use crate::job::JobOutcome;

fn main() -> ExitCode {
    // Its job token must not be readable by the commands it starts.
    harden::deny_inspection();
    let env = match JobEnv::from_env() {
        Ok(env) => env,
        Err(missing) => {
            eprintln!("phobos-job-executor: {missing}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("phobos-job-executor: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // Set by its agent when traces are exported (the executor inherits
    // nothing else of the agent's environment).
    let otel = match phobos_telemetry::OtelSettings::read(|k| std::env::var(k).ok()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("phobos-job-executor: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async move {
        // Inside the runtime: the trace exporter's gRPC channel runs on it.
        let telemetry = match phobos_telemetry::init(
            "phobos-job-executor",
            "info",
            phobos_telemetry::LogTarget::Stderr,
            otel.as_ref(),
        ) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("phobos-job-executor: {e}");
                return JobOutcome::Failed;
            }
        };
        let span = info_span!("job", otel.name = "execute job", job_id = %env.job_id);
        if let Ok(parent) = std::env::var(phobos_proto::job_env::TRACEPARENT) {
            phobos_telemetry::set_parent_traceparent(&span, &parent);
        }
        let outcome = job::run(env).instrument(span).await;
        telemetry.shutdown().await;
        outcome
    });
    match outcome {
        JobOutcome::Succeeded => ExitCode::SUCCESS,
        JobOutcome::Failed | JobOutcome::Canceled => ExitCode::from(1),
    }
}
