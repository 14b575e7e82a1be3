//! The agent library and the real executor binary together: the agent claims
//! the offered job and starts `phobos-job-executor`, which runs it.

mod support;

use std::time::Duration;

use phobos_agent::{AgentConfig, DispatcherConfig};
use phobos_proto::v1::JobStatus;
use serde_json::json;
use support::{exec, FakeServer, Faults};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_runs_an_offered_job_with_the_real_executor() {
    let server = FakeServer::start(
        vec![exec("hello", "echo hello from $PHOBOS_JOB_ID")],
        Faults {
            offer_to_agents: true,
            ..Faults::default()
        },
    )
    .await;
    let config = AgentConfig {
        server_url: server.url(),
        tls: Default::default(),
        token: "agent-token".into(),
        service_account: None,
        name: "e2e".into(),
        tags: vec![],
        internal: false,
        dispatcher: DispatcherConfig::Local {
            executor_path: env!("CARGO_BIN_EXE_phobos-job-executor").into(),
        },
        health_file: None,
        otel: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(phobos_agent::run(config, async move {
        let _ = stopped.await;
    }));

    server.wait_until_finished().await;
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
        [("hello".to_owned(), json!({ "exit_code": 0 }))]
    );
    assert_eq!(
        server.stored_log(),
        format!(
            "==> action hello: exec_command\nhello from {}\n",
            support::JOB_ID
        )
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), agent)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
