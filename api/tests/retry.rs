//! Retry against the real server and agent: a failed task is retried, runs
//! as a new attempt with its own job and logs (the first stays readable),
//! and the pipeline, which had failed, succeeds; what had succeeded does
//! not run again.

mod support;

use std::time::Duration;

use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrying_a_failed_task_makes_the_pipeline_succeed() {
    let mut server = support::start("retry", 1).await;
    server.login();
    let project = server.project("acme", "retry");
    let flag = std::env::temp_dir().join(format!("phobos-retry-{}", uuid::Uuid::new_v4()));
    let hcl = format!(
        r#"
stage "build" {{
  task "prepare" {{
    action "exec_command" {{
      command = "echo prepared"
    }}
  }}
  task "flaky" {{
    dependencies = ["prepare"]
    action "exec_command" {{
      command = "if [ -e {f} ]; then echo second; else touch {f}; echo first; exit 4; fi"
    }}
  }}
  task "after" {{
    dependencies = ["flaky"]
    action "exec_command" {{
      command = "echo after"
    }}
  }}
}}
stage "ship" {{
  task "publish" {{
    action "exec_command" {{
      command = "echo published"
    }}
  }}
}}
"#,
        f = flag.display()
    );
    let id = server.run_pipeline(&project, &hcl);
    let failed = server.wait_finished(&id, Duration::from_secs(30));
    assert_eq!(failed["status"], "FAILED", "{failed}");

    let wrong = server.gql(
        "mutation($i: RetryPipelineNodeInput!) { retryPipelineNode(input: $i) { pipeline { status } problems { code field message } } }",
        json!({ "i": { "pipelineId": id, "nodePath": "stage.build.task.prepare" } }),
    );
    let p = &wrong["retryPipelineNode"]["problems"][0];
    assert_eq!(p["code"], "CONFLICT", "{wrong}");
    assert!(
        p["message"].as_str().unwrap().contains("is SUCCEEDED"),
        "{wrong}"
    );

    let d = server.gql(
        "mutation($i: RetryPipelineNodeInput!) { retryPipelineNode(input: $i) { pipeline { status } problems { code field message } } }",
        json!({ "i": { "pipelineId": id, "nodePath": "stage.build.task.flaky" } }),
    );
    assert_eq!(d["retryPipelineNode"]["problems"], json!([]), "{d}");
    assert_eq!(
        d["retryPipelineNode"]["pipeline"]["status"], "RUNNING",
        "{d}"
    );

    let done = server.wait_finished(&id, Duration::from_secs(30));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let jobs: Vec<&Value> = done["jobs"].as_array().unwrap().iter().collect();
    let count = |path: &str| jobs.iter().filter(|j| j["nodePath"] == path).count();
    assert_eq!(
        count("stage.build.task.prepare"),
        1,
        "succeeded: not run again"
    );
    assert_eq!(count("stage.build.task.flaky"), 2);
    assert_eq!(count("stage.build.task.after"), 1);
    assert_eq!(count("stage.ship.task.publish"), 1);

    let attempts = server.gql(
        "query($id: ID!) { pipeline(id: $id) { stages { nodes { path attempts { number status job { id status logs { text } } } } } } }",
        json!({ "id": id }),
    );
    let flaky = attempts["pipeline"]["stages"][0]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["path"] == "stage.build.task.flaky")
        .unwrap()
        .clone();
    let a = flaky["attempts"].as_array().unwrap();
    assert_eq!(a.len(), 2, "{flaky}");
    assert_eq!(
        (a[0]["number"].clone(), a[0]["status"].clone()),
        (json!(1), json!("FAILED"))
    );
    assert_eq!(
        (a[1]["number"].clone(), a[1]["status"].clone()),
        (json!(2), json!("SUCCEEDED"))
    );
    assert!(
        a[0]["job"]["logs"]["text"]
            .as_str()
            .unwrap()
            .contains("first"),
        "{flaky}"
    );
    assert!(
        a[1]["job"]["logs"]["text"]
            .as_str()
            .unwrap()
            .contains("second"),
        "{flaky}"
    );
    assert_ne!(a[0]["job"]["id"], a[1]["job"]["id"]);
    let _ = std::fs::remove_file(&flag);
}
