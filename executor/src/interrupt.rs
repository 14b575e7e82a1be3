//! SIGINT and SIGTERM: stop the running action and report the job FAILED
//! instead of leaving it RUNNING forever.

use tokio::sync::watch;
use tracing::warn;

/// Which termination signal arrived, if any.
pub struct Interrupt {
    received: watch::Receiver<Option<&'static str>>,
}

impl Interrupt {
    /// Starts listening for SIGINT and SIGTERM. From then on they no longer
    /// end the process at once: the job is wound down and reported instead.
    pub fn install() -> Self {
        let (tx, received) = watch::channel(None);
        tokio::spawn(async move {
            let name = wait_for_signal().await;
            warn!(signal = name, "stopping the job");
            let _ = tx.send(Some(name));
        });
        Self { received }
    }

    /// The signal received so far.
    pub fn received(&self) -> Option<&'static str> {
        *self.received.borrow()
    }

    /// Resolves with the signal's name once one arrives.
    pub async fn wait(&mut self) -> &'static str {
        match self.received.wait_for(Option::is_some).await {
            Ok(name) => name.unwrap_or("a signal"),
            // The listener is gone (it could not be installed): never resolve.
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        warn!("cannot listen for SIGINT/SIGTERM; they will end the executor at once");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    match tokio::signal::ctrl_c().await {
        Ok(()) => "Ctrl-C",
        Err(_) => std::future::pending().await,
    }
}
