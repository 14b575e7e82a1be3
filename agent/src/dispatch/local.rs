//! The local dispatcher: one `phobos-job-executor` child process per job.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use phobos_proto::{job_control, job_env};
use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;
use tokio::process::Command;
use tokio::sync::Mutex;
use tracing::{info, warn, Instrument};

use super::{DispatchError, Dispatcher, JobLaunch};

/// Starts `executor_path` as a child process for every job. Its environment
/// is empty but for [`job_env::EXECUTOR_INHERITED`], `PHOBOS_JOB_ID`,
/// `PHOBOS_GRPC_URL` and how to verify its TLS certificate
/// ([`job_env::GRPC_CA_PEM`], [`job_env::GRPC_TLS_DOMAIN`]): nothing of the agent's (or, for an internal agent, the
/// server's) environment reaches a job. The job token is written to its
/// standard input, so it is in no environment. stdout/stderr are shared
/// with the agent.
///
/// Executors outlive the agent: each runs in a process group of its own, so
/// neither a signal to the agent's group (a Ctrl-C at a terminal) nor the
/// agent's death stops it; it finishes its job and reports it.
///
/// The executor's standard input stays open after the token: the agent
/// writes a cancellation there ([`job_control::Cancel`]) when the server
/// asks for one.
#[derive(Debug, Clone)]
pub struct LocalDispatcher {
    executor_path: PathBuf,
    /// The control pipes of the executors still running, by job id.
    running: Arc<Mutex<HashMap<String, ChildStdin>>>,
}

impl LocalDispatcher {
    /// A dispatcher running `executor_path`; a bare name (no `/`) is looked up
    /// in `PATH`.
    pub fn new(executor_path: PathBuf) -> Self {
        Self {
            executor_path,
            running: Arc::default(),
        }
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
            .env_clear()
            .envs(
                job_env::EXECUTOR_INHERITED
                    .iter()
                    .filter_map(|name| std::env::var_os(name).map(|value| (*name, value))),
            )
            .env(job_env::JOB_ID, &job.job_id)
            .env(job_env::GRPC_URL, &job.server_url)
            .envs(
                job.tls
                    .ca_pem
                    .as_ref()
                    .map(|pem| (job_env::GRPC_CA_PEM, pem)),
            )
            .envs(
                job.tls
                    .domain
                    .as_ref()
                    .map(|domain| (job_env::GRPC_TLS_DOMAIN, domain)),
            )
            .envs(job.otel.iter().flat_map(|o| o.to_env()))
            .envs((!job.traceparent.is_empty()).then_some((job_env::TRACEPARENT, &job.traceparent)))
            .stdin(Stdio::piped())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .kill_on_drop(false);
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command.spawn().map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => self.missing(),
            _ => DispatchError::Spawn {
                path: self.executor_path.clone(),
                source,
            },
        })?;
        let pid = child.id();
        if let Some(mut stdin) = child.stdin.take() {
            // A failure shows in the executor, which then exits saying the
            // token is missing (and the job fails for want of a report).
            let token = format!("{}\n", job.job_token);
            match stdin.write_all(token.as_bytes()).await {
                Ok(()) => {
                    self.running.lock().await.insert(job.job_id.clone(), stdin);
                }
                Err(error) => {
                    warn!(pid, %error, "could not hand the job token to the executor")
                }
            }
        }
        info!(pid, executor = %self.executor_path.display(), "job executor started");
        let running = self.running.clone();
        let job_id = job.job_id.clone();
        tokio::spawn(
            async move {
                let status = child.wait().await;
                running.lock().await.remove(&job_id);
                match status {
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

    async fn cancel(&self, job_id: &str, force: bool, grace_seconds: u32) -> bool {
        let mut running = self.running.lock().await;
        let Some(stdin) = running.get_mut(job_id) else {
            return false;
        };
        let line = job_control::Cancel {
            force,
            grace_seconds,
        }
        .line();
        match stdin.write_all(line.as_bytes()).await {
            Ok(()) => stdin.flush().await.is_ok(),
            Err(error) => {
                // It exited meanwhile.
                warn!(%error, "could not pass the cancel to the job executor");
                running.remove(job_id);
                false
            }
        }
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
