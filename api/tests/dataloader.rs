//! Nested reads are batched: a response's SQL statements do not grow with
//! the number of parents in it (each node's attempts and child pipeline,
//! each agent's organization), counted from the server's own statement log
//! within the request's span.

mod support;

use std::time::Duration;

use serde_json::{json, Value};

fn tasks(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!("  task \"t{i}\" {{\n    action \"exec_command\" {{\n      command = \"true\"\n    }}\n  }}\n")
        })
        .collect::<String>()
}

/// The request `query` as operation `operation` (named, so the server's
/// span says which it is).
fn named(
    server: &support::Server,
    token: &str,
    operation: &str,
    query: &str,
    variables: Value,
) -> Value {
    let mut resp = ureq::post(&server.url())
        .header("content-type", "application/json")
        .header("authorization", &format!("Bearer {token}"))
        .send_json(json!({ "query": query, "variables": variables, "operationName": operation }))
        .expect("graphql request");
    resp.body_mut().read_json().expect("graphql json")
}

/// The statements the server ran for the request named `operation`.
fn statements(server: &support::Server, operation: &str) -> usize {
    let marker = format!("operation=\"{operation}\"");
    server
        .log_text()
        .lines()
        .filter(|l| l.contains(&marker) && l.contains("sqlx::query"))
        .count()
}

#[tokio::test]
async fn nested_reads_do_not_grow_with_the_parents() {
    let mut server = support::start_with(
        "dataloader",
        1,
        &[("RUST_LOG", "info,phobos=debug,sqlx::query=debug")],
    )
    .await;
    let token = server.login();
    let project = server.project("acme", "web");
    let small = server.run_pipeline(&project, &format!("stage \"s\" {{\n{}}}\n", tasks(2)));
    let large = server.run_pipeline(&project, &format!("stage \"s\" {{\n{}}}\n", tasks(12)));
    for p in [&small, &large] {
        let done = server.wait_finished(p, Duration::from_secs(120));
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
    }
    let nodes = |operation: &str, id: &str| -> Value {
        let q = format!("query {operation}($id: ID!) {{ pipeline(id: $id) {{ stages {{ nodes {{ path attempts {{ number job {{ id status prn }} }} childPipeline {{ id }} }} }} }} }}");
        let d = named(&server, &token, operation, &q, json!({ "id": id }));
        assert!(d.get("errors").is_none(), "{d}");
        d["data"]["pipeline"]["stages"][0]["nodes"].clone()
    };
    let few = nodes("NodesOfSmall", &small);
    let many = nodes("NodesOfLarge", &large);
    assert_eq!(few.as_array().unwrap().len(), 2);
    assert_eq!(many.as_array().unwrap().len(), 12);
    for node in many.as_array().unwrap() {
        let attempts = node["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{node}");
        assert_eq!(attempts[0]["job"]["status"], "SUCCEEDED", "{node}");
        assert!(attempts[0]["job"]["prn"]
            .as_str()
            .unwrap()
            .starts_with("prn:job:acme/web/"));
        assert_eq!(node["childPipeline"], Value::Null);
    }
    let (a, b) = (
        statements(&server, "NodesOfSmall"),
        statements(&server, "NodesOfLarge"),
    );
    assert!(
        a > 0,
        "the statement log is not read:\n{}",
        server.log_text()
    );
    assert_eq!(a, b, "12 nodes took {b} statements, 2 nodes {a}");

    for i in 0..8 {
        let d = server.gql(
            "mutation($n: String!) { createAgent(input: {name: $n, type: ORGANIZATION, organizationName: \"acme\"}) { problems { message } } }",
            json!({ "n": format!("runner-{i}") }),
        );
        assert_eq!(d["createAgent"]["problems"], json!([]), "{d}");
    }
    let one = named(
        &server,
        &token,
        "AgentsOne",
        "query AgentsOne { agents(first: 3) { edges { node { prn } } } }",
        json!({}),
    );
    let all = named(
        &server,
        &token,
        "AgentsAll",
        "query AgentsAll { agents { edges { node { prn } } } }",
        json!({}),
    );
    let prns: Vec<&str> = all["data"]["agents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["prn"].as_str().unwrap())
        .collect();
    assert!(prns.contains(&"prn:agent:acme/runner-7"), "{all}");
    assert!(prns.contains(&"prn:agent:internal-0"), "{all}");
    assert!(one.get("errors").is_none(), "{one}");
    assert_eq!(
        statements(&server, "AgentsOne"),
        statements(&server, "AgentsAll")
    );
}
