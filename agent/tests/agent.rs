//! `phobos_agent::run` against an in-test gRPC server, launching a real
//! (script) executor process.

mod support;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use phobos_agent::{AgentConfig, AgentError, DispatcherConfig};
use phobos_proto::v1::CreateSessionRequest;
use support::{
    failed, fake_executor, offer, wait_for_file, Event, FakeServer, Script, StreamPlan, AGENT_TOKEN,
};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

fn config(server_url: String, executor_path: PathBuf) -> AgentConfig {
    AgentConfig {
        server_url,
        tls: Default::default(),
        token: AGENT_TOKEN.into(),
        service_account: None,
        name: "test-agent".into(),
        tags: vec!["linux".into(), "x86_64".into()],
        internal: true,
        dispatcher: DispatcherConfig::Local { executor_path },
        health_file: None,
        otel: None,
    }
}

/// Runs the agent in a task (which also proves `run` is `Send`); sending on
/// the returned channel shuts it down.
fn start(config: AgentConfig) -> (oneshot::Sender<()>, JoinHandle<Result<(), AgentError>>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let agent = tokio::spawn(phobos_agent::run(config, async move {
        let _ = stopped.await;
    }));
    (stop, agent)
}

async fn shut_down(stop: oneshot::Sender<()>, agent: JoinHandle<Result<(), AgentError>>) {
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), agent)
        .await
        .expect("the agent stops within 5 s of shutdown")
        .unwrap()
        .expect("the agent stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_offered_jobs_and_launches_the_executor_with_the_job_environment() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start(Script {
        streams: vec![StreamPlan::Offer(vec![
            offer("job-taken"),
            offer("job-mine"),
        ])],
        claimable: HashSet::from(["job-mine".to_owned()]),
        heartbeat_seconds: 1,
        ..Script::default()
    })
    .await;
    let health = dir.path().join("health");
    let (stop, agent) = start(AgentConfig {
        health_file: Some(health.clone()),
        ..config(server.url(), fake_executor(dir.path()))
    });

    let env = wait_for_file(&dir.path().join("job-mine.env")).await;
    assert_eq!(
        env,
        format!(
            "PHOBOS_GRPC_URL={}\nPHOBOS_JOB_ID=job-mine\nstdin token=token-job-mine\n",
            server.url()
        )
    );
    server
        .wait_for(
            "heartbeat",
            |e| matches!(e, Event::Heartbeat { session_id, .. } if session_id == "session-1"),
        )
        .await;
    // The health file holds the time of the session's last heartbeat.
    let written: u64 = wait_for_file(&health).await.trim().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(written) < 10, "{written} vs {now}");
    shut_down(stop, agent).await;
    assert!(
        !dir.path().join("job-taken.env").exists(),
        "a job claimed by another agent was launched"
    );

    let events = server.events();
    let bearer = format!("Bearer {AGENT_TOKEN}");
    assert!(events.iter().all(|e| match e {
        Event::CreateSession { auth, .. }
        | Event::Heartbeat { auth, .. }
        | Event::StreamJobs { auth, .. }
        | Event::ClaimJob { auth, .. } => *auth == bearer,
        Event::SetJobStatus { .. } | Event::SignIn { .. } | Event::SessionError { .. } => false,
    }));
    assert_eq!(
        events[0],
        Event::CreateSession {
            request: CreateSessionRequest {
                agent_name: "test-agent".into(),
                tags: vec!["linux".into(), "x86_64".into()],
                internal: true,
            },
            auth: bearer.clone(),
        }
    );
    // Offers are claimed concurrently: in any order.
    let mut claims: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::ClaimJob { request, .. } => {
                Some((request.session_id.as_str(), request.job_id.as_str()))
            }
            _ => None,
        })
        .collect();
    claims.sort();
    assert_eq!(
        claims,
        [("session-1", "job-mine"), ("session-1", "job-taken")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_for_the_server_and_reopens_a_lost_session() {
    let dir = tempfile::tempdir().unwrap();
    // A free port nobody listens on yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (stop, agent) = start(config(url, fake_executor(dir.path())));

    tokio::time::sleep(Duration::from_millis(700)).await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let server = FakeServer::serve(
        listener,
        Script {
            // The first job stream ends at once; the agent must open a new
            // session and stream, where the job is offered.
            streams: vec![StreamPlan::End, StreamPlan::Offer(vec![offer("job-1")])],
            claimable: HashSet::from(["job-1".to_owned()]),
            heartbeat_seconds: 30,
            ..Script::default()
        },
    );

    let env = wait_for_file(&dir.path().join("job-1.env")).await;
    assert!(env.contains("stdin token=token-job-1\n"), "{env}");
    shut_down(stop, agent).await;

    let events = server.events();
    let sessions = events
        .iter()
        .filter(|e| matches!(e, Event::CreateSession { .. }))
        .count();
    assert_eq!(sessions, 2);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ClaimJob { request, .. } if request.session_id == "session-2" && request.job_id == "job-1"
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_executor_cannot_start_is_reported_failed() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Notify::new());
    let server = FakeServer::start(Script {
        streams: vec![StreamPlan::Offer(vec![offer("job-x")])],
        claimable: HashSet::from(["job-x".to_owned()]),
        gate: Some(gate.clone()),
        heartbeat_seconds: 30,
        ..Script::default()
    })
    .await;
    let executor = fake_executor(dir.path());
    let (stop, agent) = start(config(server.url(), executor.clone()));
    server
        .wait_for("job stream", |e| matches!(e, Event::StreamJobs { .. }))
        .await;
    // The executor disappears after the agent started (e.g. a rebuild).
    std::fs::remove_file(&executor).unwrap();
    gate.notify_one();

    let event = server
        .wait_for("a failure report", |e| {
            matches!(e, Event::SetJobStatus { .. })
        })
        .await;
    let Event::SetJobStatus { request, auth } = event else {
        unreachable!()
    };
    assert_eq!(auth, "Bearer token-job-x", "reported with the job's token");
    assert_eq!(request.job_id, "job-x");
    assert_eq!(request.status, failed());
    assert!(
        request.message.contains("job executor not found at"),
        "{}",
        request.message
    );
    assert!(
        request.message.contains(&executor.display().to_string()),
        "{}",
        request.message
    );
    assert!(
        request.message.contains("cargo build -p phobos-executor"),
        "{}",
        request.message
    );
    // And says so with its session, for its operators, without the token.
    let event = server
        .wait_for("a session error", |e| {
            matches!(e, Event::SessionError { .. })
        })
        .await;
    let Event::SessionError { request, auth } = event else {
        unreachable!()
    };
    assert_eq!(
        auth,
        format!("Bearer {AGENT_TOKEN}"),
        "reported as the agent"
    );
    assert_eq!(request.session_id, "session-1");
    assert!(
        request.message.contains("job-x") && request.message.contains("job executor not found at"),
        "{}",
        request.message
    );
    assert!(
        !request.message.contains("token-job-x"),
        "{}",
        request.message
    );
    shut_down(stop, agent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_session_stops_the_agent_without_revealing_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start(Script {
        refuse_sessions: true,
        ..Script::default()
    })
    .await;
    let (_stop, agent) = start(config(server.url(), fake_executor(dir.path())));
    let error = tokio::time::timeout(Duration::from_secs(10), agent)
        .await
        .expect("the agent gives up at once")
        .unwrap()
        .unwrap_err();
    assert!(matches!(
        error,
        AgentError::SessionRefused {
            code: tonic::Code::Unauthenticated,
            ..
        }
    ));
    let message = error.to_string();
    assert!(message.contains("check the agent token"), "{message}");
    assert!(!message.contains(AGENT_TOKEN) && !format!("{error:?}").contains(AGENT_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_executor_is_reported_before_connecting() {
    let missing = PathBuf::from("/nonexistent/phobos-job-executor");
    let error = phobos_agent::run(
        config("http://127.0.0.1:1".into(), missing),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("/nonexistent/phobos-job-executor"),
        "{message}"
    );
    assert!(
        message.contains("cargo build -p phobos-executor"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_the_server_is_down_returns_ok() {
    let dir = tempfile::tempdir().unwrap();
    let (stop, agent) = start(config(
        "http://127.0.0.1:1".into(),
        fake_executor(dir.path()),
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    shut_down(stop, agent).await;
}

#[test]
fn configuration_debug_output_hides_the_token() {
    let config = config("http://127.0.0.1:9010".into(), "/bin/true".into());
    let debug = format!("{config:?}");
    assert!(
        !debug.contains(AGENT_TOKEN) && debug.contains("<redacted>"),
        "{debug}"
    );
}

#[tokio::test]
async fn an_unusable_token_or_url_is_rejected_with_advice() {
    let mut bad_token = config("http://127.0.0.1:9010".into(), "/bin/true".into());
    bad_token.token = "line\nbreak".into();
    let message = phobos_agent::run(bad_token, std::future::pending())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("cannot be sent as gRPC metadata") && !message.contains("line"),
        "{message}"
    );

    let bad_url = config("127.0.0.1:9010".into(), "/bin/true".into());
    let message = phobos_agent::run(bad_url, std::future::pending())
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("http://127.0.0.1:9010"), "{message}");
}

/// An organization agent signed in as a service account: it exchanges the
/// OIDC token from its file, names itself on every call, and renews the
/// token (reading the file again) before it expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_in_as_a_service_account_and_renews_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("oidc-token");
    std::fs::write(&token_file, "oidc-ok\n").unwrap();
    let server = FakeServer::start(Script {
        heartbeat_seconds: 1,
        // Renewed after max(2/3 of 6 s, 5 s) = 5 s.
        service_account_token_seconds: Some(6),
        ..Script::default()
    })
    .await;
    let mut cfg = config(server.url(), fake_executor(dir.path()));
    cfg.token = String::new();
    cfg.service_account = Some(phobos_agent::ServiceAccountLogin {
        path: "acme/agents".into(),
        token_file: token_file.clone(),
    });
    let (stop, agent) = start(cfg);
    server
        .wait_for(
            "a session with the first token",
            |e| matches!(e, Event::CreateSession { auth, .. } if auth == "Bearer sa-token-1"),
        )
        .await;
    server
        .wait_for(
            "a heartbeat with the renewed token",
            |e| matches!(e, Event::Heartbeat { auth, .. } if auth == "Bearer sa-token-2"),
        )
        .await;
    shut_down(stop, agent).await;
    let sign_ins: Vec<String> = server
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::SignIn { request } => Some(request.token),
            _ => None,
        })
        .collect();
    assert!(sign_ins.len() >= 2, "{sign_ins:?}");
    assert!(sign_ins.iter().all(|t| t == "oidc-ok"), "{sign_ins:?}");
}

/// A token the server will not exchange stops the agent, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_service_account_sign_in_stops_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("oidc-token");
    std::fs::write(&token_file, "not-accepted").unwrap();
    let server = FakeServer::start(Script {
        service_account_token_seconds: Some(60),
        ..Script::default()
    })
    .await;
    let mut cfg = config(server.url(), fake_executor(dir.path()));
    cfg.service_account = Some(phobos_agent::ServiceAccountLogin {
        path: "acme/agents".into(),
        token_file,
    });
    let (_stop, agent) = start(cfg);
    let err = tokio::time::timeout(Duration::from_secs(10), agent)
        .await
        .expect("the agent stops")
        .unwrap()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("refused to sign in as service account \"acme/agents\""),
        "{text}"
    );
    assert!(!text.contains("not-accepted"), "no token in errors: {text}");
}
