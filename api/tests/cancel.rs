//! Cancel against the real server, agent and executor: a running `sleep 60`
//! is stopped through the agent's stream. Graceful: SIGTERM to the
//! command's process group, SIGKILL after the grace period
//! (`PHOBOS_JOB_CANCEL_GRACE_SECONDS`) if it is still there, the job reports
//! CANCELED with its logs. Forced: node and job are CANCELED at once and
//! the process group is killed. Nodes that had not started are CANCELED;
//! a canceled node can be retried.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const STATE: &str = "query($id: ID!) { pipeline(id: $id) { status stages { name status nodes { path status reason } } jobs { nodePath status message logs { text } } } }";

fn state(server: &support::Server, id: &str) -> Value {
    server.gql(STATE, json!({ "id": id }))["pipeline"].clone()
}

fn node<'a>(pipeline: &'a Value, path: &str) -> &'a Value {
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["nodes"].as_array().unwrap())
        .find(|n| n["path"] == path)
        .unwrap_or_else(|| panic!("no node {path} in {pipeline}"))
}

/// Waits until the file the command writes its process group id to exists
/// (the command runs), and returns that id.
fn wait_for_group(file: &Path, server: &support::Server) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Ok(pgid) = text.trim().parse() {
                return pgid;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the command did not start\n--- server log ---\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether any process of group `pgid` is still there.
fn group_alive(pgid: i32) -> bool {
    // SAFETY: killpg with signal 0 only checks; it takes integers.
    unsafe { libc::killpg(pgid, 0) == 0 }
}

/// Waits at most `within` for the group to be gone; returns how long it took.
fn wait_gone(pgid: i32, within: Duration) -> Duration {
    let start = Instant::now();
    while group_alive(pgid) {
        assert!(
            start.elapsed() < within,
            "process group {pgid} still alive after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

fn pid_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("phobos-cancel-{name}-{}", uuid::Uuid::new_v4()))
}

fn template(pid: &Path, command: &str) -> String {
    format!(
        r#"
stage "work" {{
  task "sleepy" {{
    action "exec_command" {{
      command = "echo $$ > {pid}; echo started; {command}"
    }}
  }}
  task "after" {{
    dependencies = ["sleepy"]
    action "exec_command" {{
      command = "echo after"
    }}
  }}
}}
stage "ship" {{
  task "publish" {{
    action "exec_command" {{
      command = "echo published"
    }}
  }}
}}
"#,
        pid = pid.display()
    )
}

const CANCEL: &str = "mutation($i: CancelPipelineInput!) { cancelPipeline(input: $i) { pipeline { status stages { name status nodes { path status } } } problems { code field message } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_cancel_sends_sigterm_then_sigkill_after_the_grace_period() {
    let mut server = support::start_with(
        "cancel_graceful",
        1,
        &[("PHOBOS_JOB_CANCEL_GRACE_SECONDS", "3")],
    )
    .await;
    server.login();
    let project = server.project("acme", "cancel-graceful");
    let pid = pid_file("graceful");
    // It ignores SIGTERM (and so does its sleep): only SIGKILL stops it.
    let id = server.run_pipeline(&project, &template(&pid, "trap '' TERM; sleep 60"));
    let pgid = wait_for_group(&pid, &server);
    assert!(group_alive(pgid));

    let canceled_at = Instant::now();
    let d = server.gql(CANCEL, json!({ "i": { "id": id } }));
    assert_eq!(d["cancelPipeline"]["problems"], json!([]), "{d}");
    let p = &d["cancelPipeline"]["pipeline"];
    assert_eq!(p["status"], "CANCELING", "{d}");
    assert_eq!(node(p, "stage.work.task.sleepy")["status"], "CANCELING");
    assert_eq!(node(p, "stage.work.task.after")["status"], "CANCELED");
    assert_eq!(node(p, "stage.ship.task.publish")["status"], "CANCELED");

    // A second graceful cancel is refused, naming the way on.
    let again = server.gql(CANCEL, json!({ "i": { "id": id } }));
    let problem = &again["cancelPipeline"]["problems"][0];
    assert_eq!(problem["code"], "CONFLICT", "{again}");
    assert_eq!(problem["field"], "id", "{again}");
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .contains("force = true"),
        "{again}"
    );

    // Still there after SIGTERM; gone once the grace (3 s) has passed.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(group_alive(pgid), "it ignores SIGTERM: alive until SIGKILL");
    wait_gone(pgid, Duration::from_secs(10));
    let took = canceled_at.elapsed();
    assert!(
        took >= Duration::from_secs(3),
        "killed before the grace period: {took:?}"
    );

    let done = server.wait_finished(&id, Duration::from_secs(30));
    assert_eq!(done["status"], "CANCELED", "{done}");
    let sleepy = node(&done, "stage.work.task.sleepy");
    assert_eq!(sleepy["status"], "CANCELED", "{done}");
    assert_eq!(done["stages"][0]["status"], "CANCELED", "{done}");
    assert_eq!(done["stages"][1]["status"], "CANCELED", "{done}");
    let job = done["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["nodePath"] == "stage.work.task.sleepy")
        .unwrap();
    assert_eq!(job["status"], "CANCELED", "{done}");
    let log = job["logs"]["text"].as_str().unwrap();
    assert!(log.contains("started"), "{log}");
    assert!(
        log.contains("SIGTERM sent to the command's process group")
            && log.contains("killed with SIGKILL"),
        "{log}"
    );
    // Nothing else ran.
    assert_eq!(done["jobs"].as_array().unwrap().len(), 1, "{done}");

    // A finished pipeline cannot be canceled.
    let late = server.gql(CANCEL, json!({ "i": { "id": id, "force": true } }));
    let problem = &late["cancelPipeline"]["problems"][0];
    assert_eq!(problem["code"], "CONFLICT", "{late}");
    assert!(
        problem["message"].as_str().unwrap().contains("CANCELED"),
        "{late}"
    );
    let _ = std::fs::remove_file(&pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_cancel_ends_node_and_job_at_once_and_kills_the_command() {
    let mut server = support::start("cancel_forced", 1).await;
    server.login();
    let project = server.project("acme", "cancel-forced");
    let pid = pid_file("forced");
    let id = server.run_pipeline(&project, &template(&pid, "sleep 60"));
    let pgid = wait_for_group(&pid, &server);

    let d = server.gql(CANCEL, json!({ "i": { "id": id, "force": true } }));
    assert_eq!(d["cancelPipeline"]["problems"], json!([]), "{d}");
    let p = &d["cancelPipeline"]["pipeline"];
    assert_eq!(p["status"], "CANCELED", "{d}");
    assert_eq!(node(p, "stage.work.task.sleepy")["status"], "CANCELED");
    assert_eq!(node(p, "stage.work.task.after")["status"], "CANCELED");

    // SIGKILL, well within the 30 s default grace.
    wait_gone(pgid, Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = state(&server, &id);
        let job = &now["jobs"][0];
        if job["status"] == "CANCELED" {
            break;
        }
        assert!(Instant::now() < deadline, "job not CANCELED: {now}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // What the executor reported afterwards was refused: still CANCELED.
    std::thread::sleep(Duration::from_secs(2));
    let after = state(&server, &id);
    assert_eq!(after["jobs"][0]["status"], "CANCELED", "{after}");
    assert_eq!(after["status"], "CANCELED", "{after}");
    let _ = std::fs::remove_file(&pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canceled_node_cancels_its_stage_and_a_retry_makes_the_pipeline_succeed() {
    let mut server = support::start_with(
        "cancel_node",
        1,
        &[("PHOBOS_JOB_CANCEL_GRACE_SECONDS", "5")],
    )
    .await;
    server.login();
    let project = server.project("acme", "cancel-node");
    let pid = pid_file("node");
    let flag = pid_file("flag");
    // The first run sleeps (and stops on SIGTERM); the retry does not.
    let command = format!(
        "if [ -e {f} ]; then echo second; else touch {f}; sleep 60; fi",
        f = flag.display()
    );
    let id = server.run_pipeline(&project, &template(&pid, &command));
    let pgid = wait_for_group(&pid, &server);

    let d = server.gql(
        "mutation($i: CancelPipelineNodeInput!) { cancelPipelineNode(input: $i) { pipeline { status } problems { code field message } } }",
        json!({ "i": { "pipelineId": id, "nodePath": "stage.work.task.sleepy" } }),
    );
    assert_eq!(d["cancelPipelineNode"]["problems"], json!([]), "{d}");
    let took = wait_gone(pgid, Duration::from_secs(5));
    assert!(took < Duration::from_secs(5), "SIGTERM stops it: {took:?}");

    let done = server.wait_finished(&id, Duration::from_secs(30));
    assert_eq!(done["status"], "CANCELED", "{done}");
    assert_eq!(node(&done, "stage.work.task.sleepy")["status"], "CANCELED");
    let after = node(&done, "stage.work.task.after");
    assert_eq!(after["status"], "SKIPPED", "{done}");
    assert_eq!(after["reason"], "stage.work.task.sleepy was canceled");
    assert_eq!(done["stages"][0]["status"], "CANCELED", "{done}");
    assert_eq!(done["stages"][1]["status"], "SKIPPED", "{done}");
    let log = done["jobs"][0]["logs"]["text"].as_str().unwrap();
    assert!(log.contains("it exited after"), "{log}");

    let d = server.gql(
        "mutation($i: RetryPipelineNodeInput!) { retryPipelineNode(input: $i) { pipeline { status } problems { code field message } } }",
        json!({ "i": { "pipelineId": id, "nodePath": "stage.work.task.sleepy" } }),
    );
    assert_eq!(d["retryPipelineNode"]["problems"], json!([]), "{d}");
    let done = server.wait_finished(&id, Duration::from_secs(30));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    for p in ["stage.work.task.after", "stage.ship.task.publish"] {
        assert_eq!(node(&done, p)["status"], "SUCCEEDED", "{done}");
    }
    let _ = std::fs::remove_file(&pid);
    let _ = std::fs::remove_file(&flag);
}

/// The parent of process `pid` (from `/proc`).
fn parent_of(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_whose_executor_died_is_forced_by_its_timer() {
    let mut server = support::start_with(
        "cancel_timer",
        1,
        &[("PHOBOS_JOB_CANCEL_GRACE_SECONDS", "1")],
    )
    .await;
    server.login();
    let project = server.project("acme", "cancel-timer");
    let pid = pid_file("timer");
    let id = server.run_pipeline(&project, &template(&pid, "sleep 60"));
    let pgid = wait_for_group(&pid, &server);
    // kill -9 of the executor: nobody will confirm the cancel.
    let executor = parent_of(pgid);
    // SAFETY: kill takes integers only.
    assert_eq!(unsafe { libc::kill(executor, libc::SIGKILL) }, 0);

    let asked = Instant::now();
    let d = server.gql(CANCEL, json!({ "i": { "id": id } }));
    assert_eq!(d["cancelPipeline"]["problems"], json!([]), "{d}");
    assert_eq!(
        d["cancelPipeline"]["pipeline"]["status"], "CANCELING",
        "{d}"
    );

    // Grace (1 s) + 10 s to confirm, then the timer cancels it without it.
    let done = server.wait_finished(&id, Duration::from_secs(40));
    let took = asked.elapsed();
    assert_eq!(done["status"], "CANCELED", "{done}");
    assert!(
        took >= Duration::from_secs(11),
        "forced too early: {took:?}"
    );
    let job = &done["jobs"][0];
    assert_eq!(job["status"], "CANCELED", "{done}");
    assert!(
        job["message"]
            .as_str()
            .unwrap()
            .contains("did not confirm the cancel"),
        "{done}"
    );
    // The orphaned command is the test's to clean up.
    // SAFETY: killpg takes integers only.
    unsafe { libc::killpg(pgid, libc::SIGKILL) };
    let _ = std::fs::remove_file(&pid);
}
