//! TLS for HTTP and gRPC (`PHOBOS_TLS_*`): the certificate and key are read
//! and checked once at start-up, so a wrong file stops `phobos serve` with
//! a message naming the variable, instead of failing each handshake.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsFiles;

const CERT_VAR: &str = "PHOBOS_TLS_CERT_FILE";
const KEY_VAR: &str = "PHOBOS_TLS_KEY_FILE";

/// A TLS setting that cannot be used, naming its variable and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct TlsError {
    pub var: &'static str,
    pub message: String,
}

fn error(var: &'static str, message: impl Into<String>) -> TlsError {
    TlsError {
        var,
        message: message.into(),
    }
}

/// The server's certificate and key, checked to belong together.
pub struct ServerTls {
    /// For actix-web (HTTP/1.1 and HTTP/2).
    pub http: rustls::ServerConfig,
    /// The PEM files as read, for tonic's acceptor.
    pub cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    /// A name the certificate is valid for: the first DNS name of its
    /// subject alternative names, else `127.0.0.1` (for a certificate
    /// made for an IP address). Internal agents dial 127.0.0.1 and verify
    /// the certificate against this name.
    pub name: String,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("name", &self.name)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl ServerTls {
    pub fn load(files: &TlsFiles) -> Result<Self, TlsError> {
        install_provider();
        let cert_pem = read(CERT_VAR, &files.cert_file)?;
        let key_pem = read(KEY_VAR, &files.key_file)?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| {
                error(
                    CERT_VAR,
                    format!(
                        "{} is not a PEM certificate file ({e}): it holds the server's certificate, then its chain, each as -----BEGIN CERTIFICATE-----",
                        files.cert_file.display()
                    ),
                )
            })?;
        let Some(leaf) = certs.first() else {
            return Err(error(
                CERT_VAR,
                format!(
                    "{} holds no certificate: it holds the server's certificate, then its chain, each as -----BEGIN CERTIFICATE-----",
                    files.cert_file.display()
                ),
            ));
        };
        let name = certificate_name(leaf).ok_or_else(|| {
            error(
                CERT_VAR,
                format!(
                    "the first certificate of {} cannot be read as X.509",
                    files.cert_file.display()
                ),
            )
        })?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            error(
                KEY_VAR,
                format!(
                    "{} holds no private key ({e}): use the PEM file of the certificate's key (PKCS#8, PKCS#1 or SEC1)",
                    files.key_file.display()
                ),
            )
        })?;
        let mut http = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| error(CERT_VAR, e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| {
                error(
                    KEY_VAR,
                    format!(
                        "{} does not fit the certificate in {} ({e}): give the key the certificate was issued for",
                        files.key_file.display(),
                        files.cert_file.display()
                    ),
                )
            })?;
        http.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            http,
            cert_pem,
            key_pem,
            name,
        })
    }

    /// The identity tonic presents on the gRPC port.
    pub fn grpc(&self) -> tonic::transport::ServerTlsConfig {
        tonic::transport::ServerTlsConfig::new().identity(tonic::transport::Identity::from_pem(
            &self.cert_pem,
            &self.key_pem,
        ))
    }
}

fn read(var: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| {
        error(
            var,
            format!(
                "cannot read {} ({e}); give the path of a PEM file this process may read",
                path.display()
            ),
        )
    })
}

/// The first DNS name of `cert`, else `127.0.0.1`; None if it does not parse.
fn certificate_name(cert: &CertificateDer<'_>) -> Option<String> {
    let parsed = webpki::EndEntityCert::try_from(cert).ok()?;
    // A wildcard `*.example.com` is checked as `phobos.example.com`, a
    // name it covers.
    let name = parsed
        .valid_dns_names()
        .map(|n| match n.strip_prefix("*.") {
            Some(rest) => format!("phobos.{rest}"),
            None => n.to_owned(),
        })
        .next()
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    Some(name)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// tonic's acceptor builds its rustls configuration with the process's
/// default provider; more than one is compiled in, so name ours.
fn install_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A client that trusts exactly the certificates of `cert_file` (the
/// server's own), and the name to check them against: how `phobos
/// healthcheck` reaches a server with TLS.
pub fn own_certificate_client(
    cert_file: &Path,
) -> Result<
    (
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    ),
    TlsError,
> {
    let pem = read(CERT_VAR, cert_file)?;
    let mut roots = rustls::RootCertStore::empty();
    let mut name = None;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| error(CERT_VAR, e.to_string()))?;
        if name.is_none() {
            name = certificate_name(&cert);
        }
        roots
            .add(cert)
            .map_err(|e| error(CERT_VAR, e.to_string()))?;
    }
    let name = name.ok_or_else(|| error(CERT_VAR, "holds no X.509 certificate"))?;
    let name = rustls::pki_types::ServerName::try_from(name)
        .map_err(|e| error(CERT_VAR, e.to_string()))?;
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| error(CERT_VAR, e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok((Arc::new(config), name))
}

#[cfg(test)]
mod tests {
    use super::certificate_name;

    fn name_of(names: &[&str]) -> Option<String> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let key = rcgen::generate_simple_self_signed(names).unwrap();
        certificate_name(key.cert.der())
    }

    /// Internal agents check the server's certificate against this name: a
    /// wildcard certificate (once skipped, so agents checked 127.0.0.1 and
    /// refused it) names a host it covers.
    #[test]
    fn internal_agents_check_the_first_name_a_wildcard_covers() {
        assert_eq!(
            name_of(&["*.example.com"]).as_deref(),
            Some("phobos.example.com")
        );
        assert_eq!(
            name_of(&["phobos.internal", "*.example.com"]).as_deref(),
            Some("phobos.internal")
        );
        assert_eq!(name_of(&["127.0.0.1"]).as_deref(), Some("127.0.0.1"));
    }
}
