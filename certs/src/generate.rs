//! Self-signed CA and serving certificate for the webhook.
//!
//! The Kubernetes API server only calls a webhook over TLS, and it verifies the serving
//! certificate against the `caBundle` of the `ValidatingWebhookConfiguration` using the DNS
//! name `<service>.<namespace>.svc`. Clusters without cert-manager still need such a pair, so
//! `changelint webhook certs` (and the tests) make one here: a throwaway CA that signs exactly
//! one serving certificate, with every name the Service can be reached by.
//!
//! The CA's private key is dropped after signing: nothing else should ever be signed by it,
//! and rotating means generating a new pair and a new `caBundle`.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

use crate::error::{CertError, Result};

/// Common name of the generated CA.
pub const CA_COMMON_NAME: &str = "changelint-webhook-ca";
/// File name [`GeneratedCerts::write_to`] gives the CA certificate.
pub const CA_CERT_FILE: &str = "ca.crt";
/// File name [`GeneratedCerts::write_to`] gives the serving certificate (as in a
/// `kubernetes.io/tls` Secret).
pub const TLS_CERT_FILE: &str = "tls.crt";
/// File name [`GeneratedCerts::write_to`] gives the serving private key (as in a
/// `kubernetes.io/tls` Secret).
pub const TLS_KEY_FILE: &str = "tls.key";

/// How far `notBefore` is set in the past, so that nodes whose clocks lag a little
/// accept a certificate generated moments ago.
const CLOCK_SKEW: Duration = Duration::hours(1);

/// A CA certificate and a serving certificate and key signed by it, all PEM.
#[derive(Clone)]
pub struct GeneratedCerts {
    /// The CA certificate; goes into the webhook configuration's `caBundle`.
    pub ca_pem: String,
    /// The serving certificate (`tls.crt`).
    pub cert_pem: String,
    /// The serving certificate's private key, PKCS#8 (`tls.key`).
    pub key_pem: String,
}

impl fmt::Debug for GeneratedCerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedCerts")
            .field("ca_pem", &self.ca_pem)
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

impl GeneratedCerts {
    /// Writes [`CA_CERT_FILE`], [`TLS_CERT_FILE`] and [`TLS_KEY_FILE`] into `dir`, creating it
    /// if needed.
    ///
    /// Each file is written to a temporary name and renamed into place, so a
    /// [`CertReloader`](crate::CertReloader) watching `dir` never reads half a file. The key
    /// file is created with mode 0600 on Unix.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|source| CertError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        write_atomic(&dir.join(CA_CERT_FILE), self.ca_pem.as_bytes(), false)?;
        write_atomic(&dir.join(TLS_KEY_FILE), self.key_pem.as_bytes(), true)?;
        write_atomic(&dir.join(TLS_CERT_FILE), self.cert_pem.as_bytes(), false)?;
        Ok(())
    }

    /// The CA certificate PEM, base64-encoded, as the `caBundle` field of a
    /// `ValidatingWebhookConfiguration` wants it.
    pub fn ca_bundle_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes())
    }
}

/// Generates a CA and a serving certificate for the Service `service` in `namespace`.
///
/// The serving certificate's subject alternative names are `<service>`,
/// `<service>.<namespace>`, `<service>.<namespace>.svc`,
/// `<service>.<namespace>.svc.cluster.local`, then `extra_dns` and `ips` (for running the
/// webhook outside the cluster, e.g. `localhost` and `127.0.0.1`). Both certificates are valid
/// from one hour ago until `validity_days` from now; keys are ECDSA P-256.
pub fn generate(
    service: &str,
    namespace: &str,
    extra_dns: &[String],
    ips: &[IpAddr],
    validity_days: u32,
) -> Result<GeneratedCerts> {
    check_dns_label("service name", service)?;
    check_dns_label("namespace", namespace)?;
    let now = OffsetDateTime::now_utc();
    let not_before = now - CLOCK_SKEW;
    let not_after = (validity_days > 0)
        .then(|| now.checked_add(Duration::days(i64::from(validity_days))))
        .flatten()
        .filter(|end| end.year() <= 9999)
        .ok_or(CertError::InvalidValidity(validity_days))?;

    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_key = KeyPair::generate().map_err(CertError::Generate)?;
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(CertError::Generate)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{service}.{namespace}.svc"));
    params.subject_alt_names = subject_alt_names(service, namespace, extra_dns, ips)?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    let key = KeyPair::generate().map_err(CertError::Generate)?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(CertError::Generate)?;

    Ok(GeneratedCerts {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// The in-cluster names of the Service, then the extra names, without duplicates.
fn subject_alt_names(
    service: &str,
    namespace: &str,
    extra_dns: &[String],
    ips: &[IpAddr],
) -> Result<Vec<SanType>> {
    let mut names = vec![
        service.to_owned(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ];
    for name in extra_dns {
        if name.is_empty() || !name.is_ascii() || name.contains(char::is_whitespace) {
            return Err(CertError::InvalidName {
                what: "DNS name",
                name: name.clone(),
                reason: "must be non-empty ASCII without whitespace",
            });
        }
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let mut sans = names
        .into_iter()
        .map(|name| {
            let ia5 = name
                .clone()
                .try_into()
                .map_err(|_| CertError::InvalidName {
                    what: "DNS name",
                    name,
                    reason: "not a valid IA5 string",
                })?;
            Ok(SanType::DnsName(ia5))
        })
        .collect::<Result<Vec<_>>>()?;
    for ip in ips {
        let san = SanType::IpAddress(*ip);
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    Ok(sans)
}

/// Service and namespace names are RFC 1123 labels; anything else yields a certificate
/// the API server would never match, so fail early with the offending value.
fn check_dns_label(what: &'static str, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("must not be empty")
    } else if name.len() > 63 {
        Some("must be at most 63 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Some("must consist of lower-case letters, digits and '-'")
    } else if name.starts_with('-') || name.ends_with('-') {
        Some("must start and end with a letter or digit")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(CertError::InvalidName {
            what,
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Writes `contents` to a sibling temporary file and renames it over `path`.
fn write_atomic(path: &Path, contents: &[u8], private: bool) -> Result<()> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CertError::Io { path, source }
    };
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));

    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(if private { 0o600 } else { 0o644 });
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_names_the_api_server_could_never_match() {
        for (service, namespace) in [("", "ns"), ("Webhook", "ns"), ("svc", "-ns"), ("a.b", "ns")] {
            let err = generate(service, namespace, &[], &[], 1).unwrap_err();
            assert!(
                matches!(err, CertError::InvalidName { .. }),
                "{service}/{namespace}: {err}"
            );
        }
        let err = generate("svc", "ns", &["bad name".into()], &[], 1).unwrap_err();
        assert!(err.to_string().contains("\"bad name\""), "{err}");
    }

    #[test]
    fn rejects_zero_and_absurd_validity() {
        for days in [0, u32::MAX] {
            let err = generate("svc", "ns", &[], &[], days).unwrap_err();
            assert!(
                matches!(err, CertError::InvalidValidity(d) if d == days),
                "{err}"
            );
        }
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let certs = generate("svc", "ns", &[], &[], 1).unwrap();
        let debug = format!("{certs:?}");
        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }
}
