//! `phobos`: the Phobos server binary. For now it carries the command line
//! tools; the HTTP, GraphQL and gRPC servers land under `phobos serve`.

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
    }
}
