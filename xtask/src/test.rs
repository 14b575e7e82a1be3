//! `cargo xtask test`: every test of the workspace against a throw-away
//! PostgreSQL cluster. The tests read `PHOBOS_TEST_DATABASE_URL` (a URL of the
//! `postgres` database) and create their own databases from it.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cargo::cargo;
use crate::pg::{self, Cluster};
use crate::process::run as run_cmd;
use crate::signal;

pub const DATABASE_URL_VAR: &str = "PHOBOS_TEST_DATABASE_URL";

/// Name prefix of the throw-away cluster directories (suffix: our pid).
const DIR_PREFIX: &str = "phobos-test-pg-";

pub fn run(root: &Path, extra: &[String]) -> Result<()> {
    // Ctrl-C ends the tests (they get it from the terminal), not us: we still
    // have a cluster to stop.
    signal::catch();
    // The UI first, so the server the tests start embeds it (and the UI's
    // own tests run); a machine without Node tests the server without it.
    match crate::ui::node() {
        Ok(_) => {
            crate::ui::build(root)?;
            crate::ui::test(root)?;
        }
        Err(why) => println!("==> skipped: the UI's build and tests ({why:#})"),
    }
    let (url, _throw_away) = database()?;
    run_cmd(
        cargo()
            .current_dir(root)
            .env(DATABASE_URL_VAR, &url)
            .args(["test", "--workspace", "--all-targets"])
            .args(extra),
    )?;
    // Doc tests are not part of --all-targets.
    run_cmd(
        cargo()
            .current_dir(root)
            .env(DATABASE_URL_VAR, &url)
            .args(["test", "--workspace", "--doc"])
            .args(extra),
    )?;
    Ok(())
}

/// The server for tests and benchmarks: `PHOBOS_TEST_DATABASE_URL` when
/// set, else a throw-away cluster that is removed when the guard drops.
pub fn database() -> Result<(String, Option<ThrowAway>)> {
    let mut throw_away = None;
    let url = match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.is_empty() => {
            println!("==> using {DATABASE_URL_VAR} from the environment");
            url
        }
        _ => {
            remove_stale_clusters();
            let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}", std::process::id()));
            pg::discard(&dir)?;
            // From here on the directory goes away again, whatever happens.
            throw_away = Some(ThrowAway { dir: dir.clone() });
            Cluster::ensure(&dir, pg::free_port()?, false)?.url("postgres")
        }
    };
    println!("==> {DATABASE_URL_VAR}={url}");
    Ok((url, throw_away))
}

/// Stops the cluster in `dir` and removes `dir` when dropped: after the
/// tests, whether they passed, failed or were interrupted.
pub struct ThrowAway {
    dir: PathBuf,
}

impl Drop for ThrowAway {
    fn drop(&mut self) {
        println!("==> removing the test cluster in {}", self.dir.display());
        if let Err(e) = pg::discard(&self.dir) {
            eprintln!("warning: {e:#}");
        }
    }
}

/// Clusters left behind by runs that were killed (SIGKILL, power loss):
/// directories whose xtask process is gone.
fn remove_stale_clusters() {
    if !Path::new("/proc/self").exists() {
        return; // no way to tell whether a pid is alive
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(DIR_PREFIX)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        println!(
            "==> removing a stale test cluster in {}",
            entry.path().display()
        );
        if let Err(e) = pg::discard(&entry.path()) {
            eprintln!("warning: {e:#}");
        }
    }
}
