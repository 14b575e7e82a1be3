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
    // Protection rules govern approvals too: with prod open to bob and
    // carol only, dave (a reviewer) may not approve a deployment into it.
    let d = server.gql(
        "mutation($p: ID!) { createEnvironment(input: {projectId: $p, name: \"prod\"}) { environment { id } problems { message } } }",
        json!({ "p": project }),
    );
    let prod_env = d["createEnvironment"]["environment"]["id"].clone();
    let d = server.gql(
        "mutation($i: UpdateEnvironmentProtectionRulesInput!) { updateEnvironmentProtectionRules(input: $i) { problems { message } } }",
        json!({ "i": { "environmentId": prod_env, "users": ["bob", "carol"] } }),
    );
    assert_eq!(
        d["updateEnvironmentProtectionRules"]["problems"],
        json!([]),
        "{d}"
    );
    let refused = approve("dave");
    assert_eq!(refused[0]["code"], "FORBIDDEN", "{refused}");
    assert!(
        refused[0]["message"]
            .as_str()
            .unwrap()
            .contains("only user bob, user carol may approve a deployment into it"),
        "{refused}"
    );
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

/// A server whose users sign in through a test OIDC issuer, with project
/// acme/web: `(server, issuer, project)`.
async fn with_users(name: &str) -> (support::Server, support::oidc::Issuer, String) {
    let issuer = support::oidc::Issuer::start();
    let mut server = support::start_with(
        name,
        1,
        &[
            ("PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL", issuer.url.as_str()),
            ("PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID", USERS_CLIENT),
            (
                "PHOBOS_OAUTH_PROVIDERS_0_USERNAME_CLAIM",
                "preferred_username",
            ),
        ],
    )
    .await;
    server.login();
    let project = server.project("acme", "web");
    (server, issuer, project)
}

const USERS_CLIENT: &str = "phobos-test";

/// `user`'s answer to a query (it signs in with the issuer's token).
fn as_user(
    server: &support::Server,
    issuer: &support::oidc::Issuer,
    user: &str,
    q: &str,
    v: Value,
) -> Value {
    let token = issuer.token(
        USERS_CLIENT,
        json!({ "sub": format!("sub-{user}"), "preferred_username": user }),
    );
    let r = server.raw_as(Some(&token), q, v);
    assert!(r.get("errors").is_none(), "{user}: {r}");
    r["data"].clone()
}

/// Makes `user` exist and gives it `role` in the project.
fn member(
    server: &support::Server,
    issuer: &support::oidc::Issuer,
    project: &str,
    user: &str,
    role: &str,
) {
    as_user(server, issuer, user, "{ me { name } }", json!({}));
    let d = server.gql(
        "mutation($p: ID!, $u: String!, $r: Role!) { createMembership(input: {projectId: $p, username: $u, role: $r}) { problems { message } } }",
        json!({ "p": project, "u": user, "r": role }),
    );
    assert_eq!(d["createMembership"]["problems"], json!([]), "{d}");
}

/// LIFECYCLE with a deployment template for each environment: the input
/// of `createRelease` for a version.
fn standard_lifecycle(server: &support::Server, project: &str) -> impl Fn(&str) -> Value {
    let dev = template(server, project, "deploy-dev", DEPLOY);
    let prod = template(server, project, "deploy-prod", DEPLOY);
    let d = server.gql(
        CREATE_LIFECYCLE,
        json!({ "i": { "projectId": project, "name": "standard", "hcl": LIFECYCLE } }),
    );
    let lifecycle = d["createReleaseLifecycle"]["releaseLifecycle"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{d}"))
        .to_string();
    let project = project.to_string();
    move |v: &str| {
        json!({ "projectId": project, "lifecycleId": lifecycle, "semanticVersion": v,
                "deploymentTemplates": [{ "environmentName": "dev", "pipelineTemplateId": dev },
                                        { "environmentName": "prod", "pipelineTemplateId": prod }],
                "variables": [{ "key": "version", "value": v }] })
    }
}

/// `user` creates the release; it runs until prod waits for a start:
/// `(release id, its pipeline's id)`.
fn waiting_for_prod(
    server: &support::Server,
    issuer: &support::oidc::Issuer,
    user: &str,
    input: Value,
) -> (String, String) {
    let d = as_user(server, issuer, user, CREATE_RELEASE, json!({ "i": input }));
    assert_eq!(d["createRelease"]["problems"], json!([]), "{d}");
    let id = d["createRelease"]["release"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = wait(server, &id, "waiting for prod", |r| {
        r["pipeline"]["status"] == "WAITING"
    });
    (id, r["pipeline"]["id"].as_str().unwrap().to_string())
}

const PROTECT: &str = "mutation($i: UpdateEnvironmentProtectionRulesInput!) { updateEnvironmentProtectionRules(input: $i) { environment { name protectionRules { protected roles principals { kind name } } } problems { code field message } } }";
const START: &str = "mutation($p: ID!, $n: String!) { startPipelineNode(input: {pipelineId: $p, nodePath: $n}) { problems { code field message } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_protection_refuses_a_developer_and_allows_a_release_manager() {
    let (server, issuer, project) = with_users("releases_protection").await;
    member(&server, &issuer, &project, "rita", "RELEASE_MANAGER");
    member(&server, &issuer, &project, "dan", "DEVELOPER");
    let input = standard_lifecycle(&server, &project);
    let d = server.gql(
        "mutation($p: ID!) { createEnvironment(input: {projectId: $p, name: \"prod\"}) { environment { id protectionRules { protected } } problems { message } } }",
        json!({ "p": project }),
    );
    assert_eq!(
        d["createEnvironment"]["environment"]["protectionRules"]["protected"], false,
        "{d}"
    );
    let prod = d["createEnvironment"]["environment"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Only Owners and Release Managers set the rules.
    let rules = json!({ "i": { "environmentId": prod, "roles": ["RELEASE_MANAGER"] } });
    let d = as_user(&server, &issuer, "dan", PROTECT, rules.clone());
    assert_eq!(
        d["updateEnvironmentProtectionRules"]["problems"][0]["code"], "FORBIDDEN",
        "{d}"
    );
    let d = as_user(&server, &issuer, "rita", PROTECT, rules);
    assert_eq!(
        d["updateEnvironmentProtectionRules"]["problems"],
        json!([]),
        "{d}"
    );
    assert_eq!(
        d["updateEnvironmentProtectionRules"]["environment"]["protectionRules"],
        json!({ "protected": true, "roles": ["RELEASE_MANAGER"], "principals": [] }),
        "{d}"
    );

    // A Developer makes the release (prod is manual, so nothing starts in
    // prod by it) and dev deploys; the Developer may not start prod.
    let (id, pipeline) = waiting_for_prod(&server, &issuer, "dan", input("1.0.0"));
    const PROD_NODE: &str = "stage.prod.deployment.prod";
    let d = as_user(
        &server,
        &issuer,
        "dan",
        START,
        json!({ "p": pipeline, "n": PROD_NODE }),
    );
    let problem = &d["startPipelineNode"]["problems"][0];
    assert_eq!(problem["code"], "FORBIDDEN", "{d}");
    assert_eq!(problem["field"], "nodePath", "{d}");
    let message = problem["message"].as_str().unwrap();
    assert!(
        message.contains("environment prod of project acme/web is protected")
            && message.contains("Release Manager role"),
        "{message}"
    );
    // Removing a node's schedule starts it: as protected as a start.
    let d = as_user(
        &server,
        &issuer,
        "dan",
        "mutation($p: ID!, $n: String!) { updatePipelineNodeSchedule(input: {pipelineId: $p, nodePath: $n, schedule: null}) { problems { code field } } }",
        json!({ "p": pipeline, "n": PROD_NODE }),
    );
    assert_eq!(
        d["updatePipelineNodeSchedule"]["problems"][0]["code"], "FORBIDDEN",
        "{d}"
    );
    let r = wait(&server, &id, "still waiting", |r| {
        r["pipeline"]["status"] == "WAITING"
    });
    assert_eq!(node(&r, PROD_NODE)["status"], "WAITING", "{r}");

    // The Release Manager may.
    let d = as_user(
        &server,
        &issuer,
        "rita",
        START,
        json!({ "p": pipeline, "n": PROD_NODE }),
    );
    assert_eq!(d["startPipelineNode"]["problems"], json!([]), "{d}");
    let r = wait(&server, &id, "completed", |r| r["completed"] == true);
    assert_eq!(r["status"], "SUCCEEDED", "{r}");

    // A deployment that starts by itself is started by whoever creates
    // the release: with dev protected too (by name), the Developer's
    // release is refused at creation, the named Release Manager's is not.
    let d = server.gql(
        "query($p: ID!) { node(id: $p) { ... on Project { environments { edges { node { id name } } } } } }",
        json!({ "p": project }),
    );
    let dev_env = d["node"]["environments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["name"] == "dev")
        .unwrap_or_else(|| panic!("dev was created by its first deployment: {d}"))["node"]["id"]
        .clone();
    let d = as_user(
        &server,
        &issuer,
        "rita",
        PROTECT,
        json!({ "i": { "environmentId": dev_env, "users": ["rita"] } }),
    );
    assert_eq!(
        d["updateEnvironmentProtectionRules"]["environment"]["protectionRules"]["principals"],
        json!([{ "kind": "USER", "name": "rita" }]),
        "{d}"
    );
    let d = as_user(
        &server,
        &issuer,
        "dan",
        CREATE_RELEASE,
        json!({ "i": input("1.1.0") }),
    );
    assert_eq!(d["createRelease"]["release"], Value::Null, "{d}");
    assert_eq!(
        d["createRelease"]["problems"][0]["code"], "FORBIDDEN",
        "{d}"
    );
    assert!(
        d["createRelease"]["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("environment dev of project acme/web is protected: only user rita"),
        "{d}"
    );
    let d = as_user(
        &server,
        &issuer,
        "rita",
        CREATE_RELEASE,
        json!({ "i": input("1.1.0") }),
    );
    assert_eq!(d["createRelease"]["problems"], json!([]), "{d}");
}

const ACTIVITY: &str = "query($id: ID!, $first: Int, $after: String, $actor: String, $types: [ActivityResourceType!]) { release(id: $id) { activity(first: $first, after: $after, actor: $actor, resourceTypes: $types) { pageInfo { hasNextPage } edges { cursor node { cursor actor action resourceType subject releaseId } } } } }";

/// A release's activity rows, newest first.
fn activity(server: &support::Server, id: &str, vars: Value) -> (Vec<Value>, bool) {
    let mut v = json!({ "id": id });
    v.as_object_mut()
        .unwrap()
        .extend(vars.as_object().unwrap().clone());
    let d = server.gql(ACTIVITY, v);
    let c = &d["release"]["activity"];
    let rows = c["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{d}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    (rows, c["pageInfo"]["hasNextPage"] == true)
}

/// `(actor, action, resourceType, subject)` of each row.
fn lines(rows: &[Value]) -> Vec<(String, String, String, String)> {
    rows.iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
                r["resourceType"].as_str().unwrap().to_string(),
                r["subject"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_releases_activity_lists_every_action_with_its_actor_in_order() {
    let (server, issuer, project) = with_users("releases_activity").await;
    member(&server, &issuer, &project, "rita", "RELEASE_MANAGER");
    member(&server, &issuer, &project, "dan", "DEVELOPER");
    let input = standard_lifecycle(&server, &project);
    let (id, pipeline) = waiting_for_prod(&server, &issuer, "dan", input("2.0.0"));

    // Participants: users who see the project, and teams.
    let update = "mutation($i: UpdateReleaseInput!) { updateRelease(input: $i) { release { participants { kind name } } problems { code field message } } }";
    let d = as_user(
        &server,
        &issuer,
        "rita",
        update,
        json!({ "i": { "id": id, "participants": { "users": ["stranger"] } } }),
    );
    assert_eq!(d["updateRelease"]["problems"][0]["field"], "users", "{d}");
    as_user(&server, &issuer, "stranger", "{ me { name } }", json!({}));
    let d = as_user(
        &server,
        &issuer,
        "rita",
        update,
        json!({ "i": { "id": id, "participants": { "users": ["stranger"] } } }),
    );
    assert_eq!(
        d["updateRelease"]["problems"][0]["field"], "participants",
        "{d}"
    );
    let d = as_user(
        &server,
        &issuer,
        "rita",
        update,
        json!({ "i": { "id": id, "participants": { "users": ["dan", "rita"] } } }),
    );
    assert_eq!(
        d["updateRelease"]["release"]["participants"],
        json!([{ "kind": "USER", "name": "dan" }, { "kind": "USER", "name": "rita" }]),
        "{d}"
    );

    const PROD_NODE: &str = "stage.prod.deployment.prod";
    let d = as_user(
        &server,
        &issuer,
        "rita",
        START,
        json!({ "p": pipeline, "n": PROD_NODE }),
    );
    assert_eq!(d["startPipelineNode"]["problems"], json!([]), "{d}");
    wait(&server, &id, "completed", |r| r["completed"] == true);

    // Newest first; read oldest first here. The feed is written by the
    // projector, which may trail the pipeline's end by a batch.
    let deadline = Instant::now() + Duration::from_secs(30);
    let all = loop {
        let (rows, more) = activity(&server, &id, json!({}));
        assert!(!more);
        if rows.first().is_some_and(|r| r["action"] == "SUCCEEDED") || Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut oldest_first = lines(&all);
    oldest_first.reverse();
    let what: Vec<(&str, &str, &str)> = oldest_first
        .iter()
        .map(|(_, a, t, s)| (a.as_str(), t.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        what,
        vec![
            ("CREATED", "RELEASE", "2.0.0"),
            ("CREATED", "PIPELINE", ""),
            ("CREATED", "DEPLOYMENT", "dev"),
            ("DEPLOYED", "DEPLOYMENT", "dev"),
            ("UPDATED", "RELEASE", ""),
            ("STARTED", "PIPELINE_NODE", PROD_NODE),
            ("CREATED", "DEPLOYMENT", "prod"),
            ("DEPLOYED", "DEPLOYMENT", "prod"),
            ("SUCCEEDED", "PIPELINE", ""),
        ],
        "{all:#?}"
    );
    // People's actions are theirs; the rest the server's.
    let actors: Vec<&str> = oldest_first.iter().map(|(a, ..)| a.as_str()).collect();
    assert_eq!(actors[0], "user:dan", "{actors:?}");
    assert_eq!(actors[4], "user:rita", "{actors:?}");
    assert_eq!(actors[5], "user:rita", "{actors:?}");
    for (i, a) in actors.iter().enumerate() {
        if ![0, 4, 5].contains(&i) {
            assert!(
                !a.starts_with("user:"),
                "row {i} is the server's: {actors:?}"
            );
        }
    }

    // Filters, and pages that resume by cursor.
    let (mine, _) = activity(&server, &id, json!({ "actor": "rita" }));
    assert_eq!(
        lines(&mine)
            .iter()
            .map(|l| l.1.as_str())
            .collect::<Vec<_>>(),
        vec!["STARTED", "UPDATED"]
    );
    let (deployments, _) = activity(&server, &id, json!({ "types": ["DEPLOYMENT"] }));
    assert_eq!(deployments.len(), 4, "{deployments:#?}");
    let (first, more) = activity(&server, &id, json!({ "first": 4 }));
    assert!(more);
    let (rest, more) = activity(
        &server,
        &id,
        json!({ "after": first[3]["cursor"], "first": 50 }),
    );
    assert!(!more);
    assert_eq!([first, rest].concat(), all);

    // The project's feed holds the release's and the templates'; an
    // organization's shows a Developer of one project only that project's.
    let d = server.gql(
        "query($p: ID!) { node(id: $p) { ... on Project { activity(resourceTypes: [PIPELINE_TEMPLATE, RELEASE]) { edges { node { actor action resourceType subject } } } } } }",
        json!({ "p": project }),
    );
    let project_rows: Vec<Value> = d["node"]["activity"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(
        lines(&project_rows)
            .iter()
            .map(|l| (l.1.as_str(), l.2.as_str(), l.3.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("UPDATED", "RELEASE", ""),
            ("CREATED", "RELEASE", "2.0.0"),
            ("CREATED", "PIPELINE_TEMPLATE", "deploy-prod"),
            ("CREATED", "PIPELINE_TEMPLATE", "deploy-dev"),
        ]
    );
    let org_feed = "{ organization(name: \"acme\") { activity(first: 500) { edges { node { resourceType projectId } } } } }";
    let admin_rows = server.gql(org_feed, json!({}))["organization"]["activity"]["edges"].clone();
    assert!(
        admin_rows
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["node"]["resourceType"] == "ORGANIZATION"),
        "{admin_rows}"
    );
    let dan_rows = as_user(&server, &issuer, "dan", org_feed, json!({}))["organization"]
        ["activity"]["edges"]
        .clone();
    let dan_rows = dan_rows.as_array().unwrap();
    assert!(!dan_rows.is_empty());
    assert!(
        dan_rows.iter().all(|e| e["node"]["projectId"] == project),
        "{dan_rows:?}"
    );

    // The home page's feed: everything the caller sees, across
    // organizations, each row naming where it happened.
    let d = server.gql(
        "mutation { createOrganization(input: {name: \"globex\"}) { problems { message } } }",
        json!({}),
    );
    assert_eq!(d["createOrganization"]["problems"], json!([]), "{d}");
    let home = "{ activity(first: 500) { edges { node { organizationName projectName projectId resourceType } } } }";
    let admin_home = server.gql(home, json!({}))["activity"]["edges"].clone();
    let orgs_of = |rows: &Value| -> Vec<String> {
        let mut v: Vec<String> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["organizationName"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(orgs_of(&admin_home), ["acme", "globex"], "{admin_home}");
    let dan_home = as_user(&server, &issuer, "dan", home, json!({}))["activity"]["edges"].clone();
    assert_eq!(orgs_of(&dan_home), ["acme"], "{dan_home}");
    assert!(
        dan_home
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["node"]["projectId"] == project && e["node"]["projectName"] == "web"),
        "{dan_home}"
    );
    assert_eq!(
        dan_home.as_array().unwrap().len(),
        dan_rows.len(),
        "dan sees the same rows at home as on acme's page"
    );
    // And the recent pipelines, newest first, of the projects one sees.
    let recent = "{ pipelines(first: 500, sort: CREATED_AT_DESC) { edges { node { createdAt project { name organizationName } } } } }";
    let all = server.gql(recent, json!({}))["pipelines"]["edges"].clone();
    let all = all.as_array().unwrap();
    assert!(!all.is_empty(), "the release's pipelines");
    let times: Vec<&str> = all
        .iter()
        .map(|e| e["node"]["createdAt"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let dan_recent =
        as_user(&server, &issuer, "dan", recent, json!({}))["pipelines"]["edges"].clone();
    assert_eq!(
        dan_recent.as_array().unwrap().len(),
        all.len(),
        "{dan_recent}"
    );
    assert!(dan_recent
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["node"]["project"]["name"] == "web"));
    let eve = as_user(&server, &issuer, "eve", recent, json!({}));
    assert_eq!(
        eve["pipelines"]["edges"],
        json!([]),
        "a user of no project sees none: {eve}"
    );

    // Who deployed where: the manual prod deployment is rita's, the
    // automatic dev one that of the release's creator.
    let d = server.gql(
        "query($p: ID!) { node(id: $p) { ... on Project { environments { edges { node { name deployments { edges { node { createdBy startedBy } } } } } } } } }",
        json!({ "p": project }),
    );
    let who = |env: &str| {
        d["node"]["environments"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["name"] == env)
            .unwrap_or_else(|| panic!("no {env}: {d}"))["node"]["deployments"]["edges"][0]["node"]
            .clone()
    };
    assert_eq!(
        who("prod"),
        json!({ "createdBy": "user:dan", "startedBy": "user:rita" })
    );
    // The lifecycle pipeline is the release creator's, not the policy's
    // that made it (self-approval rules compare with it).
    let d = server.gql(
        "query($id: ID!) { release(id: $id) { pipeline { createdBy } } }",
        json!({ "id": id }),
    );
    assert_eq!(d["release"]["pipeline"]["createdBy"], "user:dan", "{d}");
    assert_eq!(
        who("dev"),
        json!({ "createdBy": "user:dan", "startedBy": "user:dan" })
    );

    // The subscription gives the same rows, oldest first, after a cursor.
    let from = &all[all.len() - 3];
    let streamed = support::subscribe(
        &server,
        "subscription($r: ID!, $after: String) { activity(releaseId: $r, after: $after) { cursor actor action resourceType subject releaseId } }",
        json!({ "r": id, "after": from["cursor"] }),
        "activity",
        all.len() - 3,
    );
    let mut expected: Vec<Value> = all[..all.len() - 3].to_vec();
    expected.reverse();
    assert_eq!(streamed, expected);
}

/// A node of a pipeline nested in a deployment runs in that deployment's
/// environment: its protection rules hold there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protection_reaches_the_pipelines_nested_in_a_deployment() {
    let (server, issuer, project) = with_users("releases_protection_nested").await;
    member(&server, &issuer, &project, "rita", "RELEASE_MANAGER");
    member(&server, &issuer, &project, "dan", "DEVELOPER");
    let step = template(
        &server,
        &project,
        "manual-step",
        "stage \"s\" {\n  task \"go\" {\n    when = \"manual\"\n    action \"exec_command\" {\n      command = \"echo go\"\n    }\n  }\n}\n",
    );
    let deploy = template(
        &server,
        &project,
        "prod-deploy",
        &format!(
            "stage \"d\" {{\n  pipeline \"inner\" {{\n    template_id = \"{step}\"\n  }}\n}}\n"
        ),
    );
    let d = server.gql(
        "mutation($p: ID!) { createEnvironment(input: {projectId: $p, name: \"prod\"}) { environment { id } problems { message } } }",
        json!({ "p": project }),
    );
    let prod = d["createEnvironment"]["environment"]["id"].clone();
    let d = server.gql(
        PROTECT,
        json!({ "i": { "environmentId": prod, "roles": ["RELEASE_MANAGER"] } }),
    );
    assert_eq!(
        d["updateEnvironmentProtectionRules"]["problems"],
        json!([]),
        "{d}"
    );
    let root = server.run_pipeline(
        &project,
        &format!("stage \"s\" {{\n  pipeline \"to_prod\" {{\n    pipeline_type = \"deployment\"\n    environment   = \"prod\"\n    template_id   = \"{deploy}\"\n  }}\n}}\n"),
    );
    const TREE: &str = "query($id: ID!) { pipeline(id: $id) { stages { nodes { childPipeline { environment { name } stages { nodes { childPipeline { id stages { nodes { path status } } } } } } } } } }";
    let deadline = Instant::now() + Duration::from_secs(60);
    let inner = loop {
        let d = server.gql(TREE, json!({ "id": root }));
        let inner = &d["pipeline"]["stages"][0]["nodes"][0]["childPipeline"]["stages"][0]["nodes"]
            [0]["childPipeline"];
        if inner["stages"][0]["nodes"][0]["status"] == "WAITING" {
            assert_eq!(
                d["pipeline"]["stages"][0]["nodes"][0]["childPipeline"]["environment"]["name"],
                "prod"
            );
            break inner["id"].as_str().unwrap().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "the nested task never waited: {d}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let go = json!({ "p": inner, "n": "stage.s.task.go" });
    let d = as_user(&server, &issuer, "dan", START, go.clone());
    assert_eq!(
        d["startPipelineNode"]["problems"][0]["code"], "FORBIDDEN",
        "{d}"
    );
    let d = as_user(&server, &issuer, "rita", START, go);
    assert_eq!(d["startPipelineNode"]["problems"], json!([]), "{d}");
    let done = server.wait_finished(&root, Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
}
