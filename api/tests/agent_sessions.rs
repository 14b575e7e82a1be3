//! An agent's sessions and the errors it reports in them: an agent whose
//! executor will not start reports it with its session, the agents page's
//! query (`Agent.sessions`, `Agent.jobs`) shows the session open with its
//! last contact, the error and the failed job; a session keeps at most 100
//! errors; only the agent itself reports into its own open session; and a
//! restart of the server keeps it all (it is in the log).

mod support;

use std::time::{Duration, Instant};

use phobos_proto::v1::agent_service_client::AgentServiceClient;
use phobos_proto::v1::*;
use serde_json::{json, Value};
use support::authed;
use tonic::transport::Channel;
use tonic::Code;

const WORK: &str = "query($id: ID!) { node(id: $id) { ... on Agent {
    sessions { id active startedAt lastContactAt endedAt errorCount lastErrorAt errors { message reportedAt } }
    jobs { nodePath status message } } } }";

const HCL: &str = r#"
stage "s" {
  task "t" {
    action "exec_command" {
      command = "echo never runs"
    }
  }
}
"#;

fn work(server: &support::Server, agent: &str) -> Value {
    server.gql(WORK, json!({ "id": agent }))["node"].clone()
}

/// Waits until `ready` holds of the agent's sessions and jobs.
fn wait_work(server: &support::Server, agent: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let w = work(server, agent);
        if ready(&w) {
            return w;
        }
        assert!(Instant::now() < deadline, "never ready: {w}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn client(server: &support::Server) -> AgentServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://127.0.0.1:{}", server.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    AgentServiceClient::new(channel)
}

async fn open_session(c: &mut AgentServiceClient<Channel>, name: &str, token: &str) -> String {
    c.create_session(authed(
        CreateSessionRequest {
            agent_name: name.into(),
            tags: vec![],
            internal: false,
        },
        token,
    ))
    .await
    .unwrap()
    .into_inner()
    .session_id
}

fn report(session: &str, message: &str, token: &str) -> tonic::Request<ReportSessionErrorRequest> {
    authed(
        ReportSessionErrorRequest {
            session_id: session.into(),
            message: message.into(),
        },
        token,
    )
}

#[tokio::test]
async fn an_agent_reports_what_went_wrong_with_its_session() {
    let mut server = support::start("agent_sessions", 0).await;
    server.login();
    let project = server.project("acme", "web");
    let (agent, token) = server.agent_token("broken", None, &[], true);

    // An agent whose executor is not executable (one that is missing
    // stops the agent at start): it claims the job, fails it, and says why
    // with its session.
    let missing = std::env::temp_dir().join(format!(
        "phobos-not-executable-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&missing, "not a program").unwrap();
    let _process = support::AgentProcess(
        std::process::Command::new(support::bin_dir().join("phobos-agent"))
            .args(["--server-url", &format!("http://127.0.0.1:{}", server.grpc)])
            .args(["--name", "broken"])
            .args(["--executor-path", missing.to_str().unwrap()])
            .env("PHOBOS_AGENT_TOKEN", &token)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start phobos-agent"),
    );
    let pipeline = server.run_pipeline(&project, HCL);
    let done = server.wait_finished(&pipeline, Duration::from_secs(60));
    assert_eq!(done["status"], "FAILED", "{done}");

    let w = wait_work(&server, &agent, |w| {
        w["sessions"][0]["errorCount"] == 1 && w["jobs"][0]["status"] == "FAILED"
    });
    let sessions = w["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{w}");
    let s = &sessions[0];
    assert_eq!(s["active"], true, "{w}");
    assert!(s["lastContactAt"].is_string(), "{w}");
    assert_eq!(s["endedAt"], Value::Null, "{w}");
    let message = s["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("could not start the job executor")
            && message.contains("phobos-not-executable"),
        "{message}"
    );
    assert!(
        !message.contains("phj_"),
        "a job token in an error: {message}"
    );
    assert_eq!(w["jobs"][0]["nodePath"], "stage.s.task.t", "{w}");
    assert!(
        w["jobs"][0]["message"]
            .as_str()
            .unwrap()
            .contains("could not start the job executor"),
        "{w}"
    );

    // Only an open session of the caller's own takes errors; a blank
    // message is refused; a session keeps at most 100.
    let mut c = client(&server).await;
    let session = s["id"].as_str().unwrap().to_string();
    let (_, other) = server.agent_token("other", None, &[], true);
    let refused = c
        .report_session_error(report(&session, "not mine", &other))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let refused = c
        .report_session_error(report(&uuid::Uuid::new_v4().to_string(), "no such", &token))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    let refused = c
        .report_session_error(report(&session, "  ", &token))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("message"), "{refused:?}");
    let fresh = open_session(&mut c, "broken", &token).await;
    let long = "x".repeat(5_000);
    for i in 0..100 {
        let text = if i == 99 { long.as_str() } else { "disk full" };
        c.report_session_error(report(&fresh, text, &token))
            .await
            .unwrap_or_else(|e| panic!("error {i} refused: {e:?}"));
    }
    let full = c
        .report_session_error(report(&fresh, "one too many", &token))
        .await
        .unwrap_err();
    assert_eq!(full.code(), Code::ResourceExhausted, "{full:?}");
    assert!(full.message().contains("100 errors"), "{full:?}");

    let w = wait_work(&server, &agent, |w| w["sessions"][0]["errorCount"] == 100);
    let newest = &w["sessions"][0];
    assert_eq!(newest["id"], fresh.as_str(), "{w}");
    let kept = newest["errors"][0]["message"].as_str().unwrap();
    assert_eq!(kept.chars().count(), 2_000, "cut to 2,000 characters");
    assert!(kept.ends_with('…'), "{kept}");
    assert_eq!(
        newest["errors"].as_array().unwrap().len(),
        20,
        "the first 20 by default"
    );

    // A restart: the sessions, their errors and the jobs are still there.
    server.kill9();
    server.restart();
    server.login(); // the memory JWS provider's keys went with the process
    let w = work(&server, &agent);
    let counts: Vec<&Value> = w["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["errorCount"])
        .collect();
    assert!(
        counts.contains(&&json!(100)) && counts.contains(&&json!(1)),
        "{w}"
    );
    assert_eq!(w["jobs"][0]["status"], "FAILED", "{w}");
}
