//! Reporting what went wrong: a job the agent claimed but could not start,
//! and the session's errors, which the server shows with the session.

use phobos_proto::v1::job_service_client::JobServiceClient;
use phobos_proto::v1::{JobStatus, ReportSessionErrorRequest, SetJobStatusRequest};
use tonic::transport::Channel;
use tracing::{info, warn};

use crate::auth::BearerAuth;
use crate::run::Agent;

impl Agent {
    /// Records `message` with session `session_id` on the server, where its
    /// operators see it (the agents page). Best effort: a refusal is
    /// logged. `message` must not hold a secret (no job token goes in one).
    pub(crate) async fn report_session_error(&self, session_id: &str, message: String) {
        let request = ReportSessionErrorRequest {
            session_id: session_id.to_owned(),
            message,
        };
        if let Err(status) = self.client.clone().report_session_error(request).await {
            warn!(code = ?status.code(), error = status.message(), "could not report the error to the server");
        }
    }
}

/// Marks the job FAILED with `message`, using its job token (as its executor
/// would have), so a claimed job whose executor never started does not stay
/// claimed forever. Best effort: problems are logged.
pub(crate) async fn report_launch_failure(
    channel: &Channel,
    job_id: &str,
    job_token: &str,
    message: String,
) {
    let auth = match BearerAuth::new(job_token) {
        Ok(auth) => auth,
        Err(error) => {
            warn!(%error, "cannot report the job as failed: the server sent an unusable job token");
            return;
        }
    };
    let mut client = JobServiceClient::with_interceptor(channel.clone(), auth);
    let request = SetJobStatusRequest {
        job_id: job_id.to_owned(),
        status: JobStatus::Failed.into(),
        message,
        // No executor ran, so nothing was written and nothing will be.
        log_bytes: Some(0),
    };
    match client.set_job_status(request).await {
        Ok(_) => info!("job reported as failed"),
        Err(status) => {
            warn!(code = ?status.code(), error = status.message(), "could not report the job as failed")
        }
    }
}
