//! The built-in `exec_command`: `sh -c <command>`, with stdout and stderr
//! streamed into the job log while it runs, in the order they were written
//! (both go into one pipe, as on a terminal).

use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use phobos_proto::v1::Action;
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tracing::{info, warn};

use super::{ActionOutcome, JobContext};
use crate::cancel::Cancel;
use crate::logs::LogWriter;

/// How long output is still collected after the command has exited (a
/// background process may hold its stdout or stderr open).
const DRAIN_GRACE: Duration = Duration::from_secs(2);

pub async fn run(
    action: &Action,
    job: &JobContext,
    log: &LogWriter,
    cancel: &Cancel,
) -> ActionOutcome {
    let command = match command_input(&action.inputs_json) {
        Ok(command) => command,
        Err(problem) => {
            return ActionOutcome::Refused(format!("action {}: {problem}", action.name))
        }
    };
    let (status, canceled) = match execute(&command, job, log, cancel).await {
        Ok(ended) => ended,
        Err(e) => {
            return ActionOutcome::Refused(format!(
                "action {}: could not start `sh`: {e}",
                action.name
            ))
        }
    };
    let (exit_code, failure) = match (status.code(), signal(&status)) {
        (Some(0), _) => (0, None),
        (Some(code), _) => (
            code,
            Some(format!("action {} exited with status {code}", action.name)),
        ),
        (None, Some(signal)) => (
            -1,
            Some(format!(
                "action {} was killed by signal {signal}{}",
                action.name,
                signal_name(signal)
                    .map(|name| format!(" ({name})"))
                    .unwrap_or_default()
            )),
        ),
        (None, None) => (
            -1,
            Some(format!(
                "action {} ended abnormally ({status})",
                action.name
            )),
        ),
    };
    info!(exit_code, "command finished");
    let mut outputs = Map::new();
    outputs.insert("exit_code".into(), exit_code.into());
    match canceled {
        Some(how) => ActionOutcome::Canceled {
            outputs,
            message: format!("action {} was canceled: {how}", action.name),
        },
        None => ActionOutcome::Ran { outputs, failure },
    }
}

/// The `command` input.
fn command_input(inputs_json: &str) -> Result<String, String> {
    let inputs: Value = serde_json::from_str(inputs_json)
        .map_err(|e| format!("its inputs are not valid JSON ({e})"))?;
    match inputs.get("command") {
        Some(Value::String(command)) => Ok(command.clone()),
        Some(_) => Err("input `command` must be a string".into()),
        None if inputs.is_object() => Err("input `command` is missing".into()),
        None => Err("its inputs must be a JSON object".into()),
    }
}

/// Runs `sh -c command` in the job's directory with the job's environment
/// only, copying its stdout and stderr to `log` as they come: one pipe
/// takes both, so the log keeps the order of the writes (two pipes, read
/// side by side, put a line written to stderr before the stdout lines
/// written ahead of it). A cancel stops its process group (see [`stop`]);
/// then the second value says how.
async fn execute(
    command: &str,
    job: &JobContext,
    log: &LogWriter,
    cancel: &Cancel,
) -> std::io::Result<(ExitStatus, Option<String>)> {
    let (output, writer) = std::io::pipe()?;
    let mut builder = Command::new("sh");
    builder
        .arg("-c")
        .arg(command)
        .env_clear()
        .envs(job.command_env())
        .current_dir(&job.work_dir)
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .kill_on_drop(true);
    // Its own process group, so everything the command starts can be stopped
    // together if it is canceled or the action abandoned (`ProcessGroup`).
    #[cfg(unix)]
    builder.process_group(0);
    let spawned = builder.spawn();
    // The builder holds our copies of the pipe's writing end: only once they
    // are closed does the output end when the command (and what it started)
    // has closed its own.
    drop(builder);
    let mut child = spawned?;
    let mut group = ProcessGroup(child.id().map(|pid| pid as i32));
    let output = tokio::net::unix::pipe::Receiver::from_owned_fd(output.into())?;
    let mut copies = vec![tokio::spawn(copy(output, log.clone()))];
    let mut cancel = cancel.clone();
    let (status, canceled) = tokio::select! {
        status = child.wait() => (status?, None),
        how = cancel.requested() => {
            let (status, note) = stop(&mut child, &group, how, &mut cancel).await?;
            // Whatever it left running in its group goes with it.
            group.signal(KILL);
            (status, Some(note))
        }
    };
    group.disarm();
    let drained = async {
        for copy in &mut copies {
            let _ = copy.await;
        }
    };
    if tokio::time::timeout(DRAIN_GRACE, drained).await.is_err() {
        for copy in &copies {
            copy.abort();
        }
        warn!("output still open after the command exited; a background process may hold it");
        log.write(format!(
            "==> the command exited but its output was still open after {}s (a background process?); later output is not logged\n",
            DRAIN_GRACE.as_secs()
        ))
        .await;
    }
    Ok((status, canceled))
}

#[cfg(unix)]
const TERM: i32 = libc::SIGTERM;
#[cfg(unix)]
const KILL: i32 = libc::SIGKILL;
#[cfg(not(unix))]
const TERM: i32 = 15;
#[cfg(not(unix))]
const KILL: i32 = 9;

/// Stops a canceled command: graceful, SIGTERM to its process group, then
/// SIGKILL once `how.grace` has passed (or the request turns forced);
/// forced, SIGKILL at once. Returns its status and what was done, for the
/// log.
async fn stop(
    child: &mut tokio::process::Child,
    group: &ProcessGroup,
    how: crate::cancel::Stop,
    cancel: &mut Cancel,
) -> std::io::Result<(ExitStatus, String)> {
    let started = Instant::now();
    if how.force {
        group.signal(KILL);
        let status = child.wait().await?;
        return Ok((
            status,
            "SIGKILL sent to the command's process group (forced cancel)".into(),
        ));
    }
    group.signal(TERM);
    tokio::select! {
        status = child.wait() => Ok((status?, format!(
            "SIGTERM sent to the command's process group; it exited after {:.1} s",
            started.elapsed().as_secs_f64()
        ))),
        _ = tokio::time::sleep(how.grace) => {
            group.signal(KILL);
            Ok((child.wait().await?, format!(
                "SIGTERM sent to the command's process group; it was still running after {} s, so it was killed with SIGKILL",
                how.grace.as_secs()
            )))
        }
        _ = cancel.forced() => {
            group.signal(KILL);
            Ok((child.wait().await?, format!(
                "SIGTERM sent to the command's process group, then SIGKILL after {:.1} s (forced cancel)",
                started.elapsed().as_secs_f64()
            )))
        }
    }
}

/// The command's process group. While armed, dropping it (the action was
/// abandoned, e.g. on the executor's own SIGTERM or its timeout) sends
/// SIGTERM to the group, so the command's children stop with it. Disarmed
/// once the command has ended.
struct ProcessGroup(Option<i32>);

impl ProcessGroup {
    fn signal(&self, signal: i32) {
        #[cfg(unix)]
        if let Some(group) = self.0.filter(|g| *g > 1) {
            // SAFETY: killpg takes integers only; a group that is gone
            // gives ESRCH, which changes nothing.
            unsafe {
                libc::killpg(group, signal);
            }
        }
        #[cfg(not(unix))]
        let _ = signal;
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.signal(TERM);
    }
}

/// Copies `reader` to `log` until end of file. If the log is gone, keeps
/// reading (and dropping) so the command never blocks on a full pipe.
async fn copy(mut reader: impl AsyncRead + Unpin, log: LogWriter) {
    let mut buffer = vec![0u8; 32 * 1024];
    let mut logging = true;
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) => return,
            Ok(n) => {
                if logging {
                    logging = log.write(&buffer[..n]).await;
                }
            }
            Err(e) => {
                warn!("cannot read the command's output: {e}");
                return;
            }
        }
    }
}

#[cfg(unix)]
fn signal(status: &ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(status)
}

#[cfg(not(unix))]
fn signal(_: &ExitStatus) -> Option<i32> {
    None
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_command_input() {
        assert_eq!(
            command_input(r#"{"command":"echo hi"}"#).unwrap(),
            "echo hi"
        );
        assert!(command_input(r#"{"command":3}"#)
            .unwrap_err()
            .contains("must be a string"));
        assert!(command_input(r#"{}"#).unwrap_err().contains("missing"));
        assert!(command_input(r#"[1]"#).unwrap_err().contains("JSON object"));
        assert!(command_input("{").unwrap_err().contains("not valid JSON"));
    }
}
