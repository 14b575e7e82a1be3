//! The real `phobos-job-executor` binary against an in-test gRPC JobService.

mod support;

use std::time::Duration;

use phobos_proto::v1::{Action, JobStatus};
use serde_json::json;
use support::{exec, run_executor, run_executor_with, Event, FakeServer, Faults, JOB_ID, TOKEN};

fn contains(data: &[u8], needle: &str) -> bool {
    data.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// stdout and stderr share one pipe: the log has every line where it was
/// written (two pipes read side by side scrambled them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_and_stderr_lines_keep_the_order_they_were_written_in() {
    let server = FakeServer::start(
        vec![exec(
            "mixed",
            "for i in $(seq 1 200); do echo o$i; echo e$i >&2; done",
        )],
        Faults::default(),
    )
    .await;
    let run = run_executor(&server).await;
    assert_eq!(run.code(), Some(0), "stderr: {}", run.stderr());
    let log = server.stored_log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.starts_with("==>")).collect();
    let expected: Vec<String> = (1..=200)
        .flat_map(|i| [format!("o{i}"), format!("e{i}")])
        .collect();
    assert_eq!(lines, expected, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_actions_and_streams_stdout_and_stderr_with_offsets() {
    let server = FakeServer::start(
        vec![
            exec("build", "echo out-1; echo err-1 >&2; echo out-2"),
            exec("second", "printf 'no newline'"),
        ],
        Faults::default(),
    )
    .await;
    let run = run_executor(&server).await;
    assert_eq!(run.code(), Some(0), "stderr: {}", run.stderr());
    server.assert_all_authorized();

    assert_eq!(
        server.statuses(),
        [
            (JobStatus::Running, String::new()),
            (JobStatus::Succeeded, String::new())
        ]
    );
    assert_eq!(
        server.outputs(),
        [
            ("build".to_owned(), json!({ "exit_code": 0 })),
            ("second".to_owned(), json!({ "exit_code": 0 })),
        ]
    );

    // One call; chunks in order, each at the offset where the previous ended.
    assert_eq!(server.log_calls(), 1);
    let chunks = server.chunks(0);
    let mut expected_offset = 0;
    for (_, offset, data) in &chunks {
        assert_eq!(*offset, expected_offset);
        expected_offset += data.len() as u64;
    }
    let log = server.stored_log();
    assert_eq!(log.len() as u64, expected_offset);
    assert!(log.starts_with("==> action build: exec_command\n"), "{log}");
    for line in ["out-1\n", "err-1\n", "out-2\n"] {
        assert!(log.contains(line), "{line:?} missing from {log:?}");
    }
    let position = |s: &str| log.find(s).unwrap();
    // In the order written, stdout and stderr alike (as on a terminal).
    assert!(position("out-1") < position("err-1"), "{log:?}");
    assert!(position("err-1") < position("out-2"), "{log:?}");
    assert!(position("out-2") < position("==> action second: exec_command\n"));
    assert!(
        log.ends_with("==> action second: exec_command\nno newline"),
        "{log:?}"
    );

    // The log call ended (the server has everything) before SUCCEEDED was
    // reported, and an action's outputs come before the next action's output.
    let (ended, _) = server
        .first(|e| matches!(e, Event::LogCallEnded { .. }))
        .unwrap();
    let (succeeded, _) = server
        .first(|e| {
            matches!(
                e,
                Event::Status {
                    status: JobStatus::Succeeded,
                    ..
                }
            )
        })
        .unwrap();
    assert!(ended < succeeded);
    let (build_outputs, _) = server
        .first(|e| matches!(e, Event::Outputs { action, .. } if action == "build"))
        .unwrap();
    let (second_header, _) = server
        .first(|e| matches!(e, Event::Chunk { data, .. } if contains(data, "==> action second")))
        .unwrap();
    assert!(build_outputs < second_header);
    assert_eq!(
        server
            .first(|e| matches!(e, Event::GetJob { job_id } if job_id == JOB_ID))
            .map(|(i, _)| i),
        Some(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_streamed_while_the_command_runs() {
    let server = FakeServer::start(
        vec![exec("slow", "echo first; sleep 2; echo second")],
        Faults::default(),
    )
    .await;
    let run = run_executor(&server).await;
    assert_eq!(run.code(), Some(0), "stderr: {}", run.stderr());

    let (_, first_at) = server
        .first(|e| matches!(e, Event::Chunk { data, .. } if contains(data, "first")))
        .expect("'first' reached the server");
    let (_, second_at) = server
        .first(|e| matches!(e, Event::Chunk { data, .. } if contains(data, "second")))
        .expect("'second' reached the server");
    let (_, outputs_at) = server
        .first(|e| matches!(e, Event::Outputs { .. }))
        .unwrap();
    // "first" arrived while the command was still sleeping: well before
    // "second", the command's end (its outputs) and the process exit.
    let margin = Duration::from_millis(1000);
    assert!(
        second_at.duration_since(first_at) >= margin,
        "{:?}",
        second_at - first_at
    );
    assert!(outputs_at.duration_since(first_at) >= margin);
    assert!(run.exited_at.duration_since(first_at) >= margin);
    assert!(!server
        .chunks(0)
        .iter()
        .any(|(_, _, data)| contains(data, "first") && contains(data, "second")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_fails_the_job_and_later_actions_do_not_run() {
    let server = FakeServer::start(
        vec![exec("a", "echo a-ran; exit 3"), exec("b", "echo b-ran")],
        Faults::default(),
    )
    .await;
    let run = run_executor(&server).await;
    assert_eq!(run.code(), Some(1), "stderr: {}", run.stderr());
    server.assert_all_authorized();

    assert_eq!(
        server.outputs(),
        [("a".to_owned(), json!({ "exit_code": 3 }))]
    );
    assert_eq!(
        server.statuses(),
        [
            (JobStatus::Running, String::new()),
            (
                JobStatus::Failed,
                "action a exited with status 3".to_owned()
            ),
        ]
    );
    let log = server.stored_log();
    assert!(log.contains("a-ran\n"), "{log}");
    assert!(log.contains("==> action a exited with status 3\n"), "{log}");
    assert!(
        !log.contains("b-ran") && !log.contains("==> action b"),
        "{log}"
    );
    let (ended, _) = server
        .first(|e| matches!(e, Event::LogCallEnded { .. }))
        .unwrap();
    let (failed, _) = server
        .first(|e| {
            matches!(
                e,
                Event::Status {
                    status: JobStatus::Failed,
                    ..
                }
            )
        })
        .unwrap();
    assert!(ended < failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_killed_by_a_signal_reports_exit_code_minus_one() {
    let server = FakeServer::start(
        vec![exec("k", "echo before; kill -9 $$")],
        Faults::default(),
    )
    .await;
    let run = run_executor(&server).await;
    assert_eq!(run.code(), Some(1), "stderr: {}", run.stderr());
    assert_eq!(
        server.outputs(),
        [("k".to_owned(), json!({ "exit_code": -1 }))],
        "stderr: {}\nevents: {:#?}",
        run.stderr(),
        server.events()
    );
    assert_eq!(
        server.statuses().last().unwrap(),
        &(
            JobStatus::Failed,
            "action k was killed by signal 9 (SIGKILL)".to_owned()
        )
    );
    assert!(server.stored_log().contains("before\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsupported_plugin_action_fails_the_job() {
    let server = FakeServer::start(
        vec![
            exec("ok", "echo fine"),
            Action {
                name: "deploy".into(),
                plugin: "docker".into(),
                action: "run".into(),
                inputs_json: "{}".into(),
            },
            exec("after", "echo after-ran"),
        ],
        Faults::default(),
    )
    .await;
    let run = run_executor(&server).await;
    assert_eq!(run.code(), Some(1), "stderr: {}", run.stderr());
    let message = "plugin action docker_run is not supported by this executor yet";
    assert_eq!(
        server.statuses().last().unwrap(),
        &(JobStatus::Failed, message.to_owned())
    );
    assert_eq!(
        server.outputs(),
        [("ok".to_owned(), json!({ "exit_code": 0 }))]
    );
    let log = server.stored_log();
    assert!(log.contains("==> action deploy: docker_run\n"), "{log}");
    assert!(log.contains(message), "{log}");
    assert!(!log.contains("after-ran"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_fail_the_job_with_a_message() {
    let mut action = exec("x", "");
    action.inputs_json = r#"{"cmd":"echo"}"#.into();
    let server = FakeServer::start(vec![action], Faults::default()).await;
    let run = run_executor(&server).await;
    assert_eq!(run.code(), Some(1));
    assert_eq!(
        server.statuses().last().unwrap(),
        &(
            JobStatus::Failed,
            "action x: input `command` is missing".to_owned()
        )
    );
    assert!(server.outputs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_output_is_sent_in_chunks_of_at_most_64_kib() {
    let server = FakeServer::start(
        vec![exec("big", "head -c 300000 /dev/zero | tr '\\0' x")],
        Faults::default(),
    )
    .await;
    let run = run_executor(&server).await;
    assert_eq!(run.code(), Some(0), "stderr: {}", run.stderr());
    let chunks = server.chunks(0);
    assert!(chunks.iter().all(|(_, _, data)| data.len() <= 64 * 1024));
    let log = server.stored_log();
    let header = "==> action big: exec_command\n";
    assert_eq!(log.len(), header.len() + 300_000);
    assert!(log[header.len()..].bytes().all(|b| b == b'x'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_while_the_server_is_unavailable_and_resends_the_log() {
    let server = FakeServer::start(
        vec![exec("one", "echo one-out"), exec("two", "echo two-out")],
        Faults {
            get_job_unavailable: 2,
            break_first_log_call: true,
            ..Faults::default()
        },
    )
    .await;
    let run = run_executor(&server).await;
    assert_eq!(run.code(), Some(0), "stderr: {}", run.stderr());
    let get_jobs = server
        .events()
        .iter()
        .filter(|r| matches!(r.event, Event::GetJob { .. }))
        .count();
    assert_eq!(get_jobs, 3);
    assert_eq!(
        server.log_calls(),
        2,
        "the broken log call was re-opened once"
    );
    // The second call re-sent the log from the start.
    assert_eq!(
        server.chunks(1).first().map(|(_, offset, _)| *offset),
        Some(0)
    );
    assert_eq!(
        server.stored_log(),
        "==> action one: exec_command\none-out\n==> action two: exec_command\ntwo-out\n"
    );
    assert_eq!(server.statuses().last().unwrap().0, JobStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_does_not_see_the_job_token() {
    let server = FakeServer::start(
        vec![exec(
            "env",
            "echo \"token=[$PHOBOS_JOB_TOKEN] id=[$PHOBOS_JOB_ID]\"",
        )],
        Faults::default(),
    )
    .await;
    let run = run_executor(&server).await;
    assert_eq!(run.code(), Some(0), "stderr: {}", run.stderr());
    let log = server.stored_log();
    assert!(log.contains(&format!("token=[] id=[{JOB_ID}]")), "{log}");
    assert!(!run.stderr().contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_sees_only_the_allow_listed_environment_in_its_own_directory() {
    let server = FakeServer::start(
        vec![exec("env", "env; echo \"pwd=$(pwd)\"")],
        Faults::default(),
    )
    .await;
    let url = server.url();
    let run = run_executor_with(&[
        ("PHOBOS_JOB_ID", JOB_ID),
        ("PHOBOS_JOB_TOKEN", TOKEN),
        ("PHOBOS_GRPC_URL", &url),
        ("EXECUTOR_ONLY_SECRET", "s3cr3t-canary"),
        ("TZ", "UTC"),
    ])
    .await;
    assert_eq!(run.code(), Some(0), "stderr: {}", run.stderr());
    let log = server.stored_log();
    assert!(!log.contains("s3cr3t-canary"), "{log}");
    assert!(!log.contains("RUST_LOG"), "{log}");
    assert!(!log.contains(TOKEN), "{log}");
    assert!(log.contains("TZ=UTC\n"), "{log}");
    assert!(log.contains(&format!("PHOBOS_JOB_ID={JOB_ID}\n")), "{log}");
    let pwd = log.split("pwd=").nth(1).unwrap().lines().next().unwrap();
    assert!(log.contains(&format!("HOME={pwd}\n")), "{log}");
    assert!(pwd.contains("phobos-job-"), "{pwd}");
    assert!(!std::path::Path::new(pwd).exists(), "{pwd} was not removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_exits_non_zero_without_printing_it() {
    let server = FakeServer::start(vec![exec("a", "echo a")], Faults::default()).await;
    let url = server.url();
    let run = run_executor_with(&[
        ("PHOBOS_JOB_ID", JOB_ID),
        ("PHOBOS_JOB_TOKEN", "wrong-token-value"),
        ("PHOBOS_GRPC_URL", &url),
    ])
    .await;
    assert_eq!(run.code(), Some(1));
    let stderr = run.stderr();
    assert!(stderr.contains("could not fetch the job"), "{stderr}");
    assert!(!stderr.contains("wrong-token-value"), "{stderr}");
    assert!(server.statuses().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_environment_exits_2_naming_the_variable() {
    let run = run_executor_with(&[]).await;
    assert_eq!(run.code(), Some(2));
    assert!(
        run.stderr().contains("PHOBOS_JOB_ID is not set"),
        "{}",
        run.stderr()
    );

    let run = run_executor_with(&[
        ("PHOBOS_JOB_ID", JOB_ID),
        ("PHOBOS_GRPC_URL", "http://127.0.0.1:1"),
    ])
    .await;
    assert_eq!(run.code(), Some(2));
    assert!(
        run.stderr().contains("PHOBOS_JOB_TOKEN is not set"),
        "{}",
        run.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_command_and_reports_the_job_failed() {
    let dir = std::env::temp_dir().join(format!("phobos-executor-sigterm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let marker = dir.join("child-still-running");
    // A child of the shell that would leave a mark if it outlived the action.
    let command = format!(
        "echo started; (sleep 3; touch '{}') & wait",
        marker.display()
    );
    let server = FakeServer::start(
        vec![exec("sleepy", &command), exec("next", "echo next")],
        Faults::default(),
    )
    .await;
    let url = server.url();
    let mut executor = tokio::process::Command::new(env!("CARGO_BIN_EXE_phobos-job-executor"))
        .env("PHOBOS_JOB_ID", JOB_ID)
        .env("TMPDIR", support::private_tmp())
        .env("PHOBOS_JOB_TOKEN", TOKEN)
        .env("PHOBOS_GRPC_URL", &url)
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if server.stored_log().contains("started\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(server.stored_log().contains("started\n"));
    let pid = executor.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-s", "TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(10), executor.wait())
        .await
        .expect("the executor stops within 10 s of SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(1));

    let message = "the job executor was stopped by SIGTERM before action sleepy finished";
    assert_eq!(
        server.statuses().last().unwrap(),
        &(JobStatus::Failed, message.to_owned())
    );
    let log = server.stored_log();
    assert!(log.ends_with(&format!("==> {message}\n")), "{log}");
    assert!(!log.contains("==> action next"), "{log}");
    assert!(server.outputs().is_empty());
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        !marker.exists(),
        "the command's child outlived the stopped action"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_its_timeout_is_stopped_and_fails_naming_the_limit() {
    let server = FakeServer::start(
        vec![exec("forever", "echo begun; sleep 30; echo never")],
        Faults {
            timeout_seconds: 1,
            ..Faults::default()
        },
    )
    .await;
    let started = std::time::Instant::now();
    let run = run_executor(&server).await;
    assert_eq!(run.code(), Some(1), "stderr: {}", run.stderr());
    assert!(started.elapsed() < Duration::from_secs(10));
    let (status, message) = server.statuses().last().unwrap().clone();
    assert_eq!(status, JobStatus::Failed);
    assert!(message.contains("timeout of 1 s"), "{message}");
    assert!(message.contains("PHOBOS_JOB_TIMEOUT_SECONDS"), "{message}");
    let log = server.stored_log();
    assert!(log.contains("begun\n") && !log.contains("never"), "{log}");
}

/// Starts the executor for the fake server's job, with its token on standard
/// input (as an agent does), which stays open as the control pipe.
async fn spawn_with_control_pipe(server: &FakeServer) -> tokio::process::Child {
    use tokio::io::AsyncWriteExt;
    let mut executor = tokio::process::Command::new(env!("CARGO_BIN_EXE_phobos-job-executor"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PHOBOS_JOB_ID", JOB_ID)
        .env("TMPDIR", support::private_tmp())
        .env("PHOBOS_GRPC_URL", server.url())
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdin = executor.stdin.as_mut().unwrap();
    stdin
        .write_all(format!("{TOKEN}\n").as_bytes())
        .await
        .unwrap();
    executor
}

async fn wait_for_log(server: &FakeServer, text: &str) {
    for _ in 0..400 {
        if server.stored_log().contains(text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no {text:?} in the log: {}", server.stored_log());
}

fn temp_file(prefix: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()))
}

fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks; integers only.
    unsafe { libc::killpg(pgid, 0) == 0 }
}

/// Whether the group is gone within a moment (a killed orphan stays a
/// zombie until init reaps it).
async fn group_gone(pgid: i32) -> bool {
    for _ in 0..100 {
        if !group_alive(pgid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_cancel_from_the_heartbeat_stops_the_group_and_reports_canceled() {
    let pid = temp_file("phobos-exec-cancel");
    // The shell catches SIGTERM and exits 3; its background sleep gets the
    // same SIGTERM (the whole group).
    let command = format!(
        "echo $$ > {}; trap 'echo got TERM; exit 3' TERM; echo started; sleep 30 & wait",
        pid.display()
    );
    let server = FakeServer::start(
        vec![exec("sleepy", &command), exec("next", "echo next")],
        Faults {
            cancel_in_heartbeat: Some(10),
            ..Faults::default()
        },
    )
    .await;
    let run = run_executor(&server).await;
    assert_eq!(run.code(), Some(1), "a canceled job is not a success");
    let (status, message) = server.statuses().last().unwrap().clone();
    assert_eq!(status, JobStatus::Canceled);
    assert!(
        message.starts_with("action sleepy was canceled: SIGTERM sent to the command's process group; it exited after"),
        "{message}"
    );
    let log = server.stored_log();
    assert!(log.contains("got TERM"), "{log}");
    assert!(!log.contains("==> action next"), "{log}");
    assert_eq!(
        server.outputs(),
        vec![("sleepy".to_string(), serde_json::json!({ "exit_code": 3 }))]
    );
    let pgid: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        group_gone(pgid).await,
        "the background sleep outlived the cancel"
    );
    let _ = std::fs::remove_file(&pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_cancel_on_the_control_pipe_kills_what_ignores_sigterm_after_the_grace() {
    use tokio::io::AsyncWriteExt;
    let pid = temp_file("phobos-exec-cancel");
    let command = format!(
        "echo $$ > {}; trap '' TERM; echo started; sleep 30",
        pid.display()
    );
    let server = FakeServer::start(vec![exec("stubborn", &command)], Faults::default()).await;
    let mut executor = spawn_with_control_pipe(&server).await;
    wait_for_log(&server, "started\n").await;
    let pgid: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let sent = std::time::Instant::now();
    let stdin = executor.stdin.as_mut().unwrap();
    stdin.write_all(b"cancel graceful 2\n").await.unwrap();
    stdin.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        group_alive(pgid),
        "it ignores SIGTERM: alive during the grace"
    );
    let status = tokio::time::timeout(Duration::from_secs(15), executor.wait())
        .await
        .expect("the executor ends after the grace")
        .unwrap();
    assert!(sent.elapsed() >= Duration::from_secs(2));
    assert_eq!(status.code(), Some(1));
    assert!(group_gone(pgid).await);
    let (status, message) = server.statuses().last().unwrap().clone();
    assert_eq!(status, JobStatus::Canceled, "{message}");
    assert!(message.contains("killed with SIGKILL"), "{message}");
    let _ = std::fs::remove_file(&pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_cancel_kills_at_once_and_reports_nothing_more() {
    use tokio::io::AsyncWriteExt;
    let pid = temp_file("phobos-exec-cancel");
    let command = format!(
        "echo $$ > {}; trap '' TERM; echo started; sleep 30",
        pid.display()
    );
    let server = FakeServer::start(vec![exec("stubborn", &command)], Faults::default()).await;
    let mut executor = spawn_with_control_pipe(&server).await;
    wait_for_log(&server, "started\n").await;
    let pgid: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let stdin = executor.stdin.as_mut().unwrap();
    stdin.write_all(b"cancel force\n").await.unwrap();
    stdin.flush().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), executor.wait())
        .await
        .expect("a forced cancel ends the executor at once")
        .unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(group_gone(pgid).await);
    // RUNNING only: the server canceled the job already.
    assert_eq!(
        server.statuses(),
        vec![(JobStatus::Running, String::new())],
        "{:#?}",
        server.events()
    );
    assert!(server.outputs().is_empty());
    let _ = std::fs::remove_file(&pid);
}
