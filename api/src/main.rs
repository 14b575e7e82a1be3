//! `phobos`: the Phobos server (`phobos serve`) and its command-line tools
//! (`phobos template validate`).

mod auth;
mod authz;
mod config;
mod credentials;
mod graphiql;
mod graphql;
mod grpc;
mod http;
mod http_client;
mod keys;
mod limits;
mod metrics;
mod object_store;
mod oidc;
mod rate;
mod reaper;
mod server;
mod service;
mod template_cmd;

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
    /// Work with pipeline and release lifecycle templates.
    Template {
        #[command(subcommand)]
        command: template_cmd::TemplateCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Template { command } => template_cmd::run(command),
        Command::Serve => serve(),
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,sqlx=warn,h2=warn,tower=warn")
            }),
        )
        // Colours only for a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let config = match config::Config::load(&config::Env::from_process()) {
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
    match runtime.block_on(server::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phobos: {e:#}");
            ExitCode::FAILURE
        }
    }
}
