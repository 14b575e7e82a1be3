//! The `WriteLogs` call itself, re-opened when the server was unavailable.

use std::collections::VecDeque;

use phobos_proto::v1::{LogChunk, WriteLogsResponse};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use tracing::{warn, Instrument};

use crate::client::JobClient;
use crate::retry;

/// How much of the log is kept for re-sending after a failed call.
const REPLAY_LIMIT: usize = 16 * 1024 * 1024;

/// One `WriteLogs` call: chunks go in through `tx`, the answer comes out of
/// `response` once `tx` is dropped.
struct Call {
    tx: mpsc::Sender<LogChunk>,
    response: JoinHandle<Result<WriteLogsResponse, Status>>,
}

impl Call {
    fn open(client: &JobClient) -> Self {
        let (tx, rx) = mpsc::channel(16);
        let mut client = client.clone();
        let response = tokio::spawn(
            async move {
                client
                    .write_logs(ReceiverStream::new(rx))
                    .await
                    .map(|response| response.into_inner())
            }
            .in_current_span(),
        );
        Self { tx, response }
    }

    /// Queues `chunk` on the call; fails with the call's status once the call
    /// has ended.
    async fn send(&mut self, chunk: LogChunk) -> Result<(), Status> {
        tokio::select! {
            sent = self.tx.send(chunk) => match sent {
                Ok(()) => Ok(()),
                Err(_) => Err(ended_early((&mut self.response).await)),
            },
            ended = &mut self.response => Err(ended_early(ended)),
        }
    }

    /// Ends the request stream and waits for the server's answer.
    async fn finish(self) -> Result<WriteLogsResponse, Status> {
        drop(self.tx);
        self.response
            .await
            .map_err(|e| Status::internal(format!("the log upload task failed: {e}")))?
    }
}

/// The status of a call that ended before the executor finished it.
fn ended_early(ended: Result<Result<WriteLogsResponse, Status>, tokio::task::JoinError>) -> Status {
    match ended {
        Ok(Err(status)) => status,
        Ok(Ok(_)) => {
            Status::aborted("the server ended the log stream before the job's log was complete")
        }
        Err(e) => Status::internal(format!("the log upload task failed: {e}")),
    }
}

/// The job's log upload: the current call plus what has been sent, for
/// re-sending on a new call.
pub(super) struct Upload {
    client: JobClient,
    call: Option<Call>,
    replay: VecDeque<LogChunk>,
    replay_bytes: usize,
    replay_truncated: bool,
    reopenings: u32,
}

impl Upload {
    pub(super) fn open(client: JobClient) -> Self {
        let call = Some(Call::open(&client));
        Self {
            client,
            call,
            replay: VecDeque::new(),
            replay_bytes: 0,
            replay_truncated: false,
            reopenings: 0,
        }
    }

    pub(super) async fn send(&mut self, chunk: LogChunk) -> Result<(), Status> {
        self.keep(chunk.clone());
        let call = self.call.as_mut().expect("a call is open until finish");
        if let Err(status) = call.send(chunk).await {
            // Re-opening re-sends everything kept, this chunk included.
            self.reopen(status).await?;
        }
        Ok(())
    }

    /// Ends the call and waits until the server has stored the log.
    pub(super) async fn finish(mut self) -> Result<WriteLogsResponse, Status> {
        loop {
            let call = self.call.take().expect("a call is open until finish");
            match call.finish().await {
                Ok(response) => return Ok(response),
                Err(status) => self.reopen(status).await?,
            }
        }
    }

    fn keep(&mut self, chunk: LogChunk) {
        self.replay_bytes += chunk.data.len();
        self.replay.push_back(chunk);
        while self.replay_bytes > REPLAY_LIMIT {
            let Some(oldest) = self.replay.pop_front() else {
                break;
            };
            self.replay_bytes -= oldest.data.len();
            self.replay_truncated = true;
        }
    }

    /// After `status` ended the call: if it is transient and retries are
    /// left, waits, opens a new call and re-sends the kept log on it.
    async fn reopen(&mut self, mut status: Status) -> Result<(), Status> {
        loop {
            if !retry::is_transient(&status) || !retry::may_retry(self.reopenings + 1) {
                return Err(status);
            }
            self.reopenings += 1;
            let delay = retry::delay(self.reopenings);
            warn!(
                attempt = self.reopenings,
                ?delay,
                error = status.message(),
                "the log stream failed; re-sending the log on a new stream"
            );
            if self.replay_truncated {
                warn!(
                    kept_bytes = self.replay_bytes,
                    "only the end of the log is kept for re-sending; earlier output may be missing"
                );
            }
            tokio::time::sleep(delay).await;
            let mut call = Call::open(&self.client);
            let mut resent = Ok(());
            for chunk in &self.replay {
                resent = call.send(chunk.clone()).await;
                if resent.is_err() {
                    break;
                }
            }
            match resent {
                Ok(()) => {
                    self.call = Some(call);
                    return Ok(());
                }
                Err(failed) => status = failed,
            }
        }
    }
}
