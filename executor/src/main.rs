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

use tracing::{error, info_span, Instrument};
use tracing_subscriber::EnvFilter;

use crate::env::JobEnv;
use crate::job::JobOutcome;

fn main() -> ExitCode {
    // Its job token must not be readable by the commands it starts.
    harden::deny_inspection();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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
            error!("cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let span = info_span!("job", job_id = %env.job_id);
    match runtime.block_on(job::run(env).instrument(span)) {
        JobOutcome::Succeeded => ExitCode::SUCCESS,
        JobOutcome::Failed | JobOutcome::Canceled => ExitCode::from(1),
    }
}
