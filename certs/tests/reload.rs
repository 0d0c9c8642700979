//! The reloader swaps in new valid certificates, keeps the old one on bad files, and
//! reports both; checked through real handshakes against axum-server's acceptor.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use changelint_certs::{CertError, CertPaths, CertReloader, GeneratedCerts, ReloadEvent};
use common::{Client, der, generate, serve, write_atomic};
use rustls::pki_types::CertificateDer;
use tokio::sync::mpsc::Receiver;

const INTERVAL: Duration = Duration::from_millis(20);
const DEADLINE: Duration = Duration::from_secs(5);

/// A client that trusts both CAs, so it connects before and after a rotation.
fn client(a: &GeneratedCerts, b: &GeneratedCerts) -> Client {
    Client::trusting(&format!("{}{}", a.ca_pem, b.ca_pem))
}

async fn next_event(events: &mut Receiver<ReloadEvent>) -> ReloadEvent {
    tokio::time::timeout(DEADLINE, events.recv())
        .await
        .expect("no reload event before the deadline")
        .expect("reloader stopped")
}

/// Handshakes until the server presents `expected`, or panics at the deadline.
async fn wait_for_cert(client: &Client, addr: std::net::SocketAddr, expected: &CertificateDer<'_>) {
    let start = Instant::now();
    loop {
        let presented = client.connect(addr).await.unwrap().server_cert;
        if presented == *expected {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "server never presented the new certificate"
        );
        tokio::time::sleep(INTERVAL).await;
    }
}

fn not_after(certs: &GeneratedCerts) -> std::time::SystemTime {
    changelint_certs::not_after(certs.cert_pem.as_bytes()).unwrap()
}

#[tokio::test]
async fn reloads_new_certificates_and_keeps_the_old_one_on_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate();
    let b = generate();
    a.write_to(dir.path()).unwrap();

    let (reloader, mut events) =
        CertReloader::start(CertPaths::in_dir(dir.path()), INTERVAL).unwrap();
    assert!(
        matches!(next_event(&mut events).await, ReloadEvent::Loaded { not_after: t } if t == not_after(&a))
    );
    let server = serve(reloader.rustls_config()).await;
    let client = client(&a, &b);
    assert_eq!(
        client.connect(server.addr).await.unwrap().server_cert,
        der(&a.cert_pem)
    );

    b.write_to(dir.path()).unwrap();
    wait_for_cert(&client, server.addr, &der(&b.cert_pem)).await;
    // write_to renames the key before the certificate, so a poll in between may
    // legitimately report a mismatch first.
    loop {
        match next_event(&mut events).await {
            ReloadEvent::Reloaded { not_after: t } => {
                assert_eq!(t, not_after(&b));
                break;
            }
            ReloadEvent::Failed {
                error: CertError::KeyMismatch { .. },
            } => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    // Atomically, so exactly one poll sees the change and exactly one event follows.
    write_atomic(&dir.path().join("tls.crt"), b"garbage");
    match next_event(&mut events).await {
        ReloadEvent::Failed { error } => {
            assert!(matches!(error, CertError::NoCertificate(_)), "{error:?}");
            assert!(error.to_string().contains("tls.crt"), "{error}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    for _ in 0..3 {
        assert_eq!(
            client.connect(server.addr).await.unwrap().server_cert,
            der(&b.cert_pem),
            "the last good certificate must still be served"
        );
    }

    // Fixing the file is picked up again.
    write_atomic(&dir.path().join("tls.crt"), b.cert_pem.as_bytes());
    assert!(matches!(
        next_event(&mut events).await,
        ReloadEvent::Reloaded { .. }
    ));
    assert!(!reloader.is_finished());
}

#[tokio::test]
async fn a_key_mismatch_is_reported_and_retried_when_the_key_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate();
    let b = generate();
    a.write_to(dir.path()).unwrap();
    let paths = CertPaths::in_dir(dir.path());
    let config = axum_server::tls_rustls::RustlsConfig::from_config(paths.load().unwrap());
    let (_reloader, mut events) = CertReloader::spawn(paths.clone(), config.clone(), INTERVAL);
    let server = serve(config).await;
    let client = client(&a, &b);

    // Only the certificate so far: B's certificate with A's key.
    write_atomic(&paths.cert, b.cert_pem.as_bytes());
    match next_event(&mut events).await {
        ReloadEvent::Failed { error } => {
            assert!(matches!(error, CertError::KeyMismatch { .. }), "{error:?}");
        }
        other => panic!("expected a key mismatch, got {other:?}"),
    }
    assert_eq!(
        client.connect(server.addr).await.unwrap().server_cert,
        der(&a.cert_pem)
    );

    write_atomic(&paths.key, b.key_pem.as_bytes());
    assert!(matches!(
        next_event(&mut events).await,
        ReloadEvent::Reloaded { .. }
    ));
    assert_eq!(
        client.connect(server.addr).await.unwrap().server_cert,
        der(&b.cert_pem)
    );
}

#[cfg(unix)]
#[tokio::test]
async fn follows_a_kubernetes_secret_volume_update() {
    use std::os::unix::fs::symlink;

    fn version(dir: &Path, name: &str, certs: &GeneratedCerts) {
        std::fs::create_dir(dir.join(name)).unwrap();
        std::fs::write(dir.join(name).join("tls.crt"), &certs.cert_pem).unwrap();
        std::fs::write(dir.join(name).join("tls.key"), &certs.key_pem).unwrap();
    }

    // What kubelet's atomic writer does: files are symlinks through `..data`, and an
    // update swaps `..data` to a new directory in one rename.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (generate(), generate());
    version(dir.path(), "..2024_01_01", &a);
    symlink("..2024_01_01", dir.path().join("..data")).unwrap();
    symlink("..data/tls.crt", dir.path().join("tls.crt")).unwrap();
    symlink("..data/tls.key", dir.path().join("tls.key")).unwrap();

    let (reloader, mut events) =
        CertReloader::start(CertPaths::in_dir(dir.path()), INTERVAL).unwrap();
    assert!(matches!(
        next_event(&mut events).await,
        ReloadEvent::Loaded { .. }
    ));
    let server = serve(reloader.rustls_config()).await;

    version(dir.path(), "..2024_02_01", &b);
    symlink("..2024_02_01", dir.path().join("..data_tmp")).unwrap();
    std::fs::rename(dir.path().join("..data_tmp"), dir.path().join("..data")).unwrap();
    std::fs::remove_dir_all(dir.path().join("..2024_01_01")).unwrap();

    match next_event(&mut events).await {
        ReloadEvent::Reloaded { not_after: t } => assert_eq!(t, not_after(&b)),
        other => panic!("expected a reload, got {other:?}"),
    }
    let presented = client(&a, &b)
        .connect(server.addr)
        .await
        .unwrap()
        .server_cert;
    assert_eq!(presented, der(&b.cert_pem));
}

#[tokio::test]
async fn start_fails_on_unusable_files() {
    let dir = tempfile::tempdir().unwrap();
    let err = CertReloader::start(CertPaths::in_dir(dir.path()), INTERVAL).unwrap_err();
    assert!(matches!(err, CertError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("tls.crt"), "{err}");
}

#[tokio::test]
async fn stopped_reloader_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (generate(), generate());
    a.write_to(dir.path()).unwrap();
    let (reloader, mut events) =
        CertReloader::start(CertPaths::in_dir(dir.path()), INTERVAL).unwrap();
    let config = reloader.rustls_config();
    assert!(matches!(
        next_event(&mut events).await,
        ReloadEvent::Loaded { .. }
    ));
    reloader.stop();

    // The event channel closes once the task is gone.
    assert!(
        tokio::time::timeout(DEADLINE, events.recv())
            .await
            .unwrap()
            .is_none(),
        "no events after stop"
    );
    b.write_to(dir.path()).unwrap();
    tokio::time::sleep(INTERVAL * 5).await;
    let server = serve(config).await;
    let presented = client(&a, &b)
        .connect(server.addr)
        .await
        .unwrap()
        .server_cert;
    assert_eq!(presented, der(&a.cert_pem));
}
