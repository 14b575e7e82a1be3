//! End to end: the real server, internal agent and job executor processes,
//! against PostgreSQL; what `cargo xtask demo` does, checked.

mod support;

use std::time::Duration;

use serde_json::{json, Value};

const HELLO: &str = include_str!("../../examples/hello.hcl");

fn node<'a>(pipeline: &'a Value, path: &str) -> &'a Value {
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["nodes"].as_array().unwrap())
        .find(|n| n["path"] == path)
        .unwrap_or_else(|| panic!("no node {path}"))
}

fn job_log<'a>(pipeline: &'a Value, path: &str) -> &'a str {
    pipeline["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["nodePath"] == path)
        .unwrap_or_else(|| panic!("no job for {path}"))["logs"]["text"]
        .as_str()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_pipeline_runs_end_to_end() {
    let mut server = support::start("e2e_hello", 1).await;

    // Without a token, everything but login is refused.
    let anon = server.raw("{ organizations { edges { node { name } } } }", json!({}));
    assert_eq!(
        anon["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{anon}"
    );

    server.login();
    let project = server.project("acme", "web");

    // A bad template comes back as problems with line and column.
    let bad = server.gql(
        "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id } problems { message line column field code } } }",
        json!({ "i": { "projectId": project, "hcl": "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" { command = var.nope }\n  }\n}\n" } }),
    );
    let p = &bad["createPipelineTemplate"]["problems"][0];
    assert_eq!(
        bad["createPipelineTemplate"]["pipelineTemplate"],
        Value::Null
    );
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(3), Some(43)),
        "{p}"
    );
    assert_eq!(p["code"], "BAD_REQUEST");
    assert!(p["message"].as_str().unwrap().contains("nope"));

    let pipeline_id = server.run_pipeline(&project, HELLO);
    // Followed live: each event carries the pipeline and node it is about,
    // as they are once it is delivered.
    let live = support::subscribe_until(
        &server,
        "subscription($id: ID!) { pipelineEvents(pipelineId: $id) { eventType aggregateType payload \
           pipeline { id status } node { id path status pipelineId } } }",
        json!({ "id": pipeline_id }),
        "pipelineEvents",
        |e| e["eventType"] == "PipelineSucceeded" || e["eventType"] == "PipelineFailed",
    );
    let mut node_ids = std::collections::BTreeMap::new();
    for e in &live {
        let kind = e["eventType"].as_str().unwrap();
        assert_eq!(e["pipeline"]["id"], pipeline_id, "{e}");
        if kind.starts_with("Node") {
            assert_eq!(e["node"]["path"], e["payload"][kind]["path"], "{e}");
        } else if e["aggregateType"] == "Job" {
            assert!(
                e["node"]["path"].is_string(),
                "a job event names its node: {e}"
            );
        } else {
            assert_eq!(e["node"], Value::Null, "{e}");
        }
        if kind == "NodeSucceeded" {
            // At least as new as the event.
            assert_eq!(e["node"]["status"], "SUCCEEDED", "{e}");
        }
        if e["node"].is_object() {
            assert_eq!(e["node"]["pipelineId"], pipeline_id);
            let id = node_ids
                .entry(e["node"]["path"].as_str().unwrap().to_string())
                .or_insert_with(|| e["node"]["id"].as_str().unwrap().to_string());
            assert_eq!(*id, e["node"]["id"], "a node's id is stable: {e}");
        }
    }
    assert_eq!(live.last().unwrap()["pipeline"]["status"], "SUCCEEDED");
    assert_eq!(node_ids.len(), 5, "{node_ids:?}");
    assert_eq!(
        node_ids
            .values()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        5,
        "node ids are distinct"
    );
    let done = server.wait_finished(&pipeline_id, Duration::from_secs(90));
    assert_eq!(done["status"], "SUCCEEDED", "{done}\n{}", server.log_text());
    for path in [
        "stage.build.pre.task.prepare",
        "stage.build.task.compile",
        "stage.build.task.unit_test",
        "stage.build.post.task.report",
        "stage.release.task.publish",
    ] {
        assert_eq!(node(&done, path)["status"], "SUCCEEDED", "{path}");
    }
    assert_eq!(
        node(&done, "stage.build.task.compile")["outputs"],
        json!({ "compile": { "exit_code": 0 } })
    );

    // Logs: stdout and stderr of the heredoc command, and the output of one
    // task folded into a later task's command.
    let compile = job_log(&done, "stage.build.task.compile");
    for line in ["compiling...", "step 1", "step 3", "compiled"] {
        assert!(
            compile.contains(line),
            "compile log lacks {line:?}:\n{compile}"
        );
    }
    assert!(job_log(&done, "stage.build.task.unit_test")
        .contains("testing after compile exited with 0"));
    assert!(job_log(&done, "stage.release.task.publish").contains("prepare exited 0"));

    // The history says who did what, in order.
    let events = server.gql(
        "query($id: ID!) { pipelineEvents(pipelineId: $id) { cursor eventType actor command aggregateType correlationId causationId recordedAt } }",
        json!({ "id": pipeline_id }),
    )["pipelineEvents"]
        .as_array()
        .unwrap()
        .clone();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        &types[..4],
        [
            "PipelineCreated",
            "PipelineStarted",
            "StageStarted",
            "NodeBecameReady"
        ]
    );
    assert_eq!(types.last(), Some(&"PipelineSucceeded"));
    assert_eq!(types.iter().filter(|t| **t == "JobClaimed").count(), 5);
    // Each task went READY -> PENDING (its job queued) -> RUNNING.
    assert_eq!(types.iter().filter(|t| **t == "NodeJobQueued").count(), 5);
    assert_eq!(types.iter().filter(|t| **t == "NodeSucceeded").count(), 5);
    let actor_kinds: std::collections::BTreeSet<&str> = events
        .iter()
        .map(|e| e["actor"].as_str().unwrap().split(':').next().unwrap())
        .collect();
    assert_eq!(
        actor_kinds.into_iter().collect::<Vec<_>>(),
        ["agent", "job", "system", "user"]
    );
    assert_eq!(events[0]["actor"], format!("user:{}", support::ADMIN));
    assert_eq!(events[0]["command"], "CreatePipeline");
    // Every event of the run shares the creating request's correlation id.
    assert!(events
        .iter()
        .filter(|e| e["actor"].as_str().unwrap().starts_with("system"))
        .all(|e| e["correlationId"] == events[0]["correlationId"]));

    // The subscription replays the same history, and resumes after a cursor.
    let all = subscribe(&server, &pipeline_id, None, events.len());
    assert_eq!(
        all.iter()
            .map(|e| e["eventType"].clone())
            .collect::<Vec<_>>(),
        events
            .iter()
            .map(|e| e["eventType"].clone())
            .collect::<Vec<_>>()
    );
    let resumed = subscribe(
        &server,
        &pipeline_id,
        Some(events[9]["cursor"].as_str().unwrap()),
        events.len() - 10,
    );
    assert_eq!(resumed[0]["cursor"], events[10]["cursor"]);

    // node() by PRN and by global id.
    let d = server.gql(
        "{ node(id: \"prn:project:acme/web\") { id prn } }",
        json!({}),
    );
    assert_eq!(d["node"]["id"], project);
    let d = server.gql(
        "query($id: ID!) { node(id: $id) { prn } }",
        json!({ "id": pipeline_id }),
    );
    assert!(d["node"]["prn"]
        .as_str()
        .unwrap()
        .starts_with("prn:pipeline:acme/web/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_task_fails_the_pipeline_and_skips_the_rest() {
    let mut server = support::start("e2e_fail", 1).await;
    server.login();
    let project = server.project("acme", "fail");
    let hcl = r#"
stage "s" {
  task "bad" {
    action "exec_command" { command = "echo about to fail; exit 3" }
    action "exec_command" {
      alias   = "never"
      command = "echo must not run"
    }
  }
  task "after" {
    dependencies = ["bad"]
    action "exec_command" { command = "echo must not run either" }
  }
}
stage "later" {
  task "x" {
    action "exec_command" { command = "true" }
  }
}
"#;
    let id = server.run_pipeline(&project, hcl);
    let done = server.wait_finished(&id, Duration::from_secs(60));
    assert_eq!(done["status"], "FAILED");
    assert_eq!(done["reason"], "stage s failed");
    assert_eq!(node(&done, "stage.s.task.bad")["status"], "FAILED");
    assert_eq!(
        node(&done, "stage.s.task.bad")["outputs"],
        json!({ "exec_command": { "exit_code": 3 } })
    );
    assert_eq!(node(&done, "stage.s.task.after")["status"], "SKIPPED");
    assert_eq!(node(&done, "stage.later.task.x")["status"], "SKIPPED");
    let log = job_log(&done, "stage.s.task.bad");
    assert!(
        log.contains("about to fail") && !log.contains("must not run"),
        "{log}"
    );
}

/// Reads `n` events of the pipelineEvents subscription.
fn subscribe(
    server: &support::Server,
    pipeline_id: &str,
    after: Option<&str>,
    n: usize,
) -> Vec<Value> {
    support::subscribe(
        server,
        "subscription($id: ID!, $after: String) { pipelineEvents(pipelineId: $id, after: $after) { cursor eventType } }",
        json!({ "id": pipeline_id, "after": after }),
        "pipelineEvents",
        n,
    )
}

/// The value of the one sample of `/metrics` whose name is `name` and
/// whose labels include every one of `labels` (None when there is none).
fn sample(page: &str, name: &str, labels: &[&str]) -> Option<f64> {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next().is_some_and(|n| n == name))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_commands_followers_jobs_and_agents_after_a_run() {
    let mut server = support::start("e2e_metrics", 1).await;
    server.login();
    let project = server.project("acme", "web");
    let pipeline_id = server.run_pipeline(&project, HELLO);
    let done = server.wait_finished(&pipeline_id, Duration::from_secs(90));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    // A refused command: the finished pipeline's node cannot start.
    let d = server.gql(
        "mutation($p: ID!) { startPipelineNode(input: {pipelineId: $p, nodePath: \"stage.build.task.compile\"}) { problems { code } } }",
        json!({ "p": pipeline_id }),
    );
    assert_eq!(
        d["startPipelineNode"]["problems"][0]["code"], "CONFLICT",
        "{d}"
    );

    let url = format!("http://127.0.0.1:{}/metrics", server.http);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let page = loop {
        let mut response = ureq::get(&url).call().expect("/metrics answers");
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(kind.starts_with("text/plain"), "{kind}");
        let page = response.body_mut().read_to_string().unwrap();
        let settled = sample(
            &page,
            "phobos_follower_lag_events",
            &["follower=\"read_models\""],
        ) == Some(0.0)
            && sample(&page, "phobos_jobs", &["status=\"RUNNING\""]) == Some(0.0);
        if settled || std::time::Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let created = sample(
        &page,
        "phobos_commands_total",
        &["command=\"CreatePipeline\"", "outcome=\"appended\""],
    );
    assert_eq!(created, Some(1.0), "{page}");
    let refused = sample(
        &page,
        "phobos_commands_total",
        &["command=\"StartNode\"", "outcome=\"refused\""],
    );
    assert_eq!(refused, Some(1.0), "{page}");
    // Every job report is a command: the hello pipeline's four jobs
    // started and succeeded.
    let completed = sample(
        &page,
        "phobos_command_duration_seconds_count",
        &["aggregate=\"Job\""],
    )
    .unwrap_or(0.0);
    assert!(completed >= 4.0, "{page}");
    assert!(
        sample(
            &page,
            "phobos_command_duration_seconds_bucket",
            &["command=\"CreatePipeline\"", "le=\"+Inf\""]
        ) == Some(1.0),
        "{page}"
    );
    assert_eq!(
        sample(
            &page,
            "phobos_follower_lag_events",
            &["follower=\"read_models\""]
        ),
        Some(0.0),
        "{page}"
    );
    assert_eq!(
        sample(
            &page,
            "phobos_follower_failing",
            &["follower=\"read_models\""]
        ),
        Some(0.0),
        "{page}"
    );
    for status in ["QUEUED", "CLAIMED", "RUNNING", "CANCELING"] {
        assert_eq!(
            sample(&page, "phobos_jobs", &[&format!("status=\"{status}\"")]),
            Some(0.0),
            "{page}"
        );
    }
    assert_eq!(
        sample(&page, "phobos_agents_connected", &[]),
        Some(1.0),
        "{page}"
    );
}
