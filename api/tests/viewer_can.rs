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
    /// A server trusting a real OIDC issuer, with project acme/`project`
    /// and each user (signed in once, so it exists) given its role there.
    async fn start(name: &str, project: &str, users: &[(&str, &str)]) -> World {
        let issuer = Issuer::start();
        let env = issuer.provider_env(CLIENT_ID);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut server = support::start_with(name, 1, &env).await;
        server.login();
        let project = server.project("acme", project);
        let w = World {
            server,
            issuer,
            project,
        };
        for (user, role) in users {
            w.as_user(Some(user), "{ me { name } }", json!({}));
            let d = w.server.gql(
                "mutation($i: CreateMembershipInput!) { createMembership(input: $i) { problems { message } } }",
                json!({ "i": { "projectId": w.project, "username": user, "role": role } }),
            );
            assert_eq!(d["createMembership"]["problems"], json!([]), "{d}");
        }
        w
    }

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
    let w = World::start(
        "viewer_can",
        "buttons",
        &[
            ("alice", "DEVELOPER"),
            ("bob", "DEVELOPER"),
            ("vic", "VIEWER"),
        ],
    )
    .await;

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

/// `me.todoItems` as `user`: (kind, node path or release version) of each.
fn todo(w: &World, user: Option<&str>) -> Vec<(String, String)> {
    let d = w.as_user(
        user,
        "{ me { todoItems { kind pipeline { id } node { path viewerCanStart viewerCanApprove } release { semanticVersion } dueDate } } }",
        json!({}),
    );
    d["me"]["todoItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let kind = t["kind"].as_str().unwrap().to_string();
            // An item is one the caller can act on: its button is there.
            match kind.as_str() {
                "START" => assert_eq!(t["node"]["viewerCanStart"], true, "{t}"),
                "APPROVE" => assert_eq!(t["node"]["viewerCanApprove"], true, "{t}"),
                _ => assert!(t["dueDate"].is_string(), "{t}"),
            }
            let what = t["node"]["path"]
                .as_str()
                .or(t["release"]["semanticVersion"].as_str())
                .unwrap()
                .to_string();
            (kind, what)
        })
        .collect()
}

/// The ids of `project.pipelines` with `args` (GraphQL argument text).
fn listed(w: &World, args: &str) -> Vec<String> {
    let args = if args.is_empty() {
        String::new()
    } else {
        format!("({args})")
    };
    let q = format!(
        "query($p: ID!) {{ node(id: $p) {{ ... on Project {{ pipelines{args} {{ nodes {{ id }} }} }} }} }}"
    );
    let d = w.as_user(None, &q, json!({ "p": w.project }));
    d["node"]["pipelines"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{d}"))
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_do_items_resource_abilities_and_pipeline_filters() {
    let w = World::start(
        "todo_items",
        "todo",
        &[
            ("alice", "DEVELOPER"),
            ("bob", "DEVELOPER"),
            ("vic", "VIEWER"),
            ("rita", "RELEASE_MANAGER"),
        ],
    )
    .await;

    // The project's buttons, per role, as the mutations' roles say.
    let can = |user: Option<&str>| {
        let d = w.as_user(
            user,
            "query($p: ID!) { node(id: $p) { ... on Project { viewerCanCreatePipeline viewerCanCreatePipelineTemplate viewerCanCreateRelease } } }",
            json!({ "p": w.project }),
        );
        let n = &d["node"];
        (
            n["viewerCanCreatePipeline"].as_bool().unwrap(),
            n["viewerCanCreatePipelineTemplate"].as_bool().unwrap(),
            n["viewerCanCreateRelease"].as_bool().unwrap(),
        )
    };
    assert_eq!(can(Some("vic")), (false, false, false));
    assert_eq!(can(Some("alice")), (true, false, true));
    assert_eq!(can(Some("rita")), (true, true, true));
    assert_eq!(can(None), (true, true, true));
    // And a Viewer's createRelease is refused as its field said.
    let d = w.as_user(
        Some("vic"),
        "mutation($p: ID!) { createRelease(input: {projectId: $p, lifecycleId: \"00000000-0000-0000-0000-000000000001\", semanticVersion: \"9.9.9\", deploymentTemplates: []}) { problems { code } } }",
        json!({ "p": w.project }),
    );
    assert_eq!(
        d["createRelease"]["problems"][0]["code"], "FORBIDDEN",
        "{d}"
    );

    // An environment's protection rules: Release Managers and Owners.
    let d = w.server.gql(
        "mutation($p: ID!) { createEnvironment(input: {projectId: $p, name: \"prod\"}) { problems { message } } }",
        json!({ "p": w.project }),
    );
    assert_eq!(d["createEnvironment"]["problems"], json!([]), "{d}");
    let env_can = |user: Option<&str>| {
        let d = w.as_user(
            user,
            "query($p: ID!) { node(id: $p) { ... on Project { environments { nodes { viewerCanUpdate } } } } }",
            json!({ "p": w.project }),
        );
        d["node"]["environments"]["nodes"][0]["viewerCanUpdate"]
            .as_bool()
            .unwrap()
    };
    assert!(!env_can(Some("vic")));
    assert!(!env_can(Some("alice")));
    assert!(env_can(Some("rita")));
    // The internal agent is shared: only an administrator changes it.
    let d = w.as_user(None, "{ agents { nodes { viewerCanUpdate } } }", json!({}));
    assert_eq!(d["agents"]["nodes"][0]["viewerCanUpdate"], true, "{d}");

    // A manual node alice creates: hers and bob's to start, not vic's.
    let manual = "stage \"s\" {\n  task \"m\" {\n    when = \"manual\"\n    action \"exec_command\" { command = \"true\" }\n  }\n}\n";
    let m = w.pipeline(Some("alice"), manual);
    w.wait_node(&m, "WAITING");
    let start = ("START".to_string(), "stage.s.task.m".to_string());
    let path = w.state(None, &m).2["path"].as_str().unwrap().to_string();
    assert_eq!(path, start.1);
    assert!(todo(&w, Some("alice")).contains(&start));
    assert!(todo(&w, Some("bob")).contains(&start));
    assert!(!todo(&w, Some("vic")).contains(&start));

    // An approval bob can give and alice, its creator, cannot.
    let d = w.server.gql(
        "mutation($i: CreateApprovalRuleInput!) { createApprovalRule(input: $i) { problems { message } } }",
        json!({ "i": { "projectId": w.project, "name": "one", "users": ["alice", "bob"], "approvalsRequired": 1, "allowSelfApproval": false } }),
    );
    assert_eq!(d["createApprovalRule"]["problems"], json!([]), "{d}");
    let gated = "stage \"s\" {\n  task \"t\" {\n    approval_rules = [\"prn:approval_rule:acme/todo/one\"]\n  }\n}\n";
    let a = w.pipeline(Some("alice"), gated);
    w.wait_node(&a, "APPROVAL_PENDING");
    let approve = ("APPROVE".to_string(), "stage.s.task.t".to_string());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !todo(&w, Some("bob")).contains(&approve) {
        assert!(Instant::now() < deadline, "{:?}", todo(&w, Some("bob")));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!todo(&w, Some("alice")).contains(&approve));
    assert!(!todo(&w, None).contains(&approve));
    // Once started, the manual node is nobody's to-do any more.
    assert!(w
        .node_mutation(Some("bob"), "startPipelineNode", &m)
        .is_empty());
    w.wait_node(&m, "SUCCEEDED");
    assert!(!todo(&w, Some("alice")).contains(&start));

    // A release due tomorrow, vic taking part: vic's, not alice's. Its
    // only deployment is manual, so it stays uncompleted.
    let d = w.server.gql(
        "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id } problems { message } } }",
        json!({ "i": { "projectId": w.project, "name": "deploy", "hcl": "stage \"s\" {\n  task \"d\" {\n    action \"exec_command\" { command = \"true\" }\n  }\n}\n" } }),
    );
    let deploy = d["createPipelineTemplate"]["pipelineTemplate"]["id"].clone();
    let d = w.server.gql(
        "mutation($p: ID!, $h: String!) { createReleaseLifecycle(input: {projectId: $p, name: \"lc\", hcl: $h}) { releaseLifecycle { id } problems { message } } }",
        json!({ "p": w.project, "h": "stage \"s\" {\n  deployment {\n    environment = \"prod\"\n    when = \"manual\"\n  }\n}\n" }),
    );
    let lifecycle = d["createReleaseLifecycle"]["releaseLifecycle"]["id"].clone();
    let due = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let d = w.server.gql(
        "mutation($i: CreateReleaseInput!) { createRelease(input: $i) { release { id pipeline { id } viewerCanUpdate } problems { message } } }",
        json!({ "i": { "projectId": w.project, "lifecycleId": lifecycle, "semanticVersion": "2.0.0",
                       "deploymentTemplates": [{ "environmentName": "prod", "pipelineTemplateId": deploy }],
                       "dueDate": due, "participants": { "users": ["vic"] } } }),
    );
    assert_eq!(d["createRelease"]["problems"], json!([]), "{d}");
    assert_eq!(d["createRelease"]["release"]["viewerCanUpdate"], true);
    let release = d["createRelease"]["release"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let due_item = ("RELEASE_DUE".to_string(), "2.0.0".to_string());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !todo(&w, Some("vic")).contains(&due_item) {
        assert!(Instant::now() < deadline, "{:?}", todo(&w, Some("vic")));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!todo(&w, Some("alice")).contains(&due_item));
    let d = w.as_user(
        Some("vic"),
        "query($r: ID!) { release(id: $r) { viewerCanUpdate } }",
        json!({ "r": release }),
    );
    assert_eq!(d["release"]["viewerCanUpdate"], false);
    // Another principal's to-do items are not readable.
    let r = w
        .server
        .raw("{ users { nodes { name todoItems { kind } } } }", json!({}));
    assert!(
        r["errors"].to_string().contains("only the caller's own"),
        "{r}"
    );

    // The list's filters.
    let all = listed(&w, "");
    assert!(all.len() >= 3, "{all:?}");
    let mut newest = listed(&w, "sort: CREATED_AT_DESC");
    newest.reverse();
    assert_eq!(newest, all);
    let (waiting, _, _) = w.state(None, &a);
    let by_status = listed(&w, &format!("status: {waiting}"));
    assert!(by_status.contains(&a), "{waiting}: {by_status:?}");
    assert!(!by_status.contains(&m), "{waiting}: {by_status:?}");
    assert_eq!(
        listed(&w, "createdBy: \"alice\""),
        vec![m.clone(), a.clone()]
    );
    assert_eq!(
        listed(&w, "createdBy: \"user:alice\", status: SUCCEEDED"),
        vec![m.clone()]
    );
    let rel = listed(&w, &format!("releaseId: \"{release}\""));
    assert_eq!(rel.len(), 1, "the lifecycle pipeline: {rel:?}");
    assert_eq!(listed(&w, "type: DEPLOYMENT"), Vec::<String>::new());
    assert_eq!(
        listed(&w, "environmentName: \"prod\""),
        Vec::<String>::new()
    );
    let t = w.as_user(
        None,
        "query($p: ID!) { pipeline(id: $p) { pipelineTemplateId } }",
        json!({ "p": m }),
    )["pipeline"]["pipelineTemplateId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        listed(&w, &format!("pipelineTemplateId: \"{t}\"")),
        vec![m.clone()]
    );
    // Two of alice's, one page at a time, newest first.
    let d = w.as_user(
        None,
        "query($p: ID!) { node(id: $p) { ... on Project { pipelines(createdBy: \"alice\", sort: CREATED_AT_DESC, first: 1) { edges { cursor node { id } } pageInfo { hasNextPage } } } } }",
        json!({ "p": w.project }),
    );
    let page = &d["node"]["pipelines"];
    assert_eq!(page["edges"][0]["node"]["id"], a.as_str());
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let after = page["edges"][0]["cursor"].as_str().unwrap();
    assert_eq!(
        listed(
            &w,
            &format!("createdBy: \"alice\", sort: CREATED_AT_DESC, after: \"{after}\"")
        ),
        vec![m.clone()]
    );
    // A filter that is not an id says which.
    let r = w.server.raw(
        "query($p: ID!) { node(id: $p) { ... on Project { pipelines(releaseId: \"nope\") { nodes { id } } } } }",
        json!({ "p": w.project }),
    );
    assert!(r["errors"].to_string().contains("releaseId"), "{r}");
}
