//! Settings of the webhook that do not change while it runs.
//!
//! The command line (`main.rs`) fills these in; tests build them directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The API server sends at most 3 MiB of object (etcd's request limit, twice for UPDATE is
/// still one request body of at most 3 MiB plus the review envelope); the margin covers
/// the envelope, `oldObject` framing and `options`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 3 * 1024 * 1024 + 256 * 1024;

/// Per-request deadline: well under the ValidatingWebhookConfiguration's `timeoutSeconds: 10`,
/// so the API server gets an answer (an error it can apply `failurePolicy` to) instead of
/// waiting out its own timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How often certificate and policy files are polled for changes.
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// How long in-flight requests may take to finish after SIGTERM.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// How long the webhook keeps serving, not ready, after SIGTERM before it stops accepting
/// connections: time for the endpoint to leave the Service, so the API server stops sending
/// new requests here before the listener closes.
pub const DEFAULT_SHUTDOWN_DELAY: Duration = Duration::from_secs(5);

/// Requests read and judged at once by default: far above what two cores finish within a
/// deadline (a review takes well under a millisecond), so only a real overload is shed. It also
/// bounds the request bodies held in memory (at most this many times `max_body_bytes`).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// Connections served at once by default: about 35 MiB of TLS state and buffers at most,
/// four times the in-flight limit (most connections are idle between requests).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Limits applied to every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body accepted; larger ones get 413 with a JSON error.
    pub max_body_bytes: usize,
    /// Deadline for one request; past it the answer is 503 with a JSON error.
    pub request_timeout: Duration,
    /// Requests read and judged at once; past it a request is shed at once with 503
    /// "overloaded", before its body is read, rather than queued behind work that would miss
    /// its deadline anyway.
    pub max_in_flight: usize,
    /// Connections served at once; past it a new connection waits briefly for a slot, before
    /// its TLS handshake, and is closed if none frees (see [`crate::connections`]).
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// HTTPS listen address for `/validate`, `/healthz`, `/readyz`.
    pub listen: SocketAddr,
    /// Plain-HTTP listen address for `/metrics`; `None` for no metrics listener.
    pub metrics_listen: Option<SocketAddr>,
    /// PEM serving certificate chain.
    pub tls_cert: PathBuf,
    /// PEM private key.
    pub tls_key: PathBuf,
    /// PEM CA bundle that API server client certificates must chain to; `None` for no client
    /// authentication.
    pub client_ca: Option<PathBuf>,
    /// Policy file; `None` for the embedded default policy.
    pub policy: Option<PathBuf>,
    /// Request limits.
    pub limits: Limits,
    /// How often certificate and policy files are polled.
    pub reload_interval: Duration,
    /// Time between turning not-ready and closing the listener on shutdown.
    pub shutdown_delay: Duration,
    /// Grace period for in-flight requests on shutdown.
    pub drain_timeout: Duration,
}

impl ServeConfig {
    /// A configuration with default limits and intervals.
    pub fn new(
        listen: SocketAddr,
        tls_cert: impl Into<PathBuf>,
        tls_key: impl Into<PathBuf>,
    ) -> Self {
        Self {
            listen,
            metrics_listen: None,
            tls_cert: tls_cert.into(),
            tls_key: tls_key.into(),
            client_ca: None,
            policy: None,
            limits: Limits::default(),
            reload_interval: DEFAULT_RELOAD_INTERVAL,
            shutdown_delay: DEFAULT_SHUTDOWN_DELAY,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }
}
