//! Processes die: the server (`kill -9`, restarted), an executor, a job that
//! runs too long. Nothing is lost, and nothing stays RUNNING forever.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn job<'a>(pipeline: &'a Value, path: &str) -> &'a Value {
    pipeline["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["nodePath"] == path)
        .unwrap_or_else(|| panic!("no job for {path}: {pipeline}"))
}

/// Polls until the job of `path` is RUNNING.
fn wait_running(server: &support::Server, pipeline_id: &str, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = server.gql(
            "query($id: ID!) { pipeline(id: $id) { jobs { nodePath status } } }",
            json!({ "id": pipeline_id }),
        );
        let running = d["pipeline"]["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["nodePath"] == path && j["status"] == "RUNNING");
        if running {
            return;
        }
        assert!(Instant::now() < deadline, "{path} never ran: {d}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const SLOW: &str = r#"
stage "one" {
  task "slow" {
    action "exec_command" {
      alias   = "slow"
      command = "echo slow-start; sleep 4; echo slow-done"
    }
  }
}
stage "two" {
  task "after" {
    action "exec_command" {
      command = "echo after-ran"
    }
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_job_loses_nothing() {
    let mut server = support::start("crash_server", 1).await;
    server.login();
    let project = server.project("acme", "crash");
    let id = server.run_pipeline(&project, SLOW);
    wait_running(&server, &id, "stage.one.task.slow");
    std::thread::sleep(Duration::from_millis(1500));
    server.kill9();
    // Down for longer than the executor's old retry budget (~6 s).
    std::thread::sleep(Duration::from_secs(8));
    server.restart();
    server.login();
    let done = server.wait_finished(&id, Duration::from_secs(90));
    assert_eq!(done["status"], "SUCCEEDED", "{done}\n{}", server.log_text());
    let slow = job(&done, "stage.one.task.slow");
    assert_eq!(slow["status"], "SUCCEEDED");
    let log = slow["logs"]["text"].as_str().unwrap();
    assert!(
        log.contains("slow-start\n") && log.contains("slow-done\n"),
        "{log}"
    );
    assert_eq!(log.matches("slow-done").count(), 1, "{log}");
    let after = job(&done, "stage.two.task.after");
    assert!(after["logs"]["text"]
        .as_str()
        .unwrap()
        .contains("after-ran"));
    let stages = done["stages"].as_array().unwrap();
    let outputs = &stages[0]["nodes"][0]["outputs"];
    assert_eq!(outputs, &json!({ "slow": { "exit_code": 0 } }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_executor_fails_its_job_saying_what_died() {
    let mut server = support::start_with(
        "crash_executor",
        1,
        &[("PHOBOS_JOB_HEARTBEAT_TIMEOUT_SECONDS", "3")],
    )
    .await;
    server.login();
    let project = server.project("acme", "crash");
    let pids = std::env::temp_dir().join(format!("phobos-crash-{}", uuid::Uuid::new_v4()));
    let hcl = format!(
        r#"stage "s" {{
  task "victim" {{
    action "exec_command" {{
      command = "echo \"$PPID $$\" > {}; sleep 60"
    }}
  }}
}}
"#,
        pids.display()
    );
    let id = server.run_pipeline(&project, &hcl);
    wait_running(&server, &id, "stage.s.task.victim");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pids.exists() {
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    let text = std::fs::read_to_string(&pids).unwrap();
    let (executor, shell) = text.trim().split_once(' ').unwrap();
    let kill = |args: &[&str]| {
        std::process::Command::new("kill")
            .args(args)
            .status()
            .unwrap()
    };
    assert!(kill(&["-9", executor]).success());
    let done = server.wait_finished(&id, Duration::from_secs(30));
    kill(&["-9", "--", &format!("-{shell}")]);
    let _ = std::fs::remove_file(&pids);
    assert_eq!(done["status"], "FAILED", "{done}");
    let message = job(&done, "stage.s.task.victim")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("stopped reporting") && message.contains("internal-0"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_its_timeout_fails_naming_the_setting() {
    let mut server =
        support::start_with("crash_timeout", 1, &[("PHOBOS_JOB_TIMEOUT_SECONDS", "2")]).await;
    server.login();
    let project = server.project("acme", "crash");
    let id = server.run_pipeline(
        &project,
        "stage \"s\" {\n  task \"long\" {\n    action \"exec_command\" {\n      command = \"sleep 30\"\n    }\n  }\n}\n",
    );
    let done = server.wait_finished(&id, Duration::from_secs(20));
    assert_eq!(done["status"], "FAILED", "{done}");
    let message = job(&done, "stage.s.task.long")["message"].as_str().unwrap();
    assert!(
        message.contains("timeout of 2 s") && message.contains("PHOBOS_JOB_TIMEOUT_SECONDS"),
        "{message}"
    );
}
