//! Agents are who their credential says: a user token opens no session,
//! a credential opens sessions only as its own agent, and a job is offered
//! to, and may be claimed by, only an agent whose tags, organization and
//! runUntaggedJobs allow it. A refused claim appends nothing.

mod support;

use support::authed;

use std::time::Duration;

use phobos_proto::v1::agent_service_client::AgentServiceClient;
use phobos_proto::v1::*;
use serde_json::json;
use tonic::transport::Channel;
use tonic::{Code, Streaming};

struct Agent {
    client: AgentServiceClient<Channel>,
    token: String,
    session: String,
}

impl Agent {
    async fn connect(server: &support::Server, name: &str, token: &str) -> Agent {
        let channel = Channel::from_shared(format!("http://127.0.0.1:{}", server.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = AgentServiceClient::new(channel);
        let session = client
            .create_session(authed(
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
            .session_id;
        Agent {
            client,
            token: token.into(),
            session,
        }
    }

    async fn offers(&mut self) -> Streaming<JobOffer> {
        self.client
            .stream_jobs(authed(
                StreamJobsRequest {
                    session_id: self.session.clone(),
                },
                &self.token,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    async fn claim(&mut self, job_id: &str) -> Result<ClaimJobResponse, tonic::Status> {
        self.client
            .claim_job(authed(
                ClaimJobRequest {
                    session_id: self.session.clone(),
                    job_id: job_id.into(),
                },
                &self.token,
            ))
            .await
            .map(|r| r.into_inner())
    }
}

/// The offers that arrive within `wait`, by node path.
async fn offered(stream: &mut Streaming<JobOffer>, wait: Duration) -> Vec<(String, String)> {
    let mut got = Vec::new();
    while let Ok(Ok(Some(o))) = tokio::time::timeout(wait, stream.message()).await {
        got.push((o.node_path, o.job_id));
    }
    got.sort();
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_are_who_their_credential_says_and_take_only_their_jobs() {
    let mut server = support::start("agent_identity", 0).await;
    let user = server.login();
    let project = server.project("acme", "agents");
    server.project("other", "elsewhere");
    let (_, linux) = server.agent_token("linux", None, &["linux"], false);
    let (_, acme) = server.agent_token("acme-builder", Some("acme"), &[], true);
    let (other_id, other) = server.agent_token("other-builder", Some("other"), &[], true);

    // A user token opens no session; a credential only as its own agent.
    let channel = Channel::from_shared(format!("http://127.0.0.1:{}", server.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut raw = AgentServiceClient::new(channel);
    let request = |name: &str, tags: Vec<String>| CreateSessionRequest {
        agent_name: name.into(),
        tags,
        internal: true,
    };
    let e = raw
        .create_session(authed(request("linux", vec![]), &user))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains("createAgentToken"), "{e:?}");
    let e = raw
        .create_session(authed(request("acme-builder", vec![]), &linux))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains("belongs to agent \"linux\""), "{e:?}");
    let e = raw
        .create_session(authed(request("linux", vec!["gpu".into()]), &linux))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("updateAgent"), "{e:?}");
    let e = raw
        .create_session(authed(request("linux", vec![]), "pha_not-a-real-token"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");

    let mut linux = Agent::connect(&server, "linux", &linux).await;
    let mut acme = Agent::connect(&server, "acme-builder", &acme).await;
    let mut other = Agent::connect(&server, "other-builder", &other).await;
    // Another agent's session is not yours.
    let stolen = raw
        .claim_job(authed(
            ClaimJobRequest {
                session_id: linux.session.clone(),
                job_id: "00000000-0000-0000-0000-000000000000".into(),
            },
            &other.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(stolen.code(), Code::PermissionDenied, "{stolen:?}");

    let pipeline = server.run_pipeline(
        &project,
        r#"
stage "s" {
  task "tagged" {
    agent { tags = ["linux"] }
    action "exec_command" { command = "true" }
  }
  task "untagged" {
    action "exec_command" { command = "true" }
  }
  task "gpu" {
    agent { tags = ["linux", "gpu"] }
    action "exec_command" { command = "true" }
  }
}
"#,
    );
    let (mut l, mut a, mut o) = (
        linux.offers().await,
        acme.offers().await,
        other.offers().await,
    );
    let wait = Duration::from_millis(1500);
    let (lo, ao, oo) = tokio::join!(
        offered(&mut l, wait),
        offered(&mut a, wait),
        offered(&mut o, wait)
    );
    let paths = |v: &[(String, String)]| v.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    // linux: tagged only (not untagged: runUntaggedJobs is false; not gpu).
    assert_eq!(paths(&lo), ["stage.s.task.tagged"]);
    // acme's organization agent: the untagged one (it has no tags).
    assert_eq!(paths(&ao), ["stage.s.task.untagged"]);
    // the other organization's agent: nothing of acme's.
    assert!(oo.is_empty(), "{oo:?}");

    // Claims are checked the same way, and a refusal appends nothing.
    let job =
        |v: &[(String, String)], path: &str| v.iter().find(|(p, _)| p == path).unwrap().1.clone();
    let untagged = job(&ao, "stage.s.task.untagged");
    let tagged = job(&lo, "stage.s.task.tagged");
    let e = other.claim(&untagged).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains("another organization"), "{e:?}");
    let e = linux.claim(&untagged).await.unwrap_err();
    assert!(e.message().contains("runUntaggedJobs"), "{e:?}");
    let e = acme.claim(&tagged).await.unwrap_err();
    assert!(e.message().contains("lacks [\"linux\"]"), "{e:?}");
    let events = server.gql(
        "query($id: ID!) { pipelineEvents(pipelineId: $id) { eventType } }",
        json!({ "id": pipeline }),
    );
    let claimed = events.to_string().matches("JobClaimed").count();
    assert_eq!(claimed, 0, "{events}");
    assert!(linux.claim(&tagged).await.unwrap().claimed);
    assert!(acme.claim(&untagged).await.unwrap().claimed);

    // updateAgent changes what it may take: with gpu, linux may claim it.
    let linux_id = server.gql("query { agents { edges { node { id name } } } }", json!({}))
        ["agents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["name"] == "linux")
        .unwrap()["node"]["id"]
        .clone();
    let gpu_job = sqlx::query_scalar::<_, String>(
        "SELECT aggregate_id FROM events WHERE event_type = 'JobQueued'
          AND payload->'JobQueued'->>'node_path' = 'stage.s.task.gpu'",
    )
    .fetch_one(&sqlx::PgPool::connect_with(server.db.clone()).await.unwrap())
    .await
    .unwrap();
    let e = linux.claim(&gpu_job).await.unwrap_err();
    assert!(e.message().contains("lacks [\"gpu\"]"), "{e:?}");
    let d = server.gql(
        "mutation($i: UpdateAgentInput!) { updateAgent(input: $i) { agent { tags runUntaggedJobs } problems { message } } }",
        json!({ "i": { "id": linux_id, "tags": ["linux", "gpu"] } }),
    );
    assert_eq!(
        d["updateAgent"]["agent"]["tags"],
        json!(["linux", "gpu"]),
        "{d}"
    );
    assert_eq!(d["updateAgent"]["agent"]["runUntaggedJobs"], false, "{d}");
    assert!(linux.claim(&gpu_job).await.unwrap().claimed);

    // A deleted agent's credential stops working.
    let d = server.gql(
        "mutation($i: AgentIdInput!) { deleteAgent(input: $i) { agent { name } problems { message } } }",
        json!({ "i": { "id": other_id } }),
    );
    assert_eq!(d["deleteAgent"]["problems"], json!([]), "{d}");
    let e = raw
        .heartbeat(authed(
            HeartbeatRequest {
                session_id: other.session.clone(),
            },
            &other.token,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_no_agent_can_take_says_what_it_waits_for() {
    let mut server = support::start("agent_waiting", 1).await;
    server.login();
    let project = server.project("acme", "waiting");
    let pipeline = server.run_pipeline(
        &project,
        "stage \"s\" {\n  task \"t\" {\n    agent { tags = [\"arm64\"] }\n    action \"exec_command\" { command = \"true\" }\n  }\n}\n",
    );
    let message = |server: &support::Server| {
        server.gql(
            "query($id: ID!) { pipeline(id: $id) { jobs { status message } } }",
            json!({ "id": pipeline }),
        )["pipeline"]["jobs"][0]
            .clone()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let job = loop {
        let job = message(&server);
        if job["status"] == "QUEUED" {
            break job;
        }
        assert!(std::time::Instant::now() < deadline, "{job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let text = job["message"].as_str().unwrap();
    assert!(
        text.contains("tags [\"arm64\"]")
            && text.contains("none is registered")
            && text.contains("createAgent"),
        "{text}"
    );
    let (_, token) = server.agent_token("arm", None, &["arm64"], true);
    let text = message(&server)["message"].as_str().unwrap().to_string();
    assert!(
        text.contains("none is connected") && text.contains("arm"),
        "{text}"
    );
    let _arm = Agent::connect(&server, "arm", &token).await;
    let job = message(&server);
    assert_eq!(job["status"], "QUEUED");
    assert_eq!(job["message"], serde_json::Value::Null, "{job}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_stops_heartbeating_expires() {
    let mut server = support::start_with(
        "agent_expiry",
        0,
        &[("PHOBOS_JOB_HEARTBEAT_TIMEOUT_SECONDS", "2")],
    )
    .await;
    server.login();
    let (_, token) = server.agent_token("sleepy", None, &[], true);
    let mut agent = Agent::connect(&server, "sleepy", &token).await;
    let mut offers = agent.offers().await;
    // No heartbeats: after the timeout the stream ends and the session is gone.
    let ended = tokio::time::timeout(Duration::from_secs(10), offers.message())
        .await
        .expect("the stream ends once the session expires");
    let status = ended.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains("expired"), "{status:?}");
    let e = agent
        .claim("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert!(e.message().contains("create a new session"), "{e:?}");
    // The expiry is on the record.
    let id = phobos_commands::aggregates::agent_id("sleepy");
    let pool = sqlx::PgPool::connect_with(server.db.clone()).await.unwrap();
    let expired: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'AgentSessionExpired'",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(expired, 1);
}
