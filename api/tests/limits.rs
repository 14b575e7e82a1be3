//! Limits on `/graphql`: the rate limit per principal (per IP address when
//! unauthenticated), in memory and shared through a real Redis by two
//! servers; the depth limit; CORS.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Sends `n` requests as fast as one thread can; returns (answered 200,
/// refused 429 with a Retry-After, seconds the burst spanned).
fn burst(url: &str, token: Option<&str>, n: usize) -> (usize, usize, f64) {
    let start = Instant::now();
    let (mut ok, mut limited) = (0, 0);
    for _ in 0..n {
        let mut req = ureq::post(url)
            .header("content-type", "application/json")
            .config()
            .http_status_as_error(false)
            .build();
        if let Some(t) = token {
            req = req.header("authorization", &format!("Bearer {t}"));
        }
        let mut resp = req
            .send_json(json!({ "query": "{ me { name } }" }))
            .unwrap();
        match resp.status().as_u16() {
            200 => ok += 1,
            429 => {
                let after: u64 = resp
                    .headers()
                    .get("retry-after")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(after >= 1);
                let v: Value = resp.body_mut().read_json().unwrap();
                assert_eq!(v["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{v}");
                limited += 1;
            }
            s => panic!("unexpected status {s}"),
        }
    }
    (ok, limited, start.elapsed().as_secs_f64())
}

#[tokio::test]
async fn the_rate_limit_holds_per_principal_and_answers_429() {
    let mut server =
        support::start_with("rate_memory", 0, &[("PHOBOS_HTTP_RATE_LIMIT", "5")]).await;
    let token = server.login();
    let (ok, limited, secs) = burst(&server.url(), Some(&token), 30);
    assert!(
        limited > 0,
        "30 requests at once, limit 5/s: some must be refused"
    );
    // A bucket of 5 refilled at 5 a second.
    assert!(
        ok as f64 <= 5.0 + 5.0 * secs + 1.0,
        "{ok} allowed in {secs:.2} s"
    );
    // Another caller (anonymous: by IP) has its own budget.
    let (anon_ok, _, _) = burst(&server.url(), None, 3);
    assert!(anon_ok >= 1, "the anonymous budget is not the admin's");
}

struct Redis(Child, std::path::PathBuf);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn redis() -> Option<(Redis, u16)> {
    let port = support::free_port();
    let dir = std::env::temp_dir().join(format!("phobos-redis-{port}"));
    std::fs::create_dir_all(&dir).ok()?;
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let r = Redis(child, dir);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((r, port))
}

#[tokio::test]
async fn two_servers_on_one_redis_share_one_budget() {
    let Some((_redis, port)) = redis() else {
        eprintln!("SKIPPED: redis-server is not installed (.ci/run installs it)");
        return;
    };
    let endpoint = format!("redis://127.0.0.1:{port}");
    let env = [
        ("PHOBOS_HTTP_RATE_LIMIT", "5"),
        ("PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE", "redis"),
        (
            "PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT",
            endpoint.as_str(),
        ),
    ];
    let a = support::start_with("rate_redis", 0, &env).await;
    let b = support::start_on("rate_redis_b", a.db.clone(), 0, &env);
    // Anonymous calls from one address: one key on both servers.
    let start = Instant::now();
    let (mut ok, mut limited) = (0, 0);
    for i in 0..40 {
        let url = if i % 2 == 0 { a.url() } else { b.url() };
        let (o, l, _) = burst(&url, None, 1);
        ok += o;
        limited += l;
    }
    let secs = start.elapsed().as_secs_f64();
    // Fixed windows of a second: at most 5 in each second touched.
    let windows = secs.ceil() + 1.0;
    assert!(
        limited > 0,
        "40 requests, limit 5/s shared: some must be refused"
    );
    assert!(
        ok as f64 <= 5.0 * windows,
        "{ok} allowed over {windows} windows: the budget was not shared"
    );
}

#[tokio::test]
async fn deep_queries_are_refused_and_cors_allows_only_its_origins() {
    let mut server = support::start_with(
        "cors",
        0,
        &[("PHOBOS_CORS_ALLOWED_ORIGINS", "https://ui.example.test")],
    )
    .await;
    server.login();
    // Deeper than MAX_DEPTH (25): a pipeline's children's children, 10
    // levels of three fields each.
    let deep = format!(
        "query($id: ID!) {{ pipeline(id: $id) {{ {}id{} }} }}",
        "stages { nodes { childPipeline { ".repeat(10),
        " } } }".repeat(10)
    );
    let v = server.raw(
        &deep,
        json!({ "id": "00000000-0000-0000-0000-000000000000" }),
    );
    let msg = v["errors"][0]["message"].as_str().unwrap_or("");
    assert!(msg.contains("nested too deep"), "{v}");

    let base = format!("http://127.0.0.1:{}/graphql", server.http);
    let preflight = |origin: &str| {
        ureq::options(&base)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap()
    };
    let ok = preflight("https://ui.example.test");
    assert_eq!(
        ok.headers()
            .get("access-control-allow-origin")
            .map(|h| h.to_str().unwrap()),
        Some("https://ui.example.test")
    );
    let other = preflight("https://evil.example.test");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
