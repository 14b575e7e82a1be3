//! TLS (`PHOBOS_TLS_*`): HTTPS and gRPC with a certificate made at test
//! time by a private CA. The internal agent and its executors, and an
//! agent process given the CA file, run jobs over TLS; clients that do not
//! trust the certificate are refused; a wrong key stops start-up.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::json;
use support::{bin_dir, AgentProcess};

/// A CA, and a server certificate it signed for `phobos.test` and
/// 127.0.0.1, written to `dir`: `ca.pem`, `server.pem` (the certificate,
/// then the CA's), `server.key`, and `other.key` (a key of nothing).
struct Certificates {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    other_key: PathBuf,
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

fn certificates(dir: &Path) -> Certificates {
    let (ca_pem, issuer) = ca("Phobos test CA");
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["phobos.test".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let c = Certificates {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
        other_key: dir.join("other.key"),
    };
    std::fs::write(&c.ca, &ca_pem).unwrap();
    std::fs::write(&c.cert, format!("{}{ca_pem}", cert.pem())).unwrap();
    std::fs::write(&c.key, key.serialize_pem()).unwrap();
    std::fs::write(&c.other_key, KeyPair::generate().unwrap().serialize_pem()).unwrap();
    c
}

fn temp_dir() -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("phobos-e2e-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tls_env(c: &Certificates) -> Vec<(&'static str, String)> {
    vec![
        ("PHOBOS_TLS_ENABLED", "true".into()),
        ("PHOBOS_TLS_CERT_FILE", c.cert.display().to_string()),
        ("PHOBOS_TLS_KEY_FILE", c.key.display().to_string()),
    ]
}

#[tokio::test]
async fn https_and_grpc_over_tls_run_jobs_and_refuse_clients_that_do_not_trust_the_certificate() {
    let dir = temp_dir();
    let c = certificates(&dir);
    let env = tls_env(&c);
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = support::start_with("tls", 1, &extra).await;
    assert_eq!(server.scheme, "https");
    server.login();
    let project = server.project("acme", "web");

    // The internal agent dials 127.0.0.1 and checks the certificate
    // against its DNS name; its executors report over TLS too.
    let hello = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello.hcl"),
    )
    .unwrap();
    let pipeline = server.run_pipeline(&project, &hello);
    let done = server.wait_finished(&pipeline, Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let logs: String = done["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["logs"]["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(logs.contains("step 3"), "{logs}");

    // An agent process given the CA file (the private CA only).
    let (agent_id, token) = server.agent_token("ext", None, &["tls-ext"], false);
    let grpc_url = format!("https://127.0.0.1:{}", server.grpc);
    let log = dir.join("agent.log");
    let out = std::fs::File::create(&log).unwrap();
    let _agent = AgentProcess(
        AgentProcess::command(&grpc_url, "ext", &token)
            .args(["--ca-file", c.ca.to_str().unwrap()])
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap(),
    );
    let pipeline = server.run_pipeline(
        &project,
        r#"
stage "s" {
  task "t" {
    agent { tags = ["tls-ext"] }
    action "exec_command" { command = "echo over tls" }
  }
}
"#,
    );
    let done = server.wait_finished(&pipeline, Duration::from_secs(60));
    assert_eq!(
        done["status"],
        "SUCCEEDED",
        "{done}\n--- agent ---\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(done["jobs"][0]["agentId"], json!(agent_id));
    assert!(done["jobs"][0]["logs"]["text"]
        .as_str()
        .unwrap()
        .contains("over tls"));

    // The container health check speaks TLS, trusting the server's file.
    let status = Command::new(bin_dir().join("phobos"))
        .arg("healthcheck")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("PHOBOS_HTTP_SERVER_PORT", server.http.to_string())
        .status()
        .unwrap();
    assert!(status.success());

    // Plain HTTP on the HTTPS port gets no answer.
    assert!(
        ureq::get(&format!("http://127.0.0.1:{}/healthz", server.http))
            .call()
            .is_err()
    );
    // An HTTPS client trusting another CA is refused.
    let (other_ca, _) = ca("Another CA");
    let stranger = support::https_client(other_ca.as_bytes());
    let e = stranger
        .get(format!("{}/healthz", server.base()))
        .call()
        .unwrap_err();
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    // A gRPC client trusting the machine's roots is refused; with the CA
    // it connects.
    let refused = phobos_proto::endpoint(&grpc_url, &Default::default())
        .unwrap()
        .connect()
        .await;
    let e = refused.unwrap_err();
    assert!(
        format!("{e:?}").to_lowercase().contains("certificate"),
        "{e:?}"
    );
    let trusted = phobos_proto::ServerTrust {
        ca_pem: Some(std::fs::read_to_string(&c.ca).unwrap()),
        domain: Some("phobos.test".into()),
    };
    phobos_proto::endpoint(&grpc_url, &trusted)
        .unwrap()
        .connect()
        .await
        .expect("a client trusting the CA connects");
    // A name the certificate is not for is refused even with the CA.
    let wrong_name = phobos_proto::ServerTrust {
        domain: Some("elsewhere.test".into()),
        ..trusted
    };
    assert!(phobos_proto::endpoint(&grpc_url, &wrong_name)
        .unwrap()
        .connect()
        .await
        .is_err());
}

fn serve(env: &[(&str, String)]) -> std::process::Output {
    Command::new(bin_dir().join("phobos"))
        .arg("serve")
        .env_clear()
        .env("PHOBOS_OBJECT_STORE_PLUGIN_TYPE", "filesystem")
        .env(
            "PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY",
            "/tmp/phobos-tls-test-objects",
        )
        // Nothing listens here: TLS is checked before the database.
        .env("PHOBOS_DB_PORT", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap()
}

#[test]
fn a_wrong_key_or_a_missing_file_stops_start_up_naming_the_variable() {
    let dir = temp_dir();
    let c = certificates(&dir);

    let mut env = tls_env(&c);
    env[2].1 = c.other_key.display().to_string();
    let out = serve(&env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("PHOBOS_TLS_KEY_FILE"), "{stderr}");
    assert!(stderr.contains("does not fit the certificate"), "{stderr}");
    assert!(
        !stderr.contains("PHOBOS_DB"),
        "TLS is checked first: {stderr}"
    );
    // The key's text never reaches the message.
    let key = std::fs::read_to_string(&c.other_key).unwrap();
    let body = key.lines().nth(1).unwrap();
    assert!(!stderr.contains(body), "{stderr}");

    let mut env = tls_env(&c);
    env[1].1 = dir.join("missing.pem").display().to_string();
    let out = serve(&env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("PHOBOS_TLS_CERT_FILE: cannot read") && stderr.contains("missing.pem"),
        "{stderr}"
    );

    // A key where the certificate belongs.
    let mut env = tls_env(&c);
    env[1].1 = c.key.display().to_string();
    let out = serve(&env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PHOBOS_TLS_CERT_FILE"), "{stderr}");
    assert!(stderr.contains("holds no certificate"), "{stderr}");

    // Enabled without files; files without enabling.
    let out = serve(&[("PHOBOS_TLS_ENABLED", "true".into())]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PHOBOS_TLS_CERT_FILE: is required with PHOBOS_TLS_ENABLED=true"),
        "{stderr}"
    );
    let out = serve(&[("PHOBOS_TLS_KEY_FILE", c.key.display().to_string())]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PHOBOS_TLS_KEY_FILE: is set but PHOBOS_TLS_ENABLED is not true"),
        "{stderr}"
    );

    // check-config reads the files too.
    let mut env = tls_env(&c);
    env[2].1 = c.other_key.display().to_string();
    let out = Command::new(bin_dir().join("phobos"))
        .arg("check-config")
        .env_clear()
        .env("PHOBOS_OBJECT_STORE_PLUGIN_TYPE", "filesystem")
        .env("PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY", "/tmp/x")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not fit the certificate"));
}
