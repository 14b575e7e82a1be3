//! Resource limits: read and changed by an administrator, and checked by
//! the database in the transaction of the create they limit, so concurrent
//! creates cannot pass a limit together.

mod support;

use serde_json::{json, Value};

fn set(server: &support::Server, name: &str, value: i32) {
    let d = server.gql(
        "mutation($n: String!, $v: Int!) { updateResourceLimit(input: {name: $n, value: $v}) { resourceLimit { name value } problems { message } } }",
        json!({ "n": name, "v": value }),
    );
    assert_eq!(
        d["updateResourceLimit"]["resourceLimit"]["value"], value,
        "{d}"
    );
}

fn code(d: &Value, field: &str) -> Value {
    d[field]["problems"][0]["code"].clone()
}

#[tokio::test]
async fn limits_are_checked_with_the_create_they_limit() {
    let mut server = support::start("resource_limits", 0).await;
    let token = server.login();
    let d = server.gql("{ resourceLimits { name value } }", json!({}));
    let names: Vec<&str> = d["resourceLimits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 5, "{d}");
    assert!(names.contains(&"ResourceLimitProjectsPerOrganization"));
    // A name that is not a limit, a negative value: problems on their fields.
    let d = server.gql("mutation { updateResourceLimit(input: {name: \"Nope\", value: 1}) { problems { field code } } }", json!({}));
    assert_eq!(
        d["updateResourceLimit"]["problems"],
        json!([{"field": "name", "code": "BAD_REQUEST"}])
    );
    let d = server.gql("mutation { updateResourceLimit(input: {name: \"ResourceLimitNodesPerPipeline\", value: -1}) { problems { field code } } }", json!({}));
    assert_eq!(
        d["updateResourceLimit"]["problems"],
        json!([{"field": "value", "code": "BAD_REQUEST"}])
    );

    // Projects per organization.
    set(&server, "ResourceLimitProjectsPerOrganization", 2);
    let project = server.project("acme", "one");
    let create = |name: &str| {
        server.gql(
            "mutation($n: String!) { createProject(input: {organizationName: \"acme\", name: $n}) { project { id } problems { code message } } }",
            json!({ "n": name }),
        )
    };
    assert_eq!(create("two")["createProject"]["problems"], json!([]));
    let d = create("three");
    assert_eq!(code(&d, "createProject"), "LIMIT_EXCEEDED", "{d}");
    let msg = d["createProject"]["problems"][0]["message"]
        .as_str()
        .unwrap();
    assert!(
        msg.contains("ResourceLimitProjectsPerOrganization") && msg.contains("updateResourceLimit"),
        "{msg}"
    );

    // Templates per project, under 20 concurrent creates: exactly 5 pass.
    set(&server, "ResourceLimitPipelineTemplatesPerProject", 5);
    let url = server.url();
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let (url, token, project) = (url.clone(), token.clone(), project.clone());
            std::thread::spawn(move || {
                let mut resp = ureq::post(&url)
                    .header("authorization", &format!("Bearer {token}"))
                    .send_json(json!({
                        "query": "mutation($p: ID!, $n: String!) { createPipelineTemplate(input: {projectId: $p, name: $n, hcl: \"stage \\\"s\\\" {\\n  task \\\"t\\\" {\\n  }\\n}\\n\"}) { pipelineTemplate { id } problems { code } } }",
                        "variables": { "p": project, "n": format!("t{i}") },
                    }))
                    .unwrap();
                let v: Value = resp.body_mut().read_json().unwrap();
                assert!(v.get("errors").is_none(), "{v}");
                match v["data"]["createPipelineTemplate"]["problems"][0]["code"].as_str() {
                    None => 1,
                    Some("LIMIT_EXCEEDED") => 0,
                    Some(other) => panic!("unexpected {other}: {v}"),
                }
            })
        })
        .collect();
    let created: i32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(created, 5);

    // Nodes per pipeline, and pipelines per project per hour.
    set(&server, "ResourceLimitPipelineTemplatesPerProject", 100);
    let two_tasks = "stage \"s\" {\n  task \"a\" {\n  }\n  task \"b\" {\n  }\n}\n";
    let d = server.gql(
        "mutation($p: ID!, $h: String!) { createPipelineTemplate(input: {projectId: $p, name: \"two\", hcl: $h}) { pipelineTemplate { id } } }",
        json!({ "p": project, "h": two_tasks }),
    );
    let tid = d["createPipelineTemplate"]["pipelineTemplate"]["id"].clone();
    let run = || {
        server.gql(
            "mutation($t: ID!) { createPipeline(input: {pipelineTemplateId: $t}) { pipeline { id } problems { code message } } }",
            json!({ "t": tid }),
        )
    };
    set(&server, "ResourceLimitNodesPerPipeline", 1);
    let d = run();
    assert_eq!(code(&d, "createPipeline"), "LIMIT_EXCEEDED", "{d}");
    set(&server, "ResourceLimitNodesPerPipeline", 10);
    set(&server, "ResourceLimitPipelinesPerProjectPerHour", 1);
    assert_eq!(run()["createPipeline"]["problems"], json!([]));
    let d = run();
    assert_eq!(code(&d, "createPipeline"), "LIMIT_EXCEEDED", "{d}");
    assert!(
        d["createPipeline"]["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("PerHour"),
        "{d}"
    );

    // Memberships per organization: a deleted membership frees its place.
    set(&server, "ResourceLimitMembershipsPerOrganization", 1);
    for t in ["a", "b"] {
        server.gql(
            "mutation($n: String!) { createTeam(input: {name: $n}) { problems { message } } }",
            json!({ "n": t }),
        );
    }
    let grant = |team: &str| {
        server.gql(
            "mutation($p: ID!, $t: String!) { createMembership(input: {projectId: $p, teamName: $t, role: VIEWER}) { membership { id } problems { code message } } }",
            json!({ "p": project, "t": team }),
        )
    };
    let first = grant("a");
    let id = first["createMembership"]["membership"]["id"].clone();
    assert_eq!(code(&grant("b"), "createMembership"), "LIMIT_EXCEEDED");
    server.gql(
        "mutation($id: ID!) { deleteMembership(input: {id: $id}) { problems { message } } }",
        json!({ "id": id }),
    );
    assert_eq!(grant("b")["createMembership"]["problems"], json!([]));
}
