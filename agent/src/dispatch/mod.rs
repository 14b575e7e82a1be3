//! Dispatchers start the executor of a claimed job. [`LocalDispatcher`] runs
//! it as a child process on the agent's machine.

mod error;
mod local;

use std::fmt;
use std::sync::Arc;

pub use error::DispatchError;
pub use local::LocalDispatcher;

use crate::config::DispatcherConfig;

/// A claimed job, ready to be executed.
#[derive(Clone)]
pub struct JobLaunch {
    /// The job to run.
    pub job_id: String,
    /// Authorizes the executor's `JobService` calls for this job only. Never
    /// logged; `Debug` hides it.
    pub job_token: String,
    /// The gRPC endpoint the executor reports to.
    pub server_url: String,
    /// How the executor verifies an `https://` server.
    pub tls: crate::ServerTrust,
    /// Where the executor exports its spans; None: nowhere.
    pub otel: Option<phobos_telemetry::OtelSettings>,
    /// The W3C traceparent of the agent's span for the job, which the
    /// executor's spans continue; empty when traces are not exported.
    pub traceparent: String,
}

impl fmt::Debug for JobLaunch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobLaunch")
            .field("job_id", &self.job_id)
            .field("job_token", &"<redacted>")
            .field("server_url", &self.server_url)
            .field("tls", &self.tls)
            .field("otel", &self.otel)
            .field("traceparent", &self.traceparent)
            .finish()
    }
}

/// Starts job executors.
#[async_trait::async_trait]
pub trait Dispatcher: Send + Sync {
    /// Starts the executor of `job` and returns once it has started; it must
    /// not wait for the job to finish.
    async fn launch(&self, job: JobLaunch) -> Result<(), DispatchError>;

    /// Tells the executor of `job_id`, if this dispatcher started it and it
    /// still runs, to stop: SIGTERM to its commands and SIGKILL after
    /// `grace_seconds`, or SIGKILL at once with `force`. Returns whether it
    /// was told.
    async fn cancel(&self, _job_id: &str, _force: bool, _grace_seconds: u32) -> bool {
        false
    }
}

/// Builds the dispatcher `config` describes and checks it can start jobs.
pub(crate) fn from_config(config: &DispatcherConfig) -> Result<Arc<dyn Dispatcher>, DispatchError> {
    match config {
        DispatcherConfig::Local { executor_path } => {
            let dispatcher = LocalDispatcher::new(executor_path.clone());
            dispatcher.check()?;
            Ok(Arc::new(dispatcher))
        }
    }
}
