//! The `JobService` client.

use std::time::Duration;

use anyhow::{bail, Context};
use phobos_proto::v1::job_service_client::JobServiceClient;
use tonic::codegen::http::Uri;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::auth::BearerAuth;
use crate::env::{JobEnv, GRPC_URL, JOB_TOKEN};

/// A `JobService` client that sends the job token on every call.
pub type JobClient = JobServiceClient<InterceptedService<Channel, BearerAuth>>;

/// A client for `env.grpc_url`. The channel connects on first use (and
/// reconnects by itself); connection problems surface as `Unavailable`.
pub fn connect(env: &JobEnv) -> anyhow::Result<JobClient> {
    let uri: Uri = env
        .grpc_url
        .parse()
        .with_context(|| format!("{GRPC_URL} {:?} is not a valid URL", env.grpc_url))?;
    match uri.scheme_str() {
        Some("http") if uri.host().is_some() => {}
        _ => bail!(
            "{GRPC_URL} {:?} must be an http:// URL with a host, e.g. http://127.0.0.1:9010",
            env.grpc_url
        ),
    }
    let auth = BearerAuth::new(&env.job_token).with_context(|| {
        format!("{JOB_TOKEN} cannot be sent as gRPC metadata (it must be printable ASCII)")
    })?;
    let channel = Endpoint::from(uri)
        .connect_timeout(Duration::from_secs(5))
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true)
        .connect_lazy();
    Ok(JobServiceClient::with_interceptor(channel, auth))
}
