//! GraphiQL is served by the server itself: the page and every asset it
//! names come from this server, and it renders in a browser that cannot
//! reach the internet.

mod support;

fn get(url: &str) -> (u16, String, Vec<u8>) {
    match ureq::get(url).header("accept", "text/html").call() {
        Ok(mut r) => {
            let ct = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            (r.status().as_u16(), ct, r.body_mut().read_to_vec().unwrap())
        }
        Err(ureq::Error::StatusCode(code)) => (code, String::new(), Vec::new()),
        Err(e) => panic!("{url}: {e}"),
    }
}

#[tokio::test]
async fn graphiql_and_its_assets_come_from_the_server() {
    let server = support::start("graphiql", 0).await;
    let base = format!("http://127.0.0.1:{}", server.http);
    let (status, ct, page) = get(&format!("{base}/graphql"));
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"), "{ct}");
    let page = String::from_utf8(page).unwrap();
    assert!(!page.contains("https://") && !page.contains("http://"));
    for (file, kind) in [
        ("react.production.min.js", "text/javascript"),
        ("react-dom.production.min.js", "text/javascript"),
        ("graphiql.min.js", "text/javascript"),
        ("graphiql.min.css", "text/css"),
    ] {
        assert!(page.contains(&format!("/graphiql/{file}")), "{file}");
        let (status, ct, body) = get(&format!("{base}/graphiql/{file}"));
        assert_eq!(status, 200, "{file}");
        assert!(ct.starts_with(kind), "{file}: {ct}");
        assert!(body.len() > 1000, "{file}: {} bytes", body.len());
    }
    assert_eq!(get(&format!("{base}/graphiql/../Cargo.toml")).0, 404);
    assert_eq!(get(&format!("{base}/graphiql/nothing.js")).0, 404);

    // In a headless browser (where one is installed), with the network
    // limited to this server: the UI renders, not "Loading...".
    let Some((dom, stderr)) = support::dump_dom(&format!("{base}/graphql"), 8000) else {
        return;
    };
    assert!(
        dom.contains("graphiql-container") && dom.contains("graphiql-query-editor"),
        "GraphiQL did not render:\n{dom}\n{stderr}"
    );
    assert!(!dom.contains(">Loading...<"), "{dom}");
}
