//! What this server cannot run is refused when a pipeline is created, one
//! located problem per use, never run with the block silently ignored.

mod support;

use serde_json::{json, Value};

const TEMPLATE: &str = r#"plugin "exec" {}

volume "src" {
  type = "vcs"
  vcs_options {
    provider_id     = "prn:vcs_provider:acme/github"
    repository_path = "acme/app"
  }
}

jwt "aws" {
  audience = "sts.amazonaws.com"
}

stage "s" {
  task "scan" {
    mount_point {
      volume = "src"
      path   = "/src"
    }
    action "exec_command" {
      command = "ls"
    }
  }
  task "later" {
    approval_rules = ["prn:approval_rule:acme/release"]
    action "exec_command" {
      command = "true"
    }
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_blocks_are_refused_with_their_positions() {
    let mut server = support::start("unsupported", 1).await;
    server.login();
    let project = server.project("acme", "unsupported");
    // Uploading it works: it may run once the server can.
    let d = server.gql(
        "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id } problems { message } } }",
        json!({ "i": { "projectId": project, "hcl": TEMPLATE } }),
    );
    assert_eq!(d["createPipelineTemplate"]["problems"], json!([]), "{d}");
    let tid = d["createPipelineTemplate"]["pipelineTemplate"]["id"].clone();
    let d = server.gql(
        "mutation($i: CreatePipelineInput!) { createPipeline(input: $i) { pipeline { id } problems { message line column field } } }",
        json!({ "i": { "pipelineTemplateId": tid } }),
    );
    assert_eq!(d["createPipeline"]["pipeline"], Value::Null, "{d}");
    let problems = d["createPipeline"]["problems"].as_array().unwrap();
    let at: Vec<(u64, u64, String)> = problems
        .iter()
        .map(|p| {
            (
                p["line"].as_u64().unwrap_or(0),
                p["column"].as_u64().unwrap_or(0),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(at.len(), 3, "{at:#?}");
    let expect = [
        (3, 1, "volume \"src\""),
        (11, 1, "jwt \"aws\""),
        (17, 5, "mount_point of volume \"src\""),
    ];
    for ((line, column, message), (l, c, m)) in at.iter().zip(expect) {
        assert_eq!((*line, *column), (l, c), "{message}");
        assert!(message.contains(m), "{message} should name {m}");
        assert!(message.contains("not"), "{message}");
    }
    // Nothing ran.
    let d = server.gql(
        "query($id: ID!) { node(id: $id) { ... on Project { pipelines(first: 5) { edges { node { id } } } } } }",
        json!({ "id": project }),
    );
    assert_eq!(d["node"]["pipelines"]["edges"], json!([]), "{d}");
}
