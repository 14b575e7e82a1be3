//! `cargo xtask ui [--dev | screenshots]`: builds the web UI into `ui/dist/` (`npm ci`,
//! then `npm run build`: type check, Vite, and a `.br` and `.gz` of every
//! text file), which the next build of `phobos` embeds. `--dev` runs Vite's
//! dev server instead, proxying the API to a running `phobos`
//! (`PHOBOS_URL`, default http://127.0.0.1:9000). `screenshots` refreshes
//! `docs/ui/` from the browser test.
//!
//! `cargo build` never runs any of this: without `ui/dist` the server
//! answers `/` with a page that names this command.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::process::run as run_cmd;

/// The oldest Node the pinned Vite runs on.
const NODE_AT_LEAST: (u32, u32) = (20, 19);

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    match args {
        [] => build(root),
        [flag] if flag == "--dev" => {
            node()?;
            install(root)?;
            run_cmd(
                Command::new("npm")
                    .current_dir(root.join("ui"))
                    .args(["run", "dev"]),
            )
        }
        [what] if what == "screenshots" => screenshots(root),
        _ => bail!("usage: cargo xtask ui [--dev | screenshots]"),
    }
}

/// The Node version on this machine, or why it cannot build the UI.
pub fn node() -> Result<String> {
    let out = Command::new("node")
        .arg("--version")
        .output()
        .context("node is not installed (Debian: apt-get install nodejs npm); the UI needs Node 20.19 or later")?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < NODE_AT_LEAST {
        bail!(
            "node {version} is too old for the UI's Vite: install Node {}.{} or later",
            NODE_AT_LEAST.0,
            NODE_AT_LEAST.1
        );
    }
    Ok(version)
}

fn install(root: &Path) -> Result<()> {
    run_cmd(Command::new("npm").current_dir(root.join("ui")).args([
        "ci",
        "--no-audit",
        "--no-fund",
    ]))
}

/// `npm ci` and `npm run build`: `ui/dist/`.
pub fn build(root: &Path) -> Result<()> {
    let version = node()?;
    println!("==> building the UI with node {version}");
    install(root)?;
    run_cmd(
        Command::new("npm")
            .current_dir(root.join("ui"))
            .args(["run", "build"]),
    )?;
    println!("==> the UI is in ui/dist; the next build of phobos embeds it");
    Ok(())
}

/// `cargo xtask ui screenshots`: builds the UI, then runs the browser test
/// (`api/tests/ui_browser.rs`) with its screenshots written to `docs/ui/`.
fn screenshots(root: &Path) -> Result<()> {
    build(root)?;
    let (url, _throw_away) = crate::test::database()?;
    run_cmd(
        crate::cargo::cargo()
            .current_dir(root)
            .env(crate::test::DATABASE_URL_VAR, &url)
            .env("PHOBOS_UI_SCREENSHOTS", root.join("docs/ui"))
            .args(["test", "-p", "phobos-api", "--test", "ui_browser"]),
    )?;
    println!("==> screenshots in docs/ui/: look at them before committing");
    Ok(())
}

/// The UI's unit tests (Vitest).
pub fn test(root: &Path) -> Result<()> {
    run_cmd(
        Command::new("npm")
            .current_dir(root.join("ui"))
            .args(["test"]),
    )
}
