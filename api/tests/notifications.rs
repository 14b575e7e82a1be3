//! Email notifications against real receivers: an SMTP sink (aiosmtpd), a
//! Plunk-like HTTP server in the test, and SES through moto's server.
//! Approval requested goes to the users and team members a node's rules
//! name, a failed pipeline to its creator, a completed release to its
//! creator and participants; each mail has a text and an HTML part, the
//! link at PHOBOS_UI_URL and the footer; a restart sends nothing twice; a
//! send that keeps failing ends FAILED with the provider's answer, which
//! an admin reads.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::oidc::Issuer;

const CLIENT_ID: &str = "phobos-test";
const UI: &str = "http://ui.phobos.test";
const FOOTER: &str = "Sent by the Phobos notification test";
const NOTIFICATIONS: &str = "query($s: NotificationStatus) { notifications(status: $s) { kind status recipient username subject link attempts lastError sentAt } }";

fn oidc_env(issuer: &Issuer) -> Vec<(&'static str, String)> {
    vec![
        ("PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL", issuer.url.clone()),
        ("PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID", CLIENT_ID.into()),
        (
            "PHOBOS_OAUTH_PROVIDERS_0_USERNAME_CLAIM",
            "preferred_username".into(),
        ),
        ("PHOBOS_UI_URL", UI.into()),
        ("PHOBOS_EMAIL_FOOTER", FOOTER.into()),
    ]
}

fn token(issuer: &Issuer, user: &str, email: Option<&str>) -> String {
    let mut claims = json!({ "sub": format!("sub-{user}"), "preferred_username": user });
    if let Some(e) = email {
        claims["email"] = json!(e);
    }
    issuer.token(CLIENT_ID, claims)
}

/// Signs `user` in once, so it exists (with `email`).
fn sign_in(server: &support::Server, issuer: &Issuer, user: &str, email: Option<&str>) {
    let r = server.raw_as(
        Some(&token(issuer, user, email)),
        "{ me { name } }",
        json!({}),
    );
    assert!(r.get("errors").is_none(), "{r}");
}

fn create_pipeline(server: &support::Server, project: &str, hcl: &str) -> String {
    server.run_pipeline(project, hcl)
}

fn notifications(server: &support::Server, status: Option<&str>) -> Vec<Value> {
    let d = server.gql(NOTIFICATIONS, json!({ "s": status }));
    d["notifications"].as_array().unwrap().clone()
}

fn wait_notifications(
    server: &support::Server,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = notifications(server, None);
        if done(&n) {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {n:?}\n--- server log ---\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test]
async fn smtp_mails_approvers_and_the_creator_of_a_failed_pipeline_once() {
    let Some(sink) = support::SmtpSink::start() else {
        return;
    };
    let issuer = Issuer::start();
    let mut env = oidc_env(&issuer);
    env.extend([
        ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "smtp".to_string()),
        (
            "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_HOST",
            "127.0.0.1".into(),
        ),
        (
            "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PORT",
            sink.port.to_string(),
        ),
        (
            "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS",
            "phobos@phobos.test".into(),
        ),
        ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_DISABLE_TLS", "true".into()),
    ]);
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = support::start_with("notify_smtp", 1, &extra).await;
    server.login();
    let project = server.project("acme", "web");

    // bob is named by the rule, carol through her team; dave is in the
    // team too but has no address.
    sign_in(&server, &issuer, "bob", Some("bob@phobos.test"));
    sign_in(&server, &issuer, "carol", Some("carol@phobos.test"));
    sign_in(&server, &issuer, "dave", None);
    server.gql(
        "mutation { createTeam(input: {name: \"reviewers\"}) { problems { message } } }",
        json!({}),
    );
    for u in ["carol", "dave"] {
        let d = server.gql(
            "mutation($u: String!) { addTeamMember(input: {teamName: \"reviewers\", username: $u}) { problems { message } } }",
            json!({ "u": u }),
        );
        assert_eq!(d["addTeamMember"]["problems"], json!([]), "{d}");
    }
    let d = server.gql(
        "mutation { createApprovalRule(input: {organizationName: \"acme\", name: \"release-gate\", users: [\"bob\"], teams: [\"reviewers\"], approvalsRequired: 1}) { approvalRule { id } problems { message } } }",
        json!({}),
    );
    assert_eq!(d["createApprovalRule"]["problems"], json!([]), "{d}");
    let rule = d["createApprovalRule"]["approvalRule"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let gated = create_pipeline(
        &server,
        &project,
        &format!(
            "stage \"s\" {{\n  task \"gate\" {{\n    approval_rules = [\"{rule}\"]\n  }}\n}}\n"
        ),
    );
    let failing = create_pipeline(
        &server,
        &project,
        "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" { command = \"exit 3\" }\n  }\n}\n",
    );
    let done = server.wait_finished(&failing, Duration::from_secs(60));
    assert_eq!(done["status"], "FAILED");

    let mails = sink.wait_for(3, Duration::from_secs(60));
    assert_eq!(mails.len(), 3, "{mails:?}");
    let to: BTreeSet<&str> = mails.iter().filter_map(|m| m.header("to")).collect();
    assert_eq!(
        to,
        BTreeSet::from(["admin@phobos.test", "bob@phobos.test", "carol@phobos.test"])
    );
    for m in &mails {
        assert_eq!(m.header("from"), Some("phobos@phobos.test"));
        let subject = m.header("subject").unwrap();
        let (link, kind) = if m.header("to") == Some("admin@phobos.test") {
            assert!(
                subject.starts_with("Pipeline failed in acme/web"),
                "{subject}"
            );
            (format!("{UI}/pipelines/{failing}"), "failed")
        } else {
            assert_eq!(subject, "Approval requested: stage.s.task.gate in acme/web");
            (
                format!("{UI}/pipelines/{gated}?node=stage.s.task.gate"),
                "gate",
            )
        };
        assert!(m.raw.contains("multipart/alternative"), "{}", m.raw);
        let parts = m.parts();
        assert_eq!(parts.len(), 2, "{}", m.raw);
        let (plain, html) = (&parts[0], &parts[1]);
        assert!(plain.0.starts_with("text/plain"), "{parts:?}");
        assert!(html.0.starts_with("text/html"), "{parts:?}");
        assert!(
            plain.1.contains(&format!("Open it: {link}")),
            "{kind} {link}: {plain:?}"
        );
        assert!(
            html.1.contains(&format!("href=\"{link}\"")),
            "{kind}: {html:?}"
        );
        // Both parts end with the footer.
        assert!(plain.1.trim_end().ends_with(FOOTER), "{plain:?}");
        assert!(
            html.1.contains(&format!("{FOOTER}</p></body></html>")),
            "{html:?}"
        );
    }
    // The idempotency key (the notification's id) is the Message-ID.
    let ids: BTreeSet<&str> = mails
        .iter()
        .filter_map(|m| m.header("message-id"))
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    for id in &ids {
        let uuid = id
            .strip_prefix('<')
            .and_then(|i| i.strip_suffix("@phobos>"));
        assert!(
            uuid.is_some_and(|u| uuid::Uuid::parse_str(u).is_ok()),
            "{id}"
        );
    }

    // The admin reads each with its status; a user may not.
    let rows = wait_notifications(&server, "all sent", |n| {
        n.len() == 3 && n.iter().all(|r| r["status"] == "SENT")
    });
    let kinds: BTreeSet<(&str, &str)> = rows
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["username"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            ("APPROVAL_REQUESTED", "bob"),
            ("APPROVAL_REQUESTED", "carol"),
            ("PIPELINE_FAILED", "admin@phobos.test"),
        ])
    );
    assert!(rows
        .iter()
        .all(|r| r["attempts"] == 1 && r["lastError"].is_null()));
    let r = server.raw_as(
        Some(&token(&issuer, "bob", Some("bob@phobos.test"))),
        NOTIFICATIONS,
        json!({}),
    );
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");

    // kill -9 and a restart: the follower goes on from its checkpoint and
    // nothing is mailed twice.
    server.kill9();
    server.restart();
    server.login();
    let again = create_pipeline(
        &server,
        &project,
        "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" { command = \"false\" }\n  }\n}\n",
    );
    server.wait_finished(&again, Duration::from_secs(60));
    let mails = sink.wait_for(4, Duration::from_secs(60));
    assert_eq!(mails.len(), 4, "{mails:?}");
    assert_eq!(notifications(&server, None).len(), 4);
}

/// A stand-in for an HTTP mail API (Plunk's, SES's): records each request
/// (path, authorization, JSON body) and answers `first` to the first
/// request, `then` to the others (whole HTTP responses).
struct Recorder {
    port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<(String, String, Value)>>>,
}

/// Plunk's answers: 503 to the first request, 200 after.
const PLUNK_BUSY: &str = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 27\r\nconnection: close\r\n\r\n{\"error\":\"try again later\"}";
const PLUNK_OK: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 16\r\nconnection: close\r\n\r\n{\"success\":true}";

impl Recorder {
    async fn start(first: &'static str, then: &'static str) -> Recorder {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = requests.clone();
        let first_answer = first;
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let (head, body) = loop {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let length = head
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse::<usize>().ok())?
                                })
                                .unwrap_or(0);
                            if body.len() >= length {
                                break (head.to_string(), body[..length].to_string());
                            }
                        }
                    };
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                    let auth = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("authorization")
                                .then(|| v.trim().to_string())
                        })
                        .unwrap_or_default();
                    let first = {
                        let mut log = log.lock().unwrap();
                        log.push((
                            path,
                            auth,
                            serde_json::from_str(&body).unwrap_or(Value::Null),
                        ));
                        log.len() == 1
                    };
                    let answer = if first { first_answer } else { then };
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Recorder { port, requests }
    }

    fn requests(&self) -> Vec<(String, String, Value)> {
        self.requests.lock().unwrap().clone()
    }
}

const DEPLOY: &str = "variable \"version\" {\n  type = string\n}\nstage \"deploy\" {\n  task \"roll_out\" {\n    action \"exec_command\" { command = \"echo rolling out ${var.version}\" }\n  }\n}\n";
const LIFECYCLE: &str = "stage \"dev\" {\n  deployment {\n    environment = \"dev\"\n  }\n}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plunk_gets_a_completed_release_for_its_creator_and_participants_after_a_retry() {
    const KEY: &str = "pk_test_0123456789secret";
    let plunk = Recorder::start(PLUNK_BUSY, PLUNK_OK).await;
    let issuer = Issuer::start();
    let mut env = oidc_env(&issuer);
    env.extend([
        ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "plunk".to_string()),
        (
            "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT",
            format!("http://127.0.0.1:{}", plunk.port),
        ),
        ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY", KEY.into()),
        (
            "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS",
            "releases@phobos.test".into(),
        ),
        ("PHOBOS_EMAIL_MAX_ATTEMPTS", "3".into()),
    ]);
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = support::start_with("notify_plunk", 1, &extra).await;
    server.login();
    let project = server.project("acme", "web");
    sign_in(&server, &issuer, "bob", Some("bob@phobos.test"));
    let d = server.gql(
        "mutation($p: ID!) { createMembership(input: {projectId: $p, username: \"bob\", role: VIEWER}) { problems { message } } }",
        json!({ "p": project }),
    );
    assert_eq!(d["createMembership"]["problems"], json!([]), "{d}");

    let d = server.gql(
        "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id } problems { message } } }",
        json!({ "i": { "projectId": project, "name": "deploy", "hcl": DEPLOY } }),
    );
    let template = d["createPipelineTemplate"]["pipelineTemplate"]["id"].clone();
    let d = server.gql(
        "mutation($i: CreateReleaseLifecycleInput!) { createReleaseLifecycle(input: $i) { releaseLifecycle { id } problems { message } } }",
        json!({ "i": { "projectId": project, "name": "dev-only", "hcl": LIFECYCLE } }),
    );
    let lifecycle = d["createReleaseLifecycle"]["releaseLifecycle"]["id"].clone();
    let d = server.gql(
        "mutation($i: CreateReleaseInput!) { createRelease(input: $i) { release { id } problems { message } } }",
        json!({ "i": { "projectId": project, "lifecycleId": lifecycle, "semanticVersion": "1.4.0",
                       "deploymentTemplates": [{ "environmentName": "dev", "pipelineTemplateId": template }],
                       "variables": [{ "key": "version", "value": "1.4.0" }],
                       "participants": { "users": ["bob"] } } }),
    );
    assert_eq!(d["createRelease"]["problems"], json!([]), "{d}");
    let release = d["createRelease"]["release"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The first send is answered 503 and tried again 10 s later.
    let rows = wait_notifications(&server, "both sent", |n| {
        n.len() == 2 && n.iter().all(|r| r["status"] == "SENT")
    });
    let users: BTreeSet<&str> = rows
        .iter()
        .map(|r| r["username"].as_str().unwrap())
        .collect();
    assert_eq!(users, BTreeSet::from(["admin@phobos.test", "bob"]));
    let mut attempts: Vec<i64> = rows
        .iter()
        .map(|r| r["attempts"].as_i64().unwrap())
        .collect();
    attempts.sort();
    assert_eq!(attempts, [1, 2], "{rows:?}");
    for r in &rows {
        assert_eq!(r["kind"], "RELEASE_COMPLETED");
        assert_eq!(r["subject"], "Release 1.4.0 of acme/web completed");
        assert_eq!(r["link"], json!(format!("{UI}/releases/{release}")));
    }

    let requests = plunk.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    let to: BTreeSet<&str> = requests
        .iter()
        .map(|(_, _, b)| b["to"].as_str().unwrap())
        .collect();
    assert_eq!(to, BTreeSet::from(["admin@phobos.test", "bob@phobos.test"]));
    for (path, auth, body) in &requests {
        assert_eq!(path, "/v1/send");
        assert_eq!(auth, &format!("Bearer {KEY}"));
        assert_eq!(body["subject"], "Release 1.4.0 of acme/web completed");
        assert_eq!(body["from"], "releases@phobos.test");
        let html = body["body"].as_str().unwrap();
        assert!(
            html.contains(&format!("href=\"{UI}/releases/{release}\"")),
            "{html}"
        );
        assert!(html.contains(FOOTER), "{html}");
        assert!(uuid::Uuid::parse_str(
            body["headers"]["X-Phobos-Notification-Id"]
                .as_str()
                .unwrap()
        )
        .is_ok());
    }
    // The retry is the same mail, with the same key.
    let retried = &requests[0].2;
    assert!(requests[1..].iter().any(|(_, _, b)| b == retried));
    // The key never reaches the log.
    assert!(!server.log_text().contains(KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_through_moto_fails_for_an_unverified_sender_and_sends_once_verified() {
    let Some(moto) = support::MotoServer::start() else {
        return;
    };
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto.url())
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "phobos-test",
            "phobos-test-secret",
            None,
            None,
            "test",
        ))
        .load()
        .await;
    let ses = aws_sdk_sesv2::Client::new(&shared);
    ses.create_configuration_set()
        .configuration_set_name("phobos-mails")
        .send()
        .await
        .unwrap();
    let mut env: Vec<(String, String)> = moto.aws_env();
    env.extend(
        [
            ("PHOBOS_UI_URL", UI),
            ("PHOBOS_EMAIL_FOOTER", FOOTER),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "ses"),
            (
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS",
                "phobos@phobos.test",
            ),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_REGION", "us-east-1"),
            (
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_AWS_CONFIGURATION_SET_NAME",
                "phobos-mails",
            ),
            ("PHOBOS_EMAIL_MAX_ATTEMPTS", "1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut server = support::start_with("notify_ses", 1, &extra).await;
    server.login();
    let project = server.project("acme", "web");
    let failing = "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" { command = \"exit 1\" }\n  }\n}\n";

    // SES refuses a sender that is not a verified identity: one attempt,
    // then FAILED with SES's answer.
    let first = server.run_pipeline(&project, failing);
    server.wait_finished(&first, Duration::from_secs(60));
    let rows = wait_notifications(&server, "refused", |n| {
        n.len() == 1 && n[0]["status"] == "FAILED"
    });
    let error = rows[0]["lastError"].as_str().unwrap();
    assert!(error.starts_with("SES refused the mail"), "{error}");
    assert!(error.contains("phobos@phobos.test"), "{error}");
    assert_eq!(notifications(&server, Some("FAILED")).len(), 1);

    ses.create_email_identity()
        .email_identity("phobos@phobos.test")
        .send()
        .await
        .unwrap();

    let second = server.run_pipeline(&project, failing);
    server.wait_finished(&second, Duration::from_secs(60));
    wait_notifications(&server, "sent", |n| {
        n.iter().filter(|r| r["status"] == "SENT").count() == 1
    });
    let data: Value = ureq::get(&format!("{}/moto-api/data.json", moto.url()))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let text = data.to_string();
    assert!(text.contains("Pipeline failed in acme/web"), "{text}");
    assert!(text.contains("admin@phobos.test"), "{text}");
}

/// What goes to SES on the wire (moto's server does not keep it): a signed
/// `SendEmail` for the sender, recipient, configuration set and
/// notification tag configured, to an SES-compatible endpoint that records
/// it; the secret key never reaches the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_sends_a_signed_mail_in_its_configuration_set() {
    const SES_OK: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 24\r\nconnection: close\r\n\r\n{\"MessageId\":\"phobos-1\"}";
    const SECRET: &str = "ses-secret-key-never-logged";
    let ses = Recorder::start(SES_OK, SES_OK).await;
    let endpoint = format!("http://127.0.0.1:{}", ses.port);
    let extra = [
        ("AWS_ACCESS_KEY_ID", "phobos-ses-key"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("PHOBOS_UI_URL", UI),
        ("PHOBOS_EMAIL_FOOTER", FOOTER),
        ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "ses"),
        (
            "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS",
            "phobos@phobos.test",
        ),
        ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_REGION", "eu-west-1"),
        (
            "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_AWS_CONFIGURATION_SET_NAME",
            "phobos-mails",
        ),
    ];
    let mut server = support::start_with("notify_ses_wire", 1, &extra).await;
    server.login();
    let project = server.project("acme", "web");
    let failing = "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" { command = \"exit 1\" }\n  }\n}\n";
    let pipeline = server.run_pipeline(&project, failing);
    server.wait_finished(&pipeline, Duration::from_secs(60));
    let rows = wait_notifications(&server, "sent", |n| {
        n.len() == 1 && n[0]["status"] == "SENT"
    });
    assert_eq!(rows[0]["kind"], "PIPELINE_FAILED");

    let requests = ses.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let (path, auth, body) = &requests[0];
    assert_eq!(path, "/v2/email/outbound-emails");
    // SigV4 with the configured key, for SES in the configured region.
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=phobos-ses-key/")
            && auth.contains("/eu-west-1/ses/aws4_request"),
        "{auth}"
    );
    assert_eq!(body["ConfigurationSetName"], "phobos-mails", "{body}");
    assert_eq!(body["FromEmailAddress"], "phobos@phobos.test");
    assert_eq!(
        body["Destination"]["ToAddresses"],
        json!(["admin@phobos.test"])
    );
    let simple = &body["Content"]["Simple"];
    assert!(simple["Subject"]["Data"]
        .as_str()
        .unwrap()
        .starts_with("Pipeline failed in acme/web"));
    assert!(simple["Body"]["Text"]["Data"]
        .as_str()
        .unwrap()
        .contains(FOOTER));
    assert!(simple["Body"]["Html"]["Data"]
        .as_str()
        .unwrap()
        .contains(FOOTER));
    assert_eq!(body["EmailTags"][0]["Name"], "phobos-notification");
    assert!(!server.log_text().contains(SECRET));
}

/// With email off the notifications follower still reads the log (and
/// writes nothing), so turning email on later does not mail what happened
/// before: its checkpoint reaches the head of the log.
#[tokio::test(flavor = "multi_thread")]
async fn with_email_off_the_notifications_checkpoint_keeps_up() {
    let mut server = support::start("notify_off", 0).await;
    server.login();
    server.project("acme", "quiet");
    let pool = sqlx::PgPool::connect_with(server.db.clone()).await.unwrap();
    let head: i64 = sqlx::query_scalar("SELECT max(global_position) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT global_position FROM subscription_checkpoints WHERE name = 'notifications'",
        )
        .fetch_optional(&pool)
        .await
        .unwrap();
        if at.is_some_and(|at| at >= head) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the notifications checkpoint is at {at:?}, the log's head at {head}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(none, 0);
}

/// An SMTP sink that refuses mail from a client that has not signed in
/// (aiosmtpd's `auth_required`), accepts only `phobos` / `s3cret-pw`, and
/// writes each sign-in to a file.
const AUTH_SINK: &str = r#"
import sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, maildir, logins = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def authenticate(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"phobos" and data.password == b"s3cret-pw"
    login = data.login.decode() if isinstance(data, LoginPassword) else "?"
    with open(logins, "a") as f:
        f.write(f"{mechanism} {login} {'ok' if ok else 'refused'}\n")
    return AuthResult(success=ok)

Controller(Mailbox(maildir), hostname="127.0.0.1", port=port, authenticator=authenticate,
           auth_required=True, auth_require_tls=False).start()
while True:
    time.sleep(1)
"#;

/// `PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_USERNAME` and `_PASSWORD`: the server
/// signs in to an SMTP server that requires it, and the failed pipeline's
/// mail arrives.
#[tokio::test(flavor = "multi_thread")]
async fn smtp_signs_in_with_the_configured_username_and_password() {
    let Some(python) = support::python_with("aiosmtpd") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!(
        "phobos-e2e-smtp-auth-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("sink.py");
    std::fs::write(&script, AUTH_SINK).unwrap();
    let port = support::free_port();
    let logins = dir.join("logins");
    let mut sink = std::process::Command::new(&python)
        .arg(&script)
        .arg(port.to_string())
        .arg(dir.join("mail"))
        .arg(&logins)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the SMTP sink");
    support::wait_listening(port, "the SMTP sink", 30);

    let port = port.to_string();
    let extra = [
        ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "smtp"),
        ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_HOST", "127.0.0.1"),
        ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PORT", port.as_str()),
        (
            "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS",
            "phobos@phobos.test",
        ),
        ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_DISABLE_TLS", "true"),
        ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_USERNAME", "phobos"),
        ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PASSWORD", "s3cret-pw"),
    ];
    let mut server = support::start_with("notify_smtp_auth", 1, &extra).await;
    server.login();
    let project = server.project("acme", "web");
    let failing = create_pipeline(
        &server,
        &project,
        "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" { command = \"exit 3\" }\n  }\n}\n",
    );
    let done = server.wait_finished(&failing, Duration::from_secs(60));
    assert_eq!(done["status"], "FAILED");

    let inbox = dir.join("mail/new");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mail = loop {
        let first = std::fs::read_dir(&inbox)
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path());
        if let Some(path) = first {
            break std::fs::read_to_string(path).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no mail arrived; sign-ins: {:?}\n{}",
            std::fs::read_to_string(&logins).ok(),
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = sink.kill();
    let _ = sink.wait();
    assert!(mail.contains(support::ADMIN), "{mail}");
    let signed_in = std::fs::read_to_string(&logins).unwrap();
    assert!(
        signed_in.lines().all(|l| l.ends_with(" phobos ok")) && !signed_in.is_empty(),
        "{signed_in}"
    );
    // The password reaches no log.
    assert!(!server.log_text().contains("s3cret-pw"));
    let _ = std::fs::remove_dir_all(&dir);
}
