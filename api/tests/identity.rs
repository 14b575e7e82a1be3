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

    // The matrix. Each operation: (root field, query, variables for user
    // u, whether its answer is a payload with problems).
    let ops: Vec<Op> = vec![
        ("organization", "{ organization(name: \"acme\") { name } }", Box::new(|_| json!({})), true),
        ("pipeline", "query($id: ID!) { pipeline(id: $id) { id } }", Box::new(|_| json!({"id": pipeline})), true),
        ("pipelineEvents", "query($id: ID!) { pipelineEvents(pipelineId: $id, first: 1) { eventType } }", Box::new(|_| json!({"id": pipeline})), false),
        ("createProject", "mutation($n: String!) { createProject(input: {organizationName: \"acme\", name: $n}) { project { id } problems { code message } } }", Box::new(|u| json!({"n": format!("p-{u}")})), true),
        ("createPipelineTemplate", "mutation($p: ID!, $n: String!) { createPipelineTemplate(input: {projectId: $p, name: $n, hcl: \"stage \\\"s\\\" {\\n task \\\"t\\\" {\\n }\\n}\\n\"}) { pipelineTemplate { id } problems { code message } } }", Box::new(|u| json!({"p": project, "n": format!("t-{u}")})), true),
        ("createPipeline", "mutation($t: ID!) { createPipeline(input: {pipelineTemplateId: $t}) { pipeline { id } problems { code message } } }", Box::new(|_| json!({"t": template})), true),
        ("cancelPipeline", "mutation($id: ID!) { cancelPipeline(input: {id: $id}) { pipeline { id } problems { code message } } }", Box::new(|_| json!({"id": pipeline})), true),
        ("createEnvironment", "mutation($p: ID!, $n: String!) { createEnvironment(input: {projectId: $p, name: $n}) { environment { name } problems { code message } } }", Box::new(|u| json!({"p": project, "n": format!("e-{u}")})), true),
        ("createAgent", "mutation($n: String!) { createAgent(input: {name: $n, type: ORGANIZATION, organizationName: \"acme\"}) { agent { name } problems { code message } } }", Box::new(|u| json!({"n": format!("a-{u}")})), true),
    ];
    let table = rules();
    let least = |field: &str| -> Option<String> {
        table
            .iter()
            .find(|r| r["field"] == field && r["root"] != "Subscription")
            .and_then(|r| r["leastRole"].as_str().map(str::to_string))
    };
    // A service account, a Developer of the project, signed in with a token
    // of the same issuer playing a CI system.
    let d = server.gql(
        "mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { problems { message } } }",
        json!({ "i": { "organizationName": "acme", "name": "ci", "oidcTrustPolicies": [{ "issuer": issuer.url, "boundClaims": [{ "name": "sub", "value": "ci-job" }] }] } }),
    );
    assert_eq!(d["createServiceAccount"]["problems"], json!([]), "{d}");
    grant(
        json!({"projectId": project}),
        json!({"serviceAccount": "acme/ci"}),
        "DEVELOPER",
    );
    let d = server.gql(
        "mutation($t: String!) { serviceAccountCreateToken(input: {serviceAccountPath: \"acme/ci\", token: $t}) { token problems { message } } }",
        json!({ "t": issuer.token("any", json!({ "sub": "ci-job" })) }),
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
        let needs = least(field).unwrap_or_else(|| panic!("{field} has no permission rule"));
        for (user, role, token) in &roles {
            let v = server.raw_as(Some(token), query, vars(user));
            let got = outcome(&v, payload.then_some(*field));
            // The organization is seen by project members too.
            let sees = !role.is_empty();
            let expected = if !sees {
                Outcome::NotFound
            } else if rank(role) >= rank(&needs) {
                Outcome::Allowed
            } else {
                Outcome::Forbidden
            };
            if got != expected {
                failures.push(format!(
                    "{field} as {user}: expected {expected:?}, got {got:?}: {v}"
                ));
            }
        }
        // Anonymous callers are refused before anything is looked up.
        let v = server.raw_as(None, query, vars("anon"));
        if outcome(&v, None) != Outcome::Unauthenticated {
            failures.push(format!("{field} anonymously: {v}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

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
