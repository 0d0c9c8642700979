//! Errors of this crate.
//!
//! One enum for everything, because the callers (the webhook's startup code and its reload
//! loop) do the same with every failure: log it with its cause chain and count it. Every
//! message names the file (or, for in-memory PEM, what the bytes were meant to be) so an
//! operator reading one log line knows which Secret key to fix. Causes are kept as
//! `#[source]` and are not repeated in the message.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = CertError> = std::result::Result<T, E>;

/// Why certificates could not be generated, written, loaded or reloaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// Reading or writing a file failed.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The input holds no PEM `CERTIFICATE` section (empty, garbage, or only a key).
    #[error("no PEM certificate found in {0}")]
    NoCertificate(String),

    /// The input holds no PEM private key section (PKCS#8, PKCS#1 or SEC1).
    #[error("no PEM private key found in {0}")]
    NoPrivateKey(String),

    /// The input looks like PEM but is malformed (missing END line, bad base64, ...).
    #[error("malformed PEM in {source_name}")]
    Pem {
        /// The file or label the PEM came from.
        source_name: String,
        /// The PEM parser's error.
        #[source]
        source: rustls::pki_types::pem::Error,
    },

    /// The private key is PEM but rustls cannot use it (corrupt or unsupported algorithm).
    #[error("unusable private key in {source_name}")]
    InvalidPrivateKey {
        /// The file or label the key came from.
        source_name: String,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },

    /// The private key is valid but belongs to a different certificate.
    #[error("private key in {key} does not match the certificate in {cert}")]
    KeyMismatch {
        /// Where the certificate came from.
        cert: String,
        /// Where the key came from.
        key: String,
    },

    /// The client CA bundle cannot be used to verify client certificates.
    #[error("invalid client CA in {source_name}")]
    ClientCa {
        /// The file or label the CA bundle came from.
        source_name: String,
        /// Why rustls rejected it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// rustls rejected the configuration for another reason.
    #[error("TLS configuration failed: {context}")]
    Tls {
        /// What was being configured.
        context: String,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },

    /// A certificate's DER could not be parsed as X.509.
    #[error("cannot parse the X.509 certificate in {source_name}")]
    Parse {
        /// The file or label the certificate came from.
        source_name: String,
        /// The X.509 parser's error.
        #[source]
        source: x509_parser::error::X509Error,
    },

    /// A name given for certificate generation is not usable.
    #[error("invalid {what} {name:?}: {reason}")]
    InvalidName {
        /// Which input (service, namespace, DNS name).
        what: &'static str,
        /// The rejected value.
        name: String,
        /// Why it is rejected.
        reason: &'static str,
    },

    /// The requested validity is zero days or reaches past what X.509 can express.
    #[error("invalid certificate validity of {0} days")]
    InvalidValidity(u32),

    /// rcgen failed to generate a key or sign a certificate.
    #[error("certificate generation failed")]
    Generate(#[source] rcgen::Error),
}
