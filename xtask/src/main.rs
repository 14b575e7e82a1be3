//! `cargo xtask <command>`: the project's own automation.
//!
//! - `test`: every test of the workspace (unit, integration, doc tests), and the
//!   fuzz corpus replayed as a regression test, against a throw-away PostgreSQL
//!   cluster (`PHOBOS_TEST_DATABASE_URL`).
//! - `bench`: benchmarks, each reported as a ratio against a baseline measured
//!   in the same run.
//! - `chaos [--kills N] [--seed S]`: the fault-injection suite, longer (100
//!   kills by default; `test` runs it with 20).
//! - `fuzz [SECONDS]`: fuzzes the template engine (cargo-fuzz on the stable
//!   toolchain), seeded with the documentation's example templates.
//! - `up [--no-build]`: the whole system with embedded defaults: a private
//!   PostgreSQL cluster in `.phobos/pg` and `phobos serve`, until Ctrl-C.

mod bench;
mod cargo;
mod chaos;
mod demo;
mod fuzz;
mod images;
mod pg;
mod process;
mod signal;
mod test;
mod ui;
mod up;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};

fn main() -> ExitCode {
    match dispatch() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The message and its causes; no backtrace (RUST_BACKTRACE is
            // often set for the tests, and says nothing useful here).
            eprintln!("Error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            // A failed child (e.g. `cargo test`) gives its own exit code.
            let code = err
                .downcast_ref::<process::Failed>()
                .map_or(1, |f| f.code.clamp(1, 255));
            ExitCode::from(code as u8)
        }
    }
}

fn dispatch() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("test") => test::run(&root, &args[1..]),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("chaos") => chaos::run(&root, &args[1..]),
        Some("fuzz") => fuzz::run(&root, args.get(1).map(String::as_str).unwrap_or("300")),
        Some("up") => up::run(&root, &args[1..]),
        Some("demo") => demo::run(&root, &args[1..]),
        Some("images") => images::run(&root, &args[1..]),
        Some("ui") => ui::run(&root, &args[1..]),
        Some("replay") => bail!(
            "`cargo xtask {}` is not written yet; `cargo xtask up` starts the system",
            args[0]
        ),
        _ => {
            eprintln!("usage: cargo xtask <up|demo|test|chaos|bench|fuzz|images|ui> [args]");
            std::process::exit(2);
        }
    }
}

/// The workspace this run is for. `cargo run` sets `CARGO_MANIFEST_DIR` at
/// run time; the compile-time value is only a fallback, because a build
/// directory shared by several checkouts (CI's `CARGO_TARGET_DIR`) reuses an
/// xtask binary built in another checkout, whose path may be gone.
fn project_root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    Path::new(&manifest)
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}
