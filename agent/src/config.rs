//! What an agent needs to know to run: where the server is, who it is and how
//! it starts job executors.

use std::fmt;
use std::path::PathBuf;

pub use phobos_proto::ServerTrust;

/// The configuration of one agent (see [`crate::run`]).
#[derive(Clone)]
pub struct AgentConfig {
    /// The server's gRPC endpoint, e.g. `http://127.0.0.1:9010`, or
    /// `https://…` for a server with TLS.
    pub server_url: String,
    /// How an `https://` server's certificate is verified (the agent's
    /// executors verify it the same way).
    pub tls: ServerTrust,
    /// The agent's credential (from `createAgentToken`, or minted by the
    /// server for its internal agents), sent as `authorization: Bearer <token>` on
    /// every call. It never appears in errors, logs or `Debug` output.
    /// Unused (leave it empty) when `service_account` is set.
    pub token: String,
    /// Sign in as this service account instead (organization agents whose
    /// Owner assigned the account with `assignServiceAccountToAgent`).
    pub service_account: Option<ServiceAccountLogin>,
    /// The agent's name; it must be the name of the agent its credential
    /// belongs to (or the session is refused).
    pub name: String,
    /// The tags this agent expects to have. The server decides from the
    /// agent resource (`createAgent`/`updateAgent`): when this is not empty
    /// and differs, the session is refused, so a misconfigured agent says
    /// so.
    pub tags: Vec<String>,
    /// True when the server runs this agent itself (informational: the
    /// server knows its internal agents by their credential).
    pub internal: bool,
    /// How claimed jobs are started.
    pub dispatcher: DispatcherConfig,
    /// A file the agent writes the time of each accepted heartbeat to (Unix
    /// seconds), for a container health check; None: no file.
    pub health_file: Option<PathBuf>,
    /// Where the agent's executors export their spans (the agent's own go
    /// wherever its process's subscriber sends them); None: nowhere.
    pub otel: Option<phobos_telemetry::OtelSettings>,
}

impl fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentConfig")
            .field("server_url", &self.server_url)
            .field("tls", &self.tls)
            .field("token", &"<redacted>")
            .field("service_account", &self.service_account)
            .field("name", &self.name)
            .field("tags", &self.tags)
            .field("internal", &self.internal)
            .field("dispatcher", &self.dispatcher)
            .field("health_file", &self.health_file)
            .field("otel", &self.otel)
            .finish()
    }
}

/// How an organization agent signs in as its service account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountLogin {
    /// The service account: `ORG/NAME` (or its PRN).
    pub path: String,
    /// A file holding an OIDC token that one of the account's trust
    /// policies accepts; read again at every renewal, so whatever renews
    /// it (e.g. Kubernetes) keeps the agent signed in.
    pub token_file: PathBuf,
}

/// How an agent starts the executor of a claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispatcherConfig {
    /// Run `executor_path` (the `phobos-job-executor` binary) as a child
    /// process on this machine.
    Local {
        /// The executor binary. A bare name (no `/`) is looked up in `PATH`.
        executor_path: PathBuf,
    },
}
