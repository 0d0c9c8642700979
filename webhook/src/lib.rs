//! The changelint admission webhook: the same policy engine in the cluster, over rustls.
//!
//! A change that skips the pipeline (a `kubectl apply`, an emergency edit, an operator) reaches
//! the API server, which sends it here as an AdmissionReview; the webhook runs the engine on
//! `(oldObject, object)` and answers with `allowed`, a message listing deny findings,
//! warnings and audit annotations.
//!
//! ```text
//! main.rs (clap) -> server::start -> router(state) -> handlers -> review -> changelint_policies
//!                      |  TLS: changelint_certs::CertReloader (hot reload)
//!                      |  policy: policy::PolicyFile (hot reload, last good kept)
//!                      +  metrics: metrics_router on its own listener
//! ```
//!
//! - [`admission`]: AdmissionReview v1/v1beta1 types.
//! - [`review`]: request -> engine -> response; the only renderer of findings here.
//! - [`handlers`] and [`router`]: HTTP; [`error::ApiError`] for bodies that are not reviews.
//! - [`state`]: the live policy ([`arc_swap::ArcSwap`]), readiness, metrics, limits.
//! - [`policy`]: policy file loading and reload; [`metrics`]: Prometheus.
//! - [`log_writer`]: the log lines, written in batches by a background thread.
//! - [`server`]: HTTPS serving, certificate reload, graceful shutdown.

pub mod admission;
pub mod config;
pub mod connections;
pub mod error;
pub mod handlers;
pub mod log_writer;
pub mod metrics;
pub mod policy;
pub mod review;
pub mod server;
pub mod state;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower::ServiceBuilder;

pub use config::{Limits, ServeConfig};
pub use error::ApiError;
pub use metrics::Metrics;
pub use state::{AppState, Readiness};

/// The webhook's routes: `POST /validate`, `GET /healthz`, `GET /readyz`.
///
/// Bodies over [`Limits::max_body_bytes`] get 413; requests that take longer than
/// [`Limits::request_timeout`] get 503 with a JSON error, so the API server gets an answer
/// (and applies `failurePolicy`) instead of waiting out `timeoutSeconds`.
pub fn router(state: AppState) -> Router {
    let limits = state.limits();
    let metrics = state.metrics().clone();
    let deadline = limits.request_timeout;
    Router::new()
        .route("/validate", post(handlers::validate))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .fallback(handlers::not_found)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |_: axum::BoxError| {
                    let metrics = metrics.clone();
                    async move {
                        metrics.rejected("deadline");
                        tracing::warn!(?deadline, "request deadline exceeded");
                        ApiError::Deadline(deadline)
                    }
                }))
                .timeout(deadline),
        )
        .with_state(state)
}

/// The metrics listener's routes: `GET /metrics`.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(handlers::metrics))
        .with_state(metrics)
}
