//! Why an agent stopped.

use crate::dispatch::DispatchError;

/// An error that stops [`crate::run`]. Transient problems (the server not up
/// yet, a dropped job stream, an expired session) are retried and never end up
/// here. No variant ever contains the agent token.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// `server_url` is not a usable gRPC endpoint.
    #[error("invalid server URL {url:?}: {reason}; give the server's gRPC endpoint, e.g. http://127.0.0.1:9010")]
    InvalidServerUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The token cannot be sent (it is empty or not printable ASCII).
    #[error("the agent token {0}; pass the Phobos access token issued for this agent")]
    InvalidToken(&'static str),
    /// The agent's name cannot be sent as gRPC metadata.
    #[error("the agent name {0:?} cannot be sent as gRPC metadata: use printable ASCII")]
    InvalidName(String),
    /// The service account's OIDC token could not be read.
    #[error("{0}")]
    ServiceAccountToken(String),
    /// The server would not exchange the OIDC token for one of the service
    /// account.
    #[error("the server refused to sign in as service account {service_account:?} ({code:?}: {message}); check the account's trust policies and the OIDC token file")]
    SignInRefused {
        /// The account's path.
        service_account: String,
        /// The gRPC status code returned.
        code: tonic::Code,
        /// The server's message.
        message: String,
    },
    /// The server refused to open a session (bad token, missing permission,
    /// invalid name or tags). Retrying would not help.
    #[error("the server refused to open a session for agent {agent:?} ({code:?}: {message}); check the agent token and the agent name and tags")]
    SessionRefused {
        /// The agent name sent.
        agent: String,
        /// The gRPC status code returned.
        code: tonic::Code,
        /// The server's message.
        message: String,
    },
    /// The dispatcher cannot start executors (e.g. the executor binary is missing).
    #[error("the agent cannot start jobs: {0}")]
    Dispatcher(#[from] DispatchError),
}
