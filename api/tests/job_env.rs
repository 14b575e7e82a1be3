//! A job sees nothing of the server's environment: its executor and its
//! commands start from an empty environment plus a documented allow-list.

mod support;

use std::time::Duration;

use serde_json::Value;

const DB_PASSWORD: &str = "db-password-3c1f9e";
const CANARY_NAME: &str = "SERVER_ONLY_CANARY";
const CANARY_VALUE: &str = "canary-value-77d2a0";
const AWS_SECRET: &str = "aws-secret-key-5b8e41";

/// Prints the command's environment, the executor's (its parent's), where
/// it runs and its HOME.
const PRINT_ENV: &str = r#"
stage "s" {
  task "show" {
    action "exec_command" {
      command = "echo '--- env'; env; echo '--- executor env'; tr '\\0' '\\n' < /proc/$PPID/environ; echo; echo \"pwd=$(pwd)\"; echo \"home=$HOME\"; echo \"workdir=$PHOBOS_JOB_WORK_DIR\"; touch left-behind"
    }
  }
}
"#;

fn job_log(pipeline: &Value) -> String {
    pipeline["jobs"][0]["logs"]["text"]
        .as_str()
        .unwrap()
        .to_string()
}

fn variable_names(section: &str) -> Vec<String> {
    section
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_string()))
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_agent_jobs_see_no_server_secret() {
    let mut server = support::start_with(
        "job_env_internal",
        1,
        &[
            ("PHOBOS_DB_PASSWORD", DB_PASSWORD),
            (CANARY_NAME, CANARY_VALUE),
            ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
            ("LANG", "C.UTF-8"),
        ],
    )
    .await;
    server.login();
    let project = server.project("acme", "env");
    let id = server.run_pipeline(&project, PRINT_ENV);
    let done = server.wait_finished(&id, Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let log = job_log(&done);

    for secret in [support::PASSWORD, DB_PASSWORD, CANARY_VALUE, AWS_SECRET] {
        assert!(!log.contains(secret), "the job saw a server secret:\n{log}");
    }
    let (command_env, rest) = log
        .split_once("--- env\n")
        .unwrap()
        .1
        .split_once("--- executor env\n")
        .unwrap();
    let (executor_env, tail) = rest.split_once("pwd=").unwrap();
    let mut names = variable_names(command_env);
    names.sort();
    let mut expected: Vec<String> = [
        "HOME",
        "LANG",
        "PATH",
        "PHOBOS_JOB_ID",
        "PHOBOS_JOB_NODE_PATH",
        "PHOBOS_JOB_PIPELINE_ID",
        "PHOBOS_JOB_WORK_DIR",
        "PWD",
        // set by `sh` itself
        "SHLVL",
        "OLDPWD",
        "_",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    expected.sort();
    for name in &names {
        assert!(
            expected.contains(name),
            "the command's environment holds {name}, which is not on the allow-list:\n{command_env}"
        );
    }
    assert!(
        command_env.contains("PHOBOS_JOB_NODE_PATH=stage.s.task.show"),
        "{command_env}"
    );
    let mut executor_names = variable_names(executor_env);
    executor_names.sort();
    assert_eq!(
        executor_names,
        [
            "LANG",
            "PATH",
            "PHOBOS_GRPC_URL",
            "PHOBOS_JOB_ID",
            "RUST_LOG"
        ],
        "the executor's environment:\n{executor_env}"
    );
    // Its own directory, also HOME, removed when the job ended.
    let pwd = tail.lines().next().unwrap();
    assert!(tail.contains(&format!("home={pwd}\n")), "{tail}");
    assert!(tail.contains(&format!("workdir={pwd}\n")), "{tail}");
    assert!(pwd.contains("phobos-job-"), "{pwd}");
    assert!(
        !std::path::Path::new(pwd).exists(),
        "the job's directory {pwd} was not removed"
    );
    // Nor do the server's own logs show them.
    let server_log = server.log_text();
    for secret in [support::PASSWORD, DB_PASSWORD, AWS_SECRET] {
        assert!(!server_log.contains(secret), "the server logged a secret");
    }
}
