//! rustls server configuration from PEM.
//!
//! The webhook serves HTTPS to exactly one client, the Kubernetes API server, so the
//! configuration is fixed rather than tunable: the `ring` provider (named explicitly, so the
//! result does not depend on which crypto provider another crate in the binary happens to
//! install as process default), TLS 1.2 and 1.3 only, ALPN `h2` then `http/1.1`, and
//! optionally mandatory client certificates for clusters that configure the API server to
//! authenticate to webhooks.
//!
//! Every check a bad Secret can fail is made here, before anything is served, and each
//! failure says which input was wrong: no certificate, no key, a key for another certificate,
//! or an unusable client CA.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::error::{CertError, Result};

/// ALPN protocols the server offers, most preferred first.
pub const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// TLS protocol versions the server accepts.
pub static PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The crypto provider every configuration of this crate uses: rustls' `ring` provider.
///
/// Public so that clients in tests and tools can use the same one.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds a server configuration from a PEM certificate chain (leaf first), a PEM private key
/// (PKCS#8, PKCS#1 or SEC1) and, optionally, a PEM bundle of CAs that client certificates
/// must chain to.
///
/// With `client_ca`, clients without a certificate signed by one of those CAs are refused.
pub fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca: Option<&[u8]>,
) -> Result<Arc<ServerConfig>> {
    build_server_config(
        Pem::new("the certificate PEM", cert_pem),
        Pem::new("the private key PEM", key_pem),
        client_ca.map(|ca| Pem::new("the client CA PEM", ca)),
    )
}

/// Returns when the first certificate in `cert_pem` expires (its `notAfter`).
///
/// Meant for an expiry gauge: alert well before the API server starts failing closed.
pub fn not_after(cert_pem: &[u8]) -> Result<SystemTime> {
    not_after_of(Pem::new("the certificate PEM", cert_pem))
}

/// PEM bytes and a human name for them (a file path or what they were meant to be), used
/// in error messages.
#[derive(Clone, Copy)]
pub(crate) struct Pem<'a> {
    pub(crate) name: &'a str,
    pub(crate) bytes: &'a [u8],
}

impl<'a> Pem<'a> {
    pub(crate) fn new(name: &'a str, bytes: &'a [u8]) -> Self {
        Self { name, bytes }
    }

    fn certificates(self) -> Result<Vec<CertificateDer<'static>>> {
        let certs = CertificateDer::pem_slice_iter(self.bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| self.pem_error(source))?;
        if certs.is_empty() {
            return Err(CertError::NoCertificate(self.name.to_owned()));
        }
        Ok(certs)
    }

    fn private_key(self) -> Result<PrivateKeyDer<'static>> {
        PrivateKeyDer::from_pem_slice(self.bytes).map_err(|source| match source {
            pem::Error::NoItemsFound => CertError::NoPrivateKey(self.name.to_owned()),
            source => self.pem_error(source),
        })
    }

    fn pem_error(self, source: pem::Error) -> CertError {
        CertError::Pem {
            source_name: self.name.to_owned(),
            source,
        }
    }
}

pub(crate) fn build_server_config(
    cert: Pem<'_>,
    key: Pem<'_>,
    client_ca: Option<Pem<'_>>,
) -> Result<Arc<ServerConfig>> {
    let chain = cert.certificates()?;
    let key_der = key.private_key()?;
    let provider = crypto_provider();

    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|source| CertError::Tls {
            context: "protocol versions TLS 1.2 and 1.3 with the ring provider".to_owned(),
            source,
        })?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => builder.with_client_cert_verifier(client_verifier(ca, &provider)?),
    };

    let signing_key = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|source| CertError::InvalidPrivateKey {
            source_name: key.name.to_owned(),
            source,
        })?;
    let certified = rustls::sign::CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // ring's signing keys all expose their public key, so `Unknown` cannot happen here;
        // if a future provider's does, rustls' own `with_single_cert` accepts it too.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(CertError::KeyMismatch {
                cert: cert.name.to_owned(),
                key: key.name.to_owned(),
            });
        }
        Err(source) => {
            return Err(CertError::Tls {
                context: format!("checking the certificate in {}", cert.name),
                source,
            });
        }
    }

    let mut config =
        builder.with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

fn client_verifier(
    ca: Pem<'_>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>> {
    let ca_error = |source: Box<dyn std::error::Error + Send + Sync>| CertError::ClientCa {
        source_name: ca.name.to_owned(),
        source,
    };
    let mut roots = RootCertStore::empty();
    for der in ca.certificates()? {
        roots.add(der).map_err(|e| ca_error(Box::new(e)))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| ca_error(Box::new(e)))
}

pub(crate) fn not_after_of(cert: Pem<'_>) -> Result<SystemTime> {
    let der = cert
        .certificates()?
        .into_iter()
        .next()
        .ok_or_else(|| CertError::NoCertificate(cert.name.to_owned()))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).map_err(|err| {
        let source = match err {
            x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => e,
            x509_parser::nom::Err::Incomplete(_) => {
                x509_parser::error::X509Error::InvalidCertificate
            }
        };
        CertError::Parse {
            source_name: cert.name.to_owned(),
            source,
        }
    })?;
    let secs = parsed.validity().not_after.timestamp();
    let offset = Duration::from_secs(secs.unsigned_abs());
    Ok(if secs >= 0 {
        SystemTime::UNIX_EPOCH + offset
    } else {
        SystemTime::UNIX_EPOCH - offset
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate;

    #[test]
    fn offers_h2_then_http11() {
        let certs = generate("svc", "ns", &[], &[], 1).unwrap();
        let config =
            server_config(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes(), None).unwrap();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn not_after_is_the_requested_validity() {
        let certs = generate("svc", "ns", &[], &[], 30).unwrap();
        let expiry = not_after(certs.cert_pem.as_bytes()).unwrap();
        let expected = SystemTime::now() + Duration::from_secs(30 * 86_400);
        let diff = expected
            .duration_since(expiry)
            .unwrap_or_else(|e| e.duration());
        assert!(diff < Duration::from_secs(120), "off by {diff:?}");
    }

    #[test]
    fn not_after_names_a_missing_certificate() {
        let err = not_after(b"").unwrap_err();
        assert!(matches!(err, CertError::NoCertificate(_)), "{err}");
        assert!(err.to_string().contains("certificate PEM"), "{err}");
    }
}
