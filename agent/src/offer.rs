//! Handling one job offer: claim it, then hand it to the dispatcher.

use phobos_proto::v1::{ClaimJobRequest, JobOffer};
use tonic::Code;
use tracing::{error, info, info_span, warn, Instrument};

use crate::dispatch::JobLaunch;
use crate::report::report_launch_failure;
use crate::run::Agent;

impl Agent {
    /// Claims `offer` and, if this agent got it, launches its executor. Runs
    /// to the end even when shutdown is requested meanwhile, so a claimed job
    /// is never left without an executor.
    /// The server asks that a job this agent claimed stop.
    pub(crate) async fn handle_cancel(&self, cancel: phobos_proto::v1::JobCancellation) {
        let span = info_span!("job", job_id = %cancel.job_id);
        async {
            let passed = self
                .dispatcher
                .cancel(&cancel.job_id, cancel.force, cancel.grace_seconds)
                .await;
            if passed {
                info!(
                    force = cancel.force,
                    grace_seconds = cancel.grace_seconds,
                    "job cancel passed to its executor"
                );
            } else {
                // Started before this agent process (or already ended): its
                // executor learns it from its heartbeat's answer.
                info!("job cancel: no executor of this agent runs it");
            }
        }
        .instrument(span)
        .await
    }

    pub(crate) async fn handle_offer(&self, offer: JobOffer, session_id: &str) {
        let span = info_span!("job", otel.name = "agent job", job_id = %offer.job_id);
        phobos_telemetry::set_parent_traceparent(&span, &offer.traceparent);
        let traceparent = phobos_telemetry::traceparent(&span).unwrap_or_default();
        async {
            info!(pipeline_id = %offer.pipeline_id, node_path = %offer.node_path, tags = ?offer.tags, "job offered");
            let request = ClaimJobRequest {
                session_id: session_id.to_owned(),
                job_id: offer.job_id.clone(),
            };
            let claim = match self.client.clone().claim_job(request).await {
                Ok(response) => response.into_inner(),
                Err(status) if status.code() == Code::FailedPrecondition => {
                    info!(error = status.message(), "job no longer claimable");
                    return;
                }
                Err(status) => {
                    warn!(code = ?status.code(), error = status.message(), "could not claim the job; the server offers it again while it is unclaimed");
                    let message = format!(
                        "could not claim job {} ({:?}): {}",
                        offer.job_id,
                        status.code(),
                        status.message()
                    );
                    self.report_session_error(session_id, message).await;
                    return;
                }
            };
            if !claim.claimed {
                info!("job claimed by another agent");
                return;
            }
            info!("job claimed");
            let launch = JobLaunch {
                job_id: offer.job_id.clone(),
                job_token: claim.job_token,
                server_url: self.config.server_url.clone(),
                tls: self.config.tls.clone(),
                otel: self.config.otel.clone(),
                traceparent,
            };
            let job_token = launch.job_token.clone();
            if let Err(failure) = self.dispatcher.launch(launch).await {
                error!(%failure, "could not start the job executor");
                let message = format!(
                    "agent {:?} could not start the job executor: {failure}",
                    self.config.name
                );
                report_launch_failure(&self.channel, &offer.job_id, &job_token, message).await;
                let message = format!("job {}: could not start the job executor: {failure}", offer.job_id);
                self.report_session_error(session_id, message).await;
            }
        }
        .instrument(span)
        .await
    }
}
