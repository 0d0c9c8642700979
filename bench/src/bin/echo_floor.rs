//! `echo-floor`: the least an HTTPS admission webhook can do, as the floor the changelint
//! webhook is measured against. Same stack as the webhook (tokio multi-thread runtime, axum,
//! axum-server with rustls, the same certificate loading); `POST /validate` parses the
//! AdmissionReview into a `serde_json::Value` and answers allowed with its uid.
//!
//! ```text
//! echo-floor --listen 127.0.0.1:9443 --tls-cert tls.crt --tls-key tls.key
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum_server::tls_rustls::RustlsConfig;
use changelint_certs::CertPaths;
use serde_json::{Value, json};

/// The allocator of the `changelint-webhook` binary, so that the floor differs from the webhook
/// only in the work it does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let mut listen: SocketAddr = "127.0.0.1:9443".parse()?;
    let (mut cert, mut key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--listen" => listen = value.parse().context("--listen")?,
            "--tls-cert" => cert = Some(PathBuf::from(value)),
            "--tls-key" => key = Some(PathBuf::from(value)),
            _ => anyhow::bail!("unexpected argument `{arg}`"),
        }
    }
    let paths = CertPaths::new(
        cert.context("--tls-cert is required")?,
        key.context("--tls-key is required")?,
    );
    let config = paths.load().context("cannot load the certificate")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app = Router::new()
            .route("/validate", post(validate))
            .layer(DefaultBodyLimit::max(3 * 1024 * 1024 + 64 * 1024));
        eprintln!("echo-floor: listening on https://{listen}");
        // TCP_NODELAY, as the webhook sets it.
        axum_server::bind_rustls(listen, RustlsConfig::from_config(config))
            .map(|tls| tls.acceptor(axum_server::accept::NoDelayAcceptor::new()))
            .serve(app.into_make_service())
            .await
            .context("serving failed")
    })
}

async fn validate(body: Bytes) -> Response {
    let Ok(review) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "malformed AdmissionReview").into_response();
    };
    let answer = json!({
        "apiVersion": review["apiVersion"],
        "kind": "AdmissionReview",
        "response": {"uid": review["request"]["uid"], "allowed": true}
    });
    (
        [(CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&answer).unwrap_or_default(),
    )
        .into_response()
}
