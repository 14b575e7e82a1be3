//! The job log: everything written to a [`LogWriter`] is streamed to the
//! server through one client-streaming `WriteLogs` call, as it is written.
//!
//! A pump task takes what the writers queue, coalesces whatever has queued up
//! meanwhile (at most [`MAX_CHUNK`] bytes per chunk), numbers each chunk with
//! its byte offset in the job log, and sends it at once. If the call fails
//! because the server is unavailable, a new call re-sends the log from the
//! start (the server stores a chunk sent twice once).

mod pump;
mod upload;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::client::JobClient;

/// The largest chunk sent.
pub const MAX_CHUNK: usize = 64 * 1024;

/// What writers queue for the pump.
enum Input {
    Data(Vec<u8>),
    Close,
}

/// Appends to the job log. Cheap to clone.
#[derive(Clone)]
pub struct LogWriter {
    tx: mpsc::Sender<Input>,
}

impl LogWriter {
    /// Queues `data` for the log; waits while the queue is full. Returns
    /// false when the log stream has failed (the data is then dropped).
    pub async fn write(&self, data: impl Into<Vec<u8>>) -> bool {
        let data = data.into();
        data.is_empty() || self.tx.send(Input::Data(data)).await.is_ok()
    }
}

/// The job's log stream.
pub struct LogStream {
    tx: mpsc::Sender<Input>,
    pump: JoinHandle<Result<u64, tonic::Status>>,
}

impl LogStream {
    /// Opens the `WriteLogs` call for `job_id`.
    pub fn open(client: JobClient, job_id: String) -> Self {
        let (tx, rx) = mpsc::channel(64);
        let pump = tokio::spawn(pump::run(client, job_id, rx).in_current_span());
        Self { tx, pump }
    }

    pub fn writer(&self) -> LogWriter {
        LogWriter {
            tx: self.tx.clone(),
        }
    }

    /// Sends what is queued, ends the call and waits for the server's answer:
    /// once this returns `Ok`, the whole log is stored. Returns the log's
    /// length. Anything written after this is dropped.
    pub async fn close(self) -> anyhow::Result<u64> {
        // Fails only when the pump has already stopped; its result says why.
        let _ = self.tx.send(Input::Close).await;
        drop(self.tx);
        let length = self
            .pump
            .await
            .context("the log stream task failed")?
            .map_err(|status| anyhow::anyhow!("{:?}: {}", status.code(), status.message()))?;
        Ok(length)
    }
}
