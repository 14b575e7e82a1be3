//! `cargo xtask bench`: the template engine's, the system's and the UI's
//! benchmarks, each reported as a ratio against a baseline measured in the
//! same run (`-- --bench speed` or `-- --bench ui`: only that part of the
//! system's).

use std::path::Path;

use anyhow::{Context, Result};

use crate::cargo::{cargo, target_dir};
use crate::process::run as run_cmd;

pub fn run(root: &Path, extra: &[String]) -> Result<()> {
    template(root, extra)?;
    crate::signal::catch();
    let (url, _throw_away) = crate::test::database()?;
    // The UI's rows load the UI the release server embeds: build it first.
    match crate::ui::node() {
        Ok(_) => crate::ui::build(root)?,
        Err(why) => println!("==> the UI's figures will be skipped ({why:#})"),
    }
    // The end-to-end rows run the release server, agent and executor.
    run_cmd(
        cargo()
            .current_dir(root)
            .args(["build", "--release", "--workspace", "--bins"]),
    )?;
    run_cmd(
        cargo()
            .current_dir(root)
            .env("PHOBOS_TEST_DATABASE_URL", &url)
            .args(["bench", "-p", "phobos-api", "--bench", "system"])
            .args(extra),
    )
}

fn template(root: &Path, extra: &[String]) -> Result<()> {
    run_cmd(
        cargo()
            .current_dir(root)
            .args(["bench", "-p", "phobos-core", "--bench", "template"])
            .args(extra),
    )?;
    let target = target_dir(root)?;
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
