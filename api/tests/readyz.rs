//! A worker that meets an event it cannot handle does not stop in silence:
//! `/readyz` shows which, where it is stuck and why, while `/healthz` stays
//! a liveness check.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;

fn readyz(server: &support::Server) -> (u16, Value) {
    let mut response = ureq::get(&format!("http://127.0.0.1:{}/readyz", server.http))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_json().unwrap())
}

fn worker<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no worker {name}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_projector_shows_on_readyz_with_its_position() {
    let mut server = support::start("readyz", 1).await;
    server.login();
    server.project("acme", "ready");
    // Everyone caught up and healthy.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = readyz(&server);
        let caught_up = ["read_models", "policies", "dispatcher"]
            .iter()
            .all(|n| worker(&body, n)["lag"] == 0);
        if status == 200 && caught_up {
            for n in ["reaper", "agent-sessions"] {
                assert_eq!(worker(&body, n)["failing"], false, "{body}");
            }
            break;
        }
        assert!(Instant::now() < deadline, "not ready: {status} {body}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // An event no projector understands (as a newer server might write).
    let pool = sqlx::PgPool::connect_with(server.db.clone()).await.unwrap();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Organization', 'poison', 0, 'OrganizationRenamedInTheFuture', '9', '{\"OrganizationRenamedInTheFuture\": {}}', '{}')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        let (status, body) = readyz(&server);
        if status == 503 {
            break body;
        }
        assert!(Instant::now() < deadline, "still ready: {body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(body["ready"], false);
    let projector = worker(&body, "read_models");
    assert_eq!(projector["failing"], true, "{body}");
    assert_eq!(projector["lag"], 1, "{body}");
    let error = &projector["lastError"];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("could not be decoded"),
        "{error}"
    );
    assert_eq!(error["after"], projector["position"], "{body}");
    // The others go on; the process is alive.
    assert_eq!(worker(&body, "policies")["failing"], false, "{body}");
    let health = ureq::get(&format!("http://127.0.0.1:{}/healthz", server.http))
        .call()
        .unwrap();
    assert_eq!(health.status(), 200);
    // And the log says so, with the position.
    let log = server.log_text();
    let after = projector["position"].as_str().unwrap();
    assert!(
        log.contains("batch failed") && log.contains(after),
        "the failure is not logged with its position"
    );
}
