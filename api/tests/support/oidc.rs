//! A real OIDC issuer over HTTP for tests: a discovery document and a JWKS
//! on a local port, ES256 keys drawn at start, ID tokens signed with the
//! current key, and key rollover.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

struct Key {
    kid: String,
    pkcs8: Vec<u8>,
    jwk: Value,
}

fn new_key(n: usize) -> Key {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .expect("key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).unwrap();
    let public = pair.public_key().as_ref().to_vec(); // 0x04 || x || y
    let kid = format!("test-key-{n}");
    Key {
        jwk: json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&public[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&public[33..65]),
        }),
        kid,
        pkcs8: doc.as_ref().to_vec(),
    }
}

pub struct Issuer {
    pub url: String,
    keys: Arc<Mutex<Vec<Key>>>,
    pub fetches: Arc<Mutex<usize>>,
}

/// A code the authorization endpoint gave out, until the token endpoint
/// takes it (once).
struct Grant {
    username: String,
    client_id: String,
    redirect_uri: String,
    challenge: String,
}

fn query(s: &str) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An ID token of `issuer` for `aud` with `claims` merged over `iss`,
/// `aud`, `iat`, `exp` (an hour), signed with the current key.
fn sign(keys: &[Key], issuer: &str, aud: &str, claims: Value) -> String {
    let key = keys.last().unwrap();
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({ "iss": issuer, "aud": aud, "iat": now, "exp": now + 3600 });
    for (k, v) in claims.as_object().unwrap() {
        c[k] = v.clone();
    }
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(
        &header,
        &c,
        &jsonwebtoken::EncodingKey::from_ec_der(&key.pkcs8),
    )
    .unwrap()
}

impl Issuer {
    /// Serves discovery, keys, and the authorization code flow with PKCE
    /// (S256) for a browser: `/authorize` shows a sign-in form that asks
    /// only for a username (any name signs in), `/authorize/approve`
    /// redirects back with a code, `/token` exchanges it once.
    pub fn start() -> Issuer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let keys = Arc::new(Mutex::new(vec![new_key(0)]));
        let fetches = Arc::new(Mutex::new(0));
        let grants: Arc<Mutex<std::collections::HashMap<String, Grant>>> = Default::default();
        let (k, f, u) = (keys.clone(), fetches.clone(), url.clone());
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                // The headers: only the body's length matters.
                let mut length = 0usize;
                let mut h = String::new();
                while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
                    if let Some((name, v)) = h.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    h.clear();
                }
                let mut body = vec![0u8; length.min(1 << 16)];
                if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
                    continue;
                }
                let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let (path, q) = target.split_once('?').unwrap_or((&target, ""));
                let q = query(q);
                let json_type = "application/json";
                let mut location = None;
                let (status, content_type, body) = match path {
                    "/.well-known/openid-configuration" => (
                        "200 OK",
                        json_type,
                        json!({ "issuer": u, "jwks_uri": format!("{u}/keys"),
                                "authorization_endpoint": format!("{u}/authorize"),
                                "token_endpoint": format!("{u}/token"),
                                "id_token_signing_alg_values_supported": ["ES256"] })
                        .to_string(),
                    ),
                    "/keys" => {
                        *f.lock().unwrap() += 1;
                        let keys: Vec<Value> =
                            k.lock().unwrap().iter().map(|k| k.jwk.clone()).collect();
                        ("200 OK", json_type, json!({ "keys": keys }).to_string())
                    }
                    "/authorize" => {
                        let hidden: String = q
                            .iter()
                            .map(|(k, v)| {
                                format!(
                                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                                    html_escape(k),
                                    html_escape(v)
                                )
                            })
                            .collect();
                        (
                            "200 OK",
                            "text/html; charset=utf-8",
                            format!(
                                "<!doctype html><html lang=\"en\"><title>Test issuer</title><h1>Test issuer</h1>\
                                 <form method=\"get\" action=\"/authorize/approve\">{hidden}\
                                 <label>Username <input name=\"username\" autocomplete=\"username\"></label>\
                                 <button type=\"submit\">Sign in</button></form></html>"
                            ),
                        )
                    }
                    "/authorize/approve" => {
                        let get = |k: &str| q.get(k).cloned().unwrap_or_default();
                        if get("code_challenge_method") != "S256"
                            || get("code_challenge").is_empty()
                        {
                            (
                                "400 Bad Request",
                                "text/plain",
                                "PKCE S256 required".to_string(),
                            )
                        } else {
                            let code = format!("code-{n}-{}", uuid::Uuid::new_v4().simple());
                            grants.lock().unwrap().insert(
                                code.clone(),
                                Grant {
                                    username: get("username"),
                                    client_id: get("client_id"),
                                    redirect_uri: get("redirect_uri"),
                                    challenge: get("code_challenge"),
                                },
                            );
                            let back = url::Url::parse_with_params(
                                &get("redirect_uri"),
                                &[("code", code.as_str()), ("state", get("state").as_str())],
                            )
                            .unwrap();
                            location = Some(back.to_string());
                            ("302 Found", "text/plain", String::new())
                        }
                    }
                    "/token" => {
                        let form = query(&String::from_utf8_lossy(&body));
                        let get = |k: &str| form.get(k).cloned().unwrap_or_default();
                        let grant = grants.lock().unwrap().remove(&get("code"));
                        let verified = grant.as_ref().is_some_and(|g| {
                            use sha2::Digest;
                            let challenge = URL_SAFE_NO_PAD
                                .encode(sha2::Sha256::digest(get("code_verifier").as_bytes()));
                            get("grant_type") == "authorization_code"
                                && g.client_id == get("client_id")
                                && g.redirect_uri == get("redirect_uri")
                                && g.challenge == challenge
                        });
                        match grant {
                            Some(g) if verified => {
                                let id_token = sign(
                                    &k.lock().unwrap(),
                                    &u,
                                    &g.client_id,
                                    json!({ "sub": format!("sub-{}", g.username),
                                            "preferred_username": g.username,
                                            "email": format!("{}@phobos.test", g.username) }),
                                );
                                (
                                    "200 OK",
                                    json_type,
                                    json!({ "access_token": "not-used", "token_type": "Bearer",
                                            "expires_in": 3600, "id_token": id_token })
                                    .to_string(),
                                )
                            }
                            _ => (
                                "400 Bad Request",
                                json_type,
                                json!({ "error": "invalid_grant",
                                        "error_description": "unknown code, or a wrong verifier, client or redirect URI" })
                                .to_string(),
                            ),
                        }
                    }
                    // A browser asks for one on the sign-in page.
                    "/favicon.ico" => ("204 No Content", "image/x-icon", String::new()),
                    _ => ("404 Not Found", json_type, "{}".to_string()),
                };
                let location = location
                    .map(|l| format!("location: {l}\r\n"))
                    .unwrap_or_default();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n{location}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Issuer { url, keys, fetches }
    }

    /// The server settings that trust this issuer for `client_id`, with
    /// usernames from `preferred_username`.
    #[allow(dead_code)]
    pub fn provider_env(&self, client_id: &str) -> Vec<(&'static str, String)> {
        vec![
            ("PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL", self.url.clone()),
            ("PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID", client_id.to_string()),
            (
                "PHOBOS_OAUTH_PROVIDERS_0_USERNAME_CLAIM",
                "preferred_username".to_string(),
            ),
        ]
    }

    /// A token with `claims` merged over `iss`, `aud`, `iat`, `exp` (an
    /// hour), signed with the current key.
    pub fn token(&self, aud: &str, claims: Value) -> String {
        sign(&self.keys.lock().unwrap(), &self.url, aud, claims)
    }

    /// Key rollover: a new key signs from now on, and the old one leaves
    /// the JWKS.
    pub fn roll_keys(&self) {
        let mut keys = self.keys.lock().unwrap();
        let n = keys.len();
        let k = new_key(n);
        keys.clear();
        keys.push(k);
    }
}
