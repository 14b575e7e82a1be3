//! The heartbeat task that keeps a session alive.

use std::time::Duration;

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
    pub(crate) fn start(mut client: AgentClient, session_id: String, interval: Duration) -> Self {
        let task = tokio::spawn(
            async move {
                let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    let request = HeartbeatRequest {
                        session_id: session_id.clone(),
                    };
                    match client.heartbeat(request).await {
                        Ok(_) => debug!("heartbeat sent"),
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
