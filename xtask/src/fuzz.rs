//! `cargo xtask fuzz [SECONDS]`: fuzzes the template engine.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cargo::target_dir;

/// Runs the `compile` fuzz target for `seconds`. The working corpus lives in
/// fuzz/corpus (not committed); the seeds are the example templates. A crash
/// is saved in fuzz/artifacts: minimise it, fix the bug, and commit the input
/// under fuzz/regressions, which `cargo xtask test` replays.
pub fn run(root: &Path, seconds: &str) -> Result<()> {
    let secs: u64 = seconds
        .parse()
        .context("usage: cargo xtask fuzz [SECONDS]")?;
    if Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        bail!("cargo-fuzz is not installed: run `cargo install cargo-fuzz --locked`");
    }
    let fuzz_dir = root.join("fuzz");
    std::fs::create_dir_all(fuzz_dir.join("corpus/compile"))?;
    let target = target_dir(root)?;
    crate::process::run(
        Command::new("cargo")
            .current_dir(&fuzz_dir)
            // cargo-fuzz passes nightly-only flags; this lets the stable toolchain take them.
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_DIR", target.join("fuzz"))
            .args([
                "fuzz",
                "run",
                "--sanitizer",
                "none",
                "compile",
                "corpus/compile",
                "../core/tests/examples/pipeline",
                "../core/tests/examples/lifecycle",
                "--",
            ])
            .arg(format!("-max_total_time={secs}"))
            .args(["-max_len=8192", "-rss_limit_mb=4096"]),
    )
}
