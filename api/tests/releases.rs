//! Releases against the real server, agent and executors: a lifecycle's
//! release goes from creation to completed through its environments (a
//! manual one started by hand), each deployment running its environment's
//! template with the release's variables; what a release cannot be is
//! refused at creation; a release keeps the lifecycle version it was made
//! with; `on_error` decides whether a failed deployment stops promotion.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

const CREATE_LIFECYCLE: &str = "mutation($i: CreateReleaseLifecycleInput!) { createReleaseLifecycle(input: $i) { releaseLifecycle { id prn version name } problems { code field message line column } } }";
const CREATE_RELEASE: &str = "mutation($i: CreateReleaseInput!) { createRelease(input: $i) { release { id prn semanticVersion status lifecycleVersion variables { key value sensitive } } problems { code field message } } }";
const RELEASE: &str = "query($id: ID!) { release(id: $id) { status completed lifecycleVersion pipeline { id type status stages { name status nodes { path status reason childPipeline { type status environment { name } jobs { logs { text } } } } } } } }";

const DEPLOY: &str = r#"
variable "version" {
  type = string
}
stage "deploy" {
  task "roll_out" {
    action "exec_command" {
      command = "echo rolling out ${var.version}"
    }
  }
}
"#;

const LIFECYCLE: &str = r#"
variable "owner" {
  type    = string
  default = "platform"
}
stage "dev" {
  deployment {
    environment = "dev"
  }
}
stage "prod" {
  pre {
    task "check" {
      action "exec_command" {
        command = "echo checked by ${var.owner}"
      }
    }
  }
  deployment {
    environment = "prod"
    when        = "manual"
  }
}
"#;

fn template(server: &support::Server, project: &str, name: &str, hcl: &str) -> String {
    let d = server.gql(
        "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id } problems { message } } }",
        json!({ "i": { "projectId": project, "name": name, "hcl": hcl } }),
    );
    assert_eq!(d["createPipelineTemplate"]["problems"], json!([]), "{d}");
    d["createPipelineTemplate"]["pipelineTemplate"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn release(server: &support::Server, input: Value) -> Value {
    server.gql(CREATE_RELEASE, json!({ "i": input }))["createRelease"].clone()
}

/// Polls the release until `done` holds.
fn wait(server: &support::Server, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let r = server.gql(RELEASE, json!({ "id": id }))["release"].clone();
        if done(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "release never {what}: {r}\n--- server log ---\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn node<'a>(release: &'a Value, path: &str) -> &'a Value {
    release["pipeline"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["nodes"].as_array().unwrap())
        .find(|n| n["path"] == path)
        .unwrap_or_else(|| panic!("no node {path}: {release}"))
}

#[tokio::test]
async fn a_release_is_promoted_through_its_environments() {
    let mut server = support::start("releases", 1).await;
    server.login();
    let project = server.project("acme", "web");
    let deploy = template(&server, &project, "deploy", DEPLOY);
    let d = server.gql(
        CREATE_LIFECYCLE,
        json!({ "i": { "organizationName": "acme", "name": "standard", "hcl": LIFECYCLE } }),
    )["createReleaseLifecycle"]
        .clone();
    assert_eq!(d["problems"], json!([]), "{d}");
    assert_eq!(
        d["releaseLifecycle"]["prn"],
        "prn:release_lifecycle:acme/standard"
    );
    let lifecycle = d["releaseLifecycle"]["id"].as_str().unwrap().to_string();
    let both = json!([
        { "environmentName": "dev", "pipelineTemplateId": deploy },
        { "environmentName": "prod", "pipelineTemplateId": deploy },
    ]);

    // Refused at creation, each naming the field.
    let base = json!({ "projectId": project, "lifecycleId": lifecycle, "semanticVersion": "1.0.0", "deploymentTemplates": both, "variables": [{ "key": "version", "value": "1.0.0" }] });
    let with = |k: &str, v: Value| {
        let mut i = base.clone();
        i[k] = v;
        i
    };
    for (input, field, says) in [
        (
            with(
                "deploymentTemplates",
                json!([{ "environmentName": "dev", "pipelineTemplateId": deploy }]),
            ),
            "deploymentTemplates",
            "prod",
        ),
        (
            with(
                "variables",
                json!([{ "key": "version", "value": "1" }, { "key": "nope", "value": "x" }]),
            ),
            "variables",
            "nope",
        ),
        (
            with("semanticVersion", json!("v1")),
            "semanticVersion",
            "semantic version",
        ),
        (
            with("variables", json!([])),
            "deploymentTemplates",
            "version",
        ),
    ] {
        let d = release(&server, input);
        assert_eq!(d["release"], Value::Null, "{d}");
        assert_eq!(d["problems"][0]["field"], field, "{d}");
        assert!(
            d["problems"][0]["message"].as_str().unwrap().contains(says),
            "{d}"
        );
    }

    // Created: variables go to each template that declares them.
    let d = release(
        &server,
        with(
            "variables",
            json!([{ "key": "version", "value": "1.0.0" }, { "key": "owner", "value": "team-a", "sensitive": true }]),
        ),
    );
    assert_eq!(d["problems"], json!([]), "{d}");
    assert_eq!(d["release"]["prn"], "prn:release:acme/web/1.0.0");
    assert_eq!(d["release"]["lifecycleVersion"], 1);
    assert!(
        d["release"]["variables"]
            .as_array()
            .unwrap()
            .contains(&json!({ "key": "owner", "value": "***", "sensitive": true })),
        "{d}"
    );
    let id = d["release"]["id"].as_str().unwrap().to_string();
    let again = release(&server, base.clone());
    assert_eq!(again["problems"][0]["code"], "CONFLICT", "{again}");
    assert_eq!(again["problems"][0]["field"], "semanticVersion", "{again}");

    // dev deploys by itself; prod waits for a person.
    let r = wait(&server, &id, "waiting for prod", |r| {
        r["status"] == "WAITING"
    });
    assert_eq!(r["pipeline"]["type"], "RELEASE_LIFECYCLE");
    let dev = node(&r, "stage.dev.deployment.dev");
    assert_eq!(dev["status"], "SUCCEEDED", "{r}");
    assert_eq!(dev["childPipeline"]["type"], "DEPLOYMENT");
    assert_eq!(dev["childPipeline"]["environment"]["name"], "dev");
    let log = dev["childPipeline"]["jobs"][0]["logs"]["text"]
        .as_str()
        .unwrap_or("");
    assert!(log.contains("rolling out 1.0.0"), "{dev}");
    assert_eq!(node(&r, "stage.prod.pre.task.check")["status"], "SUCCEEDED");
    assert_eq!(node(&r, "stage.prod.deployment.prod")["status"], "WAITING");
    let pipeline = r["pipeline"]["id"].as_str().unwrap().to_string();
    let d = server.gql(
        "mutation($p: ID!) { startPipelineNode(input: {pipelineId: $p, nodePath: \"stage.prod.deployment.prod\"}) { problems { message } } }",
        json!({ "p": pipeline }),
    );
    assert_eq!(d["startPipelineNode"]["problems"], json!([]), "{d}");
    let r = wait(&server, &id, "completed", |r| r["completed"] == true);
    assert_eq!(r["status"], "SUCCEEDED", "{r}");
    assert_eq!(
        node(&r, "stage.prod.deployment.prod")["childPipeline"]["environment"]["name"],
        "prod"
    );

    // A new lifecycle version: the release made before keeps its own.
    let v2 = LIFECYCLE.replace(
        "stage \"prod\" {",
        "stage \"qa\" {\n  deployment {\n    environment = \"qa\"\n  }\n}\nstage \"prod\" {",
    );
    let d = server.gql(
        "mutation($i: UpdateReleaseLifecycleInput!) { updateReleaseLifecycle(input: $i) { releaseLifecycle { version } problems { message } } }",
        json!({ "i": { "id": lifecycle, "hcl": v2 } }),
    );
    assert_eq!(
        d["updateReleaseLifecycle"]["releaseLifecycle"]["version"], 2,
        "{d}"
    );
    let old = server.gql(RELEASE, json!({ "id": id }))["release"].clone();
    assert_eq!(old["lifecycleVersion"], 1);
    assert_eq!(old["pipeline"]["stages"].as_array().unwrap().len(), 2);
    let d = release(&server, with("semanticVersion", json!("1.1.0")));
    assert_eq!(
        d["problems"][0]["field"], "deploymentTemplates",
        "qa needs one: {d}"
    );
    let mut three = base.clone();
    three["semanticVersion"] = json!("1.1.0");
    three["deploymentTemplates"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "environmentName": "qa", "pipelineTemplateId": deploy }));
    let d = release(&server, three);
    assert_eq!(d["problems"], json!([]), "{d}");
    assert_eq!(d["release"]["lifecycleVersion"], 2);
    let newer = d["release"]["id"].as_str().unwrap().to_string();
    let r = wait(&server, &newer, "waiting for prod", |r| {
        r["status"] == "WAITING"
    });
    assert_eq!(r["pipeline"]["stages"].as_array().unwrap().len(), 3);

    // Newest first.
    let d = server.gql(
        "query($p: ID!) { node(id: $p) { ... on Project { releases { edges { node { semanticVersion } } } } } }",
        json!({ "p": project }),
    );
    let versions: Vec<&str> = d["node"]["releases"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["semanticVersion"].as_str().unwrap())
        .collect();
    assert_eq!(versions, vec!["1.1.0", "1.0.0"]);
}

#[tokio::test]
async fn on_error_decides_whether_a_failed_deployment_stops_promotion() {
    let mut server = support::start("releases_on_error", 1).await;
    server.login();
    let project = server.project("acme", "web");
    let ok = template(&server, &project, "ok", "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" {\n      command = \"true\"\n    }\n  }\n}\n");
    let broken = template(&server, &project, "broken", "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" {\n      command = \"exit 3\"\n    }\n  }\n}\n");
    for (on_error, status, later) in [
        ("continue", "SUCCEEDED", "SUCCEEDED"),
        ("fail", "FAILED", "SKIPPED"),
    ] {
        let hcl = format!("stage \"one\" {{\n  deployment {{\n    environment = \"canary\"\n    on_error    = \"{on_error}\"\n  }}\n}}\nstage \"two\" {{\n  deployment {{\n    environment = \"main\"\n  }}\n}}\n");
        let d = server.gql(
            CREATE_LIFECYCLE,
            json!({ "i": { "projectId": project, "name": format!("lc-{on_error}"), "hcl": hcl } }),
        )["createReleaseLifecycle"]
            .clone();
        assert_eq!(d["problems"], json!([]), "{d}");
        let d = release(
            &server,
            json!({ "projectId": project, "lifecycleId": d["releaseLifecycle"]["id"], "semanticVersion": format!("0.1.0-{on_error}"),
                    "deploymentTemplates": [{ "environmentName": "canary", "pipelineTemplateId": broken }, { "environmentName": "main", "pipelineTemplateId": ok }] }),
        );
        assert_eq!(d["problems"], json!([]), "{d}");
        let id = d["release"]["id"].as_str().unwrap().to_string();
        let r = wait(&server, &id, "completed", |r| r["completed"] == true);
        assert_eq!(r["status"], status, "on_error = {on_error}: {r}");
        assert_eq!(
            node(&r, "stage.one.deployment.canary")["status"],
            "FAILED",
            "{r}"
        );
        assert_eq!(
            node(&r, "stage.two.deployment.main")["status"],
            later,
            "on_error = {on_error}: {r}"
        );
    }
}
