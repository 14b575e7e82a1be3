//! The `JobService` client.

use anyhow::{anyhow, Context};
use phobos_proto::v1::job_service_client::JobServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::auth::BearerAuth;
use crate::env::{JobEnv, GRPC_URL, JOB_TOKEN};

/// A `JobService` client that sends the job token on every call.
pub type JobClient = JobServiceClient<InterceptedService<Channel, BearerAuth>>;

/// A client for `env.grpc_url`. The channel connects on first use (and
/// reconnects by itself); connection problems surface as `Unavailable`.
pub fn connect(env: &JobEnv) -> anyhow::Result<JobClient> {
    let endpoint = phobos_proto::endpoint(&env.grpc_url, &env.tls).map_err(|e| {
        anyhow!(
            "{GRPC_URL} {:?} cannot be used ({e}); it must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:9010",
            env.grpc_url
        )
    })?;
    let auth = BearerAuth::new(&env.job_token).with_context(|| {
        format!("{JOB_TOKEN} cannot be sent as gRPC metadata (it must be printable ASCII)")
    })?;
    let channel = endpoint.connect_lazy();
    Ok(JobServiceClient::with_interceptor(channel, auth))
}
