//! `phobos-agent`: takes job offers from a Phobos server and starts a
//! `phobos-job-executor` process for every job it claims.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use phobos_agent::{AgentConfig, DispatcherConfig};
use tracing::info;

/// Runs Phobos jobs: takes job offers from the server and starts a job
/// executor for each job it claims. SIGINT (Ctrl-C) or SIGTERM stops taking
/// offers; the agent does not stop executors it has started.
///
/// Traces: PHOBOS_OTEL_TRACE_ENABLED=true exports the agent's spans (and
/// its executors') to the OpenTelemetry collector at PHOBOS_OTEL_TRACE_HOST
/// and PHOBOS_OTEL_TRACE_PORT (4317), in PHOBOS_OTEL_TRACE_TYPE's id format
/// (otlp or xray), as the server does.
#[derive(Debug, Parser)]
#[command(name = "phobos-agent", version)]
struct Args {
    /// The server's gRPC endpoint.
    #[arg(
        long,
        env = "PHOBOS_AGENT_SERVER_URL",
        default_value = "http://127.0.0.1:9010"
    )]
    server_url: String,

    /// PEM certificates to verify an https:// server with, instead of the
    /// machine's root certificates (a private CA, or the server's own
    /// self-signed certificate).
    #[arg(long, env = "PHOBOS_AGENT_CA_FILE")]
    ca_file: Option<PathBuf>,

    /// The name the server's certificate is checked against, when it is not
    /// the host of --server-url.
    #[arg(long, env = "PHOBOS_AGENT_TLS_DOMAIN")]
    tls_domain: Option<String>,

    /// The agent's credential, from the `createAgentToken` mutation (or
    /// sign in as a service account with the two options below).
    #[arg(
        long,
        env = "PHOBOS_AGENT_TOKEN",
        hide_env_values = true,
        required_unless_present = "service_account_path",
        conflicts_with = "service_account_path"
    )]
    token: Option<String>,

    /// Sign in as this service account (ORG/NAME), which an Owner assigned
    /// to the agent with assignServiceAccountToAgent.
    #[arg(
        long,
        env = "PHOBOS_AGENT_SERVICE_ACCOUNT_PATH",
        requires = "service_account_token_file"
    )]
    service_account_path: Option<String>,

    /// A file holding an OIDC token one of the service account's trust
    /// policies accepts; read again at each renewal.
    #[arg(
        long,
        env = "PHOBOS_AGENT_SERVICE_ACCOUNT_TOKEN_FILE",
        requires = "service_account_path"
    )]
    service_account_token_file: Option<PathBuf>,

    /// The agent's name [default: the host name].
    #[arg(long, env = "PHOBOS_AGENT_NAME")]
    name: Option<String>,

    /// A tag this agent expects to have; repeat for several (the environment
    /// variable takes a comma-separated list). The agent's tags are set on
    /// the server (createAgent, updateAgent); a list given here that differs
    /// is refused.
    #[arg(
        long = "tag",
        value_name = "TAG",
        env = "PHOBOS_AGENT_TAGS",
        value_delimiter = ','
    )]
    tags: Vec<String>,

    /// The job executor binary [default: `phobos-job-executor` next to this binary].
    #[arg(long)]
    executor_path: Option<PathBuf>,

    /// Write the time of each accepted heartbeat (Unix seconds) to this
    /// file, for a container health check.
    #[arg(long, env = "PHOBOS_AGENT_HEALTH_FILE")]
    health_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    phobos_agent::deny_inspection();
    let args = Args::parse();
    // PHOBOS_OTEL_TRACE_*, as the server reads them; passed on to executors.
    let otel = phobos_telemetry::OtelSettings::read(|k| std::env::var(k).ok())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let telemetry = phobos_telemetry::init(
        "phobos-agent",
        "info",
        phobos_telemetry::LogTarget::Stdout,
        otel.as_ref(),
    )?;
    let executor_path = match args.executor_path {
        Some(path) => path,
        None => std::env::current_exe()
            .context("cannot find this binary's location to look for phobos-job-executor next to it; pass --executor-path")?
            .with_file_name("phobos-job-executor"),
    };
    let ca_pem = match &args.ca_file {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| {
            format!(
                "--ca-file (PHOBOS_AGENT_CA_FILE): cannot read {}; give a PEM file of the certificates to trust",
                path.display()
            )
        })?),
        None => None,
    };
    let config = AgentConfig {
        server_url: args.server_url,
        tls: phobos_agent::ServerTrust {
            ca_pem,
            domain: args.tls_domain,
        },
        token: args.token.unwrap_or_default(),
        service_account: args
            .service_account_path
            .map(|path| phobos_agent::ServiceAccountLogin {
                path,
                token_file: args.service_account_token_file.unwrap_or_default(),
            }),
        name: args.name.unwrap_or_else(host_name),
        tags: args
            .tags
            .into_iter()
            .map(|tag| tag.trim().to_owned())
            .filter(|tag| !tag.is_empty())
            .collect(),
        internal: false,
        dispatcher: DispatcherConfig::Local { executor_path },
        health_file: args.health_file,
        otel,
    };
    let ran = phobos_agent::run(config, shutdown_signal()).await;
    telemetry.shutdown().await;
    ran?;
    Ok(())
}

/// Resolves on Ctrl-C (and, on Unix, SIGTERM).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    info!("shutting down");
}

/// The machine's host name, or `phobos-agent` when it cannot be read.
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|file| std::fs::read_to_string(file).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "phobos-agent".to_owned())
}
