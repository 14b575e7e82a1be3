//! Runs the real `phobos` binary against a fresh database of the test
//! PostgreSQL (`cargo xtask test` provides it), and talks to it over HTTP.

#![allow(dead_code)]

pub mod oidc;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const ADMIN: &str = "admin@phobos.test";
pub const PASSWORD: &str = "correct horse battery staple";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn bin_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_phobos"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub struct Server {
    child: Child,
    pub http: u16,
    pub grpc: u16,
    pub log: PathBuf,
    token: Option<String>,
    /// The environment it was started with (for restarts).
    env: Vec<(String, String)>,
    /// Its database.
    pub db: sqlx::postgres::PgConnectOptions,
    /// `http`, or `https` when it was started with `PHOBOS_TLS_ENABLED`.
    pub scheme: &'static str,
    /// The HTTP client of the helpers: over TLS it trusts the certificates
    /// of `PHOBOS_TLS_CERT_FILE`.
    pub client: ureq::Agent,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM, so it stops its agents; then make sure.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `phobos serve` on a fresh database with `internal_agents` local
/// agents, and waits until it answers.
pub async fn start(name: &str, internal_agents: usize) -> Server {
    start_with(name, internal_agents, &[]).await
}

/// [`start`], with `extra` added to the server's environment.
pub async fn start_with(name: &str, internal_agents: usize, extra: &[(&str, &str)]) -> Server {
    let opts = phobos_commands::testing::fresh_database(name)
        .await
        .expect("test database");
    start_on(name, opts, internal_agents, extra)
}

/// Another instance on the database `opts` (e.g. another server's `db`).
pub fn start_on(
    name: &str,
    opts: sqlx::postgres::PgConnectOptions,
    internal_agents: usize,
    extra: &[(&str, &str)],
) -> Server {
    let (http, grpc) = (free_port(), free_port());
    let dir = std::env::temp_dir().join(format!(
        "phobos-e2e-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("server.log");
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ("RUST_LOG".into(), "info,phobos=debug".into()),
        ("PHOBOS_DB_HOST".into(), opts.get_host().into()),
        ("PHOBOS_DB_PORT".into(), opts.get_port().to_string()),
        ("PHOBOS_DB_USERNAME".into(), opts.get_username().into()),
        ("PHOBOS_DB_NAME".into(), opts.get_database().unwrap().into()),
        ("PHOBOS_DB_SSL_MODE".into(), "disable".into()),
        ("PHOBOS_ADMIN_USER_EMAIL".into(), ADMIN.into()),
        ("PHOBOS_ADMIN_USER_PASSWORD".into(), PASSWORD.into()),
        ("PHOBOS_HTTP_SERVER_PORT".into(), http.to_string()),
        // Tests poll and race on purpose; `tests/limits.rs` tests the limit.
        ("PHOBOS_HTTP_RATE_LIMIT".into(), "0".into()),
        ("PHOBOS_GRPC_SERVER_PORT".into(), grpc.to_string()),
        (
            "PHOBOS_OBJECT_STORE_PLUGIN_TYPE".into(),
            "filesystem".into(),
        ),
        (
            "PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY".into(),
            dir.join("objects").display().to_string(),
        ),
    ];
    for i in 0..internal_agents {
        env.push((
            format!("PHOBOS_INTERNAL_AGENTS_{i}_NAME"),
            format!("internal-{i}"),
        ));
        env.push((
            format!("PHOBOS_INTERNAL_AGENTS_{i}_JOB_DISPATCHER_TYPE"),
            "local".into(),
        ));
        env.push((
            format!("PHOBOS_INTERNAL_AGENTS_{i}_JOB_DISPATCHER_DATA_EXECUTOR_PATH"),
            bin_dir().join("phobos-job-executor").display().to_string(),
        ));
    }
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let cert_file = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PHOBOS_TLS_CERT_FILE")
        .map(|(_, v)| PathBuf::from(v));
    let (scheme, client) = match cert_file {
        Some(file) => ("https", https_client(&std::fs::read(file).unwrap())),
        None => ("http", ureq::Agent::new_with_defaults()),
    };
    let child = spawn(&env, &log);
    let mut server = Server {
        child,
        http,
        grpc,
        log,
        token: None,
        env,
        db: opts.clone(),
        scheme,
        client,
    };
    server.wait_ready();
    server
}

/// An HTTPS client trusting only the PEM certificates `pem`.
pub fn https_client(pem: &[u8]) -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
    let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(pem)
        .filter_map(|item| match item.unwrap() {
            ureq::tls::PemItem::Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::new_with_certs(&certs))
        .unversioned_rustls_crypto_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .build()
        .new_agent()
}

fn spawn(env: &[(String, String)], log: &std::path::Path) -> Child {
    let out = std::fs::File::options()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_phobos"))
        .arg("serve")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("start phobos")
}

impl Server {
    /// Waits until it answers on /healthz.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.client.get(self.base() + "/healthz").call() {
                if r.status() == 200 {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("phobos exited with {status}:\n{}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "phobos did not answer:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `kill -9`: no shutdown at all. Its executors live on.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same database, ports and environment.
    pub fn restart(&mut self) {
        self.child = spawn(&self.env, &self.log);
        self.wait_ready();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        self.base() + "/graphql"
    }

    /// `http://127.0.0.1:PORT` (or `https://…`).
    pub fn base(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.http)
    }

    /// Runs a GraphQL request; returns the whole response.
    pub fn raw(&self, query: &str, variables: Value) -> Value {
        self.raw_as(self.token.as_deref(), query, variables)
    }

    /// [`raw`](Self::raw) with `token` (None: anonymous).
    pub fn raw_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self
            .client
            .post(self.url())
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", &format!("Bearer {t}"));
        }
        let mut resp = req
            .send_json(json!({ "query": query, "variables": variables }))
            .expect("graphql request");
        resp.body_mut().read_json().expect("graphql json")
    }

    /// Runs a GraphQL request and returns `data`, failing on errors.
    pub fn gql(&self, query: &str, variables: Value) -> Value {
        let v = self.raw(query, variables);
        assert!(v.get("errors").is_none(), "GraphQL errors: {v}");
        v["data"].clone()
    }

    pub fn login(&mut self) -> String {
        let d = self.gql(
            "mutation($i: LoginInput!) { login(input: $i) { accessToken problems { message } } }",
            json!({ "i": { "email": ADMIN, "password": PASSWORD } }),
        );
        let t = d["login"]["accessToken"]
            .as_str()
            .expect("a token")
            .to_string();
        self.token = Some(t.clone());
        t
    }

    /// Organization + project; returns the project id.
    pub fn project(&self, org: &str, project: &str) -> String {
        let d = self.gql(
            "mutation($n: String!) { createOrganization(input: {name: $n}) { problems { message } } }",
            json!({ "n": org }),
        );
        assert_eq!(d["createOrganization"]["problems"], json!([]));
        let d = self.gql(
            "mutation($o: String!, $n: String!) { createProject(input: {organizationName: $o, name: $n}) { project { id } problems { message } } }",
            json!({ "o": org, "n": project }),
        );
        d["createProject"]["project"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Creates an agent (SHARED when `organization` is None) and a credential
    /// for it; returns the agent's id and the token.
    pub fn agent_token(
        &self,
        name: &str,
        organization: Option<&str>,
        tags: &[&str],
        run_untagged_jobs: bool,
    ) -> (String, String) {
        let d = self.gql(
            "mutation($i: CreateAgentInput!) { createAgent(input: $i) { agent { id } problems { message field } } }",
            json!({ "i": {
                "name": name,
                "type": if organization.is_some() { "ORGANIZATION" } else { "SHARED" },
                "organizationName": organization,
                "tags": tags,
                "runUntaggedJobs": run_untagged_jobs,
            } }),
        );
        assert_eq!(d["createAgent"]["problems"], json!([]), "{d}");
        let id = d["createAgent"]["agent"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let d = self.gql(
            "mutation($i: CreateAgentTokenInput!) { createAgentToken(input: $i) { token problems { message } } }",
            json!({ "i": { "agentId": id } }),
        );
        assert_eq!(d["createAgentToken"]["problems"], json!([]), "{d}");
        let token = d["createAgentToken"]["token"].as_str().unwrap().to_string();
        (id, token)
    }

    /// Uploads a template and creates a pipeline from it; returns its id.
    pub fn run_pipeline(&self, project_id: &str, hcl: &str) -> String {
        let d = self.gql(
            "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id } problems { message line column } } }",
            json!({ "i": { "projectId": project_id, "hcl": hcl } }),
        );
        assert_eq!(d["createPipelineTemplate"]["problems"], json!([]), "{d}");
        let tid = d["createPipelineTemplate"]["pipelineTemplate"]["id"]
            .as_str()
            .unwrap();
        let d = self.gql(
            "mutation($i: CreatePipelineInput!) { createPipeline(input: $i) { pipeline { id } problems { message } } }",
            json!({ "i": { "pipelineTemplateId": tid } }),
        );
        assert_eq!(d["createPipeline"]["problems"], json!([]), "{d}");
        d["createPipeline"]["pipeline"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Polls until the pipeline finishes; returns its final state.
    pub fn wait_finished(&self, pipeline_id: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let d = self.gql(
                "query($id: ID!) { pipeline(id: $id) { status reason stages { name status nodes { path status reason outputs } } jobs { nodePath status message agentId logs { text } } } }",
                json!({ "id": pipeline_id }),
            );
            let status = d["pipeline"]["status"].as_str().unwrap_or("").to_string();
            if status == "SUCCEEDED" || status == "FAILED" || status == "CANCELED" {
                return d["pipeline"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "pipeline still {status}: {d}\n--- server log ---\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A TCP load balancer on 127.0.0.1, as in front of several instances: each
/// new connection goes to the next backend that accepts it. Runs until the
/// test ends.
pub struct Balancer {
    pub port: u16,
}

impl Balancer {
    pub async fn start(backends: Vec<u16>) -> Balancer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut next = 0usize;
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let order: Vec<u16> = (0..backends.len())
                    .map(|i| backends[(next + i) % backends.len()])
                    .collect();
                next += 1;
                tokio::spawn(async move {
                    for port in order {
                        if let Ok(mut server) =
                            tokio::net::TcpStream::connect(("127.0.0.1", port)).await
                        {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            return;
                        }
                    }
                });
            }
        });
        Balancer { port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A `phobos-agent` process, killed when dropped.
pub struct AgentProcess(pub std::process::Child);

impl AgentProcess {
    /// The command that starts agent `name` with its credential `token`.
    pub fn command(server_url: &str, name: &str, token: &str) -> Command {
        let mut command = Command::new(bin_dir().join("phobos-agent"));
        command
            .args(["--server-url", server_url])
            .args(["--name", name])
            .args([
                "--executor-path",
                bin_dir().join("phobos-job-executor").to_str().unwrap(),
            ])
            .env("PHOBOS_AGENT_TOKEN", token);
        command
    }

    /// Starts it, its output discarded.
    pub fn start(server_url: &str, name: &str, token: &str) -> AgentProcess {
        AgentProcess(
            Self::command(server_url, name, token)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start phobos-agent"),
        )
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A gRPC request with `authorization: Bearer <token>`.
pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// An S3-compatible server (`s3s-fs`, which checks request signatures) with
/// one bucket, stopped when dropped; `None` (the test is skipped, saying
/// so) where it is not installed, except under CI, whose `.ci/run`
/// installs it.
pub struct S3Server {
    child: Child,
    pub port: u16,
    root: PathBuf,
}

pub const S3_ACCESS_KEY: &str = "phobos-test-key";
pub const S3_SECRET_KEY: &str = "phobos-test-secret-3f9a";

impl S3Server {
    pub fn start(bucket: &str) -> Option<S3Server> {
        let Some(bin) = installed("s3s-fs", ".cargo/bin") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "s3s-fs is not installed; .ci/run installs it"
            );
            println!("SKIPPED: s3s-fs is not installed (cargo install s3s-fs@0.14.1 --locked --features binary)");
            return None;
        };
        let root = std::env::temp_dir().join(format!("phobos-s3-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(root.join(bucket)).unwrap();
        let port = free_port();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3_ACCESS_KEY, "--secret-key", S3_SECRET_KEY])
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        wait_listening(port, "s3s-fs", 20);
        Some(S3Server { child, port, root })
    }

    /// The server's environment for the `aws_s3` object store on `bucket`.
    pub fn env(&self, bucket: &str, secret: &str) -> Vec<(String, String)> {
        vec![
            ("PHOBOS_OBJECT_STORE_PLUGIN_TYPE".into(), "aws_s3".into()),
            (
                "PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET".into(),
                bucket.into(),
            ),
            (
                "PHOBOS_OBJECT_STORE_PLUGIN_DATA_REGION".into(),
                "us-east-1".into(),
            ),
            (
                "PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID".into(),
                S3_ACCESS_KEY.into(),
            ),
            (
                "PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY".into(),
                secret.into(),
            ),
            (
                "PHOBOS_OBJECT_STORE_PLUGIN_DATA_ENDPOINT".into(),
                format!("http://127.0.0.1:{}", self.port),
            ),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// moto's server (KMS, and the other AWS APIs it fakes), stopped when
/// dropped; `None` (the test is skipped, saying so) where it is not
/// installed, except under CI, whose `.ci/run` installs it.
pub struct MotoServer {
    child: Child,
    pub port: u16,
}

/// `name` on `PATH`, or in `$HOME/{home_dir}` (where `.ci/run` installs
/// it).
fn installed(name: &str, home_dir: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home.map(|h| h.join(home_dir)))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl MotoServer {
    pub fn start() -> Option<MotoServer> {
        // `.ci/run` installs moto (`pip install 'moto[server]'`) in a venv.
        let Some(bin) = installed("moto_server", ".cache/moto-venv/bin") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "moto_server is not installed; .ci/run installs it"
            );
            println!("SKIPPED: moto is not installed (python3 -m venv ~/.cache/moto-venv && ~/.cache/moto-venv/bin/pip install 'moto[server]')");
            return None;
        };
        let port = free_port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        wait_listening(port, "moto_server", 30);
        Some(MotoServer { child, port })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The AWS environment that points an SDK at it.
    pub fn aws_env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), "phobos-test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "phobos-test-secret".into()),
            ("AWS_ENDPOINT_URL".into(), self.url()),
        ]
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `n` items of a subscription over graphql-transport-ws, signed in
/// as the administrator: `field` is the subscription's root field. Fewer
/// when the server completes the stream first.
#[allow(dead_code)]
pub fn subscribe(
    server: &Server,
    query: &str,
    variables: Value,
    field: &str,
    n: usize,
) -> Vec<Value> {
    if n == 0 {
        return Vec::new();
    }
    let mut seen = 0;
    subscribe_until(server, query, variables, field, |_| {
        seen += 1;
        seen >= n
    })
}

/// The events of a subscription, up to and including the first for which
/// `last` is true (or until the server completes it).
#[allow(dead_code)]
pub fn subscribe_until(
    server: &Server,
    query: &str,
    variables: Value,
    field: &str,
    mut last: impl FnMut(&Value) -> bool,
) -> Vec<Value> {
    use tungstenite::Message;
    let url = format!("ws://127.0.0.1:{}/graphql", server.http);
    let mut req =
        tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let stream = std::net::TcpStream::connect(("127.0.0.1", server.http)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let (mut ws, _) = tungstenite::client(req, stream).expect("websocket");
    let token = server.raw(
        "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        serde_json::json!({ "i": { "email": ADMIN, "password": PASSWORD } }),
    )["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    ws.send(Message::text(serde_json::json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }).to_string())).unwrap();
    ws.send(Message::text(
        serde_json::json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } })
            .to_string(),
    ))
    .unwrap();
    let mut out = Vec::new();
    loop {
        let msg = ws.read().expect("subscription message");
        let Message::Text(t) = msg else { continue };
        let v: Value = serde_json::from_str(&t).unwrap();
        match v["type"].as_str() {
            Some("next") => {
                if let Some(errors) = v["payload"].get("errors") {
                    panic!("subscription event with errors: {errors}");
                }
                let event = v["payload"]["data"][field].clone();
                let done = last(&event);
                out.push(event);
                if done {
                    break;
                }
            }
            Some("error") => panic!("subscription error: {v}"),
            Some("complete") => break,
            _ => {}
        }
    }
    let _ = ws.close(None);
    out
}

/// The DOM of `url` after `budget_ms` of virtual time, as headless
/// Chromium renders it with every host but 127.0.0.1 unresolvable:
/// `(dom, stderr)`. None where Chromium is not installed (refused under
/// `CI`, which .ci/run sets and installs it for).
#[allow(dead_code)]
pub fn dump_dom(url: &str, budget_ms: u32) -> Option<(String, String)> {
    let Some(chromium) = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed; .ci/run installs it"
        );
        println!("SKIPPED the browser half: chromium is not installed (apt-get install chromium)");
        return None;
    };
    let profile = std::env::temp_dir().join(format!("phobos-chromium-{}", uuid::Uuid::new_v4()));
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Every other host is unreachable.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--dump-dom",
        ])
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    Some((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn quoted_printable(s: &str) -> String {
    let s = s.replace("=\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An SMTP server that keeps every mail it receives: aiosmtpd's Mailbox
/// handler writing a Maildir (`.ci/run` installs aiosmtpd in moto's venv).
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One received mail: its headers (lower-case names) and raw text.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub headers: Vec<(String, String)>,
    pub raw: String,
}

impl ReceivedMail {
    /// Each part of a multipart mail: its content type and its body,
    /// decoded (quoted-printable or base64).
    pub fn parts(&self) -> Vec<(String, String)> {
        let raw = self.raw.replace("\r\n", "\n");
        let Some(boundary) = raw
            .split("boundary=\"")
            .nth(1)
            .and_then(|b| b.split('"').next())
        else {
            return vec![];
        };
        raw.split(&format!("--{boundary}"))
            .skip(1)
            // The closing delimiter is `--BOUNDARY--`.
            .take_while(|part| !part.starts_with("--"))
            .filter_map(|part| {
                let (head, body) = part.trim_start_matches('\n').split_once("\n\n")?;
                let header = |name: &str| {
                    head.lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                        })
                        .unwrap_or_default()
                };
                let body = match header("content-transfer-encoding").as_str() {
                    "base64" => {
                        use base64::Engine as _;
                        let compact: String = body.split_whitespace().collect();
                        String::from_utf8_lossy(
                            &base64::engine::general_purpose::STANDARD
                                .decode(compact)
                                .unwrap_or_default(),
                        )
                        .into_owned()
                    }
                    "quoted-printable" => quoted_printable(body),
                    _ => body.to_string(),
                };
                Some((header("content-type"), body))
            })
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Waits until `what`, started on 127.0.0.1:`port`, listens: at most
/// `seconds`.
pub fn wait_listening(port: u16, what: &str, seconds: u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The Python of `.ci/run`'s venv (`~/.cache/moto-venv`) when `module`
/// imports in it; outside CI, None after saying the test is skipped.
pub fn python_with(module: &str) -> Option<PathBuf> {
    let python = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".cache/moto-venv/bin/python3");
    let imports = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if imports {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{module} is not installed; .ci/run installs it"
    );
    println!("SKIPPED: {module} is not installed (~/.cache/moto-venv/bin/pip install {module})");
    None
}

impl SmtpSink {
    pub fn start() -> Option<SmtpSink> {
        let python = python_with("aiosmtpd")?;
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("phobos-e2e-smtp-{}", uuid::Uuid::new_v4().simple()));
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        wait_listening(port, "aiosmtpd", 30);
        Some(SmtpSink { child, port, dir })
    }

    /// Every mail received so far.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.dir.join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                let raw = std::fs::read_to_string(e.path()).unwrap_or_default();
                let head = raw.split("\n\n").next().unwrap_or("").replace("\r\n", "\n");
                let mut headers: Vec<(String, String)> = Vec::new();
                for line in head.lines() {
                    if line.starts_with([' ', '\t']) {
                        if let Some(last) = headers.last_mut() {
                            last.1.push(' ');
                            last.1.push_str(line.trim());
                        }
                    } else if let Some((k, v)) = line.split_once(':') {
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                    }
                }
                out.push(ReceivedMail { headers, raw });
            }
        }
        out
    }

    /// Waits until `n` mails have arrived (and a moment more, so a
    /// duplicate would show), then returns them.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                std::thread::sleep(Duration::from_millis(1500));
                return self.mails();
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} mails arrived: {mails:?}",
                mails.len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Whether a real-browser test can run here: Chromium, Node and the UI's
/// node_modules (playwright-core) present. Where one is missing it prints
/// `skipped: …` and answers false; under CI, which installs them, it fails
/// the test instead.
pub fn browser_available() -> bool {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui");
    let missing = if !Path::new("/usr/bin/chromium").exists() {
        "/usr/bin/chromium not found (apt-get install chromium)"
    } else if Command::new("node").arg("--version").output().is_err() {
        "node not found (apt-get install nodejs)"
    } else if !ui.join("node_modules/playwright-core").exists() {
        "ui/node_modules has no playwright-core (cargo xtask ui runs npm ci)"
    } else {
        return true;
    };
    skip(missing);
    false
}

/// Whether `server` serves the built UI (else skipped, or failed under CI).
pub fn serves_ui(server: &Server) -> bool {
    let root = ureq::get(&server.base())
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    if root.contains("built without its web UI") {
        skip("this phobos was built without ui/dist (cargo xtask ui builds it)");
        return false;
    }
    true
}

fn skip(what: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what}; .ci/run installs it and `cargo xtask test` builds the UI first"
    );
    println!("skipped: {what}");
}
