//! The real server (`server::start`) over TLS on loopback, called by a real HTTPS client
//! (tokio-rustls + hyper) that trusts the generated CA.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use changelint_webhook::metrics::{self, sample};
use changelint_webhook::policy::PolicyFile;
use changelint_webhook::server::{self, ServeError};
use changelint_webhook::{AppState, ServeConfig, router};
use http_body_util::{BodyExt as _, Empty};
use serde_json::Value;

use crate::common::*;

fn config(dir: &Path) -> ServeConfig {
    let mut config = ServeConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.join("tls.crt"),
        dir.join("tls.key"),
    );
    config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    config.reload_interval = Duration::from_millis(50);
    config.shutdown_delay = Duration::ZERO;
    config.drain_timeout = Duration::from_secs(5);
    config
}

fn incident_update() -> Vec<u8> {
    serde_json::to_vec(&incident_review()).unwrap()
}

fn image_update() -> Vec<u8> {
    let before = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    let after = log_shipper(
        Some(incident_resources()),
        "registry.example.com/log-shipper:1.4.3",
    );
    serde_json::to_vec(&review(V1, "UPDATE", Some(before), Some(after))).unwrap()
}

/// `GET /metrics` over plain HTTP.
async fn scrape(addr: SocketAddr) -> String {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .unwrap();
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get("/metrics")
        .header("host", "localhost")
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    driver.abort();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn serves_validate_health_and_metrics_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let certs = loopback_certs();
    certs.write_to(dir.path()).unwrap();
    let running = server::start(config(dir.path())).await.expect("start");
    let client = tls_connector(&[&certs.ca_pem]);
    let addr = running.addr();

    let health = https(&client, addr, "GET", "/healthz", None).await.unwrap();
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.server_cert, leaf_der(&certs.cert_pem));
    let ready = https(&client, addr, "GET", "/readyz", None).await.unwrap();
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);

    let denied = https(&client, addr, "POST", "/validate", Some(incident_update()))
        .await
        .unwrap();
    assert_eq!(denied.status, StatusCode::OK);
    assert_eq!(denied.body["response"]["allowed"], false);
    assert!(
        denied.body["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("256Mi")
    );
    let allowed = https(&client, addr, "POST", "/validate", Some(image_update()))
        .await
        .unwrap();
    assert_eq!(allowed.body["response"]["allowed"], true);
    let malformed = https(&client, addr, "POST", "/validate", Some(b"{".to_vec()))
        .await
        .unwrap();
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.body["error"].is_string());

    let text = scrape(running.metrics_addr().unwrap()).await;
    assert_eq!(
        sample(&text, metrics::REQUESTS, r#"verdict="deny""#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, metrics::REQUESTS, r#"verdict="pass""#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, metrics::REJECTED, "malformed"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, metrics::READY, ""), Some(1.0), "{text}");
    let expiry = sample(&text, metrics::CERT_EXPIRY, "").expect("expiry gauge");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(expiry > now && expiry < now + 2.0 * 86_400.0, "{expiry}");

    running.shutdown().await.unwrap();
    assert!(
        https(&client, addr, "GET", "/healthz", None).await.is_err(),
        "the listener is closed after shutdown"
    );
}

#[tokio::test]
async fn plain_http_is_not_served_on_the_admission_port() {
    let dir = tempfile::tempdir().unwrap();
    loopback_certs().write_to(dir.path()).unwrap();
    let running = server::start(config(dir.path())).await.unwrap();
    let tcp = tokio::net::TcpStream::connect(running.addr())
        .await
        .unwrap();
    let attempt = async {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
        let driver = tokio::spawn(connection);
        let request = hyper::Request::get("/healthz")
            .header("host", "localhost")
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let result = sender.send_request(request).await;
        driver.abort();
        result
    };
    let result = tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .expect("answered or closed");
    assert!(result.is_err(), "plain HTTP must not get an HTTP answer");
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn refuses_to_start_without_a_usable_certificate() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tls.crt"), "garbage").unwrap();
    std::fs::write(dir.path().join("tls.key"), "garbage").unwrap();
    let error = server::start(config(dir.path())).await.unwrap_err();
    assert!(matches!(error, ServeError::Certs(_)), "{error:?}");
}

/// Rotates the certificate files (a new CA and serving pair, as a new cert-manager issuer
/// would) while a client keeps sending requests on new connections; the client trusts both
/// CAs, as the API server does while the caBundle carries both during a rotation.
#[tokio::test]
async fn rotated_certificate_is_served_with_no_failed_request() {
    let dir = tempfile::tempdir().unwrap();
    let old = loopback_certs();
    old.write_to(dir.path()).unwrap();
    let new = loopback_certs();
    let running = server::start(config(dir.path())).await.unwrap();
    let client = tls_connector(&[&old.ca_pem, &new.ca_pem]);
    let addr = running.addr();
    let new_leaf = leaf_der(&new.cert_pem);

    let stop = Arc::new(AtomicBool::new(false));
    let seen_new = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let body = image_update();
    let load = tokio::spawn({
        let (stop, seen_new, sent, failures) = (
            stop.clone(),
            seen_new.clone(),
            sent.clone(),
            failures.clone(),
        );
        async move {
            // Bounded: at most 5000 requests, and it stops once told to.
            for _ in 0..5000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                match https(&client, addr, "POST", "/validate", Some(body.clone())).await {
                    Ok(response)
                        if response.status == StatusCode::OK
                            && response.body["response"]["allowed"] == true =>
                    {
                        if response.server_cert == new_leaf {
                            seen_new.store(true, Ordering::SeqCst);
                        }
                    }
                    Ok(response) => failures
                        .lock()
                        .unwrap()
                        .push(format!("{}: {}", response.status, response.body)),
                    Err(error) => failures.lock().unwrap().push(error),
                }
                sent.fetch_add(1, Ordering::SeqCst);
            }
        }
    });

    eventually(Duration::from_secs(10), "requests before rotation", || {
        sent.load(Ordering::SeqCst) >= 20
    })
    .await;
    new.write_to(dir.path()).unwrap();
    eventually(
        Duration::from_secs(20),
        "the new certificate served",
        || seen_new.load(Ordering::SeqCst),
    )
    .await;
    let after_rotation = sent.load(Ordering::SeqCst);
    eventually(Duration::from_secs(10), "requests after rotation", || {
        sent.load(Ordering::SeqCst) >= after_rotation + 20
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();

    let failures = failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {failures:?}",
        failures.len(),
        sent.load(Ordering::SeqCst)
    );
    let text = running.state().metrics().render();
    assert!(
        sample(&text, metrics::CERT_RELOADS, r#"result="success""#).unwrap() >= 1.0,
        "{text}"
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn garbage_certificate_keeps_the_last_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let certs = loopback_certs();
    certs.write_to(dir.path()).unwrap();
    let running = server::start(config(dir.path())).await.unwrap();
    let state = running.state().clone();
    std::fs::write(
        dir.path().join("tls.crt"),
        "-----BEGIN CERTIFICATE-----\ngarbage\n",
    )
    .unwrap();
    eventually(Duration::from_secs(10), "the failed reload counted", || {
        sample(
            &state.metrics().render(),
            metrics::CERT_RELOADS,
            r#"result="failure""#,
        )
        .unwrap_or(0.0)
            >= 1.0
    })
    .await;
    let client = tls_connector(&[&certs.ca_pem]);
    let response = https(&client, running.addr(), "GET", "/readyz", None)
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.server_cert, leaf_der(&certs.cert_pem));
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_turns_unready_first_and_keeps_answering_during_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    let certs = loopback_certs();
    certs.write_to(dir.path()).unwrap();
    let mut config = config(dir.path());
    config.shutdown_delay = Duration::from_millis(1500);
    let running = server::start(config).await.unwrap();
    let (addr, state) = (running.addr(), running.state().clone());
    let client = tls_connector(&[&certs.ca_pem]);
    let shutdown = tokio::spawn(running.shutdown());
    eventually(Duration::from_secs(5), "draining", || {
        state.readiness().is_draining()
    })
    .await;

    let ready = https(&client, addr, "GET", "/readyz", None).await.unwrap();
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.body["reasons"].to_string().contains("shutting down"));
    let answer = https(&client, addr, "POST", "/validate", Some(incident_update()))
        .await
        .unwrap();
    assert_eq!(
        answer.body["response"]["allowed"], false,
        "still judging while draining"
    );

    shutdown.await.unwrap().unwrap();
    assert!(https(&client, addr, "GET", "/healthz", None).await.is_err());
}

/// Replaces a file the way the kubelet updates a mounted ConfigMap: all at once.
fn replace(path: &Path, contents: &str) {
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, contents).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

/// A valid new policy takes effect; an invalid one leaves it in force and is counted.
#[tokio::test]
async fn policy_reload_keeps_the_last_good_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(&path, "rules: {}\n").unwrap();
    let (file, policy) = PolicyFile::open(&path, Duration::from_millis(20)).unwrap();
    let state = AppState::new(policy);
    let _reloader = file.watch(state.clone());
    let judge = |state: AppState| async move {
        let (status, body) = call(router(state), post_request(incident_update())).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["response"].clone()
    };
    assert_eq!(judge(state.clone()).await["allowed"], false);

    // The team accepts removed limits for now: warnings instead of denials.
    replace(
        &path,
        "rules:\n  limits-removed: warn\n  requests-removed: warn\n",
    );
    eventually(Duration::from_secs(10), "the new policy", || {
        sample(
            &state.metrics().render(),
            metrics::POLICY_RELOADS,
            r#"result="success""#,
        ) == Some(1.0)
    })
    .await;
    let response: Value = judge(state.clone()).await;
    assert_eq!(response["allowed"], true, "{response:#}");
    assert!(
        response["warnings"]
            .as_array()
            .is_some_and(|w| !w.is_empty())
    );

    // A typo: the old policy stays in force, the failure is counted.
    replace(&path, "rules:\n  limits-removed: sometimes\n");
    eventually(Duration::from_secs(10), "the failed reload counted", || {
        sample(
            &state.metrics().render(),
            metrics::POLICY_RELOADS,
            r#"result="failure""#,
        ) == Some(1.0)
    })
    .await;
    assert_eq!(
        judge(state.clone()).await["allowed"],
        true,
        "last good policy still in force"
    );

    // Not even YAML, then a deleted file: still the last good policy.
    replace(&path, "rules: [unclosed\n");
    eventually(Duration::from_secs(10), "the second failure", || {
        sample(
            &state.metrics().render(),
            metrics::POLICY_RELOADS,
            r#"result="failure""#,
        ) == Some(2.0)
    })
    .await;
    std::fs::remove_file(&path).unwrap();
    eventually(Duration::from_secs(10), "the third failure", || {
        sample(
            &state.metrics().render(),
            metrics::POLICY_RELOADS,
            r#"result="failure""#,
        ) == Some(3.0)
    })
    .await;
    assert_eq!(judge(state.clone()).await["allowed"], true);
}

#[test]
fn invalid_policy_file_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(&path, "rules:\n  limits-removed: sometimes\n").unwrap();
    let error = changelint_webhook::policy::load_policy(&path)
        .unwrap_err()
        .to_string();
    assert!(error.contains("policy.yaml:2"), "{error}");
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_and_admitted_once_a_slot_frees() {
    let dir = tempfile::tempdir().unwrap();
    let certs = loopback_certs();
    certs.write_to(dir.path()).unwrap();
    let mut config = config(dir.path());
    config.limits.max_connections = 1;
    let running = server::start(config).await.unwrap();
    let (addr, state) = (running.addr(), running.state().clone());
    let client = tls_connector(&[&certs.ca_pem]);

    // The only slot: an open TLS connection, idle after its handshake.
    let held = tls_connect(&client, addr).await.expect("first connection");
    let started = std::time::Instant::now();
    let refused = https(&client, addr, "GET", "/readyz", None).await;
    assert!(
        refused.is_err(),
        "a second connection was served: {refused:?}"
    );
    assert!(
        started.elapsed() >= changelint_webhook::connections::CONNECTION_SLOT_WAIT,
        "refused before waiting for a slot: {:?}",
        started.elapsed()
    );
    let rejected = sample(
        &state.metrics().render(),
        metrics::REJECTED,
        r#"reason="connections""#,
    );
    assert_eq!(rejected, Some(1.0));

    drop(held);
    let admitted = https(&client, addr, "POST", "/validate", Some(incident_update()))
        .await
        .expect("a connection once the slot is free");
    assert_eq!(admitted.status, StatusCode::OK);
    assert_eq!(admitted.body["response"]["allowed"], false);
    running.shutdown().await.unwrap();
}
