//! Job tokens, as an executor uses them over real gRPC: valid for their own
//! job only, refused once it is over; logs and outputs have size limits that
//! fail the job naming the limit.

mod support;

use support::authed;

use std::time::Duration;

use phobos_proto::v1::agent_service_client::AgentServiceClient;
use phobos_proto::v1::job_service_client::JobServiceClient;
use phobos_proto::v1::*;
use serde_json::json;
use tonic::transport::Channel;
use tonic::Code;

/// Three jobs that only an agent tagged `manual` may take (the internal agent
/// has no tags), claimed by this test acting as that agent. Returns the
/// job ids and their tokens.
async fn claim_three(
    server: &mut support::Server,
    project: &str,
) -> (Channel, String, Vec<(String, String)>) {
    server.login();
    let (_, agent) = server.agent_token("by-hand", None, &["manual"], true);
    let hcl = r#"
agent { tags = ["manual"] }
stage "s" {
  task "a" {
    action "exec_command" { command = "true" }
  }
  task "b" {
    action "exec_command" { command = "true" }
  }
  task "c" {
    action "exec_command" { command = "true" }
  }
}
"#;
    let pipeline = server.run_pipeline(project, hcl);
    let channel = Channel::from_shared(format!("http://127.0.0.1:{}", server.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut agents = AgentServiceClient::new(channel.clone());
    let session = agents
        .create_session(authed(
            CreateSessionRequest {
                agent_name: "by-hand".into(),
                tags: vec!["manual".into()],
                internal: false,
            },
            &agent,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut offers = agents
        .stream_jobs(authed(
            StreamJobsRequest {
                session_id: session.session_id.clone(),
            },
            &agent,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut claimed = Vec::new();
    while claimed.len() < 3 {
        let offer = tokio::time::timeout(Duration::from_secs(20), offers.message())
            .await
            .expect("an offer")
            .unwrap()
            .unwrap();
        let claim = agents
            .claim_job(authed(
                ClaimJobRequest {
                    session_id: session.session_id.clone(),
                    job_id: offer.job_id.clone(),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(claim.claimed);
        assert!(claim.job_token.starts_with("phj_"));
        claimed.push((offer.job_id, claim.job_token));
    }
    (channel, pipeline, claimed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_token_works_for_its_job_only_and_not_after_it_ended() {
    let mut server =
        support::start_with("job_tokens", 1, &[("PHOBOS_JOB_OUTPUTS_MAX_BYTES", "16")]).await;
    server.login();
    let project = server.project("acme", "tokens");
    let (channel, pipeline, claimed) = claim_three(&mut server, &project).await;
    let (a, token_a) = &claimed[0];
    let (b, token_b) = &claimed[1];
    let (c, token_c) = &claimed[2];
    let mut jobs = JobServiceClient::new(channel);

    // Its own job: yes. The other job, or a user token: no.
    let job = jobs
        .get_job(authed(GetJobRequest { job_id: a.clone() }, token_a))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(job.timeout_seconds, 3600);
    assert!(job.heartbeat_interval_seconds > 0);
    let other = jobs
        .get_job(authed(GetJobRequest { job_id: b.clone() }, token_a))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::Unauthenticated, "{other:?}");
    let user = server.login();
    let wrong = jobs
        .get_job(authed(GetJobRequest { job_id: a.clone() }, &user))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);

    // Run it to the end.
    let status = |status: JobStatus| SetJobStatusRequest {
        job_id: a.clone(),
        status: status.into(),
        message: String::new(),
        log_bytes: None,
    };
    jobs.set_job_status(authed(status(JobStatus::Running), token_a))
        .await
        .unwrap();
    jobs.set_job_status(authed(status(JobStatus::Succeeded), token_a))
        .await
        .unwrap();
    // A repeated final report (its answer lost) is still accepted...
    jobs.set_job_status(authed(status(JobStatus::Succeeded), token_a))
        .await
        .unwrap();
    // ...but nothing more may be recorded for it, and it is no longer
    // fetched or kept alive.
    let late = jobs
        .set_action_outputs(authed(
            SetActionOutputsRequest {
                job_id: a.clone(),
                action: "late".into(),
                outputs_json: "{\"x\": 1}".into(),
            },
            token_a,
        ))
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");
    assert!(late.message().contains("SUCCEEDED"), "{late:?}");
    let beat = jobs
        .heartbeat(authed(JobHeartbeatRequest { job_id: a.clone() }, token_a))
        .await
        .unwrap_err();
    assert_eq!(beat.code(), Code::FailedPrecondition);

    // Job c's outputs go over PHOBOS_JOB_OUTPUTS_MAX_BYTES (16 here).
    let big = jobs
        .set_action_outputs(authed(
            SetActionOutputsRequest {
                job_id: c.clone(),
                action: "big".into(),
                outputs_json: "{\"x\": \"0123456789abcdef\"}".into(),
            },
            token_c,
        ))
        .await
        .unwrap_err();
    assert_eq!(big.code(), Code::ResourceExhausted, "{big:?}");
    assert!(
        big.message()
            .contains("the limit is 16 (PHOBOS_JOB_OUTPUTS_MAX_BYTES)"),
        "{big:?}"
    );

    // Job b's log goes over the limit (PHOBOS_JOB_LOG_MAX_BYTES, 10 MiB):
    // the chunk is refused and the job fails, naming the limit.
    jobs.set_job_status(authed(
        SetJobStatusRequest {
            job_id: b.clone(),
            status: JobStatus::Running.into(),
            message: String::new(),
            log_bytes: None,
        },
        token_b,
    ))
    .await
    .unwrap();
    let chunks = vec![
        LogChunk {
            job_id: b.clone(),
            offset: 0,
            data: b"first\n".to_vec(),
        },
        LogChunk {
            job_id: b.clone(),
            offset: 10 * 1024 * 1024 - 3,
            data: b"too much\n".to_vec(),
        },
    ];
    let over = jobs
        .write_logs(authed(tokio_stream::iter(chunks), token_b))
        .await
        .unwrap_err();
    assert_eq!(over.code(), Code::ResourceExhausted, "{over:?}");
    assert!(over.message().contains("PHOBOS_JOB_LOG_MAX_BYTES"));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let jobs = server.gql(
            "query($id: ID!) { pipeline(id: $id) { jobs { id status message logs { text } } } }",
            json!({ "id": pipeline }),
        );
        let all = jobs["pipeline"]["jobs"].clone();
        let failed = all
            .as_array()
            .unwrap()
            .iter()
            .find(|j| {
                j["status"] == "FAILED" && j["id"] != json!(null) && j["logs"]["text"] == "first\n"
            })
            .cloned();
        if let Some(j) = failed {
            assert!(
                j["message"]
                    .as_str()
                    .unwrap()
                    .contains("limit of 10485760 bytes (PHOBOS_JOB_LOG_MAX_BYTES)"),
                "{j}"
            );
            assert_eq!(j["logs"]["text"], "first\n");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job b did not fail: {all}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server's log shows no job token.
    let log = server.log_text();
    for (_, token) in &claimed {
        assert!(
            !log.contains(token.as_str()),
            "the server log shows a job token"
        );
    }
}
