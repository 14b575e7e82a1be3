//! Approvals against the real server, with users from a real OIDC issuer:
//! 1-of-1, 2-of-3 through a team, two rules on one node, revocation before
//! the count is reached, an advisory rejection, a non-member and a
//! non-approver refused, self-approval refused and allowed, an Owner's
//! override, an unknown rule refused with its line, and 1,000 concurrent
//! approvals racing on one node with exactly the right count recorded.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::oidc::Issuer;

const CLIENT_ID: &str = "phobos-test";

const NODE: &str = "query($id: ID!) { pipeline(id: $id) { status stages { nodes { path status approval { satisfied rules { name approvalsRequired approvalsReceived remaining } approvals { principal { kind name } } rejections { principal { name } comment } override { by comment } } } } } }";

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

    fn as_user(&self, user: &str, q: &str, v: Value) -> Value {
        let t = self.token(user);
        let r = self.server.raw_as(Some(&t), q, v);
        assert!(r.get("errors").is_none(), "{user}: {r}");
        r["data"].clone()
    }

    fn template(&self, user: Option<&str>, hcl: &str) -> Value {
        let q = "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id } problems { message } } }";
        let v = json!({ "i": { "projectId": self.project, "hcl": hcl } });
        let d = match user {
            Some(u) => self.as_user(u, q, v),
            None => self.server.gql(q, v),
        };
        assert_eq!(d["createPipelineTemplate"]["problems"], json!([]), "{d}");
        d["createPipelineTemplate"]["pipelineTemplate"]["id"].clone()
    }

    /// Creates a pipeline (as `user`, or the admin); returns its id, or
    /// the problems.
    fn pipeline(&self, user: Option<&str>, hcl: &str) -> Result<String, Value> {
        // Templates are a Release Manager's; the admin uploads them.
        let tid = self.template(None, hcl);
        let q = "mutation($t: ID!) { createPipeline(input: {pipelineTemplateId: $t}) { pipeline { id } problems { message line column field code } } }";
        let v = json!({ "t": tid });
        let d = match user {
            Some(u) => self.as_user(u, q, v),
            None => self.server.gql(q, v),
        };
        match d["createPipeline"]["pipeline"]["id"].as_str() {
            Some(id) => Ok(id.to_string()),
            None => Err(d["createPipeline"]["problems"].clone()),
        }
    }

    fn node(&self, pipeline: &str) -> Value {
        let d = self.server.gql(NODE, json!({ "id": pipeline }));
        d["pipeline"]["stages"][0]["nodes"][0].clone()
    }

    fn pipeline_status(&self, pipeline: &str) -> String {
        let d = self.server.gql(NODE, json!({ "id": pipeline }));
        d["pipeline"]["status"].as_str().unwrap().to_string()
    }

    /// Waits until the node is APPROVAL_PENDING with its rules fixed.
    fn pending(&self, pipeline: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let n = self.node(pipeline);
            if n["status"] == "APPROVAL_PENDING"
                && n["approval"]["rules"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty())
            {
                return n;
            }
            assert!(Instant::now() < deadline, "not pending: {n}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_status(&self, pipeline: &str, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.pipeline_status(pipeline) != status {
            assert!(
                Instant::now() < deadline,
                "pipeline not {status}: {}",
                self.node(pipeline)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A decision as `user`: the payload's problems' codes.
    fn decide(
        &self,
        user: &str,
        mutation: &str,
        pipeline: &str,
        comment: Option<&str>,
    ) -> Vec<String> {
        let (input_type, extra) = match comment {
            Some(_) => ("PipelineNodeCommentInput", ", comment: $c"),
            None => ("PipelineNodeApprovalInput", ""),
        };
        let _ = input_type;
        let q = format!(
            "mutation($p: ID!, $c: String) {{ {mutation}(input: {{pipelineId: $p, nodePath: \"stage.s.task.t\"{extra}}}) {{ problems {{ code message field }} }} }}"
        );
        let q = if comment.is_none() {
            q.replace(", $c: String", "")
        } else {
            q.replace("$c: String", "$c: String!")
        };
        let d = self.as_user(user, &q, json!({ "p": pipeline, "c": comment }));
        d[mutation]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap().to_string())
            .collect()
    }
}

fn task(rules: &[&str]) -> String {
    let list: Vec<String> = rules.iter().map(|r| format!("{r:?}")).collect();
    format!(
        "stage \"s\" {{\n  task \"t\" {{\n    approval_rules = [{}]\n  }}\n}}\n",
        list.join(", ")
    )
}

fn rule(
    w: &World,
    scope: Value,
    name: &str,
    users: &[&str],
    teams: &[&str],
    required: i32,
    self_ok: bool,
) -> String {
    let mut input = scope;
    input["name"] = json!(name);
    input["users"] = json!(users);
    input["teams"] = json!(teams);
    input["approvalsRequired"] = json!(required);
    input["allowSelfApproval"] = json!(self_ok);
    let d = w.server.gql(
        "mutation($i: CreateApprovalRuleInput!) { createApprovalRule(input: $i) { approvalRule { id prn } problems { message field code } } }",
        json!({ "i": input }),
    );
    assert_eq!(d["createApprovalRule"]["problems"], json!([]), "{d}");
    d["createApprovalRule"]["approvalRule"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn approvals_count_distinct_eligible_principals_per_rule() {
    let issuer = Issuer::start();
    let env = issuer.provider_env(CLIENT_ID);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = support::start_with("approvals", 0, &env).await;
    server.login();
    let project = server.project("acme", "web");
    let w = World {
        server,
        issuer,
        project,
    };

    let crowd: Vec<String> = (0..20).map(|i| format!("crowd-{i}")).collect();
    let mut people: Vec<String> = ["alice", "bob", "carol", "dave", "eve"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    people.extend(crowd.iter().cloned());
    for u in &people {
        w.as_user(u, "{ me { name } }", json!({}));
    }
    for (team, members) in [
        ("reviewers", vec!["bob", "carol", "dave"]),
        ("crowd", crowd.iter().map(|s| s.as_str()).collect()),
    ] {
        w.server.gql(
            "mutation($n: String!) { createTeam(input: {name: $n}) { problems { message } } }",
            json!({ "n": team }),
        );
        for m in members {
            let d = w.server.gql(
                "mutation($t: String!, $u: String!) { addTeamMember(input: {teamName: $t, username: $u}) { problems { message } } }",
                json!({ "t": team, "u": m }),
            );
            assert_eq!(d["addTeamMember"]["problems"], json!([]), "{d}");
        }
    }
    // Everyone but eve is a Developer of the project (alice directly).
    for (k, v) in [
        ("username", "alice"),
        ("teamName", "reviewers"),
        ("teamName", "crowd"),
    ] {
        let d = w.server.gql(
            "mutation($i: CreateMembershipInput!) { createMembership(input: $i) { problems { message } } }",
            json!({ "i": { "projectId": w.project, k: v, "role": "DEVELOPER" } }),
        );
        assert_eq!(d["createMembership"]["problems"], json!([]), "{d}");
    }
    let one = rule(
        &w,
        json!({"projectId": w.project}),
        "one",
        &["alice"],
        &[],
        1,
        false,
    );
    rule(
        &w,
        json!({"organizationName": "acme"}),
        "team2of3",
        &[],
        &["reviewers"],
        2,
        false,
    );
    rule(
        &w,
        json!({"projectId": w.project}),
        "self-ok",
        &["alice"],
        &[],
        1,
        true,
    );
    rule(
        &w,
        json!({"projectId": w.project}),
        "everyone",
        &[],
        &["crowd"],
        20,
        false,
    );
    // A count the approvers cannot reach is refused on its field.
    let d = w.server.gql(
        "mutation { createApprovalRule(input: {organizationName: \"acme\", name: \"toomany\", teams: [\"reviewers\"], approvalsRequired: 4}) { problems { field code } } }",
        json!({}),
    );
    assert_eq!(
        d["createApprovalRule"]["problems"],
        json!([{"field": "approvalsRequired", "code": "BAD_REQUEST"}]),
        "{d}"
    );

    // An unknown rule: a problem with its line and column.
    let problems = w
        .pipeline(None, &task(&["prn:approval_rule:acme/nope"]))
        .unwrap_err();
    assert_eq!(problems[0]["line"], 2, "{problems}");
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("acme/nope"),
        "{problems}"
    );

    // 1-of-1 (by id): a non-member is NOT_FOUND, a non-approver FORBIDDEN.
    let p1 = w.pipeline(None, &task(&[&one])).unwrap();
    let n = w.pending(&p1);
    assert_eq!(
        n["approval"]["rules"],
        json!([{"name": "one", "approvalsRequired": 1, "approvalsReceived": 0, "remaining": 1}])
    );
    assert_eq!(
        w.decide("eve", "approvePipelineNode", &p1, None),
        ["NOT_FOUND"]
    );
    assert_eq!(
        w.decide("bob", "approvePipelineNode", &p1, None),
        ["FORBIDDEN"]
    );
    assert_eq!(
        w.decide("alice", "approvePipelineNode", &p1, None),
        Vec::<String>::new()
    );
    assert_eq!(
        w.decide("alice", "approvePipelineNode", &p1, None).len(),
        1,
        "a second approval of a node that went on"
    );
    w.wait_status(&p1, "SUCCEEDED");

    // Two rules on one node; 2-of-3 through a team; revocation before the
    // count is reached; an advisory rejection.
    let p2 = w
        .pipeline(
            None,
            &task(&[
                "prn:approval_rule:acme/team2of3",
                "prn:approval_rule:acme/web/one",
            ]),
        )
        .unwrap();
    w.pending(&p2);
    assert!(w.decide("bob", "approvePipelineNode", &p2, None).is_empty());
    assert!(w
        .decide("bob", "revokePipelineNodeApproval", &p2, None)
        .is_empty());
    let n = w.node(&p2);
    assert_eq!(n["approval"]["approvals"], json!([]), "{n}");
    assert!(w
        .decide("dave", "rejectPipelineNode", &p2, Some("not on a Friday"))
        .is_empty());
    assert!(w.decide("bob", "approvePipelineNode", &p2, None).is_empty());
    assert!(w
        .decide("carol", "approvePipelineNode", &p2, None)
        .is_empty());
    let n = w.node(&p2);
    assert_eq!(
        n["status"], "APPROVAL_PENDING",
        "one rule is met, the other is not: {n}"
    );
    assert_eq!(n["approval"]["rules"][0]["remaining"], 0, "{n}");
    assert_eq!(n["approval"]["rules"][1]["remaining"], 1, "{n}");
    assert_eq!(
        n["approval"]["rejections"],
        json!([{"principal": {"name": "dave"}, "comment": "not on a Friday"}])
    );
    assert!(w
        .decide("alice", "approvePipelineNode", &p2, None)
        .is_empty());
    w.wait_status(&p2, "SUCCEEDED");

    // Self-approval: refused by a rule that does not allow it, allowed by
    // one that does.
    let p3 = w
        .pipeline(Some("alice"), &task(&["prn:approval_rule:acme/web/one"]))
        .unwrap();
    w.pending(&p3);
    assert_eq!(
        w.decide("alice", "approvePipelineNode", &p3, None),
        ["FORBIDDEN"]
    );
    let p4 = w
        .pipeline(
            Some("alice"),
            &task(&["prn:approval_rule:acme/web/self-ok"]),
        )
        .unwrap();
    w.pending(&p4);
    assert!(w
        .decide("alice", "approvePipelineNode", &p4, None)
        .is_empty());
    w.wait_status(&p4, "SUCCEEDED");

    // An override: refused to a Developer, done by an administrator with a
    // comment, and recorded as such.
    assert_eq!(
        w.decide("bob", "overridePipelineNodeApproval", &p3, Some("ship it")),
        ["FORBIDDEN"]
    );
    let d = w.server.gql(
        "mutation($p: ID!) { overridePipelineNodeApproval(input: {pipelineId: $p, nodePath: \"stage.s.task.t\", comment: \"release freeze lifted\"}) { problems { code } } }",
        json!({ "p": p3 }),
    );
    assert_eq!(
        d["overridePipelineNodeApproval"]["problems"],
        json!([]),
        "{d}"
    );
    w.wait_status(&p3, "SUCCEEDED");
    assert_eq!(
        w.node(&p3)["approval"]["override"],
        json!({"by": "user:admin@phobos.test", "comment": "release freeze lifted"})
    );

    // 1,000 concurrent approvals from the 20 members of `crowd` (50 each):
    // exactly 20 are recorded, and the node goes on once.
    let p5 = w
        .pipeline(None, &task(&["prn:approval_rule:acme/web/everyone"]))
        .unwrap();
    w.pending(&p5);
    let url = w.server.url();
    let tokens: Vec<String> = crowd.iter().map(|u| w.token(u)).collect();
    let threads: Vec<_> = (0..100)
        .map(|t| {
            let (url, tokens, p5) = (url.clone(), tokens.clone(), p5.clone());
            std::thread::spawn(move || {
                let mut ok = 0;
                for i in 0..10 {
                    let token = &tokens[(t * 10 + i) % tokens.len()];
                    let mut resp = ureq::post(&url)
                        .header("authorization", &format!("Bearer {token}"))
                        .send_json(json!({
                            "query": "mutation($p: ID!) { approvePipelineNode(input: {pipelineId: $p, nodePath: \"stage.s.task.t\"}) { problems { code message } } }",
                            "variables": { "p": p5 },
                        }))
                        .unwrap();
                    let v: Value = resp.body_mut().read_json().unwrap();
                    assert!(v.get("errors").is_none(), "{v}");
                    let problems = v["data"]["approvePipelineNode"]["problems"].as_array().unwrap().clone();
                    if problems.is_empty() {
                        ok += 1;
                    } else {
                        assert_eq!(problems[0]["code"], "CONFLICT", "{v}");
                    }
                }
                ok
            })
        })
        .collect();
    let accepted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(accepted, 20, "each of the 20 approvers is recorded once");
    w.wait_status(&p5, "SUCCEEDED");
    let events = w.server.gql(
        "query($id: ID!) { pipelineEvents(pipelineId: $id) { eventType actor } }",
        json!({ "id": p5 }),
    );
    let approved: Vec<&Value> = events["pipelineEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["eventType"] == "NodeApproved")
        .collect();
    assert_eq!(approved.len(), 20);
    let mut actors: Vec<&str> = approved
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    actors.sort();
    actors.dedup();
    assert_eq!(actors.len(), 20, "{actors:?}");
    let became_ready = events["pipelineEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["eventType"] == "NodeBecameReady")
        .count();
    assert_eq!(became_ready, 1);
}
