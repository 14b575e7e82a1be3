//! `viewerCanStart`, `viewerCanCancel`, `viewerCanRetry` and
//! `viewerCanApprove` on nodes, and `viewerCanCancel` on pipelines, against
//! the real server with users of a real OIDC issuer: each is true exactly
//! when its mutation would be accepted from that caller in that state, and
//! the mutation then is (or is refused, when false).

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::oidc::Issuer;

const CLIENT_ID: &str = "phobos-test";
const STATE: &str = "query($id: ID!) { pipeline(id: $id) { status viewerCanCancel stages { nodes { path status viewerCanStart viewerCanCancel viewerCanRetry viewerCanApprove viewerCanReject viewerCanRevoke } } } }";

struct World {
    server: support::Server,
    issuer: Issuer,
    project: String,
}

impl World {
    fn token(&self, user: &str) -> String {
        self.issuer.token(
            CLIENT_ID,
            json!({ "sub": format!("sub-{user}"), "preferred_username": user }),
        )
    }

    /// `query` as `user` (None: the administrator).
    fn as_user(&self, user: Option<&str>, q: &str, v: Value) -> Value {
        let r = match user {
            Some(u) => self.server.raw_as(Some(&self.token(u)), q, v),
            None => self.server.raw(q, v),
        };
        assert!(r.get("errors").is_none(), "{user:?}: {r}");
        r["data"].clone()
    }

    /// The pipeline as `user` sees it: (its status, its viewerCanCancel,
    /// the first node).
    fn state(&self, user: Option<&str>, pipeline: &str) -> (String, bool, Value) {
        let d = self.as_user(user, STATE, json!({ "id": pipeline }));
        let p = &d["pipeline"];
        (
            p["status"].as_str().unwrap().to_string(),
            p["viewerCanCancel"].as_bool().unwrap(),
            p["stages"][0]["nodes"][0].clone(),
        )
    }

    /// (start, cancel, retry, approve) of the first node, as `user`.
    fn can(&self, user: Option<&str>, pipeline: &str) -> (bool, bool, bool, bool) {
        let (_, _, n) = self.state(user, pipeline);
        let b = |k: &str| n[k].as_bool().unwrap();
        (
            b("viewerCanStart"),
            b("viewerCanCancel"),
            b("viewerCanRetry"),
            b("viewerCanApprove"),
        )
    }

    /// (reject, revoke) of the first node, as `user`.
    fn can_decide(&self, user: Option<&str>, pipeline: &str) -> (bool, bool) {
        let (_, _, n) = self.state(user, pipeline);
        (
            n["viewerCanReject"].as_bool().unwrap(),
            n["viewerCanRevoke"].as_bool().unwrap(),
        )
    }

    fn pipeline(&self, user: Option<&str>, hcl: &str) -> String {
        let d = self.server.gql(
            "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id } problems { message } } }",
            json!({ "i": { "projectId": self.project, "hcl": hcl } }),
        );
        let tid = d["createPipelineTemplate"]["pipelineTemplate"]["id"].clone();
        let d = self.as_user(
            user,
            "mutation($t: ID!) { createPipeline(input: {pipelineTemplateId: $t}) { pipeline { id } problems { message } } }",
            json!({ "t": tid }),
        );
        d["createPipeline"]["pipeline"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{d}"))
            .to_string()
    }

    fn wait_node(&self, pipeline: &str, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, _, n) = self.state(None, pipeline);
            if n["status"] == status {
                return;
            }
            assert!(Instant::now() < deadline, "node not {status}: {n}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A node mutation as `user`: the codes of its problems.
    fn node_mutation(&self, user: Option<&str>, mutation: &str, pipeline: &str) -> Vec<String> {
        let q = format!(
            "mutation($p: ID!, $n: String!) {{ {mutation}(input: {{pipelineId: $p, nodePath: $n}}) {{ problems {{ code }} }} }}"
        );
        let path = self.state(None, pipeline).2["path"]
            .as_str()
            .unwrap()
            .to_string();
        let d = self.as_user(user, &q, json!({ "p": pipeline, "n": path }));
        d[mutation]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap().to_string())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_viewer_can_is_true_exactly_when_its_mutation_is_accepted() {
    let issuer = Issuer::start();
    let env = issuer.provider_env(CLIENT_ID);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = support::start_with("viewer_can", 1, &env).await;
    server.login();
    let project = server.project("acme", "buttons");
    let w = World {
        server,
        issuer,
        project,
    };
    for (user, role) in [
        ("alice", "DEVELOPER"),
        ("bob", "DEVELOPER"),
        ("vic", "VIEWER"),
    ] {
        w.as_user(Some(user), "{ me { name } }", json!({}));
        let d = w.server.gql(
            "mutation($i: CreateMembershipInput!) { createMembership(input: $i) { problems { message } } }",
            json!({ "i": { "projectId": w.project, "username": user, "role": role } }),
        );
        assert_eq!(d["createMembership"]["problems"], json!([]), "{d}");
    }

    // A manual task that fails once started.
    let manual = "stage \"s\" {\n  task \"m\" {\n    when = \"manual\"\n    action \"exec_command\" { command = \"exit 1\" }\n  }\n}\n";
    let p = w.pipeline(None, manual);
    w.wait_node(&p, "WAITING");
    assert_eq!(w.can(None, &p), (true, true, false, false));
    assert_eq!(w.can(Some("alice"), &p), (true, true, false, false));
    // A Viewer may do none of it, and the mutation agrees.
    assert_eq!(w.can(Some("vic"), &p), (false, false, false, false));
    assert!(!w.state(Some("vic"), &p).1);
    assert!(w.state(None, &p).1);
    assert_eq!(
        w.node_mutation(Some("vic"), "startPipelineNode", &p),
        ["FORBIDDEN"]
    );
    // A node that cannot be retried: the mutation is refused too.
    assert!(!w.node_mutation(None, "retryPipelineNode", &p).is_empty());
    assert_eq!(
        w.node_mutation(Some("alice"), "startPipelineNode", &p),
        Vec::<String>::new()
    );
    w.wait_node(&p, "FAILED");
    let (status, cancel, _) = w.state(None, &p);
    assert_eq!((status.as_str(), cancel), ("FAILED", false));
    assert_eq!(w.can(None, &p), (false, false, true, false));
    assert_eq!(w.can(Some("vic"), &p), (false, false, false, false));
    assert!(!w.node_mutation(None, "startPipelineNode", &p).is_empty());
    assert_eq!(
        w.node_mutation(Some("bob"), "retryPipelineNode", &p),
        Vec::<String>::new()
    );
    w.wait_node(&p, "FAILED");

    // An approval: alice and bob are the rule's approvers, one needed,
    // no self-approval; alice creates the pipeline.
    let d = w.server.gql(
        "mutation($i: CreateApprovalRuleInput!) { createApprovalRule(input: $i) { problems { message } } }",
        json!({ "i": { "projectId": w.project, "name": "one", "users": ["alice", "bob"], "approvalsRequired": 1, "allowSelfApproval": false } }),
    );
    assert_eq!(d["createApprovalRule"]["problems"], json!([]), "{d}");
    let gated = "stage \"s\" {\n  task \"t\" {\n    approval_rules = [\"prn:approval_rule:acme/buttons/one\"]\n  }\n}\n";
    let a = w.pipeline(Some("alice"), gated);
    w.wait_node(&a, "APPROVAL_PENDING");
    // Its rules are fixed a moment after it becomes pending.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !w.can(Some("bob"), &a).3 {
        assert!(
            Instant::now() < deadline,
            "bob may never approve: {:?}",
            w.state(Some("bob"), &a)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !w.can(Some("alice"), &a).3,
        "the creator, without self-approval"
    );
    assert!(
        !w.can(None, &a).3,
        "the administrator is not named in the rule"
    );
    assert!(!w.can(Some("vic"), &a).3);
    assert_eq!(
        w.node_mutation(Some("alice"), "approvePipelineNode", &a),
        ["FORBIDDEN"]
    );
    assert_eq!(
        w.node_mutation(Some("bob"), "approvePipelineNode", &a),
        Vec::<String>::new()
    );
    w.wait_node(&a, "SUCCEEDED");
    assert_eq!(w.can(Some("bob"), &a), (false, false, false, false));
    assert_eq!(w.can_decide(Some("bob"), &a), (false, false));

    // Reject and revoke: a rule that needs two approvals, so bob's one
    // leaves the node pending.
    let d = w.server.gql(
        "mutation($i: CreateApprovalRuleInput!) { createApprovalRule(input: $i) { problems { message } } }",
        json!({ "i": { "projectId": w.project, "name": "two", "users": ["alice", "bob"], "approvalsRequired": 2, "allowSelfApproval": false } }),
    );
    assert_eq!(d["createApprovalRule"]["problems"], json!([]), "{d}");
    let a = w.pipeline(
        Some("alice"),
        &gated.replace("acme/buttons/one", "acme/buttons/two"),
    );
    w.wait_node(&a, "APPROVAL_PENDING");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !w.can(Some("bob"), &a).3 {
        assert!(Instant::now() < deadline, "{:?}", w.state(Some("bob"), &a));
        std::thread::sleep(Duration::from_millis(50));
    }
    // Whoever is named in a rule may reject (a rejection is advisory, the
    // creator too); nobody has approved, so nobody may revoke.
    assert_eq!(w.can_decide(Some("bob"), &a), (true, false));
    assert_eq!(w.can_decide(Some("alice"), &a), (true, false));
    assert_eq!(w.can_decide(None, &a), (false, false));
    assert_eq!(w.can_decide(Some("vic"), &a), (false, false));
    assert_eq!(
        w.node_mutation(Some("bob"), "approvePipelineNode", &a),
        Vec::<String>::new()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !w.can_decide(Some("bob"), &a).1 {
        assert!(Instant::now() < deadline, "{:?}", w.state(Some("bob"), &a));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(w.can_decide(Some("alice"), &a), (true, false));
    assert_eq!(
        w.node_mutation(Some("bob"), "revokePipelineNodeApproval", &a),
        Vec::<String>::new()
    );
    assert!(!w.can_decide(Some("bob"), &a).1);
    // And the mutations answer as the fields said.
    assert!(!w
        .node_mutation(Some("vic"), "revokePipelineNodeApproval", &a)
        .is_empty());
}
