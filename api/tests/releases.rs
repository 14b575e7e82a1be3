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
const CREATE_RELEASE: &str = "mutation($i: CreateReleaseInput!) { createRelease(input: $i) { release { id prn semanticVersion status lifecycleVersion variables { key value sensitive } } problems { code field message line column } } }";
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

    // What each environment runs now, and its deployments' releases.
    let env = |name: &str| {
        server.gql(
            "query($p: ID!) { node(id: $p) { ... on Project { environments { edges { node { name currentRelease { semanticVersion } deployments { edges { node { status release { semanticVersion } } } } } } } } } }",
            json!({ "p": project }),
        )["node"]["environments"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no environment {name}"))
    };
    let prod = env("prod");
    assert_eq!(prod["currentRelease"]["semanticVersion"], "1.0.0", "{prod}");
    assert_eq!(
        prod["deployments"]["edges"][0]["node"]["release"]["semanticVersion"],
        "1.0.0"
    );
    let dev = env("dev");
    assert_eq!(dev["currentRelease"]["semanticVersion"], "1.1.0", "{dev}");
    let versions: Vec<&str> = dev["deployments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["release"]["semanticVersion"].as_str().unwrap())
        .collect();
    assert_eq!(versions, vec!["1.1.0", "1.0.0"], "{dev}");

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

/// The issue's release: dev deploys by itself; staging waits for a health
/// check (a gate that passes on its second attempt); prod is manual and
/// needs two of three reviewers' approvals. From creation to completed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_stage_release_with_a_gate_and_a_two_of_three_approval_completes() {
    use support::oidc::Issuer;
    const CLIENT_ID: &str = "phobos-test";
    let issuer = Issuer::start();
    let mut server = support::start_with(
        "releases_three_stages",
        1,
        &[
            ("PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL", issuer.url.as_str()),
            ("PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID", CLIENT_ID),
            (
                "PHOBOS_OAUTH_PROVIDERS_0_USERNAME_CLAIM",
                "preferred_username",
            ),
        ],
    )
    .await;
    server.login();
    let project = server.project("acme", "web");
    let token = |user: &str| {
        issuer.token(
            CLIENT_ID,
            json!({ "sub": format!("sub-{user}"), "preferred_username": user }),
        )
    };
    let as_user = |user: &str, q: &str, v: Value| -> Value {
        let r = server.raw_as(Some(&token(user)), q, v);
        assert!(r.get("errors").is_none(), "{user}: {r}");
        r["data"].clone()
    };
    for u in ["bob", "carol", "dave"] {
        as_user(u, "{ me { name } }", json!({}));
    }
    server.gql(
        "mutation { createTeam(input: {name: \"reviewers\"}) { problems { message } } }",
        json!({}),
    );
    for u in ["bob", "carol", "dave"] {
        server.gql(
            "mutation($u: String!) { addTeamMember(input: {teamName: \"reviewers\", username: $u}) { problems { message } } }",
            json!({ "u": u }),
        );
    }
    let d = server.gql(
        "mutation($p: ID!) { createMembership(input: {projectId: $p, teamName: \"reviewers\", role: DEVELOPER}) { problems { message } } }",
        json!({ "p": project }),
    );
    assert_eq!(d["createMembership"]["problems"], json!([]), "{d}");
    let d = server.gql(
        "mutation { createApprovalRule(input: {organizationName: \"acme\", name: \"reviewers-2of3\", teams: [\"reviewers\"], approvalsRequired: 2}) { problems { message } } }",
        json!({}),
    );
    assert_eq!(d["createApprovalRule"]["problems"], json!([]), "{d}");

    let counter =
        std::env::temp_dir().join(format!("phobos-release-gate-{}", uuid::Uuid::new_v4()));
    let lifecycle = format!(
        r#"
stage "dev" {{
  deployment {{
    environment = "dev"
  }}
}}
stage "staging" {{
  pre {{
    task "health_check" {{
      interval          = "1s"
      attempts          = 5
      success_condition = "action_outputs.stage.staging.pre.task.health_check.action.probe.exit_code == 0"
      action "exec_command" {{
        alias   = "probe"
        command = <<-EOT
          n=$(cat {c} 2>/dev/null || echo 0)
          n=$((n + 1))
          echo $n > {c}
          test $n -ge 2
        EOT
      }}
    }}
  }}
  deployment {{
    environment = "staging"
  }}
}}
stage "prod" {{
  deployment {{
    environment    = "prod"
    when           = "manual"
    approval_rules = ["prn:approval_rule:acme/reviewers-2of3"]
  }}
}}
"#,
        c = counter.display()
    );
    let deploy = template(&server, &project, "deploy", DEPLOY);
    let d = server.gql(
        CREATE_LIFECYCLE,
        json!({ "i": { "projectId": project, "name": "three", "hcl": lifecycle } }),
    )["createReleaseLifecycle"]
        .clone();
    assert_eq!(d["problems"], json!([]), "{d}");
    let templates: Vec<Value> = ["dev", "staging", "prod"]
        .iter()
        .map(|e| json!({ "environmentName": e, "pipelineTemplateId": deploy }))
        .collect();
    let d = release(
        &server,
        json!({ "projectId": project, "lifecycleId": d["releaseLifecycle"]["id"], "semanticVersion": "2.0.0",
                "deploymentTemplates": templates, "variables": [{ "key": "version", "value": "2.0.0" }] }),
    );
    assert_eq!(d["problems"], json!([]), "{d}");
    let id = d["release"]["id"].as_str().unwrap().to_string();

    const PROD: &str = "stage.prod.deployment.prod";
    let r = wait(&server, &id, "waiting for prod's approvals", |r| {
        r["pipeline"]["stages"]
            .as_array()
            .is_some_and(|_| node(r, PROD)["status"] == "APPROVAL_PENDING")
    });
    assert_eq!(node(&r, "stage.dev.deployment.dev")["status"], "SUCCEEDED");
    assert_eq!(
        node(&r, "stage.staging.pre.task.health_check")["status"],
        "SUCCEEDED"
    );
    assert_eq!(
        node(&r, "stage.staging.deployment.staging")["status"],
        "SUCCEEDED"
    );
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap().trim(),
        "2",
        "the gate ran twice"
    );
    let pipeline = r["pipeline"]["id"].as_str().unwrap().to_string();
    let approve = |user: &str| {
        as_user(
            user,
            "mutation($p: ID!, $n: String!) { approvePipelineNode(input: {pipelineId: $p, nodePath: $n}) { problems { code message } } }",
            json!({ "p": pipeline, "n": PROD }),
        )["approvePipelineNode"]["problems"]
            .clone()
    };
    assert_eq!(approve("bob"), json!([]));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        node(&server.gql(RELEASE, json!({ "id": id }))["release"], PROD)["status"],
        "APPROVAL_PENDING",
        "one of two approvals"
    );
    assert_eq!(approve("carol"), json!([]));
    wait(&server, &id, "waiting for prod's start", |r| {
        node(r, PROD)["status"] == "WAITING"
    });
    let d = server.gql(
        "mutation($p: ID!, $n: String!) { startPipelineNode(input: {pipelineId: $p, nodePath: $n}) { problems { message } } }",
        json!({ "p": pipeline, "n": PROD }),
    );
    assert_eq!(d["startPipelineNode"]["problems"], json!([]), "{d}");
    let r = wait(&server, &id, "completed", |r| r["completed"] == true);
    assert_eq!(r["status"], "SUCCEEDED", "{r}");
    let log = node(&r, PROD)["childPipeline"]["jobs"][0]["logs"]["text"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(log.contains("rolling out 2.0.0"), "{r}");
    let _ = std::fs::remove_file(&counter);
}

/// The seeds' lifecycle examples (001), each made a release: those this
/// server can run run; the others are refused at creation with what to
/// change and where (a volume, a job JWT, a VCS token, a plugin other than
/// exec, an approval rule that does not exist).
#[tokio::test]
async fn the_seeds_lifecycle_examples_as_releases() {
    let mut server = support::start("releases_seeds", 1).await;
    server.login();
    let project = server.project("acme", "web");
    let ok = template(&server, &project, "ok", "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" {\n      command = \"true\"\n    }\n  }\n}\n");
    macro_rules! example {
        ($f:literal) => {
            (
                $f,
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../core/tests/examples/lifecycle/",
                    $f
                )),
            )
        };
    }
    // (file, its environments, what happens)
    let cases: Vec<((&str, &str), &[&str], &str)> = vec![
        (example!("01_stage.hcl"), &["dev"], "refused: approval rule"),
        (
            example!("02_stage_order.hcl"),
            &["dev", "prod", "test"],
            "SUCCEEDED",
        ),
        (example!("03_variable.hcl"), &["account1"], "SUCCEEDED"),
        (example!("04_jwt_plugin.hcl"), &["dev"], "refused: jwt"),
        (example!("05_volume.hcl"), &["dev"], "refused: volume"),
        (example!("06_vcs_token.hcl"), &["dev"], "refused: vcs_token"),
        (
            example!("07_pre_post.hcl"),
            &["production"],
            "refused: approval rule",
        ),
        (example!("08_mount_point.hcl"), &[], "refused: volume"),
        (
            example!("09_schedule.hcl"),
            &["dev-us-east-1", "dev-us-east-2"],
            "scheduled",
        ),
        (
            example!("10_approvals_gates.hcl"),
            &["prod"],
            "refused: approval rule",
        ),
    ];
    for (i, ((file, hcl), environments, expected)) in cases.into_iter().enumerate() {
        let d = server.gql(
            CREATE_LIFECYCLE,
            json!({ "i": { "projectId": project, "name": format!("seed-{i}"), "hcl": hcl } }),
        )["createReleaseLifecycle"]
            .clone();
        assert_eq!(d["problems"], json!([]), "{file}: {d}");
        let templates: Vec<Value> = environments
            .iter()
            .map(|e| json!({ "environmentName": e, "pipelineTemplateId": ok }))
            .collect();
        let d = release(
            &server,
            json!({ "projectId": project, "lifecycleId": d["releaseLifecycle"]["id"], "semanticVersion": format!("0.0.{i}"), "deploymentTemplates": templates }),
        );
        if let Some(what) = expected.strip_prefix("refused: ") {
            assert_eq!(d["release"], Value::Null, "{file}: {d}");
            let problems = d["problems"].as_array().unwrap();
            let found = problems
                .iter()
                .find(|p| p["message"].as_str().unwrap().contains(what));
            let p = found.unwrap_or_else(|| panic!("{file}: no problem about {what}: {d}"));
            assert!(
                p["line"].as_i64().is_some_and(|l| l > 0),
                "{file}: located: {p}"
            );
            continue;
        }
        assert_eq!(d["problems"], json!([]), "{file}: {d}");
        let id = d["release"]["id"].as_str().unwrap().to_string();
        if expected == "scheduled" {
            // The past datetime starts at once; the cron waits for the
            // third Friday of a month.
            let r = wait(&server, &id, "scheduled", |r| {
                r["pipeline"]["stages"].as_array().is_some_and(|_| {
                    node(r, "stage.dev.deployment.dev-us-east-1")["status"] == "SUCCEEDED"
                        && node(r, "stage.dev.deployment.dev-us-east-2")["status"] == "SCHEDULED"
                })
            });
            assert_eq!(r["status"], "RUNNING", "{file}: {r}");
            continue;
        }
        let r = wait(&server, &id, "completed", |r| r["completed"] == true);
        assert_eq!(r["status"], expected, "{file}: {r}");
    }
}

/// Two releases that differ in one variable and one template line: the diff
/// shows exactly those, with the lifecycle unchanged, a sensitive variable
/// that did not change left out, and each deployment's outcome; each
/// deployment has its lead time.
#[tokio::test]
async fn the_diff_of_two_releases_shows_what_changed_and_no_more() {
    let mut server = support::start("releases_diff", 1).await;
    server.login();
    let project = server.project("acme", "web");
    let a = template(&server, &project, "deploy-a", DEPLOY);
    let b = template(
        &server,
        &project,
        "deploy-b",
        &DEPLOY.replace("echo rolling out", "echo shipping"),
    );
    let hcl = "variable \"token\" {\n  type = string\n}\nstage \"dev\" {\n  deployment {\n    environment = \"dev\"\n  }\n}\n";
    let d = server.gql(
        CREATE_LIFECYCLE,
        json!({ "i": { "projectId": project, "name": "simple", "hcl": hcl } }),
    )["createReleaseLifecycle"]
        .clone();
    assert_eq!(d["problems"], json!([]), "{d}");
    let lifecycle = d["releaseLifecycle"]["id"].clone();
    let mut ids = vec![];
    for (version, t) in [("3.0.0", &a), ("3.0.1", &b)] {
        let d = release(
            &server,
            json!({ "projectId": project, "lifecycleId": lifecycle, "semanticVersion": version,
                    "deploymentTemplates": [{ "environmentName": "dev", "pipelineTemplateId": t }],
                    "variables": [{ "key": "version", "value": version }, { "key": "token", "value": "s3cr3t", "sensitive": true }] }),
        );
        assert_eq!(d["problems"], json!([]), "{d}");
        let id = d["release"]["id"].as_str().unwrap().to_string();
        wait(&server, &id, "completed", |r| r["completed"] == true);
        ids.push(id);
    }
    let d = server.gql(
        "query($a: ID!, $b: ID!) { releaseDiff(from: $a, to: $b) {
            from { semanticVersion } to { semanticVersion }
            lifecycle { from { name version } to { name version } hclDiff }
            environments { name templateFrom { name } templateTo { name } hclDiff }
            variables { key change from to }
            deployments { environment from to } } }",
        json!({ "a": ids[0], "b": ids[1] }),
    );
    let diff = &d["releaseDiff"];
    assert_eq!(diff["from"]["semanticVersion"], "3.0.0");
    assert_eq!(
        diff["lifecycle"]["from"],
        json!({ "name": "simple", "version": 1 })
    );
    assert_eq!(diff["lifecycle"]["hclDiff"], Value::Null, "{diff}");
    assert_eq!(
        diff["variables"],
        json!([{ "key": "version", "change": "CHANGED", "from": "3.0.0", "to": "3.0.1" }]),
        "{diff}"
    );
    let envs = diff["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 1, "{diff}");
    assert_eq!(envs[0]["templateFrom"]["name"], "deploy-a");
    assert_eq!(envs[0]["templateTo"]["name"], "deploy-b");
    let text = envs[0]["hclDiff"].as_str().unwrap();
    let changed: Vec<&str> = text
        .lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .collect();
    assert_eq!(
        changed,
        vec![
            "-      command = \"echo rolling out ${var.version}\"",
            "+      command = \"echo shipping ${var.version}\"",
        ],
        "{text}"
    );
    assert_eq!(
        diff["deployments"],
        json!([{ "environment": "dev", "from": "SUCCEEDED", "to": "SUCCEEDED" }])
    );
    assert!(
        !d.to_string().contains("s3cr3t"),
        "sensitive values never shown"
    );

    let d = server.gql(
        "query($id: ID!) { release(id: $id) { createdAt deployments { environmentName status finishedAt leadTimeSeconds pipeline { type } } } }",
        json!({ "id": ids[1] }),
    );
    let dep = &d["release"]["deployments"][0];
    assert_eq!(dep["environmentName"], "dev");
    assert_eq!(dep["status"], "SUCCEEDED");
    assert_eq!(dep["pipeline"]["type"], "DEPLOYMENT");
    let lead = dep["leadTimeSeconds"].as_f64().unwrap();
    assert!(lead > 0.0 && lead < 120.0, "{dep}");
}
