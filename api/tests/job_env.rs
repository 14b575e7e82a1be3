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

/// An external `phobos-agent` started with secrets in its environment: its
/// jobs see none of them; killed (`kill -9`) mid-job, its executor finishes
/// the job anyway; neither log shows the agent's credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_agent_jobs_see_no_agent_secret_and_outlive_the_agent() {
    let mut server = support::start("job_env_external", 0).await;
    server.login();
    let project = server.project("acme", "external");
    let (_, token) = server.agent_token("outside", None, &["outside"], false);
    let dir = std::env::temp_dir().join(format!("phobos-ext-agent-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let agent_log = dir.join("agent.log");
    let out = std::fs::File::create(&agent_log).unwrap();
    let url = format!("http://127.0.0.1:{}", server.grpc);
    let mut agent = support::AgentProcess::command(&url, "outside", &token)
        .env(CANARY_NAME, CANARY_VALUE)
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::from(out.try_clone().unwrap()))
        .stderr(std::process::Stdio::from(out))
        .spawn()
        .unwrap();
    let marker = dir.join("started");
    let hcl = format!(
        r#"
stage "s" {{
  task "show" {{
    agent {{ tags = ["outside"] }}
    action "exec_command" {{
      command = "env; touch {}; sleep 3; echo finished-after-agent-died"
    }}
  }}
}}
"#,
        marker.display()
    );
    let id = server.run_pipeline(&project, &hcl);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    agent.kill().unwrap();
    agent.wait().unwrap();
    let done = server.wait_finished(&id, Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let log = job_log(&done);
    assert!(log.contains("finished-after-agent-died"), "{log}");
    for secret in [
        CANARY_NAME,
        CANARY_VALUE,
        AWS_SECRET,
        "PHOBOS_AGENT_TOKEN",
        &token,
    ] {
        assert!(!log.contains(secret), "the job saw {secret}:\n{log}");
    }
    let agent_output = std::fs::read_to_string(&agent_log).unwrap();
    assert!(agent_output.contains("job claimed"), "{agent_output}");
    for text in [&agent_output, &server.log_text()] {
        assert!(!text.contains(&token), "a log shows the agent token");
        assert!(
            !text.contains(support::PASSWORD),
            "a log shows the admin password"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
