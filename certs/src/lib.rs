//! Serving certificates for the changelint admission webhook.
//!
//! The API server fails admission requests (or skips the webhook, depending on
//! `failurePolicy`) whenever the TLS handshake to the webhook fails, so certificates are the
//! webhook's most likely outage. This crate keeps that part small and tested:
//!
//! - [`generate`]: a throwaway CA and a serving certificate with every in-cluster name of the
//!   Service, plus the `caBundle` for the `ValidatingWebhookConfiguration` (for clusters
//!   without cert-manager, and for tests).
//! - [`server_config`]: a rustls [`ServerConfig`](rustls::ServerConfig) from PEM, with the
//!   `ring` provider, TLS 1.2/1.3, ALPN `h2`/`http/1.1` and optional client certificates;
//!   every failure names the input that is wrong.
//! - [`CertReloader`]: watches the mounted files and swaps a new configuration into
//!   axum-server's [`RustlsConfig`](axum_server::tls_rustls::RustlsConfig) when, and only
//!   when, the new files are valid; reports each attempt as a [`ReloadEvent`].
//! - [`FileWatcher`]: the polling watcher underneath, reusable for other mounted files.
//!
//! ```no_run
//! # async fn example() -> Result<(), changelint_certs::CertError> {
//! use std::time::Duration;
//! use changelint_certs::{CertPaths, CertReloader, ReloadEvent};
//!
//! let (reloader, mut events) =
//!     CertReloader::start(CertPaths::in_dir("/certs"), Duration::from_secs(10))?;
//! tokio::spawn(async move {
//!     while let Some(event) = events.recv().await {
//!         if let ReloadEvent::Failed { error } = event {
//!             tracing::warn!(%error, "certificate reload failed");
//!         }
//!     }
//! });
//! let config = reloader.rustls_config(); // axum_server::bind_rustls(addr, config)
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod error;
mod generate;
mod reload;
mod tls;
mod watch;

pub use error::{CertError, Result};
pub use generate::{
    CA_CERT_FILE, CA_COMMON_NAME, GeneratedCerts, TLS_CERT_FILE, TLS_KEY_FILE, generate,
};
pub use reload::{CertPaths, CertReloader, ReloadEvent, error_chain};
pub use tls::{ALPN_PROTOCOLS, PROTOCOL_VERSIONS, crypto_provider, not_after, server_config};
pub use watch::{FileSnapshot, FileWatcher};
