//! Nested and deployment pipelines against the real server and agent: a
//! `pipeline` node creates a child pipeline (NESTED, or DEPLOYMENT in an
//! environment created on first use) from a template of the same project,
//! with the node's variables; the node runs while the child runs and ends
//! as it ends. What cannot become a child (no such template, variables
//! that do not fit, a template nesting itself) fails the node, saying why.
//! Canceling the parent cancels the child.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Uploads a template; returns its id and PRN.
fn upload(server: &support::Server, project: &str, hcl: &str) -> (String, String) {
    let d = server.gql(
        "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id prn } problems { message line column } } }",
        json!({ "i": { "projectId": project, "hcl": hcl } }),
    );
    assert_eq!(d["createPipelineTemplate"]["problems"], json!([]), "{d}");
    let t = &d["createPipelineTemplate"]["pipelineTemplate"];
    (
        t["id"].as_str().unwrap().to_string(),
        t["prn"].as_str().unwrap().to_string(),
    )
}

fn create(server: &support::Server, template: &str, vars: Value) -> String {
    let d = server.gql(
        "mutation($i: CreatePipelineInput!) { createPipeline(input: $i) { pipeline { id } problems { message } } }",
        json!({ "i": { "pipelineTemplateId": template, "variables": vars } }),
    );
    assert_eq!(d["createPipeline"]["problems"], json!([]), "{d}");
    d["createPipeline"]["pipeline"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

const NODE: &str = "query($id: ID!) { pipeline(id: $id) { id type status reason environment { name } parent { pipeline { id } nodePath } stages { nodes { path status reason childPipeline { id type status reason parent { pipeline { id } nodePath } jobs { status logs { text } } } } } } }";

fn pipeline(server: &support::Server, id: &str) -> Value {
    server.gql(NODE, json!({ "id": id }))["pipeline"].clone()
}

fn node<'a>(p: &'a Value, path: &str) -> &'a Value {
    p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["nodes"].as_array().unwrap())
        .find(|n| n["path"] == path)
        .unwrap_or_else(|| panic!("no {path} in {p}"))
}

const CHILD: &str = r#"
variable "greeting" {
  type = string
}
stage "inner" {
  task "say" {
    action "exec_command" {
      command = "echo ${var.greeting} from the child"
    }
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_pipeline_runs_its_child_with_the_nodes_variables() {
    let mut server = support::start("nested_ok", 1).await;
    server.login();
    let project = server.project("acme", "nested");
    let (child, child_prn) = upload(&server, &project, CHILD);
    let parent = format!(
        r#"
stage "outer" {{
  task "first" {{
    action "exec_command" {{
      command = "echo first"
    }}
  }}
  pipeline "by_id" {{
    template_id  = "{child}"
    dependencies = ["first"]
    variables    = {{ greeting = "hello" }}
  }}
  pipeline "by_prn" {{
    template_id  = "{child_prn}"
    dependencies = ["by_id"]
    variables    = {{ greeting = "exit ${{action_outputs.stage.outer.task.first.action.exec_command.exit_code}}" }}
  }}
}}
"#
    );
    let id = server.run_pipeline(&project, &parent);
    let done = server.wait_finished(&id, Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let p = pipeline(&server, &id);
    assert_eq!(p["type"], "RUNBOOK");
    assert_eq!(p["parent"], Value::Null);
    for (path, said) in [
        ("stage.outer.pipeline.by_id", "hello from the child"),
        ("stage.outer.pipeline.by_prn", "exit 0 from the child"),
    ] {
        let n = node(&p, path);
        assert_eq!(n["status"], "SUCCEEDED", "{p}");
        let c = &n["childPipeline"];
        assert_eq!(c["type"], "NESTED", "{p}");
        assert_eq!(c["status"], "SUCCEEDED", "{p}");
        assert_eq!(c["parent"]["pipeline"]["id"], p["id"], "{p}");
        assert_eq!(c["parent"]["nodePath"], path, "{p}");
        let log = c["jobs"][0]["logs"]["text"].as_str().unwrap();
        assert!(log.contains(said), "{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_become_a_child_fails_the_node_saying_why() {
    let mut server = support::start("nested_refused", 1).await;
    server.login();
    let project = server.project("acme", "refused");
    let (child, _) = upload(&server, &project, CHILD);
    let failing = upload(
        &server,
        &project,
        "stage \"s\" {\n  task \"no\" {\n    action \"exec_command\" {\n      command = \"exit 7\"\n    }\n  }\n}\n",
    )
    .0;
    let cases = [
        (
            r#"template_id = "prn:pipeline_template:acme/refused/4f1d3a52-0000-4000-8000-000000000000""#
                .to_string(),
            "does not exist in project acme/refused",
        ),
        (
            format!(r#"template_id = "prn:pipeline_template:other/place/{child}""#),
            "must be in its parent's project",
        ),
        // `greeting` is a string; 3 fits, a list does not; `nope` is not
        // declared.
        (
            format!("template_id = \"{child}\"\n    variables = {{ greeting = [1], nope = 1 }}"),
            "line ",
        ),
        (format!("template_id = \"{failing}\""), "failed"),
    ];
    for (settings, says) in cases {
        let hcl = format!("stage \"s\" {{\n  pipeline \"p\" {{\n    {settings}\n  }}\n}}\n");
        let id = server.run_pipeline(&project, &hcl);
        let done = server.wait_finished(&id, Duration::from_secs(60));
        assert_eq!(done["status"], "FAILED", "{settings}: {done}");
        let n = node(&done, "stage.s.pipeline.p");
        assert_eq!(n["status"], "FAILED", "{done}");
        let reason = n["reason"].as_str().unwrap();
        assert!(reason.contains(says), "{settings}: {reason}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_that_nests_itself_stops_with_a_clear_error() {
    let mut server = support::start("nested_self", 1).await;
    server.login();
    let project = server.project("acme", "selfish");
    let hcl = r#"
variable "me" {
  type = string
}
stage "s" {
  pipeline "again" {
    template_id = var.me
    variables   = { me = var.me }
  }
}
"#;
    let (template, _) = upload(&server, &project, hcl);
    let id = create(
        &server,
        &template,
        json!([{ "key": "me", "value": template }]),
    );
    let done = server.wait_finished(&id, Duration::from_secs(60));
    assert_eq!(done["status"], "FAILED", "{done}");
    let reason = node(&done, "stage.s.pipeline.again")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.contains("nests itself"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_creates_its_environment_and_is_listed_in_it() {
    let mut server = support::start("deployments", 1).await;
    server.login();
    let project = server.project("acme", "deploys");
    let (child, _) = upload(&server, &project, CHILD);
    let hcl = format!(
        r#"
stage "ship" {{
  pipeline "to_staging" {{
    pipeline_type = "deployment"
    environment   = "staging"
    template_id   = "{child}"
    variables     = {{ greeting = "deploying" }}
  }}
}}
"#
    );
    let (parent, _) = upload(&server, &project, &hcl);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let id = create(&server, &parent, json!([]));
        let done = server.wait_finished(&id, Duration::from_secs(60));
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        runs.push(
            node(&pipeline(&server, &id), "stage.ship.pipeline.to_staging")["childPipeline"]
                .clone(),
        );
    }
    for c in &runs {
        assert_eq!(c["type"], "DEPLOYMENT", "{c}");
    }
    let d = server.gql(
        "query($id: ID!) { node(id: $id) { ... on Project { environments { edges { node { name prn createdBy deployments { edges { node { status createdBy pipeline { id type environment { name } } } } } } } } } } }",
        json!({ "id": project }),
    );
    let envs = d["node"]["environments"]["edges"].as_array().unwrap();
    assert_eq!(envs.len(), 1, "created once, then reused: {d}");
    let env = &envs[0]["node"];
    assert_eq!(env["name"], "staging");
    assert_eq!(env["prn"], "prn:environment:acme/deploys/staging");
    let deployments = env["deployments"]["edges"].as_array().unwrap();
    assert_eq!(deployments.len(), 2, "{d}");
    // Newest first.
    assert_eq!(deployments[0]["node"]["pipeline"]["id"], runs[1]["id"]);
    assert_eq!(deployments[1]["node"]["pipeline"]["id"], runs[0]["id"]);
    assert_eq!(deployments[0]["node"]["status"], "SUCCEEDED");
    assert_eq!(
        deployments[0]["node"]["pipeline"]["environment"]["name"],
        "staging"
    );
    assert_eq!(
        deployments[0]["node"]["createdBy"],
        format!("user:{}", support::ADMIN),
        "the root's creator: {d}"
    );
    // By PRN too.
    let by_prn = server.gql(
        "query { node(id: \"prn:environment:acme/deploys/staging\") { ... on Environment { name } } }",
        json!({}),
    );
    assert_eq!(by_prn["node"]["name"], "staging", "{by_prn}");

    // createEnvironment: a new one, and the taken name refused.
    let create_env = "mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { environment { name description } problems { code field message } } }";
    let d = server.gql(
        create_env,
        json!({ "i": { "projectId": project, "name": "prod", "description": "production" } }),
    );
    assert_eq!(d["createEnvironment"]["problems"], json!([]), "{d}");
    assert_eq!(
        d["createEnvironment"]["environment"]["description"],
        "production"
    );
    let d = server.gql(
        create_env,
        json!({ "i": { "projectId": project, "name": "staging" } }),
    );
    let problem = &d["createEnvironment"]["problems"][0];
    assert_eq!(problem["code"], "CONFLICT", "{d}");
    assert_eq!(problem["field"], "name", "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceling_the_parent_cancels_its_child() {
    let mut server = support::start_with(
        "nested_cancel",
        1,
        &[("PHOBOS_JOB_CANCEL_GRACE_SECONDS", "2")],
    )
    .await;
    server.login();
    let project = server.project("acme", "nested-cancel");
    let (child, _) = upload(
        &server,
        &project,
        "stage \"s\" {\n  task \"long\" {\n    action \"exec_command\" {\n      command = \"sleep 60\"\n    }\n  }\n}\n",
    );
    let hcl =
        format!("stage \"s\" {{\n  pipeline \"p\" {{\n    template_id = \"{child}\"\n  }}\n}}\n");
    let id = server.run_pipeline(&project, &hcl);
    // Until the child's job runs.
    let deadline = Instant::now() + Duration::from_secs(30);
    let child_id = loop {
        let p = pipeline(&server, &id);
        let c = &node(&p, "stage.s.pipeline.p")["childPipeline"];
        if c["jobs"][0]["status"] == "RUNNING" {
            break c["id"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "the child did not start: {p}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let d = server.gql(
        "mutation($i: CancelPipelineInput!) { cancelPipeline(input: $i) { pipeline { status } problems { message } } }",
        json!({ "i": { "id": id } }),
    );
    assert_eq!(d["cancelPipeline"]["problems"], json!([]), "{d}");
    let done = server.wait_finished(&id, Duration::from_secs(30));
    assert_eq!(done["status"], "CANCELED", "{done}");
    let c = server.wait_finished(&child_id, Duration::from_secs(10));
    assert_eq!(c["status"], "CANCELED", "{c}");
    assert_eq!(c["jobs"][0]["status"], "CANCELED", "{c}");
}

/// Seed 002's schedule example, as a user would run it: t1 (a datetime in
/// the past, no action) succeeds at once; t2 (cron) and p1 (a nested
/// pipeline on a cron) wait for their times; p1 without its schedule runs
/// at once and fails, naming the template that does not exist, and with it
/// the pipeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_schedule_example_runs() {
    let mut server = support::start("seed_schedule", 1).await;
    server.login();
    let project = server.project("my-org", "my-project");
    let hcl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/examples/pipeline/09_schedule.hcl"
    ))
    .unwrap();
    let id = server.run_pipeline(&project, &hcl);
    let deadline = Instant::now() + Duration::from_secs(30);
    let p = loop {
        let p = pipeline(&server, &id);
        if node(&p, "stage.main.task.t1")["status"] == "SUCCEEDED" {
            break p;
        }
        assert!(Instant::now() < deadline, "t1 did not succeed: {p}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(node(&p, "stage.main.task.t2")["status"], "SCHEDULED", "{p}");
    assert_eq!(
        node(&p, "stage.main.pipeline.p1")["status"],
        "SCHEDULED",
        "{p}"
    );

    let d = server.gql(
        "mutation($i: UpdatePipelineNodeScheduleInput!) { updatePipelineNodeSchedule(input: $i) { problems { message } } }",
        json!({ "i": { "pipelineId": id, "nodePath": "stage.main.pipeline.p1", "schedule": null } }),
    );
    assert_eq!(
        d["updatePipelineNodeSchedule"]["problems"],
        json!([]),
        "{d}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let p1 = loop {
        let p = pipeline(&server, &id);
        let p1 = node(&p, "stage.main.pipeline.p1").clone();
        if p1["status"] == "FAILED" {
            break p1;
        }
        assert!(Instant::now() < deadline, "p1 did not fail: {p}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let reason = p1["reason"].as_str().unwrap();
    assert!(
        reason.contains("prn:pipeline_template:my-org/my-project/nested does not exist"),
        "{reason}"
    );
    // Its failure skips t2, which had not started, and fails the pipeline.
    let done = server.wait_finished(&id, Duration::from_secs(10));
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(node(&done, "stage.main.task.t2")["status"], "SKIPPED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nesting_deeper_than_five_fails_naming_the_chain() {
    let mut server = support::start("nested_deep", 1).await;
    server.login();
    let project = server.project("acme", "deep");
    // Bottom up: each template nests the one before.
    let mut template = upload(
        &server,
        &project,
        "stage \"s\" {\n  task \"leaf\" {\n    action \"exec_command\" {\n      command = \"true\"\n    }\n  }\n}\n",
    )
    .0;
    for _ in 0..6 {
        let hcl = format!(
            "stage \"s\" {{\n  pipeline \"down\" {{\n    template_id = \"{template}\"\n  }}\n}}\n"
        );
        template = upload(&server, &project, &hcl).0;
    }
    // root → 1 → 2 → 3 → 4 → 5 → (6: too deep) → leaf
    let id = create(&server, &template, json!([]));
    let done = server.wait_finished(&id, Duration::from_secs(60));
    assert_eq!(done["status"], "FAILED", "{done}");
    let mut p = pipeline(&server, &id);
    let mut depth = 0;
    loop {
        let n = node(&p, "stage.s.pipeline.down").clone();
        if n["childPipeline"].is_null() {
            let reason = n["reason"].as_str().unwrap();
            assert!(reason.contains("at most 5 deep"), "{reason}");
            break;
        }
        depth += 1;
        p = pipeline(&server, n["childPipeline"]["id"].as_str().unwrap());
    }
    assert_eq!(depth, 5, "five levels of children ran");
}
