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
