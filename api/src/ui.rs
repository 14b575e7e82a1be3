//! The web UI at `/`: the files of `ui/dist` (built by `cargo xtask ui`),
//! compiled into the binary when the `ui` feature is on (the default) and
//! the build found them.
//!
//! - A path that names a file (under `/assets/`, or with an extension) is
//!   that file, or 404; any other path is `index.html`, so every deep link
//!   of the single-page app works. The server's own paths (`/graphql`,
//!   `/healthz`, `/.well-known/…` …) never reach here; a path below them
//!   that does not exist is a 404, not the app.
//! - `/assets/*` have content hashes in their names: cached for a year,
//!   immutable. `index.html` is `no-cache`, so a new build is seen at once.
//! - `xtask ui` writes `.br` and `.gz` beside each text file; the one the
//!   browser accepts is sent (`Vary: Accept-Encoding`).
//! - Every answer carries a Content-Security-Policy that allows only this
//!   origin (no inline script: the page asks the API for what it needs).
//!
//! `rust-embed` embeds the folder (chosen over `include_dir` for
//! `allow_missing`: `cargo build` works where the UI was never built) with
//! `debug-embed`, so a debug build serves the same bytes as a release build
//! instead of reading the folder at run time.

use std::borrow::Cow;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};

/// The policy of every UI answer.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Paths the server answers itself: below them there is no UI.
const SERVER_PATHS: &[&str] = &[
    "graphql",
    "graphiql",
    "healthz",
    "readyz",
    "metrics",
    ".well-known",
];

#[cfg(feature = "ui")]
#[derive(rust_embed::Embed)]
#[folder = "../ui/dist"]
#[allow_missing = true]
struct Dist;

/// The embedded file at `path` (relative, no leading `/`).
fn embedded(path: &str) -> Option<Cow<'static, [u8]>> {
    #[cfg(feature = "ui")]
    {
        Dist::get(path).map(|f| f.data)
    }
    #[cfg(not(feature = "ui"))]
    {
        let _ = path;
        None
    }
}

/// The page shown when this binary has no UI.
const NOT_BUILT: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Phobos: no web UI</title></head>
<body><h1>This Phobos server was built without its web UI</h1>
<p>Build the UI with <code>cargo xtask ui</code> (it needs Node 20.19 or later), then build
<code>phobos</code> again: the <code>ui</code> cargo feature, on by default, embeds
<code>ui/dist</code>.</p>
<p>Everything else works: the API is at <a href=\"/graphql\">/graphql</a>.</p>
</body></html>
";

/// What to answer: status, headers and body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(header::HeaderName, String)>,
    pub body: Cow<'static, [u8]>,
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" | "map" => "application/json",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether `accept_encoding` takes `coding` (a `;q=0` refuses it).
fn accepts(accept_encoding: &str, coding: &str) -> bool {
    accept_encoding.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        (name.eq_ignore_ascii_case(coding) || name == "*") && !refused
    })
}

/// The answer to `GET /{path}` from the files `get` finds.
pub fn reply(
    get: impl Fn(&str) -> Option<Cow<'static, [u8]>>,
    path: &str,
    accept_encoding: &str,
) -> Reply {
    let path = path.trim_start_matches('/');
    let mut headers = vec![
        (
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY.to_string(),
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
    ];
    let not_found = |mut headers: Vec<_>| {
        headers.push((header::CONTENT_TYPE, content_type("x.txt").to_string()));
        Reply {
            status: StatusCode::NOT_FOUND,
            headers,
            body: Cow::Borrowed(b"not found\n"),
        }
    };
    let first = path.split('/').next().unwrap_or("");
    if SERVER_PATHS.contains(&first) || path.split('/').any(|s| s == ".." || s == ".") {
        return not_found(headers);
    }
    let Some(index) = get("index.html") else {
        headers.push((header::CONTENT_TYPE, content_type("x.html").to_string()));
        headers.push((header::CACHE_CONTROL, "no-cache".to_string()));
        return Reply {
            status: StatusCode::OK,
            headers,
            body: Cow::Borrowed(NOT_BUILT.as_bytes()),
        };
    };
    let last = path.rsplit('/').next().unwrap_or("");
    let names_a_file = path.starts_with("assets/") || last.contains('.');
    let (file, body) = if names_a_file {
        match get(path) {
            Some(body) => (path, body),
            None => return not_found(headers),
        }
    } else {
        ("index.html", index)
    };
    let cache = if file.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else if file == "index.html" {
        "no-cache"
    } else {
        "public, max-age=3600"
    };
    headers.push((header::CONTENT_TYPE, content_type(file).to_string()));
    headers.push((header::CACHE_CONTROL, cache.to_string()));
    headers.push((header::VARY, "Accept-Encoding".to_string()));
    for (coding, suffix) in [("br", "br"), ("gzip", "gz")] {
        if accepts(accept_encoding, coding) {
            if let Some(compressed) = get(&format!("{file}.{suffix}")) {
                headers.push((header::CONTENT_ENCODING, coding.to_string()));
                return Reply {
                    status: StatusCode::OK,
                    headers,
                    body: compressed,
                };
            }
        }
    }
    Reply {
        status: StatusCode::OK,
        headers,
        body,
    }
}

/// Whether this binary holds a built UI.
pub fn built() -> bool {
    embedded("index.html").is_some()
}

/// The route of every path the server does not answer otherwise.
pub async fn serve(req: HttpRequest) -> HttpResponse {
    if req.method() != actix_web::http::Method::GET && req.method() != actix_web::http::Method::HEAD
    {
        return HttpResponse::NotFound().body("not found\n");
    }
    let accept = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let r = reply(embedded, req.path(), accept);
    let mut out = HttpResponse::build(r.status);
    for (name, value) in r.headers {
        out.insert_header((name, value));
    }
    out.body(r.body.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn files() -> HashMap<&'static str, &'static [u8]> {
        HashMap::from([
            ("index.html", &b"<html>app</html>"[..]),
            ("index.html.br", b"BR(index)"),
            ("index.html.gz", b"GZ(index)"),
            ("assets/index-abc123.js", b"js"),
            ("assets/index-abc123.js.gz", b"GZ(js)"),
            ("favicon.svg", b"<svg/>"),
        ])
    }

    fn get(path: &str) -> Reply {
        get_with(path, "")
    }

    fn get_with(path: &str, accept: &str) -> Reply {
        let f = files();
        reply(|p| f.get(p).map(|b| Cow::Borrowed(*b)), path, accept)
    }

    fn header_of(r: &Reply, name: header::HeaderName) -> Option<&str> {
        r.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn deep_links_are_the_app_and_missing_files_are_404() {
        for path in ["/", "/projects/acme/web", "/pipelines/p1?node=x"] {
            let r = get(path.split('?').next().unwrap());
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert_eq!(&*r.body, b"<html>app</html>", "{path}");
            assert_eq!(header_of(&r, header::CACHE_CONTROL), Some("no-cache"));
        }
        for path in [
            "/assets/gone-999.js",
            "/missing.png",
            "/graphql/x",
            "/.well-known/other",
            "/../etc/passwd",
        ] {
            let r = get(path);
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[test]
    fn hashed_assets_are_immutable_and_other_files_cached_briefly() {
        let r = get("/assets/index-abc123.js");
        assert_eq!(&*r.body, b"js");
        assert_eq!(
            header_of(&r, header::CACHE_CONTROL),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(
            header_of(&r, header::CONTENT_TYPE),
            Some("text/javascript; charset=utf-8")
        );
        let r = get("/favicon.svg");
        assert_eq!(
            header_of(&r, header::CACHE_CONTROL),
            Some("public, max-age=3600")
        );
        assert_eq!(header_of(&r, header::CONTENT_TYPE), Some("image/svg+xml"));
    }

    #[test]
    fn the_encoding_the_browser_accepts_is_sent() {
        let r = get_with("/", "gzip, deflate, br");
        assert_eq!(&*r.body, b"BR(index)");
        assert_eq!(header_of(&r, header::CONTENT_ENCODING), Some("br"));
        assert_eq!(header_of(&r, header::VARY), Some("Accept-Encoding"));
        let r = get_with("/", "br;q=0, gzip");
        assert_eq!(&*r.body, b"GZ(index)");
        // A file with no .br: the gzip one.
        let r = get_with("/assets/index-abc123.js", "br, gzip");
        assert_eq!(&*r.body, b"GZ(js)");
        let r = get_with("/assets/index-abc123.js", "identity");
        assert_eq!(&*r.body, b"js");
        assert_eq!(header_of(&r, header::CONTENT_ENCODING), None);
    }

    #[test]
    fn every_answer_allows_only_this_origin() {
        for path in ["/", "/assets/index-abc123.js", "/nope.js"] {
            let r = get(path);
            let csp = header_of(&r, header::CONTENT_SECURITY_POLICY).unwrap();
            assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"));
            assert!(!csp.contains("unsafe-inline"));
        }
    }

    #[test]
    fn without_a_built_ui_the_page_says_how_to_build_it() {
        let r = reply(|_| None, "/projects", "gzip");
        assert_eq!(r.status, StatusCode::OK);
        let text = String::from_utf8(r.body.into_owned()).unwrap();
        assert!(text.contains("cargo xtask ui"), "{text}");
        assert!(text.contains("/graphql"));
        assert_eq!(
            reply(|_| None, "/graphql/x", "").status,
            StatusCode::NOT_FOUND
        );
    }
}
