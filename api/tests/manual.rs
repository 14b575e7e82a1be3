//! `when = "manual"` against the real server and agent: the node waits,
//! its stage and pipeline are WAITING, `startPipelineNode` lets it go on
//! (refusing any node that is not WAITING, naming its state), and a task
//! without actions needs no job.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TEMPLATE: &str = r#"
stage "release" {
  task "build" {
    action "exec_command" {
      command = "echo built"
    }
  }
  task "approve" {
    when         = "manual"
    dependencies = ["build"]
  }
  task "ship" {
    dependencies = ["approve"]
    action "exec_command" {
      command = "echo shipping after build exited ${action_outputs.stage.release.task.build.action.exec_command.exit_code}"
    }
  }
}
"#;

const STATE: &str = "query($id: ID!) { pipeline(id: $id) { status stages { name status nodes { path status jobId } } } }";

fn node<'a>(p: &'a Value, path: &str) -> &'a Value {
    p["stages"][0]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["path"] == path)
        .unwrap_or_else(|| panic!("no node {path} in {p}"))
}

fn start(server: &support::Server, pipeline: &str, path: &str) -> Value {
    server.gql(
        "mutation($i: StartPipelineNodeInput!) { startPipelineNode(input: $i) { pipeline { id status } problems { message code field } } }",
        json!({ "i": { "pipelineId": pipeline, "nodePath": path } }),
    )["startPipelineNode"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_node_waits_until_someone_starts_it() {
    let mut server = support::start("manual", 1).await;
    server.login();
    let project = server.project("acme", "manual");
    let id = server.run_pipeline(&project, TEMPLATE);

    // build runs; then approve waits, and with it the stage and pipeline.
    let deadline = Instant::now() + Duration::from_secs(30);
    let waiting = loop {
        let p = server.gql(STATE, json!({ "id": id }))["pipeline"].clone();
        if p["status"] == "WAITING" {
            break p;
        }
        assert!(Instant::now() < deadline, "never WAITING: {p}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(waiting["stages"][0]["status"], "WAITING", "{waiting}");
    assert_eq!(
        node(&waiting, "stage.release.task.build")["status"],
        "SUCCEEDED"
    );
    assert_eq!(
        node(&waiting, "stage.release.task.approve")["status"],
        "WAITING"
    );
    assert_eq!(
        node(&waiting, "stage.release.task.ship")["status"],
        "BLOCKED"
    );

    // Only a WAITING node can be started: the problem names the state.
    let refused = start(&server, &id, "stage.release.task.ship");
    assert_eq!(refused["pipeline"], Value::Null, "{refused}");
    let problem = &refused["problems"][0];
    assert_eq!(problem["code"], "CONFLICT", "{refused}");
    assert_eq!(problem["field"], "nodePath", "{refused}");
    let message = problem["message"].as_str().unwrap();
    assert!(message.contains("is BLOCKED"), "{message}");
    assert!(message.contains("only a WAITING node"), "{message}");
    let missing = start(&server, &id, "stage.release.task.nope");
    assert_eq!(missing["problems"][0]["code"], "NOT_FOUND", "{missing}");

    // Started: the pipeline runs again at once, as the mutation shows.
    let started = start(&server, &id, "stage.release.task.approve");
    assert_eq!(started["problems"], json!([]), "{started}");
    assert_eq!(started["pipeline"]["status"], "RUNNING", "{started}");

    let done = server.wait_finished(&id, Duration::from_secs(30));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let nodes = done["stages"][0]["nodes"].as_array().unwrap();
    assert!(nodes.iter().all(|n| n["status"] == "SUCCEEDED"), "{done}");
    // The actionless task needed no job; the two others had one each.
    let jobs = done["jobs"].as_array().unwrap();
    let mut paths: Vec<&str> = jobs
        .iter()
        .map(|j| j["nodePath"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        ["stage.release.task.build", "stage.release.task.ship"]
    );
    let ship = jobs
        .iter()
        .find(|j| j["nodePath"] == "stage.release.task.ship")
        .unwrap();
    assert!(
        ship["logs"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("shipping after build exited 0"),
        "{ship}"
    );

    // The start is recorded as the user's, the rest as the server's.
    let events = server.gql(
        "query($id: ID!) { pipelineEvents(pipelineId: $id, first: 100) { eventType actor command payload } }",
        json!({ "id": id }),
    );
    let events = events["pipelineEvents"].as_array().unwrap();
    let ready = events
        .iter()
        .find(|e| {
            e["eventType"] == "NodeBecameReady"
                && e["payload"]["NodeBecameReady"]["path"] == "stage.release.task.approve"
        })
        .expect("approve became ready");
    assert_eq!(ready["command"], "StartNode");
    assert!(
        ready["actor"].as_str().unwrap().starts_with("user:"),
        "{ready}"
    );
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    for k in [
        "NodeWaitingForStart",
        "StageWaiting",
        "PipelineWaiting",
        "StageResumed",
        "PipelineResumed",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
}
