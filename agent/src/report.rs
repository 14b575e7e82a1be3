//! Reporting a job the agent claimed but could not start.

use phobos_proto::v1::job_service_client::JobServiceClient;
use phobos_proto::v1::{JobStatus, SetJobStatusRequest};
use tonic::transport::Channel;
use tracing::{info, warn};

use crate::auth::BearerAuth;

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
