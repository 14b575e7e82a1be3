//! The local dispatcher: one `phobos-job-executor` child process per job.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;
use tracing::{info, warn, Instrument};

use super::{DispatchError, Dispatcher, JobLaunch};

/// Starts `executor_path` as a child process for every job, with
/// `PHOBOS_JOB_ID`, `PHOBOS_JOB_TOKEN` and `PHOBOS_GRPC_URL` in its
/// environment, stdin closed and stdout/stderr shared with the agent.
/// Executors are not killed when the agent stops: they finish their job. (They
/// stay in the agent's process group, so a supervisor can still stop the
/// whole group; note that a Ctrl-C typed at a terminal reaches that whole
/// group too — signal the agent's pid alone to let running jobs finish.)
#[derive(Debug, Clone)]
pub struct LocalDispatcher {
    executor_path: PathBuf,
}

impl LocalDispatcher {
    /// A dispatcher running `executor_path`; a bare name (no `/`) is looked up
    /// in `PATH`.
    pub fn new(executor_path: PathBuf) -> Self {
        Self { executor_path }
    }

    /// The executor binary this dispatcher runs.
    pub fn executor_path(&self) -> &Path {
        &self.executor_path
    }

    /// Fails with [`DispatchError::ExecutorMissing`] unless the executor binary exists.
    pub fn check(&self) -> Result<(), DispatchError> {
        if locate(&self.executor_path) {
            Ok(())
        } else {
            Err(self.missing())
        }
    }

    fn missing(&self) -> DispatchError {
        DispatchError::ExecutorMissing {
            path: self.executor_path.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Dispatcher for LocalDispatcher {
    async fn launch(&self, job: JobLaunch) -> Result<(), DispatchError> {
        self.check()?;
        let mut command = Command::new(&self.executor_path);
        command
            .env("PHOBOS_JOB_ID", &job.job_id)
            .env("PHOBOS_JOB_TOKEN", &job.job_token)
            .env("PHOBOS_GRPC_URL", &job.server_url)
            // The executor gets its own job token; the agent's must not reach
            // the job's commands.
            .env_remove("PHOBOS_AGENT_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .kill_on_drop(false);
        let mut child = command.spawn().map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => self.missing(),
            _ => DispatchError::Spawn {
                path: self.executor_path.clone(),
                source,
            },
        })?;
        let pid = child.id();
        info!(pid, executor = %self.executor_path.display(), "job executor started");
        tokio::spawn(
            async move {
                match child.wait().await {
                    Ok(status) if status.success() => {
                        info!(pid, "job executor finished: the job succeeded")
                    }
                    Ok(status) => {
                        warn!(pid, %status, "job executor finished: the job did not succeed")
                    }
                    Err(error) => warn!(pid, %error, "could not wait for the job executor"),
                }
            }
            .in_current_span(),
        );
        Ok(())
    }
}

/// True when `path` names an existing file (a bare name: one in `PATH`).
fn locate(path: &Path) -> bool {
    let bare =
        path.components().count() == 1 && !path.is_absolute() && !path.as_os_str().is_empty();
    if !bare {
        return path.is_file();
    }
    std::env::var_os("PATH")
        .map(|dirs| std::env::split_paths(&dirs).any(|dir| dir.join(path).is_file()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_executor_names_the_path_and_the_fix() {
        let dispatcher = LocalDispatcher::new("/nonexistent/phobos-job-executor".into());
        let message = dispatcher.check().unwrap_err().to_string();
        assert!(
            message.contains("/nonexistent/phobos-job-executor"),
            "{message}"
        );
        assert!(
            message.contains("cargo build -p phobos-executor"),
            "{message}"
        );
        assert!(message.contains("EXECUTOR_PATH"), "{message}");
    }

    #[test]
    fn bare_names_are_looked_up_in_path() {
        assert!(locate(Path::new("sh")));
        assert!(!locate(Path::new("phobos-no-such-binary-anywhere")));
    }
}
