//! `server_config` accepts what the webhook should serve with, rejects bad Secrets with a
//! message naming the problem, and real clients complete handshakes against it.

mod common;

use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use changelint_certs::{CertError, CertPaths, server_config};
use common::{Client, der, generate, serve};
use rustls::ProtocolVersion;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[test]
fn accepts_a_generated_certificate_and_key() {
    let certs = generate();
    server_config(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes(), None).unwrap();
    server_config(
        certs.cert_pem.as_bytes(),
        certs.key_pem.as_bytes(),
        Some(certs.ca_pem.as_bytes()),
    )
    .unwrap();
}

#[test]
fn rejects_garbage_and_empty_input() {
    let certs = generate();
    let cert = certs.cert_pem.as_bytes();
    let key = certs.key_pem.as_bytes();

    let err = server_config(b"not a certificate", key, None).unwrap_err();
    assert!(matches!(err, CertError::NoCertificate(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no PEM certificate found in the certificate PEM"
    );

    let err = server_config(b"", key, None).unwrap_err();
    assert!(matches!(err, CertError::NoCertificate(_)), "{err:?}");

    let err = server_config(cert, b"", None).unwrap_err();
    assert!(matches!(err, CertError::NoPrivateKey(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no PEM private key found in the private key PEM"
    );

    // Certificate and key swapped: the key file holds no key.
    let err = server_config(cert, cert, None).unwrap_err();
    assert!(matches!(err, CertError::NoPrivateKey(_)), "{err:?}");

    let truncated = &cert[..cert.len() / 2];
    let err = server_config(truncated, key, None).unwrap_err();
    assert!(matches!(err, CertError::Pem { .. }), "{err:?}");
    assert!(err.to_string().contains("malformed PEM"), "{err}");

    let junk_key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    let err = server_config(cert, junk_key, None).unwrap_err();
    assert!(
        matches!(err, CertError::InvalidPrivateKey { .. }),
        "{err:?}"
    );
}

#[test]
fn rejects_a_key_that_belongs_to_another_certificate() {
    let first = generate();
    let second = generate();
    let err =
        server_config(first.cert_pem.as_bytes(), second.key_pem.as_bytes(), None).unwrap_err();
    assert!(matches!(err, CertError::KeyMismatch { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "private key in the private key PEM does not match the certificate in the certificate PEM"
    );
}

#[test]
fn rejects_a_bad_client_ca() {
    let certs = generate();
    let (cert, key) = (certs.cert_pem.as_bytes(), certs.key_pem.as_bytes());

    let err = server_config(cert, key, Some(b"garbage")).unwrap_err();
    assert!(matches!(err, CertError::NoCertificate(_)), "{err:?}");
    assert!(err.to_string().contains("client CA"), "{err}");

    let not_x509 = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let err = server_config(cert, key, Some(not_x509)).unwrap_err();
    assert!(matches!(err, CertError::ClientCa { .. }), "{err:?}");
    assert!(err.to_string().contains("client CA"), "{err}");
}

#[test]
fn errors_from_files_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let certs = generate();
    certs.write_to(dir.path()).unwrap();
    let paths = CertPaths::in_dir(dir.path());
    paths.load().unwrap();

    std::fs::write(&paths.cert, "").unwrap();
    let err = paths.load().unwrap_err();
    assert!(matches!(err, CertError::NoCertificate(_)), "{err:?}");
    assert!(err.to_string().ends_with("tls.crt"), "{err}");

    certs.write_to(dir.path()).unwrap();
    std::fs::write(&paths.key, "").unwrap();
    let err = paths.load().unwrap_err();
    assert!(err.to_string().ends_with("tls.key"), "{err}");

    std::fs::write(&paths.key, generate().key_pem).unwrap();
    let err = paths.load().unwrap_err();
    assert!(matches!(err, CertError::KeyMismatch { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("tls.key") && message.contains("tls.crt"),
        "{message}"
    );

    let missing = paths
        .clone()
        .with_client_ca(dir.path().join("client-ca.crt"));
    certs.write_to(dir.path()).unwrap();
    let err = missing.load().unwrap_err();
    assert!(matches!(err, CertError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("client-ca.crt"), "{err}");
}

fn rustls_config(certs: &changelint_certs::GeneratedCerts) -> RustlsConfig {
    RustlsConfig::from_config(
        server_config(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes(), None).unwrap(),
    )
}

#[tokio::test]
async fn handshake_negotiates_tls13_and_h2() {
    let certs = generate();
    let mut server = serve(rustls_config(&certs)).await;
    let connected = Client::trusting(&certs.ca_pem)
        .connect(server.addr)
        .await
        .unwrap();
    assert_eq!(connected.version, ProtocolVersion::TLSv1_3);
    assert_eq!(connected.alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(connected.server_cert, der(&certs.cert_pem));
    server.handshakes.recv().await.unwrap().unwrap();
}

static TLS12_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

#[tokio::test]
async fn handshake_negotiates_tls12_with_a_tls12_only_client() {
    let certs = generate();
    let server = serve(rustls_config(&certs)).await;
    let mut client = Client::trusting(&certs.ca_pem);
    client.versions = TLS12_ONLY;
    client.alpn = vec![b"http/1.1".to_vec()];
    let connected = client.connect(server.addr).await.unwrap();
    assert_eq!(connected.version, ProtocolVersion::TLSv1_2);
    assert_eq!(connected.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(connected.server_cert, der(&certs.cert_pem));
}

#[tokio::test]
async fn handshake_fails_for_a_client_that_does_not_trust_the_ca() {
    let certs = generate();
    let server = serve(rustls_config(&certs)).await;
    let err = Client::trusting(&generate().ca_pem)
        .connect(server.addr)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
}

/// rustls cannot offer TLS 1.0, so send a minimal TLS 1.0 `ClientHello` by hand: the
/// server must answer with an alert, not a `ServerHello`.
#[tokio::test]
async fn handshake_refuses_a_tls10_only_client() {
    let certs = generate();
    let mut server = serve(rustls_config(&certs)).await;

    let mut body = vec![0x03, 0x01]; // client_version TLS 1.0
    body.extend_from_slice(&[7; 32]); // random
    body.push(0); // session id
    body.extend_from_slice(&[0x00, 0x04, 0xc0, 0x13, 0x00, 0x2f]); // two TLS 1.0 suites
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    let mut handshake = vec![0x01, 0x00, 0x00, body.len() as u8];
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01, 0x00, handshake.len() as u8];
    record.extend_from_slice(&handshake);

    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(&record).await.unwrap();
    let mut reply = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, 1, "server closed without an alert");
    assert_eq!(
        reply[0], 0x15,
        "expected an alert record, got type {:#x}",
        reply[0]
    );
    let result = tokio::time::timeout(Duration::from_secs(5), server.handshakes.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        result.is_err(),
        "server must not complete a TLS 1.0 handshake"
    );
}
