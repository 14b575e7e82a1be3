//! The built-in `exec_command`: `sh -c <command>`, with stdout and stderr
//! streamed into the job log while it runs.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use phobos_proto::v1::Action;
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tracing::{info, warn};

use super::{ActionOutcome, JobContext};
use crate::logs::LogWriter;

/// How long output is still collected after the command has exited (a
/// background process may hold its stdout or stderr open).
const DRAIN_GRACE: Duration = Duration::from_secs(2);

pub async fn run(action: &Action, job: &JobContext, log: &LogWriter) -> ActionOutcome {
    let command = match command_input(&action.inputs_json) {
        Ok(command) => command,
        Err(problem) => {
            return ActionOutcome::Refused(format!("action {}: {problem}", action.name))
        }
    };
    let status = match execute(&command, job, log).await {
        Ok(status) => status,
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
    ActionOutcome::Ran { outputs, failure }
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
/// only, copying its stdout and stderr to `log` as they come.
async fn execute(command: &str, job: &JobContext, log: &LogWriter) -> std::io::Result<ExitStatus> {
    let mut child = Command::new("sh");
    child
        .arg("-c")
        .arg(command)
        .env_clear()
        .envs(job.command_env())
        .current_dir(&job.work_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so everything the command starts can be stopped
    // together if the action is abandoned (see `GroupGuard`).
    #[cfg(unix)]
    child.process_group(0);
    let mut child = child.spawn()?;
    let mut group = GroupGuard(child.id());
    let stdout = child
        .stdout
        .take()
        .map(|out| tokio::spawn(copy(out, log.clone())));
    let stderr = child
        .stderr
        .take()
        .map(|err| tokio::spawn(copy(err, log.clone())));
    let mut copies: Vec<_> = [stdout, stderr].into_iter().flatten().collect();
    let status = child.wait().await?;
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
    Ok(status)
}

/// While armed, dropping it (the action was abandoned, e.g. on SIGTERM) sends
/// SIGTERM to the command's process group, so the command's children stop
/// with it. Disarmed once the command has exited by itself.
struct GroupGuard(Option<u32>);

impl GroupGuard {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(group) = self.0.take() {
            // The shell's `kill` builtin, as `sh` is already required.
            let _ = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("kill -s TERM -- -{group}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
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
