//! Several agents (one internal, three `phobos-agent` processes) race for
//! the same jobs over gRPC: each job is claimed, and run, exactly once.

mod support;

use std::time::Duration;

use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_job_is_claimed_and_run_by_exactly_one_agent() {
    let mut server = support::start("e2e_race", 1).await;
    server.login();
    let mut agents = Vec::new();
    for i in 0..3 {
        let (_, token) = server.agent_token(&format!("external-{i}"), None, &[], true);
        let url = format!("http://127.0.0.1:{}", server.grpc);
        agents.push(support::AgentProcess::start(
            &url,
            &format!("external-{i}"),
            &token,
        ));
    }
    // Wait until all four agents have sessions.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let d = server.gql(
            "{ agents { edges { node { name lastSessionAt } } } }",
            json!({}),
        );
        let n = d["agents"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| !e["node"]["lastSessionAt"].is_null())
            .count();
        if n == 4 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "agents did not connect: {d}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let project = server.project("race", "p");
    // Eight independent tasks become ready at once: eight races.
    let mut hcl = String::from("stage \"s\" {\n");
    for t in 0..8 {
        hcl.push_str(&format!(
            "  task \"t{t}\" {{\n    action \"exec_command\" {{ command = \"echo ran-t{t}\" }}\n  }}\n"
        ));
    }
    hcl.push_str("}\n");
    let id = server.run_pipeline(&project, &hcl);
    let done = server.wait_finished(&id, Duration::from_secs(90));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");

    let events = server.gql(
        "query($id: ID!) { pipelineEvents(pipelineId: $id) { eventType aggregateId actor } }",
        json!({ "id": id }),
    )["pipelineEvents"]
        .as_array()
        .unwrap()
        .clone();
    let mut claimed_by = std::collections::BTreeMap::new();
    for e in events.iter().filter(|e| e["eventType"] == "JobClaimed") {
        let prev = claimed_by.insert(
            e["aggregateId"].as_str().unwrap().to_string(),
            e["actor"].clone(),
        );
        assert!(prev.is_none(), "job {} claimed twice", e["aggregateId"]);
    }
    assert_eq!(claimed_by.len(), 8);
    for job in done["jobs"].as_array().unwrap() {
        let t = job["nodePath"]
            .as_str()
            .unwrap()
            .rsplit('.')
            .next()
            .unwrap();
        let log = job["logs"]["text"].as_str().unwrap();
        assert_eq!(
            log.matches(&format!("ran-{t}")).count(),
            1,
            "job {t} ran once: {log}"
        );
    }
}
