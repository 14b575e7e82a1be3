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

impl Issuer {
    pub fn start() -> Issuer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let keys = Arc::new(Mutex::new(vec![new_key(0)]));
        let fetches = Arc::new(Mutex::new(0));
        let (k, f, u) = (keys.clone(), fetches.clone(), url.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut line = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                // Drain the headers.
                let mut h = String::new();
                while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
                    h.clear();
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let (status, body) = match path.as_str() {
                    "/.well-known/openid-configuration" => (
                        "200 OK",
                        json!({ "issuer": u, "jwks_uri": format!("{u}/keys"),
                                "id_token_signing_alg_values_supported": ["ES256"] })
                        .to_string(),
                    ),
                    "/keys" => {
                        *f.lock().unwrap() += 1;
                        let keys: Vec<Value> =
                            k.lock().unwrap().iter().map(|k| k.jwk.clone()).collect();
                        ("200 OK", json!({ "keys": keys }).to_string())
                    }
                    _ => ("404 Not Found", "{}".to_string()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
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
        let keys = self.keys.lock().unwrap();
        let key = keys.last().unwrap();
        let now = chrono::Utc::now().timestamp();
        let mut c = json!({ "iss": self.url, "aud": aud, "iat": now, "exp": now + 3600 });
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
