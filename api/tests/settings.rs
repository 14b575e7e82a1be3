//! Every setting of seed 000 does something. `fixtures/seed_000_settings.txt`
//! lists them; `PROOF` names, for each, the test that shows its effect, or
//! why none can yet (the open issue its feature waits for). A setting
//! added to the list without a proof, or a proof naming a test that does
//! not exist, fails here. (`config.rs`'s `every_seed_000_setting_is_read`
//! shows each is read.) The other tests show the settings no other test
//! covers: URLs and the support link, limits, token lifetimes and issuer,
//! the database pool, auto-migration, and the async task timeout.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

enum Proof {
    /// `(file under the repository, test function)`.
    Test(&'static str, &'static str),
    /// No test can show it here, and why (what does make it take effect).
    Unproven(&'static str),
    /// Its feature is not built yet: the open issue it waits for.
    Waits(&'static str),
}
use Proof::*;

const E2E: &str = "api/tests/e2e.rs";
const HELLO: &str = "hello_pipeline_runs_end_to_end";
const SETTINGS: &str = "api/tests/settings.rs";
const PUBLIC: &str = "urls_limits_token_lifetimes_and_the_pool_take_effect";
const NOTIFY: &str = "api/tests/notifications.rs";
const SMTP: &str = "smtp_mails_approvers_and_the_creator_of_a_failed_pipeline_once";
const OTEL: &str = "api/tests/otel.rs";
const ONE_TRACE: &str = "one_pipeline_run_is_one_trace_across_server_agent_and_executor";

const PROOF: &[(&str, Proof)] = &[
    ("PHOBOS_ADMIN_USER_EMAIL", Test("api/tests/sessions.rs", "refresh_tokens_work_once_and_sessions_are_capped")),
    ("PHOBOS_ADMIN_USER_PASSWORD", Test("api/tests/sessions.rs", "sign_in_attempts_are_limited_per_email")),
    ("PHOBOS_API_URL", Test(SETTINGS, PUBLIC)),
    ("PHOBOS_ASYMMETRIC_SIGNING_KEY_DECOMMISSION_PERIOD_DAYS", Test("api/src/keys/mod.rs", "rotation_keeps_old_tokens_until_decommission_by_the_servers_clock")),
    ("PHOBOS_ASYMMETRIC_SIGNING_KEY_ROTATION_PERIOD_DAYS", Test("api/src/keys/mod.rs", "rotation_keeps_old_tokens_until_decommission_by_the_servers_clock")),
    ("PHOBOS_ASYNC_TASK_TIMEOUT", Test(SETTINGS, "the_async_task_timeout_bounds_an_email_send")),
    ("PHOBOS_CORS_ALLOWED_ORIGINS", Test("api/tests/limits.rs", "deep_queries_are_refused_and_cors_allows_only_its_origins")),
    ("PHOBOS_DB_AUTO_MIGRATE_ENABLED", Test(SETTINGS, "auto_migrate_off_leaves_a_fresh_database_alone")),
    ("PHOBOS_DB_HOST", Test(E2E, HELLO)),
    ("PHOBOS_DB_MAX_CONNECTIONS", Test(SETTINGS, PUBLIC)),
    ("PHOBOS_DB_NAME", Test(E2E, HELLO)),
    ("PHOBOS_DB_PASSWORD", Unproven("the test PostgreSQL trusts local connections, so no password is checked; server.rs passes it to the connection options")),
    ("PHOBOS_DB_PORT", Test(E2E, HELLO)),
    ("PHOBOS_DB_SSL_MODE", Test(E2E, HELLO)),
    ("PHOBOS_DB_USERNAME", Test(E2E, HELLO)),
    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY", Test(NOTIFY, "plunk_gets_a_completed_release_for_its_creator_and_participants_after_a_retry")),
    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_AWS_CONFIGURATION_SET_NAME", Test(NOTIFY, "ses_sends_a_signed_mail_in_its_configuration_set")),
    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_DISABLE_TLS", Test(NOTIFY, SMTP)),
    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT", Test(NOTIFY, "plunk_gets_a_completed_release_for_its_creator_and_participants_after_a_retry")),
    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS", Test(NOTIFY, SMTP)),
    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_REGION", Test(NOTIFY, "ses_through_moto_fails_for_an_unverified_sender_and_sends_once_verified")),
    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_HOST", Test(NOTIFY, SMTP)),
    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PASSWORD", Test(NOTIFY, "smtp_signs_in_with_the_configured_username_and_password")),
    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PORT", Test(NOTIFY, SMTP)),
    ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_USERNAME", Test(NOTIFY, "smtp_signs_in_with_the_configured_username_and_password")),
    ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", Test(NOTIFY, SMTP)),
    ("PHOBOS_EMAIL_FOOTER", Test(NOTIFY, SMTP)),
    ("PHOBOS_EXTERNAL_GRPC_PORT", Test(SETTINGS, PUBLIC)),
    ("PHOBOS_GRPC_SERVER_PORT", Test(E2E, HELLO)),
    ("PHOBOS_HTTP_RATE_LIMIT", Test("api/tests/limits.rs", "the_rate_limit_holds_per_principal_and_answers_429")),
    ("PHOBOS_HTTP_SERVER_PORT", Test(E2E, HELLO)),
    ("PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_DATA_EXECUTOR_PATH", Test(E2E, HELLO)),
    ("PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_TYPE", Test(E2E, HELLO)),
    ("PHOBOS_INTERNAL_AGENTS_0_NAME", Test(E2E, HELLO)),
    ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ALIAS_PREFIX", Test("api/tests/jws_awskms.rs", "tokens_are_signed_by_a_kms_key_that_outlives_the_process_and_is_shared")),
    ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_SPEC", Test("api/src/keys/mod.rs", "kms_keys_sign_rotate_and_are_deleted_after_decommission")),
    ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION", Test("api/tests/jws_awskms.rs", "tokens_are_signed_by_a_kms_key_that_outlives_the_process_and_is_shared")),
    ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS", Test("api/tests/jws_awskms.rs", "tokens_are_signed_by_a_kms_key_that_outlives_the_process_and_is_shared")),
    ("PHOBOS_JWS_PROVIDER_PLUGIN_TYPE", Test("api/tests/jws_awskms.rs", "tokens_are_signed_by_a_kms_key_that_outlives_the_process_and_is_shared")),
    ("PHOBOS_MAX_GRAPHQL_COMPLEXITY", Test(SETTINGS, PUBLIC)),
    ("PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID", Test("api/tests/approvals.rs", "approvals_count_distinct_eligible_principals_per_rule")),
    ("PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL", Test("api/tests/approvals.rs", "approvals_count_distinct_eligible_principals_per_rule")),
    ("PHOBOS_OAUTH_PROVIDERS_0_SCOPE", Test(SETTINGS, PUBLIC)),
    ("PHOBOS_OAUTH_PROVIDERS_0_USERNAME_CLAIM", Test("api/tests/approvals.rs", "approvals_count_distinct_eligible_principals_per_rule")),
    ("PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID", Test("api/tests/object_store.rs", "a_missing_bucket_or_a_refused_key_stops_start_up")),
    ("PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY", Test("api/tests/object_store.rs", "a_missing_bucket_or_a_refused_key_stops_start_up")),
    ("PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET", Test("api/tests/object_store.rs", "a_missing_bucket_or_a_refused_key_stops_start_up")),
    ("PHOBOS_OBJECT_STORE_PLUGIN_DATA_ENDPOINT", Test("api/tests/object_store.rs", "a_pipeline_runs_from_a_template_kept_in_s3")),
    ("PHOBOS_OBJECT_STORE_PLUGIN_DATA_REGION", Test("api/tests/object_store.rs", "a_pipeline_runs_from_a_template_kept_in_s3")),
    ("PHOBOS_OBJECT_STORE_PLUGIN_TYPE", Test("api/tests/object_store.rs", "a_pipeline_runs_from_a_template_kept_in_s3")),
    ("PHOBOS_OIDC_INTERNAL_IDENTITY_PROVIDER_CLIENT_ID", Test("api/tests/sessions.rs", "refresh_tokens_work_once_and_sessions_are_capped")),
    ("PHOBOS_OTEL_TRACE_ENABLED", Test(OTEL, ONE_TRACE)),
    ("PHOBOS_OTEL_TRACE_HOST", Test(OTEL, ONE_TRACE)),
    ("PHOBOS_OTEL_TRACE_PORT", Test(OTEL, ONE_TRACE)),
    ("PHOBOS_OTEL_TRACE_TYPE", Test(OTEL, "xray_traces_carry_the_start_time_in_their_id")),
    ("PHOBOS_PLUGIN_BINARY_MAX_UPLOAD_SIZE", Waits("a plugin registry, which no open issue holds: this build has no plugin binaries to upload (templates that use plugins are refused at creation)")),
    ("PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT", Test("api/tests/limits.rs", "two_servers_on_one_redis_share_one_budget")),
    ("PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE", Test("api/tests/limits.rs", "two_servers_on_one_redis_share_one_budget")),
    ("PHOBOS_SUPPORT_URL", Test(SETTINGS, PUBLIC)),
    ("PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE", Test(SETTINGS, PUBLIC)),
    ("PHOBOS_TLS_CERT_FILE", Test("api/tests/tls.rs", "https_and_grpc_over_tls_run_jobs_and_refuse_clients_that_do_not_trust_the_certificate")),
    ("PHOBOS_TLS_ENABLED", Test("api/tests/tls.rs", "https_and_grpc_over_tls_run_jobs_and_refuse_clients_that_do_not_trust_the_certificate")),
    ("PHOBOS_TLS_KEY_FILE", Test("api/tests/tls.rs", "a_wrong_key_or_a_missing_file_stops_start_up_naming_the_variable")),
    ("PHOBOS_TOKEN_ISSUER_URL", Test(SETTINGS, PUBLIC)),
    ("PHOBOS_UI_URL", Test(SETTINGS, PUBLIC)),
    ("PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES", Test(SETTINGS, PUBLIC)),
    ("PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER", Test("api/tests/sessions.rs", "refresh_tokens_work_once_and_sessions_are_capped")),
    ("PHOBOS_USER_SESSION_REFRESH_TOKEN_EXPIRATION_MINUTES", Test(SETTINGS, PUBLIC)),
];

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn every_seed_000_setting_has_a_test_of_its_effect_or_says_what_it_waits_for() {
    let seed: BTreeSet<&str> = include_str!("fixtures/seed_000_settings.txt")
        .lines()
        .filter(|l| l.starts_with("PHOBOS_"))
        .collect();
    let proven: BTreeSet<&str> = PROOF.iter().map(|(name, _)| *name).collect();
    assert_eq!(proven.len(), PROOF.len(), "a setting is listed twice");
    let unlisted: Vec<&&str> = seed.difference(&proven).collect();
    assert!(
        unlisted.is_empty(),
        "settings without a proof: {unlisted:?}"
    );
    let unknown: Vec<&&str> = proven.difference(&seed).collect();
    assert!(
        unknown.is_empty(),
        "proofs of settings seed 000 does not name: {unknown:?}"
    );
    let mut waiting = Vec::new();
    for (name, proof) in PROOF {
        match proof {
            Test(file, test) => {
                let text = std::fs::read_to_string(repo().join(file))
                    .unwrap_or_else(|e| panic!("{name}: {file}: {e}"));
                assert!(
                    text.contains(&format!("fn {test}(")),
                    "{name}: {file} has no test {test}"
                );
            }
            Unproven(why) | Waits(why) => waiting.push(format!("{name}: {why}")),
        }
    }
    // Said, not hidden: what is not proven, and why.
    println!("not shown by a test:\n  {}", waiting.join("\n  "));
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken expiresAt refreshExpiresAt problems { message } } }";

#[tokio::test]
async fn urls_limits_token_lifetimes_and_the_pool_take_effect() {
    let issuer = support::oidc::Issuer::start();
    let mut server = support::start_with(
        "settings_public",
        1,
        &[
            ("PHOBOS_API_URL", "https://phobos.example.test"),
            ("PHOBOS_UI_URL", "https://ui.example.test"),
            ("PHOBOS_SUPPORT_URL", "https://help.example.test/phobos"),
            ("PHOBOS_EXTERNAL_GRPC_PORT", "443"),
            ("PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL", issuer.url.as_str()),
            ("PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID", "phobos-ui"),
            ("PHOBOS_OAUTH_PROVIDERS_0_SCOPE", "openid email groups"),
            ("PHOBOS_MAX_GRAPHQL_COMPLEXITY", "60"),
            ("PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE", "300"),
            ("PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES", "7"),
            ("PHOBOS_USER_SESSION_REFRESH_TOKEN_EXPIRATION_MINUTES", "45"),
            ("PHOBOS_DB_MAX_CONNECTIONS", "8"),
        ],
    )
    .await;

    // Readable without a token.
    let r = server.raw_as(
        None,
        "{ serverInfo { apiUrl uiUrl supportUrl agentServerUrl version } authSettings { oidcIssuerUrl oidcClientId oidcScope builtInLogin } }",
        json!({}),
    );
    assert!(r.get("errors").is_none(), "{r}");
    let info = &r["data"]["serverInfo"];
    assert_eq!(info["apiUrl"], "https://phobos.example.test");
    assert_eq!(info["uiUrl"], "https://ui.example.test");
    assert_eq!(info["supportUrl"], "https://help.example.test/phobos");
    assert_eq!(info["agentServerUrl"], "https://phobos.example.test:443");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    let auth = &r["data"]["authSettings"];
    assert_eq!(auth["oidcIssuerUrl"], json!(issuer.url));
    assert_eq!(auth["oidcClientId"], "phobos-ui");
    assert_eq!(auth["oidcScope"], "openid email groups");
    assert_eq!(auth["builtInLogin"], true);

    // Tokens: the API URL is the issuer (PHOBOS_TOKEN_ISSUER_URL unset),
    // with the configured lifetimes.
    let d = server.gql(
        LOGIN,
        json!({ "i": { "email": support::ADMIN, "password": support::PASSWORD } }),
    );
    let token = d["login"]["accessToken"].as_str().unwrap().to_string();
    let c = claims(&token);
    assert_eq!(c["iss"], "https://phobos.example.test", "{c}");
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        7 * 60,
        "{c}"
    );
    let at = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(d["login"][k].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    let refresh = at("refreshExpiresAt") - c["iat"].as_i64().unwrap();
    assert!((45 * 60 - 5..=45 * 60 + 5).contains(&refresh), "{d}");
    let discovery: Value = server
        .client
        .get(format!(
            "{}/.well-known/openid-configuration",
            server.base()
        ))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(discovery["issuer"], "https://phobos.example.test");
    server.login();

    // The complexity limit refuses what the default would let through.
    let project = server.project("acme", "web");
    // 40 aliased fields of two each: 80, over the limit of 60.
    let heavy = format!(
        "query {{ {} }}",
        (0..40)
            .map(|i| format!("a{i}: serverInfo {{ version }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let r = server.raw(&heavy, json!({}));
    let message = r["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("complex"), "{r}");

    // A template over PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE is refused, naming it.
    let big = format!(
        "stage \"s\" {{\n  task \"t\" {{\n    action \"exec_command\" {{ command = \"echo {}\" }}\n  }}\n}}\n",
        "x".repeat(300)
    );
    let d = server.gql(
        "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { problems { message } } }",
        json!({ "i": { "projectId": project, "hcl": big } }),
    );
    let message = d["createPipelineTemplate"]["problems"][0]["message"]
        .as_str()
        .unwrap_or("");
    assert!(message.contains("PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE"), "{d}");

    // The pool holds at most PHOBOS_DB_MAX_CONNECTIONS, even under load.
    let small = "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" { command = \"true\" }\n  }\n}\n";
    let ids: Vec<String> = (0..3)
        .map(|_| server.run_pipeline(&project, small))
        .collect();
    let db = server.db.clone();
    let pool = sqlx::PgPool::connect_with(db.clone()).await.unwrap();
    let mut most = 0i64;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'phobos'",
        )
        .bind(db.get_database().unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
        most = most.max(n);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!((1..=8).contains(&most), "{most} connections");
    for id in ids {
        assert_eq!(
            server.wait_finished(&id, Duration::from_secs(60))["status"],
            "SUCCEEDED"
        );
    }

    // PHOBOS_TOKEN_ISSUER_URL, when set, names the issuer instead.
    drop(server);
    let server = support::start_with(
        "settings_issuer",
        0,
        &[
            ("PHOBOS_API_URL", "https://phobos.example.test"),
            ("PHOBOS_TOKEN_ISSUER_URL", "https://tokens.example.test"),
        ],
    )
    .await;
    let d = server.gql(
        LOGIN,
        json!({ "i": { "email": support::ADMIN, "password": support::PASSWORD } }),
    );
    let c = claims(d["login"]["accessToken"].as_str().unwrap());
    assert_eq!(c["iss"], "https://tokens.example.test", "{c}");
}

#[tokio::test]
async fn auto_migrate_off_leaves_a_fresh_database_alone() {
    // An empty database (fresh_database would migrate it).
    let server = phobos_commands::testing::server_options().unwrap();
    let name = format!("settings_nomigrate_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect_with(server.clone()).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let opts = server.database(&name);
    let dir = std::env::temp_dir().join(format!(
        "phobos-e2e-nomigrate-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let out = Command::new(support::bin_dir().join("phobos"))
        .arg("serve")
        .env_clear()
        .env("PHOBOS_DB_HOST", opts.get_host())
        .env("PHOBOS_DB_PORT", opts.get_port().to_string())
        .env("PHOBOS_DB_USERNAME", opts.get_username())
        .env("PHOBOS_DB_NAME", opts.get_database().unwrap())
        .env("PHOBOS_DB_SSL_MODE", "disable")
        .env("PHOBOS_DB_AUTO_MIGRATE_ENABLED", "false")
        .env("PHOBOS_HTTP_SERVER_PORT", support::free_port().to_string())
        .env("PHOBOS_GRPC_SERVER_PORT", support::free_port().to_string())
        .env("PHOBOS_OBJECT_STORE_PLUGIN_TYPE", "filesystem")
        .env(
            "PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY",
            dir.join("objects"),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("PHOBOS_DB_AUTO_MIGRATE_ENABLED is false")
            && stderr.contains("of this build's migrations"),
        "{stderr}"
    );
    let pool = sqlx::PgPool::connect_with(opts).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'events'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tables, 0, "no migration ran: {stderr}");
}

#[tokio::test]
async fn the_async_task_timeout_bounds_an_email_send() {
    // An email API that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut server = support::start_with(
        "settings_async_timeout",
        1,
        &[
            ("PHOBOS_ASYNC_TASK_TIMEOUT", "1"),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE", "plunk"),
            (
                "PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT",
                endpoint.as_str(),
            ),
            ("PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY", "pk_test"),
            ("PHOBOS_EMAIL_MAX_ATTEMPTS", "1"),
        ],
    )
    .await;
    server.login();
    let project = server.project("acme", "web");
    let id = server.run_pipeline(
        &project,
        "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" { command = \"false\" }\n  }\n}\n",
    );
    server.wait_finished(&id, Duration::from_secs(60));
    let started = Instant::now();
    loop {
        let d = server.gql("{ notifications { status attempts lastError } }", json!({}));
        let n = &d["notifications"][0];
        if n["status"] == "FAILED" {
            let error = n["lastError"].as_str().unwrap();
            assert!(
                error.contains("did not answer within 1 s (PHOBOS_ASYNC_TASK_TIMEOUT)"),
                "{error}"
            );
            // Well before the HTTP client's own 20 s.
            assert!(started.elapsed() < Duration::from_secs(15));
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{d}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
