//! Service accounts against the real server, with a real OIDC issuer over
//! HTTP playing a CI system: trust policies, the token exchange (and what
//! it refuses), memberships, and a service account that runs pipelines and
//! approves nodes.

mod support;

use serde_json::{json, Value};
use support::oidc::Issuer;

const EXCHANGE: &str = "mutation($p: String!, $t: String!) { serviceAccountCreateToken(input: {serviceAccountPath: $p, token: $t}) { token expiresAt problems { code field message } } }";

#[tokio::test]
async fn a_ci_job_signs_in_as_a_service_account_and_acts_by_its_memberships() {
    let ci = Issuer::start();
    let mut server = support::start("service_accounts", 0).await;
    server.login();
    let project = server.project("acme", "web");
    server.project("other", "x");

    let create = |input: Value| {
        server.gql(
            "mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { serviceAccount { id path prn oidcTrustPolicies { issuer boundClaims { name value } } } problems { code field message } } }",
            json!({ "i": input }),
        )["createServiceAccount"]
            .clone()
    };
    // A trust policy that binds nothing is refused.
    let d = create(
        json!({"organizationName": "acme", "name": "loose", "oidcTrustPolicies": [{"issuer": ci.url, "boundClaims": []}]}),
    );
    assert_eq!(d["problems"][0]["field"], "oidcTrustPolicies", "{d}");
    // So is one that does not bind the audience, and a plain-http issuer
    // that is not the loopback.
    let d = create(
        json!({"organizationName": "acme", "name": "noaud", "oidcTrustPolicies": [{"issuer": ci.url, "boundClaims": [{"name": "sub", "value": "x"}]}]}),
    );
    assert_eq!(d["problems"][0]["field"], "oidcTrustPolicies", "{d}");
    let d = create(
        json!({"organizationName": "acme", "name": "plain", "oidcTrustPolicies": [{"issuer": "http://ci.example.test", "boundClaims": [{"name": "sub", "value": "x"}, {"name": "aud", "value": "phobos"}]}]}),
    );
    assert_eq!(d["problems"][0]["field"], "oidcTrustPolicies", "{d}");
    let d = create(json!({
        "organizationName": "acme", "name": "ci",
        "oidcTrustPolicies": [{"issuer": ci.url, "boundClaims": [{"name": "sub", "value": "project_path:acme/web:ref:main"}, {"name": "aud", "value": "phobos"}]}],
    }));
    assert_eq!(d["problems"], json!([]), "{d}");
    assert_eq!(d["serviceAccount"]["path"], "acme/ci");
    assert_eq!(d["serviceAccount"]["prn"], "prn:service_account:acme/ci");

    let good = ci.token("phobos", json!({ "sub": "project_path:acme/web:ref:main" }));
    let exchange = |path: &str, token: &str| {
        server.gql(EXCHANGE, json!({ "p": path, "t": token }))["serviceAccountCreateToken"].clone()
    };
    // Refused: a claim that does not match, another audience, another
    // account, an expired token, a token of an issuer it does not trust.
    let other_issuer = Issuer::start();
    for (path, t) in [
        (
            "acme/ci",
            ci.token(
                "phobos",
                json!({ "sub": "project_path:acme/web:ref:feature" }),
            ),
        ),
        (
            "acme/ci",
            ci.token(
                "someone-else",
                json!({ "sub": "project_path:acme/web:ref:main" }),
            ),
        ),
        ("acme/nobody", good.clone()),
        (
            "acme/ci",
            ci.token(
                "phobos",
                json!({ "sub": "project_path:acme/web:ref:main", "exp": 1000 }),
            ),
        ),
        (
            "acme/ci",
            other_issuer.token("phobos", json!({ "sub": "project_path:acme/web:ref:main" })),
        ),
    ] {
        let d = exchange(path, &t);
        assert_eq!(d["token"], Value::Null, "{path}: {d}");
        assert_eq!(d["problems"][0]["code"], "UNAUTHENTICATED", "{d}");
    }
    let d = exchange("prn:service_account:acme/ci", &good);
    assert_eq!(d["problems"], json!([]), "{d}");
    let sa = d["token"].as_str().unwrap().to_string();
    let as_sa = |q: &str, v: Value| server.raw_as(Some(&sa), q, v);

    let v = as_sa("{ me { __typename name } }", json!({}));
    assert_eq!(
        v["data"]["me"],
        json!({"__typename": "ServiceAccount", "name": "acme/ci"}),
        "{v}"
    );
    // No membership yet: the project is hidden.
    let v = as_sa(
        "query($id: ID!) { node(id: $id) { id } }",
        json!({ "id": project }),
    );
    assert_eq!(v["data"]["node"], Value::Null, "{v}");

    // As a Developer of the project, it runs pipelines but may not upload
    // templates.
    let d = server.gql(
        "mutation($p: ID!) { createMembership(input: {projectId: $p, serviceAccount: \"acme/ci\", role: DEVELOPER}) { membership { memberKind memberName role } problems { message } } }",
        json!({ "p": project }),
    );
    assert_eq!(
        d["createMembership"]["membership"],
        json!({"memberKind": "SERVICE_ACCOUNT", "memberName": "acme/ci", "role": "DEVELOPER"}),
        "{d}"
    );
    // It cannot be a member of another organization.
    let d = server.gql(
        "mutation { createMembership(input: {organizationName: \"other\", serviceAccount: \"acme/ci\", role: VIEWER}) { problems { code field } } }",
        json!({}),
    );
    assert_eq!(
        d["createMembership"]["problems"][0]["code"], "NOT_FOUND",
        "{d}"
    );

    let hcl = "stage \"s\" {\n  task \"t\" {\n    approval_rules = [\"prn:approval_rule:acme/by-ci\"]\n  }\n}\n";
    let v = as_sa(
        "mutation($p: ID!, $h: String!) { createPipelineTemplate(input: {projectId: $p, hcl: $h}) { problems { code } } }",
        json!({ "p": project, "h": hcl }),
    );
    assert_eq!(
        v["data"]["createPipelineTemplate"]["problems"][0]["code"], "FORBIDDEN",
        "{v}"
    );

    // It may approve where a rule names it.
    let d = server.gql(
        "mutation { createApprovalRule(input: {organizationName: \"acme\", name: \"by-ci\", serviceAccounts: [\"acme/ci\"]}) { approvalRule { principals { kind name } } problems { message } } }",
        json!({}),
    );
    assert_eq!(
        d["createApprovalRule"]["approvalRule"]["principals"],
        json!([{"kind": "SERVICE_ACCOUNT", "name": "acme/ci"}]),
        "{d}"
    );
    let d = server.gql(
        "mutation($p: ID!, $h: String!) { createPipelineTemplate(input: {projectId: $p, hcl: $h}) { pipelineTemplate { id } problems { message } } }",
        json!({ "p": project, "h": hcl }),
    );
    let tid = d["createPipelineTemplate"]["pipelineTemplate"]["id"].clone();
    let v = as_sa(
        "mutation($t: ID!) { createPipeline(input: {pipelineTemplateId: $t}) { pipeline { id createdBy } problems { message } } }",
        json!({ "t": tid }),
    );
    let pipeline = v["data"]["createPipeline"]["pipeline"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        v["data"]["createPipeline"]["pipeline"]["createdBy"], "service_account:acme/ci",
        "{v}"
    );
    // It created the pipeline and the rule does not allow self-approval.
    let approve = "mutation($p: ID!) { approvePipelineNode(input: {pipelineId: $p, nodePath: \"stage.s.task.t\"}) { problems { code } } }";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let first = loop {
        let v = as_sa(approve, json!({ "p": pipeline }));
        let code = v["data"]["approvePipelineNode"]["problems"][0]["code"].clone();
        if code != "CONFLICT" || std::time::Instant::now() > deadline {
            break code;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(first, "FORBIDDEN");
    // A pipeline the admin created, it approves.
    let d = server.gql(
        "mutation($t: ID!) { createPipeline(input: {pipelineTemplateId: $t}) { pipeline { id } } }",
        json!({ "t": tid }),
    );
    let p2 = d["createPipeline"]["pipeline"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let v = as_sa(approve, json!({ "p": p2 }));
        let problems = v["data"]["approvePipelineNode"]["problems"].clone();
        if problems == json!([]) {
            break;
        }
        assert_eq!(problems[0]["code"], "CONFLICT", "{v}");
        assert!(std::time::Instant::now() < deadline, "{v}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let v = server.wait_finished(&p2, std::time::Duration::from_secs(20));
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
}
