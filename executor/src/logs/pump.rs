//! Turns queued log data into numbered chunks.

use phobos_proto::v1::LogChunk;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tonic::Status;
use tracing::debug;

use super::upload::Upload;
use super::{Input, MAX_CHUNK};
use crate::client::JobClient;

/// Sends everything queued on `input` until [`Input::Close`] (or every
/// writer is gone), then ends the call. Returns the log's length.
pub(super) async fn run(
    client: JobClient,
    job_id: String,
    mut input: mpsc::Receiver<Input>,
) -> Result<u64, Status> {
    let mut upload = Upload::open(client);
    let mut offset = 0u64;
    let mut closing = false;
    while !closing {
        let mut batch = match input.recv().await {
            Some(Input::Data(data)) => data,
            Some(Input::Close) | None => break,
        };
        // Coalesce what queued up while the previous chunk was being sent.
        while batch.len() < MAX_CHUNK {
            match input.try_recv() {
                Ok(Input::Data(data)) => batch.extend_from_slice(&data),
                Ok(Input::Close) | Err(TryRecvError::Disconnected) => {
                    closing = true;
                    break;
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        for piece in batch.chunks(MAX_CHUNK) {
            let chunk = LogChunk {
                job_id: job_id.clone(),
                offset,
                data: piece.to_vec(),
            };
            offset += piece.len() as u64;
            upload.send(chunk).await?;
        }
    }
    let stored = upload.finish().await?;
    debug!(
        length = offset,
        stored = stored.bytes_stored,
        "job log complete"
    );
    Ok(offset)
}
