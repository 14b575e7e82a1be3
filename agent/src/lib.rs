//! The Phobos agent: opens a session with the server, keeps it alive with
//! heartbeats, takes the job offers the server streams to it, claims them and
//! hands every claimed job to a [`dispatch::Dispatcher`], which starts a job
//! executor for it.
//!
//! The `phobos-agent` binary is a thin command line around [`run`]; the server
//! embeds the same [`run`] for its internal agents.
//!
//! ```no_run
//! # async fn example() -> Result<(), phobos_agent::AgentError> {
//! use phobos_agent::{AgentConfig, DispatcherConfig};
//! let config = AgentConfig {
//!     server_url: "http://127.0.0.1:9010".into(),
//!     tls: Default::default(),
//!     token: "…".into(),
//!     service_account: None,
//!     name: "builder-1".into(),
//!     tags: vec!["linux".into()],
//!     internal: false,
//!     dispatcher: DispatcherConfig::Local {
//!         executor_path: "/usr/local/bin/phobos-job-executor".into(),
//!     },
//!     health_file: None,
//!     otel: None,
//! };
//! phobos_agent::run(config, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

mod auth;
mod backoff;
mod config;
mod connect;
pub mod dispatch;
mod error;
mod harden;
mod heartbeat;
mod offer;
mod report;
mod run;
mod session;
mod shutdown;
mod sign_in;

pub use config::{AgentConfig, DispatcherConfig, ServerTrust, ServiceAccountLogin};
pub use error::AgentError;
pub use harden::deny_inspection;
pub use run::run;
