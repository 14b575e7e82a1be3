//! The heartbeat task that keeps a session alive.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use phobos_proto::v1::HeartbeatRequest;
use tokio::task::JoinHandle;
use tonic::Code;
use tracing::{debug, warn, Instrument};

use crate::connect::AgentClient;

/// Sends a heartbeat every interval while it lives; stopped when dropped.
/// The task ends by itself only when the server says the session is gone.
pub(crate) struct Heartbeat {
    task: JoinHandle<()>,
}

impl Heartbeat {
    /// `health_file`: written with the time of each accepted heartbeat
    /// (and now, when the session has just opened).
    pub(crate) fn start(
        mut client: AgentClient,
        session_id: String,
        interval: Duration,
        health_file: Option<PathBuf>,
    ) -> Self {
        let task = tokio::spawn(
            async move {
                mark_alive(health_file.as_deref()).await;
                let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    let request = HeartbeatRequest {
                        session_id: session_id.clone(),
                    };
                    match client.heartbeat(request).await {
                        Ok(_) => {
                            debug!("heartbeat sent");
                            mark_alive(health_file.as_deref()).await;
                        }
                        Err(status) if session_gone(status.code()) => {
                            warn!(code = ?status.code(), error = status.message(), "the server no longer accepts this session");
                            return;
                        }
                        Err(status) => {
                            warn!(code = ?status.code(), error = status.message(), "heartbeat failed; trying again at the next interval");
                        }
                    }
                }
            }
            .in_current_span(),
        );
        Self { task }
    }

    /// Resolves when the server has dropped the session. Do not call again
    /// after it has resolved.
    pub(crate) async fn lost(&mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Heartbeat answers meaning the session must be re-created.
fn session_gone(code: Code) -> bool {
    matches!(
        code,
        Code::NotFound | Code::FailedPrecondition | Code::Unauthenticated | Code::PermissionDenied
    )
}

/// Writes the time now to the health file, if there is one. A failure is
/// logged (the health check will then say the agent is unhealthy).
async fn mark_alive(file: Option<&Path>) {
    let Some(file) = file else { return };
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    // Written aside and renamed, so a reader never sees it half-written.
    let aside = file.with_extension("writing");
    let written = async {
        tokio::fs::write(&aside, format!("{now}\n")).await?;
        tokio::fs::rename(&aside, file).await
    };
    if let Err(e) = written.await {
        warn!(file = %file.display(), error = %e, "cannot write the health file");
    }
}
