//! Identity and access against the real server: users from a real OIDC
//! issuer over HTTP (with key rollover), teams, memberships, and the
//! role matrix: each root operation run as each role, as a non-member,
//! as a service account, and anonymously, checked against the rule table
//! the binary prints
//! (`phobos permissions --json`).

mod support;

use serde_json::{json, Value};
use support::oidc::Issuer;

const CLIENT_ID: &str = "phobos-test";

/// A trivial template: one task that needs no job.
const HCL: &str = r#"
stage "s" {
  task "t" {
  }
}
"#;

/// What a call came to: allowed (it ran, or was refused for a reason that
/// is not access), forbidden, or not found (absent, hidden).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Forbidden,
    NotFound,
    Unauthenticated,
}

fn outcome(v: &Value, payload: Option<&str>) -> Outcome {
    if let Some(errs) = v.get("errors").and_then(|e| e.as_array()) {
        let code = errs[0]["extensions"]["code"].as_str().unwrap_or("");
        return match code {
            "FORBIDDEN" => Outcome::Forbidden,
            "NOT_FOUND" => Outcome::NotFound,
            "UNAUTHENTICATED" => Outcome::Unauthenticated,
            _ => panic!("unexpected error: {v}"),
        };
    }
    let data = &v["data"];
    let Some(field) = payload else {
        return Outcome::Allowed;
    };
    let first = data.as_object().unwrap().values().next().unwrap();
    if first.is_null() {
        return Outcome::NotFound;
    }
    let problems = first
        .get("problems")
        .and_then(|p| p.as_array())
        .cloned()
        .unwrap_or_default();
    match problems.first().map(|p| p["code"].as_str().unwrap_or("")) {
        Some("FORBIDDEN") => Outcome::Forbidden,
        Some("NOT_FOUND") => Outcome::NotFound,
        // Past the access check: done, or refused for the state it found.
        None | Some("CONFLICT") => Outcome::Allowed,
        Some(other) => panic!("{field}: unexpected problem {other}: {v}"),
    }
}

/// One root operation of the matrix: its field, the request, its variables
/// for a user, and whether it answers with a payload holding `problems`.
type Op<'a> = (&'a str, &'a str, Box<dyn Fn(&str) -> Value + 'a>, bool);

fn rules() -> Vec<Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_phobos"))
        .args(["permissions", "--json"])
        .output()
        .expect("phobos permissions");
    assert!(out.status.success());
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn rank(role: &str) -> u8 {
    match role {
        "viewer" => 1,
        "developer" => 2,
        "release_manager" => 3,
        "owner" => 4,
        _ => 0,
    }
}

#[tokio::test]
async fn oidc_users_teams_memberships_and_the_role_matrix() {
    let issuer = Issuer::start();
    let mut server = support::start_with(
        "identity",
        0,
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
    server.project("other", "hidden");

    let token = |name: &str| {
        issuer.token(CLIENT_ID, json!({ "sub": format!("sub-{name}"), "preferred_username": name, "email": format!("{name}@example.test") }))
    };
    let users = ["owner", "manager", "dev", "viewer", "stranger", "extra"];
    let tokens: Vec<String> = users.iter().map(|u| token(u)).collect();
    // First sight creates each user; `me` shows it.
    for (u, t) in users.iter().zip(&tokens) {
        let v = server.raw_as(
            Some(t),
            "{ me { __typename name ... on User { username email admin } } }",
            json!({}),
        );
        assert!(v.get("errors").is_none(), "{v}");
        assert_eq!(v["data"]["me"]["username"], json!(u), "{v}");
        assert_eq!(v["data"]["me"]["admin"], json!(false));
    }
    // Wrong audience, expired, and foreign-issuer tokens are refused.
    let bad_aud = issuer.token(
        "someone-else",
        json!({ "sub": "x", "preferred_username": "x" }),
    );
    let expired = issuer.token(
        CLIENT_ID,
        json!({ "sub": "x", "preferred_username": "x", "exp": 1000 }),
    );
    for t in [&bad_aud, &expired] {
        let v = server.raw_as(Some(t), "{ me { name } }", json!({}));
        assert_eq!(
            v["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{v}"
        );
    }
    let d = server.gql("{ users { edges { node { username admin } } } }", json!({}));
    let names: Vec<&str> = d["users"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["username"].as_str().unwrap())
        .collect();
    for u in users {
        assert!(names.contains(&u), "{names:?}");
    }

    // Memberships: owner on the organization, manager and viewer on the
    // project, dev through a team.
    let grant = |scope: Value, member: Value, role: &str| {
        let mut input = scope;
        for (k, v) in member.as_object().unwrap() {
            input[k] = v.clone();
        }
        input["role"] = json!(role);
        let d = server.gql(
            "mutation($i: CreateMembershipInput!) { createMembership(input: $i) { membership { id role memberKind memberName } problems { message field code } } }",
            json!({ "i": input }),
        );
        assert_eq!(d["createMembership"]["problems"], json!([]), "{d}");
        d["createMembership"]["membership"].clone()
    };
    grant(
        json!({"organizationName": "acme"}),
        json!({"username": "owner"}),
        "OWNER",
    );
    grant(
        json!({"projectId": project}),
        json!({"username": "manager"}),
        "RELEASE_MANAGER",
    );
    grant(
        json!({"projectId": project}),
        json!({"username": "viewer"}),
        "VIEWER",
    );
    let d = server.gql(
        "mutation { createTeam(input: {name: \"devs\"}) { team { name } problems { message } } }",
        json!({}),
    );
    assert_eq!(d["createTeam"]["problems"], json!([]), "{d}");
    let d = server.gql("mutation { addTeamMember(input: {teamName: \"devs\", username: \"dev\"}) { team { members { username maintainer } } problems { message } } }", json!({}));
    assert_eq!(
        d["addTeamMember"]["team"]["members"],
        json!([{"username": "dev", "maintainer": false}]),
        "{d}"
    );
    let m = grant(
        json!({"projectId": project}),
        json!({"teamName": "devs"}),
        "DEVELOPER",
    );
    assert_eq!(m["memberKind"], "TEAM");
    // The same principal twice in one scope is a conflict on `role`.
    let d = server.gql(
        "mutation($p: ID!) { createMembership(input: {projectId: $p, teamName: \"devs\", role: VIEWER}) { problems { code field } } }",
        json!({ "p": project }),
    );
    assert_eq!(
        d["createMembership"]["problems"][0]["code"], "CONFLICT",
        "{d}"
    );

    // A pipeline to read and cancel.
    let pipeline = server.run_pipeline(&project, HCL);
    let template = server.gql(
        "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id } problems { message } } }",
        json!({ "i": { "projectId": project, "hcl": HCL, "name": "shared" } }),
    )["createPipelineTemplate"]["pipelineTemplate"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // A job (queued: this server has no agent), per-caller targets for the
    // operations that change or delete something, and a project's service
    // account.
    let with_job = server.gql(
        "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id } } }",
        json!({ "i": { "projectId": project, "name": "job", "hcl": "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" {\n      command = \"true\"\n    }\n  }\n}\n" } }),
    )["createPipelineTemplate"]["pipelineTemplate"]["id"].clone();
    let queued = server.gql(
        "mutation($t: ID!) { createPipeline(input: {pipelineTemplateId: $t}) { pipeline { id } } }",
        json!({ "t": with_job }),
    )["createPipeline"]["pipeline"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let job = {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let d = server.gql(
                "query($id: ID!) { pipeline(id: $id) { jobs { id } } }",
                json!({ "id": queued }),
            );
            if let Some(id) = d["pipeline"]["jobs"][0]["id"].as_str() {
                break id.to_string();
            }
            assert!(std::time::Instant::now() < deadline, "no job: {d}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let callers = ["owner", "manager", "dev", "viewer", "stranger", "ci"];
    let mut agent_of = std::collections::HashMap::new();
    let mut rule_of = std::collections::HashMap::new();
    let mut membership_of = std::collections::HashMap::new();
    for u in callers {
        let d = server.gql(
            "mutation($n: String!) { createAgent(input: {name: $n, type: ORGANIZATION, organizationName: \"acme\"}) { agent { id } problems { message } } }",
            json!({ "n": format!("ag-{u}") }),
        );
        agent_of.insert(
            u,
            d["createAgent"]["agent"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        let d = server.gql(
            "mutation($p: ID!, $n: String!) { createApprovalRule(input: {projectId: $p, name: $n, users: [\"viewer\"]}) { approvalRule { id } problems { message } } }",
            json!({ "p": project, "n": format!("r-{u}") }),
        );
        rule_of.insert(
            u,
            d["createApprovalRule"]["approvalRule"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        for t in [format!("tm-{u}"), format!("tn-{u}")] {
            server.gql(
                "mutation($n: String!) { createTeam(input: {name: $n}) { problems { message } } }",
                json!({ "n": t }),
            );
        }
        let m = grant(
            json!({"projectId": project}),
            json!({"teamName": format!("tn-{u}")}),
            "VIEWER",
        );
        membership_of.insert(u, m["id"].as_str().unwrap().to_string());
    }
    let d = server.gql(
        "mutation($p: ID!) { createServiceAccount(input: {projectId: $p, name: \"psa\", oidcTrustPolicies: [{issuer: \"https://ci.example.test\", boundClaims: [{name: \"sub\", value: \"x\"}, {name: \"aud\", value: \"phobos\"}]}]}) { serviceAccount { id } problems { message } } }",
        json!({ "p": project }),
    );
    let psa = d["createServiceAccount"]["serviceAccount"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let node = "stage.s.task.t";
    // A lifecycle and a release of it.
    let lifecycle_hcl = "stage \"s\" {\n  deployment {\n    environment = \"dev\"\n  }\n}\n";
    let d = server.gql(
        "mutation($p: ID!, $h: String!) { createReleaseLifecycle(input: {projectId: $p, name: \"lc\", hcl: $h}) { releaseLifecycle { id } problems { message } } }",
        json!({ "p": project, "h": lifecycle_hcl }),
    );
    let lifecycle = d["createReleaseLifecycle"]["releaseLifecycle"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{d}"))
        .to_string();
    let d = server.gql(
        "mutation($p: ID!, $l: ID!, $t: ID!) { createRelease(input: {projectId: $p, lifecycleId: $l, semanticVersion: \"0.0.1\", deploymentTemplates: [{environmentName: \"dev\", pipelineTemplateId: $t}]}) { release { id } problems { message } } }",
        json!({ "p": project, "l": lifecycle, "t": template }),
    );
    let the_release = d["createRelease"]["release"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{d}"))
        .to_string();
    let d = server.gql(
        "mutation($p: ID!) { createEnvironment(input: {projectId: $p, name: \"guarded\"}) { environment { id } problems { message } } }",
        json!({ "p": project }),
    );
    let guarded = d["createEnvironment"]["environment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{d}"))
        .to_string();

    // The matrix: every root operation. Each: (root field, query, variables
    // for caller u, whether its answer is a payload with problems).
    let ops: Vec<Op> = vec![
        ("organization", "{ organization(name: \"acme\") { name } }", Box::new(|_| json!({})), true),
        ("pipeline", "query($id: ID!) { pipeline(id: $id) { id } }", Box::new(|_| json!({"id": pipeline})), true),
        ("pipelineEvents", "query($id: ID!) { pipelineEvents(pipelineId: $id, first: 1) { eventType } }", Box::new(|_| json!({"id": pipeline})), false),
        ("createProject", "mutation($n: String!) { createProject(input: {organizationName: \"acme\", name: $n}) { project { id } problems { code message } } }", Box::new(|u| json!({"n": format!("p-{u}")})), true),
        ("createPipelineTemplate", "mutation($p: ID!, $n: String!) { createPipelineTemplate(input: {projectId: $p, name: $n, hcl: \"stage \\\"s\\\" {\\n task \\\"t\\\" {\\n }\\n}\\n\"}) { pipelineTemplate { id } problems { code message } } }", Box::new(|u| json!({"p": project, "n": format!("t-{u}")})), true),
        ("createPipeline", "mutation($t: ID!) { createPipeline(input: {pipelineTemplateId: $t}) { pipeline { id } problems { code message } } }", Box::new(|_| json!({"t": template})), true),
        ("cancelPipeline", "mutation($id: ID!) { cancelPipeline(input: {id: $id}) { pipeline { id } problems { code message } } }", Box::new(|_| json!({"id": pipeline})), true),
        ("createEnvironment", "mutation($p: ID!, $n: String!) { createEnvironment(input: {projectId: $p, name: $n}) { environment { name } problems { code message } } }", Box::new(|u| json!({"p": project, "n": format!("e-{u}")})), true),
        ("updateEnvironmentProtectionRules", "mutation($id: ID!) { updateEnvironmentProtectionRules(input: {environmentId: $id, roles: []}) { environment { protectionRules { protected } } problems { code message } } }", Box::new(|_| json!({"id": guarded})), true),
        ("createAgent", "mutation($n: String!) { createAgent(input: {name: $n, type: ORGANIZATION, organizationName: \"acme\"}) { agent { name } problems { code message } } }", Box::new(|u| json!({"n": format!("a-{u}")})), true),
        ("me", "{ me { name } }", Box::new(|_| json!({})), false),
        ("resourceLimits", "{ resourceLimits { name value } }", Box::new(|_| json!({})), false),
        ("notifications", "{ notifications { id status } }", Box::new(|_| json!({})), false),
        ("authSettings", "{ authSettings { builtInLogin } }", Box::new(|_| json!({})), false),
        ("serverInfo", "{ serverInfo { version } }", Box::new(|_| json!({})), false),
        ("updateResourceLimit", "mutation { updateResourceLimit(input: {name: \"ResourceLimitProjectsPerOrganization\", value: 5}) { problems { code message } } }", Box::new(|_| json!({})), true),
        ("node", "query($id: ID!) { node(id: $id) { id } }", Box::new(|_| json!({"id": project})), true),
        ("organizations", "{ organizations { edges { node { name } } } }", Box::new(|_| json!({})), false),
        ("activity", "{ activity(first: 1) { edges { node { at } } } }", Box::new(|_| json!({})), false),
        ("pipelines", "{ pipelines(first: 1) { edges { node { id } } } }", Box::new(|_| json!({})), false),
        ("job", "query($id: ID!) { job(id: $id) { id } }", Box::new(|_| json!({"id": job})), true),
        ("validatePipelineTemplate", "query($p: ID!) { validatePipelineTemplate(projectId: $p, hcl: \"stage \\\"s\\\" {\\n task \\\"t\\\" {\\n }\\n}\\n\") { problems { code message } } }", Box::new(|_| json!({"p": project})), true),
        ("agents", "{ agents { edges { node { name } } } }", Box::new(|_| json!({})), false),
        ("users", "{ users { edges { node { username } } } }", Box::new(|_| json!({})), false),
        ("teams", "{ teams { edges { node { name } } } }", Box::new(|_| json!({})), false),
        ("team", "{ team(name: \"devs\") { name } }", Box::new(|_| json!({})), false),
        ("login", "mutation { login(input: {email: \"nobody@example.test\", password: \"x\"}) { problems { code } } }", Box::new(|_| json!({})), true),
        ("refreshSession", "mutation { refreshSession(input: {refreshToken: \"phr_x\"}) { problems { code } } }", Box::new(|_| json!({})), true),
        ("oidcLogin", "mutation { oidcLogin(input: {code: \"x\", codeVerifier: \"0123456789012345678901234567890123456789abc\", redirectUri: \"http://localhost/\"}) { problems { code } } }", Box::new(|_| json!({})), true),
        ("logout", "mutation { logout(input: {refreshToken: \"phr_x\"}) { problems { code } } }", Box::new(|_| json!({})), true),
        ("serviceAccountCreateToken", "mutation { serviceAccountCreateToken(input: {serviceAccountPath: \"acme/ci\", token: \"x\"}) { problems { code } } }", Box::new(|_| json!({})), true),
        ("createOrganization", "mutation($n: String!) { createOrganization(input: {name: $n}) { problems { code message } } }", Box::new(|u| json!({"n": format!("o-{u}")})), true),
        ("startPipelineNode", "mutation($p: ID!, $n: String!) { startPipelineNode(input: {pipelineId: $p, nodePath: $n}) { problems { code message } } }", Box::new(|_| json!({"p": pipeline, "n": node})), true),
        ("updatePipelineNodeSchedule", "mutation($p: ID!, $n: String!) { updatePipelineNodeSchedule(input: {pipelineId: $p, nodePath: $n, schedule: null}) { problems { code message } } }", Box::new(|_| json!({"p": pipeline, "n": node})), true),
        ("retryPipelineNode", "mutation($p: ID!, $n: String!) { retryPipelineNode(input: {pipelineId: $p, nodePath: $n}) { problems { code message } } }", Box::new(|_| json!({"p": pipeline, "n": node})), true),
        ("cancelPipelineNode", "mutation($p: ID!, $n: String!) { cancelPipelineNode(input: {pipelineId: $p, nodePath: $n}) { problems { code message } } }", Box::new(|_| json!({"p": pipeline, "n": node})), true),
        ("approvePipelineNode", "mutation($p: ID!, $n: String!) { approvePipelineNode(input: {pipelineId: $p, nodePath: $n}) { problems { code message } } }", Box::new(|_| json!({"p": pipeline, "n": node})), true),
        ("revokePipelineNodeApproval", "mutation($p: ID!, $n: String!) { revokePipelineNodeApproval(input: {pipelineId: $p, nodePath: $n}) { problems { code message } } }", Box::new(|_| json!({"p": pipeline, "n": node})), true),
        ("rejectPipelineNode", "mutation($p: ID!, $n: String!) { rejectPipelineNode(input: {pipelineId: $p, nodePath: $n, comment: \"no\"}) { problems { code message } } }", Box::new(|_| json!({"p": pipeline, "n": node})), true),
        ("overridePipelineNodeApproval", "mutation($p: ID!, $n: String!) { overridePipelineNodeApproval(input: {pipelineId: $p, nodePath: $n, comment: \"go\"}) { problems { code message } } }", Box::new(|_| json!({"p": pipeline, "n": node})), true),
        ("updateAgent", "mutation($id: ID!) { updateAgent(input: {id: $id, tags: [\"x\"]}) { problems { code message } } }", Box::new(|u| json!({"id": agent_of[u]})), true),
        ("createAgentToken", "mutation($id: ID!) { createAgentToken(input: {agentId: $id}) { problems { code message } } }", Box::new(|u| json!({"id": agent_of[u]})), true),
        ("assignServiceAccountToAgent", "mutation($id: ID!) { assignServiceAccountToAgent(input: {agentId: $id, serviceAccountPath: \"acme/ci\"}) { agent { serviceAccountPath } problems { code message } } }", Box::new(|u| json!({"id": agent_of[u]})), true),
        ("unassignServiceAccountFromAgent", "mutation($id: ID!) { unassignServiceAccountFromAgent(input: {agentId: $id}) { problems { code message } } }", Box::new(|u| json!({"id": agent_of[u]})), true),
        ("deleteAgent", "mutation($id: ID!) { deleteAgent(input: {id: $id}) { problems { code message } } }", Box::new(|u| json!({"id": agent_of[u]})), true),
        ("createTeam", "mutation($n: String!) { createTeam(input: {name: $n}) { problems { code message } } }", Box::new(|u| json!({"n": format!("new-{u}")})), true),
        ("addTeamMember", "mutation { addTeamMember(input: {teamName: \"devs\", username: \"extra\"}) { problems { code message } } }", Box::new(|_| json!({})), true),
        ("removeTeamMember", "mutation { removeTeamMember(input: {teamName: \"devs\", username: \"dev\"}) { problems { code message } } }", Box::new(|_| json!({})), true),
        ("createMembership", "mutation($p: ID!, $t: String!) { createMembership(input: {projectId: $p, teamName: $t, role: VIEWER}) { problems { code message } } }", Box::new(|u| json!({"p": project, "t": format!("tm-{u}")})), true),
        ("updateMembership", "mutation($id: ID!) { updateMembership(input: {id: $id, role: DEVELOPER}) { problems { code message } } }", Box::new(|u| json!({"id": membership_of[u]})), true),
        ("deleteMembership", "mutation($id: ID!) { deleteMembership(input: {id: $id}) { problems { code message } } }", Box::new(|u| json!({"id": membership_of[u]})), true),
        ("createServiceAccount", "mutation($p: ID!, $n: String!) { createServiceAccount(input: {projectId: $p, name: $n, oidcTrustPolicies: [{issuer: \"https://ci.example.test\", boundClaims: [{name: \"sub\", value: \"x\"}, {name: \"aud\", value: \"phobos\"}]}]}) { problems { code message } } }", Box::new(|u| json!({"p": project, "n": format!("sa-{u}")})), true),
        ("updateServiceAccount", "mutation($id: ID!, $d: String!) { updateServiceAccount(input: {id: $id, description: $d}) { problems { code message } } }", Box::new(|u| json!({"id": psa, "d": u})), true),
        ("release", "query($id: ID!) { release(id: $id) { id } }", Box::new(|_| json!({"id": the_release})), true),
        ("releaseDiff", "query($id: ID!) { releaseDiff(from: $id, to: $id) { variables { key } } }", Box::new(|_| json!({"id": the_release})), true),
        ("createReleaseLifecycle", "mutation($p: ID!, $n: String!, $h: String!) { createReleaseLifecycle(input: {projectId: $p, name: $n, hcl: $h}) { problems { code message } } }", Box::new(|u| json!({"p": project, "n": format!("lc-{u}"), "h": lifecycle_hcl})), true),
        ("updateReleaseLifecycle", "mutation($id: ID!, $h: String!) { updateReleaseLifecycle(input: {id: $id, hcl: $h}) { problems { code message } } }", Box::new(|_| json!({"id": lifecycle, "h": lifecycle_hcl})), true),
        ("createRelease", "mutation($p: ID!, $l: ID!, $t: ID!, $v: String!) { createRelease(input: {projectId: $p, lifecycleId: $l, semanticVersion: $v, deploymentTemplates: [{environmentName: \"dev\", pipelineTemplateId: $t}]}) { problems { code message } } }", Box::new(|u| json!({"p": project, "l": lifecycle, "t": template, "v": format!("1.0.0-{u}")})), true),
        ("updateRelease", "mutation($id: ID!, $n: String!) { updateRelease(input: {id: $id, notes: $n}) { problems { code message } } }", Box::new(|u| json!({"id": the_release, "n": u})), true),
        ("createApprovalRule", "mutation($p: ID!, $n: String!) { createApprovalRule(input: {projectId: $p, name: $n, users: [\"viewer\"]}) { problems { code message } } }", Box::new(|u| json!({"p": project, "n": format!("ar-{u}")})), true),
        ("updateApprovalRule", "mutation($id: ID!) { updateApprovalRule(input: {id: $id, description: \"changed\"}) { problems { code message } } }", Box::new(|u| json!({"id": rule_of[u]})), true),
        ("deleteApprovalRule", "mutation($id: ID!) { deleteApprovalRule(input: {id: $id}) { problems { code message } } }", Box::new(|u| json!({"id": rule_of[u]})), true),
    ];
    // Every root field of the table but the subscription (over a websocket,
    // checked by the subscription tests) is in the matrix.
    let tested: Vec<&str> = ops.iter().map(|(f, ..)| *f).collect();
    for r in rules() {
        let f = r["field"].as_str().unwrap();
        if r["root"] != "Subscription" {
            assert!(tested.contains(&f), "the matrix does not run {f}");
        }
    }
    let table = rules();
    let rule = |field: &str| -> (String, String) {
        let r = table
            .iter()
            .find(|r| r["field"] == field && r["root"] != "Subscription")
            .unwrap_or_else(|| panic!("{field} has no rule"));
        (
            r["rule"].as_str().unwrap().to_string(),
            r["leastRole"].as_str().unwrap_or("").to_string(),
        )
    };
    // A service account, a Developer of the project, signed in with a token
    // of the same issuer playing a CI system.
    let d = server.gql(
        "mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { problems { message } } }",
        json!({ "i": { "organizationName": "acme", "name": "ci", "oidcTrustPolicies": [{ "issuer": issuer.url, "boundClaims": [{ "name": "sub", "value": "ci-job" }, { "name": "aud", "value": "phobos-ci" }] }] } }),
    );
    assert_eq!(d["createServiceAccount"]["problems"], json!([]), "{d}");
    grant(
        json!({"projectId": project}),
        json!({"serviceAccount": "acme/ci"}),
        "DEVELOPER",
    );
    let d = server.gql(
        "mutation($t: String!) { serviceAccountCreateToken(input: {serviceAccountPath: \"acme/ci\", token: $t}) { token problems { message } } }",
        json!({ "t": issuer.token("phobos-ci", json!({ "sub": "ci-job" })) }),
    );
    let sa_token = d["serviceAccountCreateToken"]["token"]
        .as_str()
        .expect("a token")
        .to_string();
    let roles = [
        ("owner", "owner", tokens[0].clone()),
        ("manager", "release_manager", tokens[1].clone()),
        ("dev", "developer", tokens[2].clone()),
        ("viewer", "viewer", tokens[3].clone()),
        ("stranger", "", tokens[4].clone()),
        ("ci", "developer", sa_token),
    ];
    let mut failures = vec![];
    for (field, query, vars, payload) in &ops {
        let (kind, needs) = rule(field);
        for (user, role, token) in &roles {
            let v = server.raw_as(Some(token), query, vars(user));
            if kind == "public" {
                // Anyone may call it; its own credential decides.
                let code = &v["data"][*field]["problems"][0]["code"];
                if v.get("errors").is_some() || code == "FORBIDDEN" || code == "NOT_FOUND" {
                    failures.push(format!("{field} as {user}: {v}"));
                }
                continue;
            }
            let got = outcome(&v, payload.then_some(*field));
            // The organization is seen by project members too.
            let sees = !role.is_empty();
            let expected = match kind.as_str() {
                "signed_in" | "listed" => Outcome::Allowed,
                "admin" | "team_maintainer" => Outcome::Forbidden,
                _ if !sees => Outcome::NotFound,
                _ if rank(role) >= rank(&needs) => Outcome::Allowed,
                _ => Outcome::Forbidden,
            };
            if got != expected {
                failures.push(format!(
                    "{field} as {user}: expected {expected:?}, got {got:?}: {v}"
                ));
            }
        }
        // Anonymous callers are refused before anything is looked up.
        if kind == "public" {
            continue;
        }
        let v = server.raw_as(None, query, vars("owner"));
        if outcome(&v, None) != Outcome::Unauthenticated {
            failures.push(format!("{field} anonymously: {v}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // A Release Manager may not change who signs in as a service account
    // that holds a higher role (it would sign in as an Owner).
    grant(
        json!({"projectId": project}),
        json!({"serviceAccount": "acme/web/psa"}),
        "OWNER",
    );
    let v = server.raw_as(
        Some(&tokens[1]),
        "mutation($id: ID!) { updateServiceAccount(input: {id: $id, oidcTrustPolicies: [{issuer: \"https://evil.example.test\", boundClaims: [{name: \"sub\", value: \"me\"}, {name: \"aud\", value: \"x\"}]}]}) { problems { code field } } }",
        json!({ "id": psa }),
    );
    assert_eq!(
        v["data"]["updateServiceAccount"]["problems"],
        json!([{"code": "FORBIDDEN", "field": "oidcTrustPolicies"}]),
        "{v}"
    );
    let v = server.raw_as(
        Some(&tokens[0]),
        "mutation($id: ID!) { updateServiceAccount(input: {id: $id, oidcTrustPolicies: [{issuer: \"https://ci.example.test\", boundClaims: [{name: \"sub\", value: \"y\"}, {name: \"aud\", value: \"phobos\"}]}]}) { problems { code field } } }",
        json!({ "id": psa }),
    );
    assert_eq!(
        v["data"]["updateServiceAccount"]["problems"],
        json!([]),
        "an Owner may: {v}"
    );

    // The PRNs the objects print lead back to them.
    for (prn, typename) in [
        ("prn:user:viewer", "User"),
        ("prn:team:devs", "Team"),
        ("prn:service_account:acme/ci", "ServiceAccount"),
    ] {
        let d = server.gql(
            "query($id: ID!) { node(id: $id) { __typename prn } }",
            json!({ "id": prn }),
        );
        assert_eq!(
            d["node"],
            json!({"__typename": typename, "prn": prn}),
            "{prn}: {d}"
        );
    }
    let d = server.gql(
        "query($id: ID!) { node(id: $id) { ... on Project { memberships { prn } } } }",
        json!({ "id": project }),
    );
    let membership_prn = d["node"]["memberships"][0]["prn"]
        .as_str()
        .unwrap()
        .to_string();
    let d = server.gql(
        "query($id: ID!) { node(id: $id) { prn } }",
        json!({ "id": membership_prn }),
    );
    assert_eq!(d["node"]["prn"], json!(membership_prn), "{d}");

    // Lists show only what the caller sees.
    let orgs = |t: &str| {
        let v = server.raw_as(
            Some(t),
            "{ organizations { edges { node { name projects { edges { node { name } } } } } } }",
            json!({}),
        );
        v["data"]["organizations"]["edges"].clone()
    };
    assert_eq!(orgs(&tokens[4]), json!([]));
    let seen = orgs(&tokens[3]);
    assert_eq!(seen.as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(seen[0]["node"]["name"], "acme");
    // The viewer holds a project membership only: it sees that project.
    assert_eq!(
        seen[0]["node"]["projects"]["edges"],
        json!([{"node": {"name": "web"}}]),
        "{seen}"
    );
    // The org owner sees every project of acme, including the one it made.
    let owner_seen = orgs(&tokens[0]);
    assert!(
        owner_seen[0]["node"]["projects"]["edges"]
            .as_array()
            .unwrap()
            .len()
            >= 2,
        "{owner_seen}"
    );

    // Team membership changes take effect: without the team, dev is no
    // longer a member.
    let d = server.raw_as(Some(&tokens[4]), "mutation { addTeamMember(input: {teamName: \"devs\", username: \"stranger\"}) { problems { code } } }", json!({}));
    assert_eq!(
        d["data"]["addTeamMember"]["problems"][0]["code"], "FORBIDDEN",
        "{d}"
    );
    server.gql("mutation { removeTeamMember(input: {teamName: \"devs\", username: \"dev\"}) { problems { message } } }", json!({}));
    let v = server.raw_as(
        Some(&tokens[2]),
        "query($id: ID!) { pipeline(id: $id) { id } }",
        json!({"id": pipeline}),
    );
    assert_eq!(v["data"]["pipeline"], Value::Null, "{v}");

    // The owner manages memberships of its organization's projects.
    let v = server.raw_as(
        Some(&tokens[0]),
        "mutation($p: ID!) { createMembership(input: {projectId: $p, username: \"extra\", role: VIEWER}) { membership { id role } problems { code message } } }",
        json!({ "p": project }),
    );
    assert_eq!(
        v["data"]["createMembership"]["membership"]["role"], "VIEWER",
        "{v}"
    );
    let mid = v["data"]["createMembership"]["membership"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = server.raw_as(
        Some(&tokens[5]),
        "query($id: ID!) { pipeline(id: $id) { id } }",
        json!({"id": pipeline}),
    );
    assert_eq!(v["data"]["pipeline"]["id"], json!(pipeline), "{v}");
    let v = server.raw_as(
        Some(&tokens[3]),
        "mutation($id: ID!) { updateMembership(input: {id: $id, role: OWNER}) { problems { code } } }",
        json!({ "id": mid }),
    );
    assert_eq!(
        v["data"]["updateMembership"]["problems"][0]["code"], "FORBIDDEN",
        "{v}"
    );
    let v = server.raw_as(
        Some(&tokens[0]),
        "mutation($id: ID!) { deleteMembership(input: {id: $id}) { membership { memberName } problems { code } } }",
        json!({ "id": mid }),
    );
    assert_eq!(
        v["data"]["deleteMembership"]["membership"]["memberName"], "extra",
        "{v}"
    );
    let v = server.raw_as(
        Some(&tokens[5]),
        "query($id: ID!) { pipeline(id: $id) { id } }",
        json!({"id": pipeline}),
    );
    assert_eq!(v["data"]["pipeline"], Value::Null, "{v}");

    // Key rollover at the issuer: a token signed with the new key is
    // accepted (the keys are fetched again), and one signed with the old
    // key, gone from the JWKS, is not.
    let fetches = *issuer.fetches.lock().unwrap();
    issuer.roll_keys();
    // An unknown key makes the server fetch keys again at most every 2 s.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let new_token = token("viewer");
    let v = server.raw_as(Some(&new_token), "{ me { name } }", json!({}));
    assert_eq!(v["data"]["me"]["name"], "viewer", "{v}");
    assert!(*issuer.fetches.lock().unwrap() > fetches);
    let v = server.raw_as(Some(&tokens[3]), "{ me { name } }", json!({}));
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{v}"
    );
}
