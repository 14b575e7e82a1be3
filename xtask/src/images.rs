//! `cargo xtask images [--tag TAG]`: builds the three images (`phobos`,
//! `agent`, `job-executor`) from `compose/*.Dockerfile` where a Docker
//! daemon answers, and says so, building nothing, where none does.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Result};

use crate::process::run as run_cmd;

/// (image, Dockerfile under compose/)
const IMAGES: &[(&str, &str)] = &[
    ("phobos/phobos", "phobos.Dockerfile"),
    ("phobos/agent", "agent.Dockerfile"),
    ("phobos/job-executor", "job-executor.Dockerfile"),
];

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let tag = match args {
        [] => "dev".to_string(),
        [flag, tag] if flag == "--tag" => tag.clone(),
        _ => bail!("usage: cargo xtask images [--tag TAG]"),
    };
    match Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
    {
        Err(e) => {
            println!("==> docker is not installed ({e}): no image built. Install Docker, or build the binaries with `cargo build --release`.");
            return Ok(());
        }
        Ok(out) if !out.status.success() => {
            let why = String::from_utf8_lossy(&out.stderr);
            println!(
                "==> no Docker daemon answers (`docker info`: {}): no image built. Start dockerd (or point DOCKER_HOST at one) and run this again.",
                why.lines().find(|l| !l.trim().is_empty()).unwrap_or("no answer").trim()
            );
            return Ok(());
        }
        Ok(_) => {}
    }
    for (image, dockerfile) in IMAGES {
        run_cmd(
            Command::new("docker")
                .arg("build")
                .arg("-f")
                .arg(root.join("compose").join(dockerfile))
                .arg("-t")
                .arg(format!("{image}:{tag}"))
                .arg(root),
        )?;
        println!("==> built {image}:{tag}");
    }
    Ok(())
}
