//! What each background worker (log follower, reaper …) is doing, for
//! `/readyz`, and the supervisor that restarts a worker that fails or
//! panics, with backoff, instead of letting it stop in silence.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tracing::Instrument;

use crate::log::Position;

/// The last failure of a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerError {
    pub message: String,
    /// For a log follower: the checkpoint it is stuck after (the failing
    /// event is the next one).
    pub after: Option<Position>,
    pub at: DateTime<Utc>,
}

/// One worker's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerState {
    /// For a log follower: where it has got to.
    pub position: Option<Position>,
    /// Set while its last attempt failed; cleared by the next success.
    pub failing: bool,
    pub last_error: Option<WorkerError>,
    /// How often it was restarted after it stopped or panicked.
    pub restarts: u32,
}

/// Every worker's state, by name.
#[derive(Debug, Default)]
pub struct Health(Mutex<BTreeMap<String, WorkerState>>);

impl Health {
    fn with(&self, name: &str, f: impl FnOnce(&mut WorkerState)) {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(all.entry(name.to_owned()).or_default());
    }

    /// `name` is running (registers it).
    pub fn started(&self, name: &str) {
        self.with(name, |_| {});
    }

    /// `name` succeeded, reaching `position` if it follows the log.
    pub fn progressed(&self, name: &str, position: Option<Position>) {
        self.with(name, |s| {
            s.failing = false;
            if position.is_some() {
                s.position = position;
            }
        });
    }

    /// `name` failed; it will try again.
    pub fn failed(&self, name: &str, message: String, after: Option<Position>) {
        self.with(name, |s| {
            s.failing = true;
            s.last_error = Some(WorkerError {
                message,
                after,
                at: Utc::now(),
            });
        });
    }

    fn restarted(&self, name: &str) {
        self.with(name, |s| s.restarts += 1);
    }

    /// Every worker's state now.
    pub fn snapshot(&self) -> BTreeMap<String, WorkerState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

const FIRST_RESTART: Duration = Duration::from_millis(200);
const MAX_RESTART: Duration = Duration::from_secs(30);

/// Runs the worker `start` makes, and starts it again (after a backoff of
/// 200 ms doubling to 30 s) whenever it returns an error or panics, until
/// `stop` turns true. A worker that returns `Ok` has stopped for good.
pub async fn supervise<F, Fut>(
    name: &str,
    health: Arc<Health>,
    mut stop: watch::Receiver<bool>,
    mut start: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    health.started(name);
    let mut delay = FIRST_RESTART;
    loop {
        let span = tracing::info_span!("worker", name);
        let outcome = tokio::spawn(start().instrument(span)).await;
        let message = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(join) if join.is_panic() => {
                let payload = join.into_panic();
                let text = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into());
                format!("panicked: {text}")
            }
            Err(join) => format!("was cancelled: {join}"),
        };
        if *stop.borrow() {
            return;
        }
        tracing::error!(worker = name, error = %message, retry_in = ?delay, "worker stopped; restarting it");
        health.failed(name, message, None);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
        health.restarted(name);
        delay = (delay * 2).min(MAX_RESTART);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_worker_that_panics_or_fails_is_restarted_and_seen() {
        let health = Arc::new(Health::default());
        let (_stop_tx, stop) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        supervise("flaky", health.clone(), stop, move || {
            let n = r.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => panic!("boom at event 7"),
                    1 => Err("cannot handle event 8".to_string()),
                    _ => Ok(()),
                }
            }
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        let state = &health.snapshot()["flaky"];
        assert_eq!(state.restarts, 2);
        assert_eq!(
            state.last_error.as_ref().unwrap().message,
            "cannot handle event 8"
        );
    }
}
