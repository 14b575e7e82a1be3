//! How agents and executors reach the server: one checked gRPC endpoint,
//! `http://` in plain text or `https://` over TLS, verified against the
//! machine's root certificates or the CA certificates given.

use std::fmt;
use std::time::Duration;

use tonic::codegen::http::Uri;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

/// How the server's certificate is checked on an `https://` URL.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ServerTrust {
    /// PEM certificates to trust instead of the machine's roots (a private
    /// CA, or a self-signed server certificate).
    pub ca_pem: Option<String>,
    /// The name the certificate must be valid for, when it is not the URL's
    /// host (an internal agent dials 127.0.0.1).
    pub domain: Option<String>,
}

impl fmt::Debug for ServerTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTrust")
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<pem>"))
            .field("domain", &self.domain)
            .finish()
    }
}

/// A server URL that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidUrl(pub String);

impl fmt::Display for InvalidUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The endpoint of `url` (`http://HOST:PORT` or `https://HOST:PORT`), with
/// HTTP/2 keep-alives so a vanished server ends a stream instead of leaving
/// it open forever.
pub fn endpoint(url: &str, trust: &ServerTrust) -> Result<Endpoint, InvalidUrl> {
    let uri: Uri = url.parse().map_err(|e| InvalidUrl(format!("{e}")))?;
    if uri.host().is_none() {
        return Err(InvalidUrl("it has no host".into()));
    }
    let tls = match uri.scheme_str() {
        Some("http") => {
            if trust.ca_pem.is_some() || trust.domain.is_some() {
                return Err(InvalidUrl(
                    "a CA file or TLS domain is given but the URL is http://; use https:// for a server with TLS".into(),
                ));
            }
            None
        }
        Some("https") => {
            let mut tls = ClientTlsConfig::new();
            tls = match &trust.ca_pem {
                Some(pem) => tls.ca_certificate(Certificate::from_pem(pem)),
                None => tls.with_native_roots(),
            };
            if let Some(domain) = &trust.domain {
                tls = tls.domain_name(domain.clone());
            }
            Some(tls)
        }
        Some(other) => {
            return Err(InvalidUrl(format!(
                "unsupported scheme {other:?}: use http:// or https://"
            )))
        }
        None => return Err(InvalidUrl("it has no scheme (http:// or https://)".into())),
    };
    let mut endpoint = Endpoint::from(uri)
        .connect_timeout(Duration::from_secs(5))
        .tcp_keepalive(Some(Duration::from_secs(30)))
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true);
    if let Some(tls) = tls {
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| InvalidUrl(format!("its TLS settings cannot be used: {e}")))?;
    }
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_trust_are_checked() {
        let none = ServerTrust::default();
        assert!(endpoint("http://127.0.0.1:9010", &none).is_ok());
        assert!(endpoint("https://phobos.example:9010", &none).is_ok());
        let ca = ServerTrust {
            ca_pem: Some(String::new()),
            domain: None,
        };
        assert!(endpoint("http://127.0.0.1:9010", &ca)
            .unwrap_err()
            .0
            .contains("use https://"));
        assert!(endpoint("ftp://x", &none)
            .unwrap_err()
            .0
            .contains("unsupported scheme"));
        assert!(endpoint("127.0.0.1:9010", &none).is_err());
    }
}
