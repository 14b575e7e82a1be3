//! `cargo xtask chaos [--kills N] [--seed S]`: the fault-injection suite
//! (`api/tests/chaos.rs`) with more kills than `cargo xtask test` makes (20),
//! against a throw-away PostgreSQL cluster. The seed is printed; the same
//! seed makes the same choices of victim and timing again.

use std::path::Path;

use anyhow::{bail, Result};

use crate::cargo::cargo;
use crate::process::run as run_cmd;
use crate::test::{database, DATABASE_URL_VAR};

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut kills = "100".to_string();
    let mut seed = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--kills" => kills = value(&mut rest, "--kills")?,
            "--seed" => seed = Some(value(&mut rest, "--seed")?),
            other => bail!("unknown argument {other:?}: use --kills N and --seed S"),
        }
    }
    if kills.parse::<u32>().map_or(true, |k| k == 0) {
        bail!("--kills {kills:?} must be a positive number");
    }
    if let Some(s) = &seed {
        if s.parse::<u64>().is_err() {
            bail!("--seed {s:?} must be a number (as a run prints it)");
        }
    }
    crate::signal::catch();
    let (url, _throw_away) = database()?;
    let mut command = cargo();
    command
        .current_dir(root)
        .env(DATABASE_URL_VAR, &url)
        .env("PHOBOS_CHAOS_KILLS", &kills)
        .args([
            "test",
            "-p",
            "phobos-api",
            "--test",
            "chaos",
            "--",
            "--nocapture",
        ]);
    if let Some(s) = seed {
        command.env("PHOBOS_CHAOS_SEED", s);
    }
    run_cmd(&mut command)
}

fn value<'a>(args: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<String> {
    match args.next() {
        Some(v) => Ok(v.clone()),
        None => bail!("{flag} needs a value"),
    }
}
