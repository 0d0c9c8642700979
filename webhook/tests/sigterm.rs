//! SIGTERM to the real `changelint-webhook serve` process under load, as the kubelet sends it
//! when the pod is deleted: the webhook must turn not-ready at once, keep answering during its
//! shutdown delay, then close its listener, finish every request already in flight, and exit 0.
//!
//! The load clients play the API server: they keep sending until readiness has flipped (the
//! endpoint leaves the Service), then send nothing new. Requests still open at that point, here
//! large reviews whose bodies are only half uploaded, must all be answered.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use bytes::Bytes;
use http_body_util::Full;
use http_body_util::channel::Channel;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_rustls::TlsConnector;

use crate::common::*;

/// Long enough, on a busy 2-core machine, for the clients to see readiness flip and stop before
/// the listener closes; short enough for `cargo test`.
const SHUTDOWN_DELAY: Duration = Duration::from_secs(2);

/// Far above how long the shutdown takes here, so an exit within [`EXIT_BOUND`] shows that no
/// idle connection held the process until this timeout ran out.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// From the listener closing to the process exiting.
const EXIT_BOUND: Duration = Duration::from_secs(10);

/// Clients opening a new connection per request, like the rotation test's client.
const NEW_CONNECTION_CLIENTS: usize = 4;

/// Large reviews open across the signal and the listener closing.
const SPLIT_UPLOADS: usize = 3;

/// Size of the annotation that makes a split upload's review large (judged on the blocking
/// pool, as reviews over 64 KiB are).
const LARGE_ANNOTATION_BYTES: usize = 1024 * 1024;

/// Bounds each client's loop in case the stop flag is never set.
const MAX_REQUESTS_PER_CLIENT: usize = 5_000;

/// The incident's DaemonSet UPDATE (denied: limits removed) under the given uid, with an
/// annotation of `annotation_bytes` to make it large.
fn incident_review(uid: &str, annotation_bytes: usize) -> Vec<u8> {
    let before = log_shipper(Some(incident_resources()), SHIPPER_IMAGE);
    let mut after = log_shipper(None, SHIPPER_IMAGE);
    if annotation_bytes > 0 {
        after["metadata"]["annotations"] =
            json!({ "example.com/notes": "n".repeat(annotation_bytes) });
    }
    let mut review = review(V1, "UPDATE", Some(before), Some(after));
    review["request"]["uid"] = json!(uid);
    serde_json::to_vec(&review).unwrap()
}

/// A complete answer to `uid`: 200, the same uid, and the denial the incident deserves (so the
/// review ran, rather than being shed or skipped).
fn check_answer(uid: &str, status: StatusCode, body: &Value) -> Result<(), String> {
    if status == StatusCode::OK
        && body["response"]["uid"] == uid
        && body["response"]["allowed"] == false
    {
        Ok(())
    } else {
        Err(format!("{uid}: {status}: {body}"))
    }
}

/// One request of a load client.
#[derive(Debug)]
struct Outcome {
    client: usize,
    started: Instant,
    result: Result<(), String>,
}

type Outcomes = Arc<Mutex<Vec<Outcome>>>;

fn answered_since(outcomes: &Outcomes, client: usize, since: Instant) -> usize {
    outcomes
        .lock()
        .unwrap()
        .iter()
        .filter(|o| o.client == client && o.started >= since && o.result.is_ok())
        .count()
}

/// The `changelint-webhook serve` process; killed on drop if a failed assertion left it running.
struct Webhook {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Webhook {
    /// Starts the binary on a free loopback port and waits until it logs its address.
    fn start(certs: &Path, extra_args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_changelint-webhook"))
            .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
            .arg("--tls-cert")
            .arg(certs.join("tls.crt"))
            .arg("--tls-key")
            .arg(certs.join("tls.key"))
            .args(extra_args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start changelint-webhook");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_sender, addr_receiver) = std::sync::mpsc::channel();
        // Reads the log to the end so the pipe never fills and blocks the server.
        std::thread::spawn({
            let log = log.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                    if event["message"] == "changelint webhook serving" {
                        let addr = event["addr"].as_str().and_then(|a| a.parse().ok());
                        let _ = addr_sender.send(addr);
                    }
                    log.lock().unwrap().push(line);
                }
            }
        });
        let addr = match addr_receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(addr)) => addr,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "no listen address from the webhook ({other:?}); log:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        Self { child, addr, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    fn has_logged(&self, message: &str) -> bool {
        self.log.lock().unwrap().iter().any(|line| {
            serde_json::from_str::<Value>(line).is_ok_and(|event| event["message"] == message)
        })
    }

    /// Sends SIGTERM, as the kubelet does.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    async fn wait_for_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running {timeout:?} after the listener closed; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends reviews on a new connection each until `stop`.
async fn new_connection_client(
    connector: TlsConnector,
    addr: SocketAddr,
    client: usize,
    stop: Arc<AtomicBool>,
    outcomes: Outcomes,
) {
    for n in 0..MAX_REQUESTS_PER_CLIENT {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let uid = format!("new-connection-{client}-{n}");
        let started = Instant::now();
        let result = https(
            &connector,
            addr,
            "POST",
            "/validate",
            Some(incident_review(&uid, 0)),
        )
        .await
        .and_then(|response| check_answer(&uid, response.status, &response.body));
        outcomes.lock().unwrap().push(Outcome {
            client,
            started,
            result,
        });
    }
}

/// Sends reviews on one kept-alive connection until `stop`, as the API server pools its
/// connections, then leaves it idle. Returns once the server has closed it.
async fn keep_alive_client(
    connector: TlsConnector,
    addr: SocketAddr,
    client: usize,
    stop: Arc<AtomicBool>,
    outcomes: Outcomes,
) -> Result<(), String> {
    let tls = tls_connect(&connector, addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
    let connection = tokio::spawn(connection);
    for n in 0..MAX_REQUESTS_PER_CLIENT {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let uid = format!("keep-alive-{client}-{n}");
        let started = Instant::now();
        let request = hyper::Request::post("/validate")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(incident_review(&uid, 0))))
            .unwrap();
        let result = async {
            sender.ready().await.map_err(|e| format!("ready: {e}"))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| format!("request: {e}"))?;
            let (status, bytes) = read_response(response).await?;
            check_answer(
                &uid,
                status,
                &serde_json::from_slice(&bytes).unwrap_or_default(),
            )
        }
        .await;
        outcomes.lock().unwrap().push(Outcome {
            client,
            started,
            result,
        });
    }
    // `sender` stays alive: only the server may close this connection.
    let closed = connection.await;
    drop(sender);
    closed
        .map_err(|e| format!("connection task: {e}"))?
        .map_err(|e| format!("connection: {e}"))
}

/// Uploads a large review in two halves: the first at once, the rest only when
/// `listener_closed` turns true. Signals `first_half_sent` in between.
async fn split_upload(
    connector: TlsConnector,
    addr: SocketAddr,
    uid: String,
    first_half_sent: watch::Sender<bool>,
    mut listener_closed: watch::Receiver<bool>,
) -> Result<(), String> {
    let body = Bytes::from(incident_review(&uid, LARGE_ANNOTATION_BYTES));
    let tls = tls_connect(&connector, addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
    let connection = tokio::spawn(connection);
    let (mut body_sender, streamed) = Channel::<Bytes>::new(1);
    let request = hyper::Request::post("/validate")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(streamed)
        .unwrap();
    let half = body.len() / 2;
    let upload = async {
        body_sender
            .send_data(body.slice(..half))
            .await
            .map_err(|_| "the first half was not taken".to_owned())?;
        let _ = first_half_sent.send(true);
        listener_closed
            .wait_for(|closed| *closed)
            .await
            .map_err(|_| "never told that the listener closed".to_owned())?;
        body_sender
            .send_data(body.slice(half..))
            .await
            .map_err(|_| "the second half was not taken".to_owned())?;
        drop(body_sender);
        Ok::<(), String>(())
    };
    let (response, uploaded) = tokio::join!(sender.send_request(request), upload);
    let response = response.map_err(|e| format!("{uid}: request: {e}"))?;
    uploaded?;
    let (status, bytes) = read_response(response)
        .await
        .map_err(|e| format!("{uid}: {e}"))?;
    connection.abort();
    check_answer(
        &uid,
        status,
        &serde_json::from_slice(&bytes).unwrap_or_default(),
    )
}

/// Waits until a TCP connect to `addr` is refused, i.e. the listener is closed.
async fn wait_until_refused(addr: SocketAddr, timeout: Duration) -> Instant {
    let deadline = Instant::now() + timeout;
    loop {
        if let Err(error) = tokio::net::TcpStream::connect(addr).await {
            if error.kind() == std::io::ErrorKind::ConnectionRefused {
                return Instant::now();
            }
        }
        assert!(
            Instant::now() < deadline,
            "the listener still accepts {timeout:?} later"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_answers_every_request_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let certs = loopback_certs();
    certs.write_to(dir.path()).unwrap();
    let mut webhook = Webhook::start(
        dir.path(),
        &[
            "--shutdown-delay",
            &SHUTDOWN_DELAY.as_secs_f64().to_string(),
            "--drain-timeout",
            &DRAIN_TIMEOUT.as_secs_f64().to_string(),
            // The split uploads stay open for the whole shutdown delay; the deadline is
            // another test's subject.
            "--request-timeout",
            "30",
        ],
    );
    let addr = webhook.addr;
    let connector = tls_connector(&[&certs.ca_pem]);
    let ready = https(&connector, addr, "GET", "/readyz", None)
        .await
        .unwrap();
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);

    let stop = Arc::new(AtomicBool::new(false));
    let outcomes: Outcomes = Arc::default();
    let mut load = Vec::new();
    for client in 0..NEW_CONNECTION_CLIENTS {
        load.push(tokio::spawn(new_connection_client(
            connector.clone(),
            addr,
            client,
            stop.clone(),
            outcomes.clone(),
        )));
    }
    let keep_alive_id = NEW_CONNECTION_CLIENTS;
    let keep_alive = tokio::spawn(keep_alive_client(
        connector.clone(),
        addr,
        keep_alive_id,
        stop.clone(),
        outcomes.clone(),
    ));
    let (closed_sender, listener_closed) = watch::channel(false);
    let mut uploads = Vec::new();
    let mut first_halves = Vec::new();
    for n in 0..SPLIT_UPLOADS {
        let (sent, first_half) = watch::channel(false);
        first_halves.push(first_half);
        uploads.push(tokio::spawn(split_upload(
            connector.clone(),
            addr,
            format!("split-upload-{n}"),
            sent,
            listener_closed.clone(),
        )));
    }
    let clients = NEW_CONNECTION_CLIENTS + 1;
    let began = Instant::now();
    eventually(Duration::from_secs(30), "load before the signal", || {
        (0..clients).all(|c| answered_since(&outcomes, c, began) >= 3)
            && first_halves.iter().all(|sent| *sent.borrow())
    })
    .await;

    let signalled = Instant::now();
    webhook.terminate();
    let draining = loop {
        let probe = https(&connector, addr, "GET", "/readyz", None)
            .await
            .unwrap_or_else(|e| panic!("/readyz after SIGTERM: {e}; log:\n{}", webhook.log()));
        if probe.status == StatusCode::SERVICE_UNAVAILABLE {
            break probe;
        }
        assert_eq!(probe.status, StatusCode::OK, "{}", probe.body);
        assert!(
            signalled.elapsed() < SHUTDOWN_DELAY,
            "/readyz still 200 after the shutdown delay"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        draining.body["reasons"]
            .to_string()
            .contains("shutting down"),
        "{}",
        draining.body
    );
    // Every client is answered while not ready: the endpoint takes time to leave the Service.
    eventually(SHUTDOWN_DELAY, "requests answered after the signal", || {
        (0..clients).all(|c| answered_since(&outcomes, c, signalled) >= 2)
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for client in load {
        client.await.unwrap();
    }

    let closed = wait_until_refused(addr, SHUTDOWN_DELAY + Duration::from_secs(10)).await;
    assert!(
        closed - signalled >= SHUTDOWN_DELAY,
        "the listener closed {:?} after SIGTERM, before the shutdown delay",
        closed - signalled
    );
    let refused = https(
        &connector,
        addr,
        "POST",
        "/validate",
        Some(incident_review("late", 0)),
    )
    .await
    .expect_err("a new connection after the listener closed is refused");
    assert!(refused.starts_with("connect:"), "{refused}");
    closed_sender.send(true).unwrap();
    let mut upload_results = Vec::new();
    for upload in uploads {
        upload_results.push(
            tokio::time::timeout(EXIT_BOUND, upload)
                .await
                .expect("split upload answered")
                .unwrap(),
        );
    }
    let keep_alive_closed = tokio::time::timeout(EXIT_BOUND, keep_alive)
        .await
        .expect("the server closes the idle kept-alive connection")
        .unwrap();
    let status = webhook.wait_for_exit(EXIT_BOUND).await;
    let exited = signalled.elapsed();

    let outcomes = outcomes.lock().unwrap();
    let lost: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err())
        .chain(upload_results.iter().filter_map(|r| r.as_ref().err()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} requests lost: {lost:?}",
        lost.len(),
        outcomes.len() + SPLIT_UPLOADS
    );
    assert_eq!(keep_alive_closed, Ok(()));
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        webhook.log()
    );
    assert!(webhook.has_logged("SIGTERM received"), "{}", webhook.log());
    let during_delay = outcomes.iter().filter(|o| o.started >= signalled).count();
    eprintln!(
        "sigterm: {} requests answered, lost 0 ({during_delay} sent after SIGTERM, {SPLIT_UPLOADS} \
         large reviews finished after the listener closed); listener closed {:.2} s and process \
         exited (status 0) {:.2} s after SIGTERM",
        outcomes.len() + SPLIT_UPLOADS,
        (closed - signalled).as_secs_f64(),
        exited.as_secs_f64()
    );
}
