//! `phobos template validate`: checks a template file and prints its summary
//! or its execution graph.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use phobos_core::template::model::{Expr, Node, When};
use phobos_core::template::{self, CompileOptions, Compiled, TemplateKind, VariableInput};

#[derive(Subcommand)]
pub enum TemplateCommand {
    /// Parse, expand and validate a template. Exit 0 when valid, 1 when not
    /// (diagnostics on stderr as FILE:LINE:COL: error: message).
    Validate {
        /// pipeline or lifecycle; detected from the file when left out (a stage
        /// with a deployment block makes it a lifecycle).
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// A variable value, NAME=VALUE. For string, number and bool variables
        /// the value is taken as written; for others it is read as an HCL
        /// expression ([1, 2], { a = "b" }), falling back to a plain string.
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// A file of `name = value` lines; --var values given too win.
        #[arg(long = "var-file", value_name = "FILE")]
        var_files: Vec<PathBuf>,
        /// text: a summary; json: the execution graph.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The template file.
        file: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Pipeline,
    Lifecycle,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

pub fn run(cmd: TemplateCommand) -> ExitCode {
    match cmd {
        TemplateCommand::Validate {
            kind,
            vars,
            var_files,
            format,
            file,
        } => match validate(kind, vars, var_files, format, file) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

fn validate(
    kind: Option<Kind>,
    vars: Vec<(String, String)>,
    var_files: Vec<PathBuf>,
    format: Format,
    file: PathBuf,
) -> anyhow::Result<ExitCode> {
    let name = file.display().to_string();
    let source = std::fs::read_to_string(&file).with_context(|| format!("cannot read {name}"))?;
    let kind = match kind {
        Some(Kind::Pipeline) => TemplateKind::Pipeline,
        Some(Kind::Lifecycle) => TemplateKind::Lifecycle,
        None => template::detect_kind(&source),
    };
    // The command line is a program of its own: it owns its clock.
    let now = chrono::Utc::now();
    let mut opts = CompileOptions::new(kind, now);
    for vf in &var_files {
        let vname = vf.display().to_string();
        let text = std::fs::read_to_string(vf).with_context(|| format!("cannot read {vname}"))?;
        match template::parse_var_file(&text, now) {
            Ok(values) => {
                for (k, v) in values {
                    opts = opts.var(k, VariableInput::Value(v));
                }
            }
            Err(d) => {
                eprintln!("{}", d.render(&vname));
                return Ok(ExitCode::from(1));
            }
        }
    }
    for (k, v) in vars {
        opts = opts.var(k, VariableInput::Raw(v));
    }
    match template::compile(&source, &opts) {
        Err(diags) => {
            eprintln!("{}", diags.render(&name));
            let n = diags.errors().count();
            eprintln!("{name}: {n} error{} found", if n == 1 { "" } else { "s" });
            Ok(ExitCode::from(1))
        }
        Ok(compiled) => {
            if !compiled.warnings.0.is_empty() {
                eprintln!("{}", compiled.warnings.render(&name));
            }
            let out = match format {
                Format::Json => serde_json::to_string_pretty(&compiled.graph)? + "\n",
                Format::Text => summary(&name, &compiled),
            };
            std::io::stdout().write_all(out.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn summary(name: &str, c: &Compiled) -> String {
    let g = &c.graph;
    let mut s = String::new();
    let nodes = g.node_count();
    let _ = writeln!(
        s,
        "{name}: valid {} template: {} stage{}, {nodes} node{}, {} variable{}",
        g.kind.as_str(),
        g.stages.len(),
        plural(g.stages.len()),
        plural(nodes),
        g.variables.len(),
        plural(g.variables.len()),
    );
    for st in &g.stages {
        let _ = writeln!(s, "stage {}", st.name);
        for n in &st.nodes {
            let _ = writeln!(s, "  {}", node_line(n));
        }
    }
    s
}

fn node_line(n: &Node) -> String {
    let mut line = format!(
        "{:<4} {:<10} {}",
        n.section.as_str(),
        n.kind.as_str(),
        n.name
    );
    let mut notes = Vec::new();
    match n.when {
        When::Auto => {}
        When::Manual => notes.push("manual".to_string()),
        When::Never => notes.push("never".to_string()),
    }
    if !n.dependencies.is_empty() {
        notes.push(format!("after {}", n.dependencies.join(", ")));
    }
    if !n.approval_rules.is_empty() {
        notes.push(format!(
            "{} approval rule{}",
            n.approval_rules.len(),
            plural(n.approval_rules.len())
        ));
    }
    if let Some(g) = &n.gate {
        if let (Some(i), Some(a)) = (&g.interval, g.attempts) {
            notes.push(format!("gate every {i}, {a} attempts"));
        }
    }
    if n.schedule.is_some() {
        notes.push("scheduled".into());
    }
    match &n.condition {
        Some(Expr::Value(v)) if v.as_bool() == Some(false) => {
            notes.push("skipped (if = false)".into())
        }
        Some(Expr::Deferred(_)) => notes.push("conditional".into()),
        _ => {}
    }
    if !n.actions.is_empty() {
        let labels: Vec<&str> = n.actions.iter().map(|a| a.key()).collect();
        notes.push(format!("actions: {}", labels.join(", ")));
    }
    if !notes.is_empty() {
        line.push_str(&format!("  ({})", notes.join("; ")));
    }
    line
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
