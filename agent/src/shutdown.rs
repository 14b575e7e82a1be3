//! Racing the agent's work against the caller's shutdown future.

use std::future::Future;
use std::pin::Pin;

/// The shutdown future given to [`crate::run`], polled only until it
/// resolves once.
pub(crate) struct Shutdown<'a, F> {
    signal: Pin<&'a mut F>,
    fired: bool,
}

impl<'a, F: Future<Output = ()>> Shutdown<'a, F> {
    pub(crate) fn new(signal: Pin<&'a mut F>) -> Self {
        Self {
            signal,
            fired: false,
        }
    }

    /// Runs `work` unless shutdown resolves first: `None` means "shut down"
    /// (and `work` was dropped). Once shutdown has resolved, always `None`.
    pub(crate) async fn race<T>(&mut self, work: impl Future<Output = T>) -> Option<T> {
        if self.fired {
            return None;
        }
        tokio::select! {
            biased;
            () = self.signal.as_mut() => {
                self.fired = true;
                None
            }
            value = work => Some(value),
        }
    }
}
