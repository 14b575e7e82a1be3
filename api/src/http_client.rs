//! A small HTTP(S) client for the server's own outbound calls (OIDC
//! discovery and keys, the Plunk email API). TLS is rustls on aws-lc-rs with the machine's
//! root certificates.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Responses larger than this are refused (a JWKS is a few kilobytes).
const MAX_BODY: usize = 1 << 20;

#[derive(Clone)]
pub struct HttpClient {
    inner: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why a fetch failed, in words that name the URL.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{method} {url}: {reason}")]
pub struct FetchError {
    pub method: &'static str,
    pub url: String,
    pub reason: String,
}

impl HttpClient {
    pub fn new(timeout: Duration) -> Result<HttpClient, std::io::Error> {
        let provider = std::sync::Arc::new(rustls_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(HttpClient {
            inner: Client::builder(TokioExecutor::new()).build(https),
            timeout,
        })
    }

    /// GETs `url` and decodes its JSON body.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, FetchError> {
        let (status, body) = self
            .send(
                "GET",
                url,
                |b| b.header("accept", "application/json"),
                Bytes::new(),
            )
            .await?;
        let fail = |reason: String| FetchError {
            method: "GET",
            url: url.to_string(),
            reason,
        };
        if !(200..300).contains(&status) {
            return Err(fail(format!(
                "answered {}",
                hyper::StatusCode::from_u16(status)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|_| status.to_string())
            )));
        }
        serde_json::from_slice(&body).map_err(|e| fail(format!("not the JSON expected: {e}")))
    }

    /// POSTs `body` as JSON with `authorization: Bearer <bearer>`; returns
    /// the status and the body's text (at most 1 MiB), whatever the status.
    pub async fn post_json(
        &self,
        url: &str,
        bearer: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, String), FetchError> {
        let (status, body) = self
            .send(
                "POST",
                url,
                |b| {
                    b.header("content-type", "application/json")
                        .header("accept", "application/json")
                        .header("authorization", format!("Bearer {bearer}"))
                },
                Bytes::from(body.to_string()),
            )
            .await?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }

    /// POSTs `fields` as `application/x-www-form-urlencoded` (an OAuth
    /// token request); returns the status and the body's text (at most
    /// 1 MiB), whatever the status.
    pub async fn post_form(
        &self,
        url: &str,
        fields: &[(&str, &str)],
    ) -> Result<(u16, String), FetchError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let (status, body) = self
            .send(
                "POST",
                url,
                |b| {
                    b.header("content-type", "application/x-www-form-urlencoded")
                        .header("accept", "application/json")
                },
                Bytes::from(body),
            )
            .await?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }

    /// Sends one request (`headers` adds its headers) and reads the answer's
    /// status and body (at most [`MAX_BODY`]), each within the timeout.
    async fn send(
        &self,
        method: &'static str,
        url: &str,
        headers: impl FnOnce(hyper::http::request::Builder) -> hyper::http::request::Builder,
        body: Bytes,
    ) -> Result<(u16, Bytes), FetchError> {
        let fail = |reason: String| FetchError {
            method,
            url: url.to_string(),
            reason,
        };
        let uri: hyper::Uri = url.parse().map_err(|e| fail(format!("not a URL: {e}")))?;
        let req = headers(hyper::Request::builder().method(method).uri(uri))
            .body(Full::new(body))
            .map_err(|_| fail("the request cannot be built".into()))?;
        let resp = tokio::time::timeout(self.timeout, self.inner.request(req))
            .await
            .map_err(|_| fail(format!("no answer within {:?}", self.timeout)))?
            .map_err(|e| fail(e.to_string()))?;
        let status = resp.status().as_u16();
        let body = tokio::time::timeout(
            self.timeout,
            Limited::new(resp.into_body(), MAX_BODY).collect(),
        )
        .await
        .map_err(|_| fail(format!("body not received within {:?}", self.timeout)))?
        .map_err(|e| fail(format!("reading the body: {e}")))?
        .to_bytes();
        Ok((status, body))
    }
}

fn rustls_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}
