//! The `awskms` JWS provider against a real KMS-compatible server (moto's):
//! tokens are signed by a key KMS holds, named and tagged as configured,
//! published in the JWKS; the key outlives a `kill -9` and is shared by a
//! second instance on the same database, which makes no key of its own.

mod support;

use aws_sdk_kms::Client;
use serde_json::{json, Value};

fn me(server: &support::Server, token: &str) -> Value {
    server.raw_as(Some(token), "{ me { name } }", json!({}))
}

async fn kms(moto: &support::MotoServer) -> Client {
    let creds = aws_sdk_kms::config::Credentials::new(
        "phobos-test",
        "phobos-test-secret",
        None,
        None,
        "test",
    );
    let config = aws_sdk_kms::config::Builder::new()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new("eu-west-1"))
        .credentials_provider(creds)
        .endpoint_url(moto.url())
        .build();
    Client::from_conf(config)
}

/// The key ids of the aliases that begin with `prefix`.
async fn aliased(client: &Client, prefix: &str) -> Vec<String> {
    let out = client.list_aliases().send().await.unwrap();
    out.aliases()
        .iter()
        .filter(|a| {
            a.alias_name()
                .is_some_and(|n| n.starts_with(&format!("alias/{prefix}")))
        })
        .filter_map(|a| a.target_key_id().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn tokens_are_signed_by_a_kms_key_that_outlives_the_process_and_is_shared() {
    let Some(moto) = support::MotoServer::start() else {
        return;
    };
    let mut env: Vec<(String, String)> = moto.aws_env();
    env.extend(
        [
            ("PHOBOS_JWS_PROVIDER_PLUGIN_TYPE", "awskms"),
            ("PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION", "eu-west-1"),
            (
                "PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ALIAS_PREFIX",
                "phobos-test-",
            ),
            (
                "PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS",
                "team=platform,env=test",
            ),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut a = support::start_with("jws_awskms", 0, &extra).await;
    let token = a.login();

    // Signed RS256 (the default RSA_2048 spec) by the KMS key the token names.
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let kid = header.kid.unwrap();
    let client = kms(&moto).await;
    assert_eq!(aliased(&client, "phobos-test-").await, vec![kid.clone()]);
    let tags = client
        .list_resource_tags()
        .key_id(&kid)
        .send()
        .await
        .unwrap();
    let tags: Vec<(String, String)> = tags
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect();
    assert!(
        tags.contains(&("team".into(), "platform".into())),
        "{tags:?}"
    );
    assert!(tags.contains(&("env".into(), "test".into())), "{tags:?}");

    // The JWKS publishes it, and the token verifies with it.
    let base = format!("http://127.0.0.1:{}", a.http);
    let get = |path: &str| -> Value {
        ureq::get(&format!("{base}{path}"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    };
    assert_eq!(
        get("/.well-known/openid-configuration")["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(get("/.well-known/jwks.json")).unwrap();
    assert_eq!(jwks.keys.len(), 1);
    let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&["phobos"]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &v).expect("verifies with the JWKS");
    assert_eq!(claims.claims["sub"], support::ADMIN);
    assert_eq!(me(&a, &token)["data"]["me"]["name"], support::ADMIN);

    // kill -9 and start again: the same key, so the token still works.
    a.kill9();
    a.restart();
    assert_eq!(
        me(&a, &token)["data"]["me"]["name"],
        support::ADMIN,
        "after kill -9"
    );
    // A second instance on the same database uses the same key.
    let b = support::start_on("jws_awskms_b", a.db.clone(), 0, &extra);
    assert_eq!(
        me(&b, &token)["data"]["me"]["name"],
        support::ADMIN,
        "on the second instance"
    );
    let mut b = b;
    let from_b = b.login();
    assert_eq!(
        jsonwebtoken::decode_header(&from_b).unwrap().kid.unwrap(),
        kid
    );
    assert_eq!(me(&a, &from_b)["data"]["me"]["name"], support::ADMIN);
    assert_eq!(
        aliased(&client, "phobos-test-").await.len(),
        1,
        "no instance made a second key"
    );

    // A token whose signature is not the key's is refused.
    let mut forged = token.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    assert_ne!(me(&a, &forged)["data"]["me"]["name"], support::ADMIN);
    assert!(
        !a.log_text().contains(&token[token.len() - 20..]),
        "no token in the log"
    );
}
