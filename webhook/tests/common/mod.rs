//! Shared helpers: review builders, oneshot calls, generated certificates, an HTTPS client.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use changelint_policies::Policy;
use changelint_webhook::{AppState, router};
use http_body_util::{BodyExt as _, Full};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio_rustls::TlsConnector;
use tower::ServiceExt as _;

pub const V1: &str = "admission.k8s.io/v1";
pub const V1BETA1: &str = "admission.k8s.io/v1beta1";

/// The corpus fixtures copied into this crate.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/admission")
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).expect("fixture")
}

/// The incident's DaemonSet: `log-shipper` in `runtime-system`, with or without resources.
pub fn log_shipper(resources: Option<Value>, image: &str) -> Value {
    let mut container = json!({ "name": "shipper", "image": image });
    if let Some(resources) = resources {
        container["resources"] = resources;
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": { "name": "log-shipper", "namespace": "runtime-system", "labels": { "app": "log-shipper" } },
        "spec": {
            "selector": { "matchLabels": { "app": "log-shipper" } },
            "template": {
                "metadata": { "labels": { "app": "log-shipper" } },
                "spec": { "containers": [container] }
            }
        }
    })
}

/// The incident's resources: limits cpu 200m / memory 256Mi, requests cpu 100m / memory 128Mi.
pub fn incident_resources() -> Value {
    json!({
        "limits": { "cpu": "200m", "memory": "256Mi" },
        "requests": { "cpu": "100m", "memory": "128Mi" }
    })
}

pub const SHIPPER_IMAGE: &str = "registry.example.com/log-shipper:1.4.2";

/// An AdmissionReview for `object` (and `old_object`), in the kind taken from the object.
pub fn review(
    api_version: &str,
    operation: &str,
    old_object: Option<Value>,
    object: Option<Value>,
) -> Value {
    let source = object.as_ref().or(old_object.as_ref()).expect("an object");
    let api = source["apiVersion"].as_str().unwrap_or("v1");
    let (group, version) = api.split_once('/').unwrap_or(("", api));
    let kind = source["kind"].as_str().unwrap_or_default();
    let mut request = json!({
        "uid": format!("uid-{operation}-{kind}").to_lowercase(),
        "kind": { "group": group, "version": version, "kind": kind },
        "resource": { "group": group, "version": version, "resource": format!("{}s", kind.to_lowercase()) },
        "requestKind": { "group": group, "version": version, "kind": kind },
        "name": source["metadata"]["name"],
        "namespace": source["metadata"]["namespace"],
        "operation": operation,
        "userInfo": { "username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"] },
        "dryRun": false,
        "options": { "apiVersion": "meta.k8s.io/v1", "kind": format!("{}Options", capitalize(operation)) }
    });
    if let Some(object) = object {
        request["object"] = object;
    }
    if let Some(old) = old_object {
        request["oldObject"] = old;
    }
    json!({ "apiVersion": api_version, "kind": "AdmissionReview", "request": request })
}

fn capitalize(operation: &str) -> String {
    let lower = operation.to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The incident as an UPDATE review: the log shipper's limits and requests deleted.
pub fn incident_review() -> Value {
    let before = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    let after = log_shipper(None, SHIPPER_IMAGE);
    review(V1, "UPDATE", Some(before), Some(after))
}

/// Wraps a bare AdmissionRequest (kubewarden's test_data) in an AdmissionReview v1.
pub fn wrap(request: &Value) -> Value {
    json!({ "apiVersion": V1, "kind": "AdmissionReview", "request": request })
}

/// A router with the default policy.
pub fn app() -> Router {
    router(AppState::new(Policy::default()))
}

/// Sends one request through the router; returns status and JSON body.
pub async fn call(app: Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

pub fn post_request(body: impl Into<Body>) -> Request<Body> {
    Request::post("/validate")
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

/// POSTs a review to `/validate` of a default router.
pub async fn validate(review: &Value) -> (StatusCode, Value) {
    call(app(), post_request(serde_json::to_vec(review).unwrap())).await
}

/// POSTs a review and expects a 200 AdmissionReview answer; returns its `response`.
pub async fn answer(review: &Value) -> Value {
    let (status, body) = validate(review).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "AdmissionReview");
    assert_eq!(body["apiVersion"], review["apiVersion"]);
    assert_eq!(body["response"]["uid"], review["request"]["uid"]);
    body["response"].clone()
}

/// Polls `check` every 20 ms until it holds or `timeout` passes.
pub async fn eventually(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Certificates for the webhook valid for `localhost` and 127.0.0.1.
pub fn loopback_certs() -> changelint_certs::GeneratedCerts {
    changelint_certs::generate(
        "changelint-webhook",
        "changelint",
        &["localhost".to_owned()],
        &["127.0.0.1".parse().unwrap()],
        1,
    )
    .expect("generate certificates")
}

/// A TLS client trusting the given CA PEMs.
pub fn tls_connector(ca_pems: &[&str]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for pem in ca_pems {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(changelint_certs::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// What one HTTPS request saw.
#[derive(Debug)]
pub struct HttpsResponse {
    pub status: StatusCode,
    pub body: Value,
    /// The DER of the leaf certificate the server presented.
    pub server_cert: Vec<u8>,
}

/// A new TLS connection to the webhook at `addr`, as `localhost`.
pub async fn tls_connect(
    connector: &TlsConnector,
    addr: SocketAddr,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))
}

/// One HTTPS request on a new connection (so every call sees the certificate in use now).
pub async fn https(
    connector: &TlsConnector,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
) -> Result<HttpsResponse, String> {
    let tls = tls_connect(connector, addr).await?;
    let server_cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|cert| cert.as_ref().to_vec())
        .unwrap_or_default();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(connection);
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let (status, bytes) = read_response(response).await?;
    drop(sender);
    driver.abort();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Ok(HttpsResponse {
        status,
        body,
        server_cert,
    })
}

/// The status and the whole body of a response.
pub async fn read_response(
    response: hyper::Response<hyper::body::Incoming>,
) -> Result<(StatusCode, bytes::Bytes), String> {
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?;
    Ok((status, body.to_bytes()))
}

/// The DER of the first certificate in a PEM.
pub fn leaf_der(pem: &str) -> Vec<u8> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .as_ref()
        .to_vec()
}
