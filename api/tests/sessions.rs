//! The built-in identity provider's sessions: access and refresh tokens,
//! `refreshSession` (a refresh token works once), `logout`, and at most
//! `PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER` sessions, the oldest revoked
//! first.

mod support;

use base64::Engine;
use serde_json::{json, Value};

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken expiresAt refreshExpiresAt problems { code message field } } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { accessToken refreshToken problems { code message field } } }";
const LOGOUT: &str =
    "mutation($t: String!) { logout(input: {refreshToken: $t}) { problems { code field } } }";

fn login(server: &support::Server) -> Value {
    let d = server.gql(
        LOGIN,
        json!({ "i": { "email": support::ADMIN, "password": support::PASSWORD } }),
    );
    assert_eq!(d["login"]["problems"], json!([]), "{d}");
    d["login"].clone()
}

fn me(server: &support::Server, token: &str) -> Value {
    server.raw_as(Some(token), "{ me { name } }", json!({}))
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

#[tokio::test]
async fn refresh_tokens_work_once_and_sessions_are_capped() {
    let server = support::start_with(
        "sessions",
        0,
        &[
            ("PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER", "2"),
            (
                "PHOBOS_OIDC_INTERNAL_IDENTITY_PROVIDER_CLIENT_ID",
                "phobos-ui",
            ),
        ],
    )
    .await;
    let first = login(&server);
    let access = first["accessToken"].as_str().unwrap();
    assert_eq!(me(&server, access)["data"]["me"]["name"], support::ADMIN);
    let c = claims(access);
    assert_eq!(c["aud"], "phobos-ui", "{c}");
    assert!(c["sid"].is_string(), "{c}");

    // A refresh token works once.
    let r1 = first["refreshToken"].as_str().unwrap().to_string();
    let d = server.gql(REFRESH, json!({ "t": r1 }));
    assert_eq!(d["refreshSession"]["problems"], json!([]), "{d}");
    let r2 = d["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let a2 = d["refreshSession"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(claims(&a2)["sid"], c["sid"], "the session keeps its id");
    assert_eq!(me(&server, &a2)["data"]["me"]["name"], support::ADMIN);
    let d = server.gql(REFRESH, json!({ "t": r1 }));
    assert_eq!(
        d["refreshSession"]["problems"][0]["code"], "UNAUTHENTICATED",
        "{d}"
    );
    assert_eq!(
        d["refreshSession"]["problems"][0]["field"], "refreshToken",
        "{d}"
    );
    // Nonsense is refused the same way.
    let d = server.gql(REFRESH, json!({ "t": "phr_nonsense" }));
    assert_eq!(
        d["refreshSession"]["problems"][0]["code"], "UNAUTHENTICATED",
        "{d}"
    );

    // Logout ends the session.
    let d = server.gql(LOGOUT, json!({ "t": r2 }));
    assert_eq!(d["logout"]["problems"], json!([]), "{d}");
    let d = server.gql(REFRESH, json!({ "t": r2 }));
    assert_eq!(
        d["refreshSession"]["problems"][0]["code"], "UNAUTHENTICATED",
        "{d}"
    );

    // At most 2 sessions: the third sign-in revokes the oldest.
    let s1 = login(&server)["refreshToken"].as_str().unwrap().to_string();
    let s2 = login(&server)["refreshToken"].as_str().unwrap().to_string();
    let s3 = login(&server)["refreshToken"].as_str().unwrap().to_string();
    let d = server.gql(REFRESH, json!({ "t": s1 }));
    assert_eq!(
        d["refreshSession"]["problems"][0]["code"], "UNAUTHENTICATED",
        "the oldest was revoked: {d}"
    );
    for t in [s2, s3] {
        let d = server.gql(REFRESH, json!({ "t": t }));
        assert_eq!(d["refreshSession"]["problems"], json!([]), "{d}");
    }
    // The revocation is in the log, with its reason.
    let db = sqlx::PgPool::connect_with(server.db.clone()).await.unwrap();
    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT payload->'SessionEnded'->>'reason' FROM events WHERE event_type = 'SessionEnded' ORDER BY global_position",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0], "logout");
    assert!(reasons[1].contains("MAX_SESSIONS_PER_USER"), "{reasons:?}");
}

/// The server as an OIDC issuer: its discovery document names its JWKS, and
/// a token it issued verifies with the published key (ES256).
#[tokio::test]
async fn tokens_verify_with_the_published_keys() {
    let server = support::start("jwks", 0).await;
    let token = login(&server)["accessToken"].as_str().unwrap().to_string();
    let base = format!("http://127.0.0.1:{}", server.http);
    let get = |path: &str| -> Value {
        ureq::get(&format!("{base}{path}"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    };
    let discovery = get("/.well-known/openid-configuration");
    let issuer = discovery["issuer"].as_str().unwrap();
    assert_eq!(
        discovery["jwks_uri"],
        format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
    );
    assert_eq!(claims(&token)["iss"], issuer);
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(get("/.well-known/jwks.json")).unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the token's key is published");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_issuer(&[issuer]);
    v.set_audience(&["phobos"]);
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let decoded = jsonwebtoken::decode::<Value>(&token, &key, &v).expect("verifies with the JWKS");
    assert_eq!(decoded.claims["sub"], support::ADMIN);
    // The key's creation is in the log.
    let db = sqlx::PgPool::connect_with(server.db.clone()).await.unwrap();
    let kid: String = sqlx::query_scalar(
        "SELECT payload->'SigningKeyCreated'->>'kid' FROM events WHERE event_type = 'SigningKeyCreated'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(Some(kid), header.kid);
}

/// Sign-in attempts are counted per email, aliases in one request included,
/// so a request cannot multiply password guesses.
#[tokio::test]
async fn sign_in_attempts_are_limited_per_email() {
    let server = support::start("login_attempts", 0).await;
    let aliases: Vec<String> = (0..12)
        .map(|i| format!("a{i}: login(input: {{email: \"{}\", password: \"guess {i}\"}}) {{ problems {{ message }} }}", support::ADMIN))
        .collect();
    let d = server.gql(&format!("mutation {{ {} }}", aliases.join(" ")), json!({}));
    let limited = (0..12)
        .filter(|i| {
            d[format!("a{i}")]["problems"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("too many sign-in attempts"))
        })
        .count();
    assert_eq!(limited, 2, "10 attempts a minute: {d}");
    // The right password is refused too until the minute has passed.
    let d = server.gql(
        LOGIN,
        json!({ "i": { "email": support::ADMIN, "password": support::PASSWORD } }),
    );
    assert!(
        d["login"]["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too many"),
        "{d}"
    );
}
