//! Signing in through the UI with an OIDC provider: the authorization code
//! flow with PKCE against a real issuer over HTTP, the code handed to
//! `oidcLogin`, and the session that starts (refreshed and ended as the
//! built-in user's).

mod support;

use std::io::{Read, Write};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use sha2::Digest;
use support::oidc::Issuer;

const CLIENT_ID: &str = "phobos-ui";
const REDIRECT: &str = "http://127.0.0.1:1/oauth/callback";

/// What the issuer's sign-in form does when `username` submits it: the
/// `Location` it redirects the browser to.
fn approve(issuer: &Issuer, username: &str, challenge: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile email"),
            ("state", "st4te"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("username", username),
        ])
        .finish();
    let host = issuer.url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET /authorize/approve?{q} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_else(|| panic!("no redirect: {answer}"))
        .to_string()
}

fn code_of(location: &str) -> String {
    let u = url::Url::parse(location).unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "st4te");
    q["code"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_with_the_providers_code_and_gets_a_session() {
    let issuer = Issuer::start();
    let env = issuer.provider_env(CLIENT_ID);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = support::start_with("oidc_login", 1, &env).await;

    // The UI learns where to send the browser without a token.
    let r = server.raw_as(
        None,
        "{ authSettings { oidcIssuerUrl oidcClientId oidcScope oidcAuthorizationEndpoint } }",
        json!({}),
    );
    let s = &r["data"]["authSettings"];
    assert_eq!(s["oidcClientId"], CLIENT_ID, "{r}");
    assert_eq!(
        s["oidcAuthorizationEndpoint"],
        format!("{}/authorize", issuer.url)
    );

    let verifier = "a-verifier-of-forty-three-characters-or-more-0123456789";
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let login = "mutation($c: String!, $v: String!, $r: String!) { oidcLogin(input: {code: $c, codeVerifier: $v, redirectUri: $r}) { accessToken refreshToken problems { field code message } } }";

    // A wrong verifier: refused, and the code is spent.
    let code = code_of(&approve(&issuer, "carol", &challenge));
    let r = server.raw_as(
        None,
        login,
        json!({ "c": code, "v": format!("{verifier}-wrong"), "r": REDIRECT }),
    );
    let p = &r["data"]["oidcLogin"]["problems"][0];
    assert_eq!(p["code"], "UNAUTHENTICATED", "{r}");
    assert!(
        p["message"].as_str().unwrap().contains("invalid_grant"),
        "{r}"
    );
    assert!(
        !r.to_string().contains(&code),
        "the code is not echoed: {r}"
    );
    // A verifier too short to be one names the field.
    let r = server.raw_as(
        None,
        login,
        json!({ "c": "x", "v": "short", "r": REDIRECT }),
    );
    assert_eq!(
        r["data"]["oidcLogin"]["problems"][0]["field"], "codeVerifier",
        "{r}"
    );

    // The right one: a session of carol, created at her first sign-in.
    let code = code_of(&approve(&issuer, "carol", &challenge));
    let r = server.raw_as(
        None,
        login,
        json!({ "c": code, "v": verifier, "r": REDIRECT }),
    );
    let out = &r["data"]["oidcLogin"];
    assert_eq!(out["problems"], json!([]), "{r}");
    let access = out["accessToken"].as_str().unwrap().to_string();
    let refresh = out["refreshToken"].as_str().unwrap().to_string();
    let me = server.raw_as(Some(&access), "{ me { name } }", json!({}));
    assert_eq!(me["data"]["me"]["name"], "carol", "{me}");
    // The same code a second time: refused.
    let r = server.raw_as(
        None,
        login,
        json!({ "c": code, "v": verifier, "r": REDIRECT }),
    );
    assert_eq!(
        r["data"]["oidcLogin"]["problems"][0]["code"], "UNAUTHENTICATED",
        "{r}"
    );

    // Her session refreshes as the built-in user's does, and ends.
    let r = server.raw_as(
        None,
        "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { accessToken refreshToken problems { message } } }",
        json!({ "t": refresh }),
    );
    let out = &r["data"]["refreshSession"];
    assert_eq!(out["problems"], json!([]), "{r}");
    let access = out["accessToken"].as_str().unwrap();
    let refresh = out["refreshToken"].as_str().unwrap().to_string();
    let me = server.raw_as(Some(access), "{ me { name } }", json!({}));
    assert_eq!(me["data"]["me"]["name"], "carol", "{me}");
    let r = server.raw_as(
        None,
        "mutation($t: String!) { logout(input: {refreshToken: $t}) { problems { message } } }",
        json!({ "t": refresh }),
    );
    assert_eq!(r["data"]["logout"]["problems"], json!([]), "{r}");
    let r = server.raw_as(
        None,
        "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { problems { code } } }",
        json!({ "t": refresh }),
    );
    assert_eq!(
        r["data"]["refreshSession"]["problems"][0]["code"], "UNAUTHENTICATED",
        "{r}"
    );
}

/// A GraphQL request as a browser sends it: `cookie` (if any) and no
/// token; the answer and its `Set-Cookie` headers.
fn browser_post(
    server: &support::Server,
    cookie: Option<&str>,
    query: &str,
) -> (serde_json::Value, Vec<String>) {
    let mut req = ureq::post(&server.url()).header("content-type", "application/json");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let mut resp = req
        .send_json(json!({ "query": query }))
        .expect("graphql request");
    let set: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    (resp.body_mut().read_json().expect("graphql json"), set)
}

/// `name=value` of the session cookie a `Set-Cookie` sets.
fn session_cookie(set: &[String]) -> String {
    let c = set
        .iter()
        .find(|c| c.starts_with("phobos_refresh="))
        .unwrap_or_else(|| panic!("no session cookie: {set:?}"));
    c.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browsers_session_survives_a_reload_in_an_http_only_cookie() {
    let server = support::start("session_cookie", 1).await;
    let login = format!(
        "mutation {{ login(input: {{email: \"{}\", password: \"{}\"}}) {{ accessToken problems {{ message }} }} }}",
        support::ADMIN,
        support::PASSWORD
    );
    let (r, set) = browser_post(&server, None, &login);
    assert_eq!(r["data"]["login"]["problems"], json!([]), "{r}");
    let attrs = set
        .iter()
        .find(|c| c.starts_with("phobos_refresh="))
        .unwrap();
    for a in ["HttpOnly", "SameSite=Strict", "Path=/graphql", "Max-Age="] {
        assert!(attrs.contains(a), "{a} missing: {attrs}");
    }
    // Plain HTTP here: not Secure (a browser would refuse to keep it).
    assert!(!attrs.contains("Secure"), "{attrs}");
    let cookie = session_cookie(&set);

    // A reload: no token in the page, only the cookie.
    let refresh =
        "mutation { refreshSession(input: {}) { accessToken problems { code field message } } }";
    let (r, set) = browser_post(&server, Some(&cookie), refresh);
    let access = r["data"]["refreshSession"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    let me = server.raw_as(Some(&access), "{ me { name } }", json!({}));
    assert_eq!(me["data"]["me"]["name"], support::ADMIN, "{me}");
    // The cookie's token was used up and replaced.
    let renewed = session_cookie(&set);
    assert_ne!(renewed, cookie);
    let (r, _) = browser_post(&server, Some(&cookie), refresh);
    assert_eq!(
        r["data"]["refreshSession"]["problems"][0]["code"], "UNAUTHENTICATED",
        "{r}"
    );
    // Without a cookie or a token: refused, naming the field.
    let (r, _) = browser_post(&server, None, refresh);
    let p = &r["data"]["refreshSession"]["problems"][0];
    assert_eq!(p["field"], "refreshToken", "{r}");

    // Signing out ends the cookie's session and clears the cookie.
    let (r, set) = browser_post(
        &server,
        Some(&renewed),
        "mutation { logout(input: {}) { problems { message } } }",
    );
    assert_eq!(r["data"]["logout"]["problems"], json!([]), "{r}");
    assert!(
        set.iter()
            .any(|c| c.starts_with("phobos_refresh=;") && c.contains("Max-Age=0")),
        "{set:?}"
    );
    let (r, _) = browser_post(&server, Some(&renewed), refresh);
    assert_eq!(
        r["data"]["refreshSession"]["problems"][0]["code"], "UNAUTHENTICATED",
        "{r}"
    );
}
