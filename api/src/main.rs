//! `phobos`: the Phobos server (`phobos serve`) and its command-line tools
//! (`phobos template validate`).

mod auth;
mod authz;
mod config;
mod credentials;
mod email;
mod graphiql;
mod graphql;
mod grpc;
mod http;
mod http_client;
mod keys;
mod limits;
mod metrics;
mod notifications;
mod object_store;
mod oidc;
mod rate;
mod reaper;
mod server;
mod service;
mod template_cmd;
mod tls;
mod ui;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "phobos", version, about = "Phobos release orchestration")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: GraphQL over HTTP, gRPC for agents, internal agents.
    /// Configured by PHOBOS_* environment variables.
    Serve,
    /// Print the roles and permissions table (Markdown, as in
    /// docs/permissions.md), or with --json the rule of every root field.
    Permissions {
        #[arg(long)]
        json: bool,
    },
    /// Print the GraphQL schema (SDL), as `ui/schema.graphql` keeps it.
    Schema,
    /// Work with pipeline and release lifecycle templates.
    Template {
        #[command(subcommand)]
        command: template_cmd::TemplateCommand,
    },
    /// Check the PHOBOS_* environment as `serve` would read it, without
    /// starting anything: exit 0 when it is valid and every PHOBOS_*
    /// variable set is one the server reads; else name what is wrong.
    CheckConfig,
    /// Exit 0 when the server on this machine answers /healthz (for a
    /// container's health check).
    Healthcheck {
        /// The URL to ask [default: http://127.0.0.1:$PHOBOS_HTTP_SERVER_PORT/healthz].
        #[arg(long)]
        url: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Template { command } => template_cmd::run(command),
        Command::Serve => serve(),
        Command::CheckConfig => check_config(),
        Command::Healthcheck { url } => healthcheck(url),
        Command::Schema => {
            print!("{}", graphql::sdl());
            ExitCode::SUCCESS
        }
        Command::Permissions { json } => {
            if json {
                println!("{}", authz::rules_json());
            } else {
                print!("{}", authz::docs_page());
            }
            ExitCode::SUCCESS
        }
    }
}

fn serve() -> ExitCode {
    // Its environment holds the database and admin passwords: the commands
    // of the jobs its internal agents start must not read it from /proc.
    phobos_agent::deny_inspection();
    let env = config::Env::from_process();
    let config = match config::Config::load(&env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("phobos: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("phobos: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let unread = env.unread();
    let served = runtime.block_on(async move {
        // Inside the runtime: the trace exporter's gRPC channel runs on it.
        let telemetry = phobos_telemetry::init(
            "phobos",
            "info,sqlx=warn,h2=warn,tower=warn",
            phobos_telemetry::LogTarget::Stdout,
            config.otel.as_ref(),
        )?;
        for name in unread {
            tracing::warn!(variable = %name, "{name} is set but nothing reads it (a typo, or a setting of a plugin that is not selected); it is ignored");
        }
        let served = server::serve(config).await;
        telemetry.shutdown().await;
        served
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phobos: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `phobos check-config`.
fn check_config() -> ExitCode {
    let env = config::Env::from_process();
    let config = match config::Config::load(&env) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("phobos: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(files) = &config.tls {
        if let Err(e) = tls::ServerTls::load(files) {
            eprintln!("phobos: configuration error: {e}");
            return ExitCode::from(2);
        }
    }
    let unread = env.unread();
    if unread.is_empty() {
        println!("configuration is valid");
        return ExitCode::SUCCESS;
    }
    for name in &unread {
        eprintln!("phobos: {name} is set but nothing reads it: a typo, or a setting of a plugin that is not selected; check it against the README, or unset it");
    }
    ExitCode::from(2)
}

/// `phobos healthcheck`: a plain HTTP/1.1 GET, so a container needs no
/// curl. With `PHOBOS_TLS_ENABLED=true` the default URL is `https://`, and an
/// `https://` URL is checked against the server's own certificate
/// (`PHOBOS_TLS_CERT_FILE`).
fn healthcheck(url: Option<String>) -> ExitCode {
    use std::io::{Read, Write};
    let tls_enabled = std::env::var("PHOBOS_TLS_ENABLED")
        .is_ok_and(|v| v.trim().eq_ignore_ascii_case("true") || v.trim() == "1");
    let url = url.unwrap_or_else(|| {
        let port = std::env::var("PHOBOS_HTTP_SERVER_PORT").unwrap_or_else(|_| "9000".into());
        let scheme = if tls_enabled { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{port}/healthz")
    });
    let (rest, tls) = if let Some(rest) = url.strip_prefix("http://") {
        (rest, None)
    } else if let Some(rest) = url.strip_prefix("https://") {
        let Some(cert_file) = std::env::var_os("PHOBOS_TLS_CERT_FILE") else {
            eprintln!("phobos: {url:?} is https:// but PHOBOS_TLS_CERT_FILE is not set; the check trusts the server's own certificate");
            return ExitCode::from(2);
        };
        match tls::own_certificate_client(std::path::Path::new(&cert_file)) {
            Ok(client) => (rest, Some(client)),
            Err(e) => {
                eprintln!("phobos: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        eprintln!("phobos: {url:?} is not an http:// or https:// URL");
        return ExitCode::from(2);
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let answer = (|| -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect(host)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
        let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let mut head = String::new();
        match tls {
            None => {
                stream.write_all(request.as_bytes())?;
                stream.take(4096).read_to_string(&mut head)?;
            }
            Some((config, name)) => {
                let connection =
                    rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
                let mut stream = rustls::StreamOwned::new(connection, stream);
                stream.write_all(request.as_bytes())?;
                // The server may close without close_notify; what was read counts.
                let _ = stream.take(4096).read_to_string(&mut head);
            }
        }
        Ok(head)
    })();
    match answer {
        Ok(head) if head.starts_with("HTTP/1.1 200") => ExitCode::SUCCESS,
        Ok(head) => {
            eprintln!(
                "phobos: {url} answered {:?}",
                head.lines().next().unwrap_or("")
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("phobos: {url}: {e}");
            ExitCode::FAILURE
        }
    }
}
