//! Organization agents sign in as a service account: an Owner assigns the
//! account to the agent, the `phobos-agent` process exchanges an OIDC token
//! (from a file, as a Kubernetes projected token would be) for the
//! account's token and runs its organization's jobs with it. The account's
//! token acts only as the agent it is assigned to, and not at all once it
//! is unassigned.

mod support;

use std::process::Stdio;
use std::time::Duration;

use phobos_proto::v1::agent_service_client::AgentServiceClient;
use phobos_proto::v1::*;
use serde_json::{json, Value};
use support::oidc::Issuer;
use tonic::transport::Channel;
use tonic::Code;

const ASSIGN: &str = "mutation($a: ID!, $p: String!) { assignServiceAccountToAgent(input: {agentId: $a, serviceAccountPath: $p}) { agent { name serviceAccountPath } problems { code field message } } }";

/// CreateSession as agent `name` with a service account's token.
async fn open_session(
    server: &support::Server,
    name: &str,
    token: &str,
) -> Result<CreateSessionResponse, tonic::Status> {
    let channel = Channel::from_shared(format!("http://127.0.0.1:{}", server.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = support::authed(
        CreateSessionRequest {
            agent_name: name.into(),
            tags: vec![],
            internal: false,
        },
        token,
    );
    request
        .metadata_mut()
        .insert(phobos_proto::AGENT_NAME_METADATA, name.parse().unwrap());
    AgentServiceClient::new(channel)
        .create_session(request)
        .await
        .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_agent_signs_in_as_its_service_account_and_runs_jobs() {
    let ci = Issuer::start();
    let mut server = support::start("agent_service_account", 0).await;
    server.login();
    let project = server.project("acme", "web");
    server.project("other", "x");
    let d = server.gql(
        "mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { problems { message } } }",
        json!({ "i": { "organizationName": "acme", "name": "agents", "oidcTrustPolicies": [{ "issuer": ci.url, "boundClaims": [{ "name": "sub", "value": "system:serviceaccount:phobos:agent" }, { "name": "aud", "value": "phobos" }] }] } }),
    );
    assert_eq!(d["createServiceAccount"]["problems"], json!([]), "{d}");
    let agent_of = |name: &str, org: &str| -> String {
        let d = server.gql(
            "mutation($n: String!, $o: String!) { createAgent(input: {name: $n, type: ORGANIZATION, organizationName: $o, tags: [\"k8s\"]}) { agent { id } problems { message } } }",
            json!({ "n": name, "o": org }),
        );
        d["createAgent"]["agent"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let runner = agent_of("acme-runner", "acme");
    let other = agent_of("acme-other", "acme");
    let foreign = agent_of("other-runner", "other");

    // Only a service account of the agent's own organization, not of a
    // project, and only for an organization agent.
    let assign = |agent: &str, path: &str| -> Value {
        server.gql(ASSIGN, json!({ "a": agent, "p": path }))["assignServiceAccountToAgent"].clone()
    };
    let d = assign(&foreign, "acme/agents");
    assert_eq!(d["problems"][0]["code"], "NOT_FOUND", "{d}");
    assert_eq!(d["problems"][0]["field"], "serviceAccountPath", "{d}");
    let d = assign(&runner, "acme/web/nothing");
    assert_eq!(d["problems"][0]["field"], "serviceAccountPath", "{d}");
    let d = assign(&runner, "acme/agents");
    assert_eq!(d["problems"], json!([]), "{d}");
    assert_eq!(d["agent"]["serviceAccountPath"], "acme/agents");

    // The agent process signs in with the OIDC token in a file.
    let dir = std::env::temp_dir().join(format!("phobos-agent-sa-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(
        &token_file,
        ci.token(
            "phobos",
            json!({ "sub": "system:serviceaccount:phobos:agent" }),
        ),
    )
    .unwrap();
    let grpc = format!("http://127.0.0.1:{}", server.grpc);
    let log = dir.join("agent.log");
    let out = std::fs::File::create(&log).unwrap();
    let agent = support::AgentProcess(
        std::process::Command::new(support::bin_dir().join("phobos-agent"))
            .args(["--server-url", &grpc, "--name", "acme-runner"])
            .args(["--service-account-path", "acme/agents"])
            .arg("--service-account-token-file")
            .arg(&token_file)
            .args([
                "--executor-path",
                support::bin_dir()
                    .join("phobos-job-executor")
                    .to_str()
                    .unwrap(),
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("start phobos-agent"),
    );
    let pipeline = server.run_pipeline(
        &project,
        "stage \"s\" {\n  task \"t\" {\n    agent {\n      tags = [\"k8s\"]\n    }\n    action \"exec_command\" {\n      command = \"echo signed in\"\n    }\n  }\n}\n",
    );
    let done = server.wait_finished(&pipeline, Duration::from_secs(60));
    let agent_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(done["status"], "SUCCEEDED", "{done}\nagent:\n{agent_log}");
    let d = server.gql(
        "query($id: ID!) { pipeline(id: $id) { jobs { agentId } } }",
        json!({ "id": pipeline }),
    );
    assert_eq!(d["pipeline"]["jobs"][0]["agentId"], runner.as_str(), "{d}");
    assert!(
        agent_log.contains("signed in as the service account"),
        "{agent_log}"
    );
    drop(agent);

    // The account's token acts only as the agent it is assigned to.
    let d = server.gql(
        "mutation($t: String!) { serviceAccountCreateToken(input: {serviceAccountPath: \"acme/agents\", token: $t}) { token problems { message } } }",
        json!({ "t": ci.token("phobos", json!({ "sub": "system:serviceaccount:phobos:agent" })) }),
    );
    let sa_token = d["serviceAccountCreateToken"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(open_session(&server, "acme-runner", &sa_token)
        .await
        .is_ok());
    let refused = open_session(&server, "acme-other", &sa_token)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(
        refused.message().contains("assignServiceAccountToAgent"),
        "{refused:?}"
    );
    let _ = other;

    // Unassigned: refused from then on.
    let d = server.gql(
        "mutation($a: ID!) { unassignServiceAccountFromAgent(input: {agentId: $a}) { agent { serviceAccountPath } problems { code } } }",
        json!({ "a": runner }),
    );
    assert_eq!(
        d["unassignServiceAccountFromAgent"]["agent"]["serviceAccountPath"],
        Value::Null,
        "{d}"
    );
    let refused = open_session(&server, "acme-runner", &sa_token)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    // A token that no trust policy accepts stops the agent with the reason.
    std::fs::write(
        &token_file,
        ci.token("phobos", json!({ "sub": "someone-else" })),
    )
    .unwrap();
    assign(&runner, "acme/agents");
    let status = std::process::Command::new(support::bin_dir().join("phobos-agent"))
        .args(["--server-url", &grpc, "--name", "acme-runner"])
        .args(["--service-account-path", "acme/agents"])
        .arg("--service-account-token-file")
        .arg(&token_file)
        .env_clear()
        .output()
        .unwrap();
    assert!(!status.status.success());
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        stderr.contains("refused to sign in as service account \"acme/agents\""),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
