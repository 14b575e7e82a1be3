//! `cargo xtask <command>`: the project's own automation.
//!
//! - `test`: every test of the workspace (unit, integration, doc tests), and the
//!   fuzz corpus replayed as a regression test.
//! - `bench`: benchmarks, each reported as a ratio against a baseline measured
//!   in the same run.
//! - `fuzz [SECONDS]`: fuzzes the template engine (cargo-fuzz on the stable
//!   toolchain), seeded with the documentation's example templates.
//! - `up`: the whole system with embedded defaults (arrives with the walking
//!   skeleton; until then it says so and exits non-zero).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("test") => test(&root, &args[1..]),
        Some("bench") => bench(&root, &args[1..]),
        Some("fuzz") => fuzz(&root, args.get(1).map(String::as_str).unwrap_or("300")),
        Some("up") | Some("demo") | Some("replay") => bail!(
            "`cargo xtask {}` arrives with the walking skeleton (server, agent, database); \
             today the template engine is usable through `cargo run -p phobos-api -- template validate FILE`",
            args[0]
        ),
        _ => {
            eprintln!("usage: cargo xtask <test|bench|fuzz> [args]");
            std::process::exit(2);
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn test(root: &Path, extra: &[String]) -> Result<()> {
    run(cargo()
        .current_dir(root)
        .args(["test", "--workspace", "--all-targets"])
        .args(extra))?;
    // Doc tests are not part of --all-targets.
    run(cargo()
        .current_dir(root)
        .args(["test", "--workspace", "--doc"])
        .args(extra))?;
    Ok(())
}

fn bench(root: &Path, extra: &[String]) -> Result<()> {
    run(cargo()
        .current_dir(root)
        .args(["bench", "-p", "phobos-core", "--bench", "template"])
        .args(extra))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let est = |name: &str| -> Result<f64> {
        let p = target
            .join("criterion")
            .join("template_2000_tasks")
            .join(name)
            .join("new/estimates.json");
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)?;
        v["median"]["point_estimate"]
            .as_f64()
            .context("no median in criterion estimates")
    };
    let base = est("baseline_parse_expanded")?;
    println!();
    println!("template engine, 2,000 tasks (medians; ratio to the baseline of the same run):");
    let rows = [
        (
            "baseline_parse_expanded",
            "baseline: hcl-edit parses the 2,000 tasks written out",
        ),
        (
            "compile_dynamic",
            "compile the dynamic template (expand+validate+eval)",
        ),
        ("compile_expanded", "compile the 2,000 tasks written out"),
    ];
    for (name, what) in rows {
        let t = est(name)?;
        println!("  {what:<54} {:>8.2} ms  {:>6.2}x", t / 1e6, t / base);
    }
    Ok(())
}

/// Runs the `compile` fuzz target for `seconds`. The working corpus lives in
/// fuzz/corpus (not committed); the seeds are the example templates. A crash
/// is saved in fuzz/artifacts: minimise it, fix the bug, and commit the input
/// under fuzz/regressions, which `cargo xtask test` replays.
fn fuzz(root: &Path, seconds: &str) -> Result<()> {
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
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    run(Command::new("cargo")
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
        .args(["-max_len=8192", "-rss_limit_mb=4096"]))
}
