//! The web UI at `/`, served by the server itself: the app at every deep
//! link, its hashed assets cached for a year and compressed, a 404 for a
//! missing file, a policy that allows only this origin, and a page that
//! renders in a browser that cannot reach the internet. A server built
//! without the UI answers `/` with how to build it.

mod support;

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn get(url: &str, accept_encoding: &str) -> Answer {
    let r = ureq::get(url)
        .header("accept-encoding", accept_encoding)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let mut r = r;
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    Answer {
        status: r.status().as_u16(),
        headers,
        body: r.body_mut().read_to_vec().unwrap(),
    }
}

#[tokio::test]
async fn the_ui_is_served_at_every_path_from_this_origin() {
    let server = support::start("ui", 0).await;
    let base = format!("http://127.0.0.1:{}", server.http);
    let root = get(&format!("{base}/"), "identity");
    assert_eq!(root.status, 200);
    let csp = root.header("content-security-policy").unwrap_or("");
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    // The server's own paths are untouched.
    assert_eq!(get(&format!("{base}/healthz"), "identity").status, 200);
    assert_eq!(
        get(&format!("{base}/graphql/nothing"), "identity").status,
        404
    );

    if root.text().contains("built without its web UI") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI builds the UI (cargo xtask test does, with node)"
        );
        assert!(root.text().contains("cargo xtask ui"));
        println!("SKIPPED the built UI's checks: this binary has no UI (cargo xtask ui builds it)");
        return;
    }

    // Every deep link is the app, never cached stale.
    let deep = get(&format!("{base}/projects/acme/web/pipelines"), "identity");
    assert_eq!(deep.status, 200);
    assert_eq!(deep.body, root.body);
    assert_eq!(deep.header("cache-control"), Some("no-cache"));
    // The hashed assets it names, cached for a year, compressed on request.
    let page = root.text();
    let script = page
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("index.html names its script");
    assert!(script.starts_with("/assets/"), "{script}");
    let raw = get(&format!("{base}{script}"), "identity");
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(raw
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/javascript"));
    let br = get(&format!("{base}{script}"), "br");
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert!(br.body.len() < raw.body.len());
    let gz = get(&format!("{base}{script}"), "gzip");
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(
        get(&format!("{base}/assets/missing-0000.js"), "identity").status,
        404
    );
    assert!(
        !page.contains("https://") && !page.contains("http://"),
        "{page}"
    );

    // In a headless browser with every other host unreachable, the app
    // runs (its script is allowed by the policy) and shows its sign-in.
    let Some((dom, stderr)) = support::dump_dom(&format!("{base}/projects/acme"), 5000) else {
        return;
    };
    assert!(
        dom.contains("<h2>Sign in</h2>") && dom.contains("type=\"password\""),
        "the app did not render:\n{dom}\n{stderr}"
    );
}
