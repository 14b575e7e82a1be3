//! Running child commands: echo them, wait for them, pass signals on, and turn
//! a failure into an error that carries the child's exit code.

use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::thread::sleep;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::signal;

/// A child command that failed; `cargo xtask` exits with the same code.
#[derive(Debug)]
pub struct Failed {
    pub what: String,
    pub code: i32,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed with exit code {}", self.what, self.code)
    }
}

impl std::error::Error for Failed {}

/// The exit code a shell would report: the code, or 128 + the signal.
pub fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Runs `cmd` to completion with inherited stdio. A signal caught by
/// [`signal::catch`] while it runs is passed on to it (a Ctrl-C in a terminal
/// already reached it; a SIGTERM sent to us alone did not).
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {cmd:?}");
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let mut seen = signal::count();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if signal::count() != seen {
            seen = signal::count();
            if let Some(sig) = signal::last() {
                let _ = signal::send(child.id() as i32, sig);
            }
        }
        sleep(Duration::from_millis(50));
    };
    if !status.success() {
        return Err(Failed {
            what: format!("{cmd:?}"),
            code: exit_code(status),
        }
        .into());
    }
    Ok(())
}
