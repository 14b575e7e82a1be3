//! The gRPC channel to the server: checking the URL and waiting for the
//! server to come up.

use phobos_proto::v1::agent_service_client::AgentServiceClient;
use phobos_proto::ServerTrust;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tracing::{info, warn};

use crate::auth::BearerAuth;
use crate::backoff::Backoff;
use crate::error::AgentError;

/// An `AgentService` client that sends the agent token on every call.
pub(crate) type AgentClient = AgentServiceClient<InterceptedService<Channel, BearerAuth>>;

/// Checks `url` and prepares the endpoint: `http://`, or `https://`
/// verified with `trust` (see [`phobos_proto::endpoint`]).
pub(crate) fn endpoint(url: &str, trust: &ServerTrust) -> Result<Endpoint, AgentError> {
    phobos_proto::endpoint(url, trust).map_err(|e| AgentError::InvalidServerUrl {
        url: url.to_owned(),
        reason: e.0,
    })
}

/// Connects to the server, retrying with backoff until it is up. Never gives
/// up on its own: the caller races it against shutdown. (Once connected, the
/// channel reconnects by itself.)
pub(crate) async fn connect(endpoint: &Endpoint) -> Channel {
    let mut backoff = Backoff::new();
    let mut attempts = 0u32;
    loop {
        match endpoint.connect().await {
            Ok(channel) => {
                info!(server = %endpoint.uri(), "connected to the Phobos server");
                return channel;
            }
            Err(error) => {
                let error = describe(&error);
                attempts += 1;
                let delay = backoff.next_delay();
                if attempts == 1 {
                    info!(server = %endpoint.uri(), %error, ?delay, "the Phobos server is not reachable yet; retrying");
                } else {
                    warn!(server = %endpoint.uri(), %error, attempts, ?delay, "still cannot reach the Phobos server; is it running at this address?");
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// `error` with its causes, e.g. `transport error: tcp connect error: Connection refused`.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https_and_explains_bad_urls() {
        let trust = ServerTrust::default();
        assert!(endpoint("http://127.0.0.1:9010", &trust).is_ok());
        assert!(endpoint("https://phobos.example:9010", &trust).is_ok());
        for (url, part) in [
            ("ftp://x", "unsupported scheme"),
            ("127.0.0.1:9010", "invalid server URL"),
            ("not a url", "invalid server URL"),
        ] {
            let message = endpoint(url, &trust).unwrap_err().to_string();
            assert!(message.contains(part), "{url}: {message}");
            assert!(message.contains("http://127.0.0.1:9010"), "{message}");
        }
    }
}
