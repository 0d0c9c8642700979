//! With a client CA configured, only clients presenting a certificate from that CA get in.

mod common;

use axum_server::tls_rustls::RustlsConfig;
use changelint_certs::server_config;
use common::{Client, Server, client_identity, generate, serve};

async fn server_requiring(client_ca_pem: &str) -> (Server, String) {
    let certs = generate();
    let config = server_config(
        certs.cert_pem.as_bytes(),
        certs.key_pem.as_bytes(),
        Some(client_ca_pem.as_bytes()),
    )
    .unwrap();
    (serve(RustlsConfig::from_config(config)).await, certs.ca_pem)
}

#[tokio::test]
async fn client_with_a_certificate_from_the_client_ca_succeeds() {
    let (client_ca, cert, key) = client_identity("kube-apiserver");
    let (mut server, server_ca) = server_requiring(&client_ca).await;
    let mut client = Client::trusting(&server_ca);
    client.identity = Some((cert, key));
    client.connect(server.addr).await.unwrap();
    server.handshakes.recv().await.unwrap().unwrap();
}

#[tokio::test]
async fn client_without_a_certificate_is_refused() {
    let (client_ca, _, _) = client_identity("kube-apiserver");
    let (mut server, server_ca) = server_requiring(&client_ca).await;
    let result = Client::trusting(&server_ca).connect(server.addr).await;
    assert!(result.is_err(), "connected without a client certificate");
    let accepted = server.handshakes.recv().await.unwrap();
    assert!(
        accepted.is_err(),
        "server accepted a client without a certificate"
    );
}

#[tokio::test]
async fn client_with_a_certificate_from_another_ca_is_refused() {
    let (client_ca, _, _) = client_identity("kube-apiserver");
    let (_, other_cert, other_key) = client_identity("intruder");
    let (mut server, server_ca) = server_requiring(&client_ca).await;
    let mut client = Client::trusting(&server_ca);
    client.identity = Some((other_cert, other_key));
    let result = client.connect(server.addr).await;
    assert!(
        result.is_err(),
        "connected with a certificate from another CA"
    );
    let accepted = server.handshakes.recv().await.unwrap();
    assert!(
        accepted.is_err(),
        "server accepted a certificate from another CA"
    );
}
