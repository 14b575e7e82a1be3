//! A request to stop the job, from the agent (a line on standard input after
//! the token, [`job_control::Cancel`]) or from the server (a heartbeat's
//! answer, when the agent could not pass it on).
//!
//! A request only escalates: graceful, then perhaps forced; never back.
//! End of file on standard input means the agent is gone, not "cancel": the
//! job goes on and reports as usual.

use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use phobos_proto::job_control;
use tokio::sync::watch;
use tracing::{info, warn};

/// How to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    /// SIGKILL at once; the server has canceled the job already and
    /// refuses further reports.
    pub force: bool,
    /// Otherwise: SIGTERM, then SIGKILL after this.
    pub grace: Duration,
}

/// Whether, and how, the job must stop. Cheap to clone.
#[derive(Clone)]
pub struct Cancel {
    tx: Arc<watch::Sender<Option<Stop>>>,
    rx: watch::Receiver<Option<Stop>>,
}

impl Cancel {
    /// No request yet, and none will come but through [`request`](Self::request).
    pub fn new() -> Self {
        let (tx, rx) = watch::channel(None);
        Cancel {
            tx: Arc::new(tx),
            rx,
        }
    }

    /// Also reads requests from standard input (the agent's control pipe),
    /// on a thread of its own.
    pub fn listen_on_stdin(&self) {
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("job-control".into())
            .spawn(move || {
                // The token line was read from the same buffered stdin.
                for line in std::io::stdin().lock().lines() {
                    let Ok(line) = line else { return };
                    match job_control::Cancel::parse(&line) {
                        Some(c) => me.request(Stop {
                            force: c.force,
                            grace: Duration::from_secs(c.grace_seconds.into()),
                        }),
                        None => warn!("ignored a line on the control pipe that is not a request"),
                    }
                }
            });
        if let Err(e) = spawned {
            warn!("cannot read cancel requests from the agent: {e}; heartbeats still bring them");
        }
    }

    /// Asks the job to stop; a forced request replaces a graceful one.
    pub fn request(&self, stop: Stop) {
        self.tx.send_if_modified(|current| match current {
            Some(c) if c.force || !stop.force => false,
            _ => {
                info!(force = stop.force, grace = ?stop.grace, "cancel requested");
                *current = Some(stop);
                true
            }
        });
    }

    /// The request so far.
    pub fn current(&self) -> Option<Stop> {
        *self.rx.borrow()
    }

    /// Resolves with the first request (at once if there is one).
    pub async fn requested(&mut self) -> Stop {
        match self.rx.wait_for(Option::is_some).await {
            Ok(stop) => stop.unwrap_or(Stop {
                force: true,
                grace: Duration::ZERO,
            }),
            Err(_) => std::future::pending().await,
        }
    }

    /// Resolves once the request is forced.
    pub async fn forced(&mut self) {
        if self
            .rx
            .wait_for(|s| s.is_some_and(|s| s.force))
            .await
            .is_err()
        {
            std::future::pending::<()>().await
        }
    }
}
