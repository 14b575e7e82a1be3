//! Gates against the real server, agent and executor: a health check that
//! succeeds on its third attempt (a counter file it keeps), and one that
//! runs out of attempts, failing with the condition and the count. Each
//! attempt is a job of its own with its own logs.

mod support;

use std::time::Duration;

use serde_json::Value;

fn gate(counter: &std::path::Path, pass_at: u32, attempts: u32) -> String {
    format!(
        r#"
stage "production" {{
  pre {{
    task "health_check" {{
      interval          = "1s"
      attempts          = {attempts}
      success_condition = "action_outputs.stage.production.pre.task.health_check.action.check_service.exit_code == 0"
      action "exec_command" {{
        alias   = "check_service"
        command = <<-EOT
          n=$(cat {c} 2>/dev/null || echo 0)
          n=$((n + 1))
          echo $n > {c}
          echo "attempt $n"
          test $n -ge {pass_at}
        EOT
      }}
    }}
  }}
  task "deploy" {{
    action "exec_command" {{
      command = "echo deploying"
    }}
  }}
}}
"#,
        c = counter.display()
    )
}

fn jobs_of<'a>(done: &'a Value, path: &str) -> Vec<&'a Value> {
    done["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["nodePath"] == path)
        .collect()
}

const HEALTH: &str = "stage.production.pre.task.health_check";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_succeeds_on_its_third_attempt() {
    let mut server = support::start("gate_ok", 1).await;
    server.login();
    let project = server.project("acme", "gates");
    let counter = std::env::temp_dir().join(format!("phobos-gate-{}", uuid::Uuid::new_v4()));
    let id = server.run_pipeline(&project, &gate(&counter, 3, 5));
    let done = server.wait_finished(&id, Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let attempts = jobs_of(&done, HEALTH);
    assert_eq!(attempts.len(), 3, "three jobs, one per attempt: {done}");
    let mut logs: Vec<&str> = attempts
        .iter()
        .map(|j| j["logs"]["text"].as_str().unwrap_or(""))
        .collect();
    logs.sort();
    for (i, log) in logs.iter().enumerate() {
        assert!(log.contains(&format!("attempt {}", i + 1)), "{log}");
    }
    assert_eq!(jobs_of(&done, "stage.production.task.deploy").len(), 1);
    assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_that_runs_out_of_attempts_fails_with_the_condition_and_count() {
    let mut server = support::start("gate_out", 1).await;
    server.login();
    let project = server.project("acme", "gates");
    let counter = std::env::temp_dir().join(format!("phobos-gate-{}", uuid::Uuid::new_v4()));
    let id = server.run_pipeline(&project, &gate(&counter, 99, 3));
    let done = server.wait_finished(&id, Duration::from_secs(60));
    assert_eq!(done["status"], "FAILED", "{done}");
    let node = done["stages"][0]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["path"] == HEALTH)
        .unwrap()
        .clone();
    assert_eq!(node["status"], "FAILED");
    let reason = node["reason"].as_str().unwrap();
    assert!(reason.contains("exit_code == 0"), "{reason}");
    assert!(reason.contains("after 3 of 3 attempts"), "{reason}");
    assert_eq!(jobs_of(&done, HEALTH).len(), 3, "{done}");
    assert!(jobs_of(&done, "stage.production.task.deploy").is_empty());
}
