//! `phobos serve` on the `aws_s3` object store, against a real
//! S3-compatible server: a pipeline runs from a template kept there, and a
//! missing bucket or a refused key stops start-up naming the setting.

mod support;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_runs_from_a_template_kept_in_s3() {
    let Some(s3) = support::S3Server::start("phobos") else {
        return;
    };
    let env = s3.env("phobos", support::S3_SECRET_KEY);
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut server = support::start_with("object_store_s3", 1, &extra).await;
    server.login();
    let project = server.project("acme", "s3");
    let id = server.run_pipeline(
        &project,
        "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" { command = \"echo from-s3\" }\n  }\n}\n",
    );
    let done = server.wait_finished(&id, Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert!(server.log_text().contains("object store: aws_s3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_or_a_refused_key_stops_start_up() {
    let Some(s3) = support::S3Server::start("phobos") else {
        return;
    };
    for (bucket, secret, names) in [
        (
            "no-such-bucket",
            support::S3_SECRET_KEY,
            "PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET",
        ),
        (
            "phobos",
            "a-wrong-secret",
            "PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY",
        ),
    ] {
        let opts = phobos_commands::testing::fresh_database("object_store_refused")
            .await
            .unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_phobos"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PHOBOS_DB_HOST", opts.get_host())
            .env("PHOBOS_DB_PORT", opts.get_port().to_string())
            .env("PHOBOS_DB_USERNAME", opts.get_username())
            .env("PHOBOS_DB_NAME", opts.get_database().unwrap())
            .env("PHOBOS_DB_SSL_MODE", "disable")
            .env("PHOBOS_HTTP_SERVER_PORT", support::free_port().to_string())
            .env("PHOBOS_GRPC_SERVER_PORT", support::free_port().to_string())
            .envs(s3.env(bucket, secret))
            .output()
            .unwrap();
        assert!(
            !output.status.success(),
            "phobos started with {bucket}/{secret}"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let all = format!("{stdout}{stderr}");
        assert!(all.contains(names), "{all}");
        assert!(
            !all.contains("a-wrong-secret"),
            "the secret is in the output"
        );
    }
}
