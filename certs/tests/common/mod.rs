//! Test TLS server (axum-server's own acceptor over a `RustlsConfig`) and rustls client.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum_server::accept::Accept as _;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use changelint_certs::{GeneratedCerts, crypto_provider};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ProtocolVersion, RootCertStore};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

pub const SERVICE: &str = "changelint-webhook";
pub const NAMESPACE: &str = "changelint-system";
pub const SERVER_NAME: &str = "changelint-webhook.changelint-system.svc";

pub fn generate() -> GeneratedCerts {
    changelint_certs::generate(SERVICE, NAMESPACE, &[], &[], 1).expect("generate")
}

/// A server that accepts TLS connections the way axum-server does (reading the current
/// `RustlsConfig` per connection), echoes one byte, and reports each handshake's outcome.
pub struct Server {
    pub addr: SocketAddr,
    pub handshakes: mpsc::UnboundedReceiver<std::io::Result<()>>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn serve(config: RustlsConfig) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (results, handshakes) = mpsc::unbounded_channel();
    let acceptor = RustlsAcceptor::new(config).handshake_timeout(Duration::from_secs(5));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let results = results.clone();
            tokio::spawn(async move {
                match acceptor.accept(stream, ()).await {
                    Ok((mut tls, _service)) => {
                        let _ = results.send(Ok(()));
                        let mut byte = [0u8; 1];
                        if tls.read_exact(&mut byte).await.is_ok() {
                            let _ = tls.write_all(&byte).await;
                            let _ = tls.shutdown().await;
                        }
                    }
                    Err(err) => {
                        let _ = results.send(Err(err));
                    }
                }
            });
        }
    });
    Server {
        addr,
        handshakes,
        task,
    }
}

/// What a client saw of a successful connection.
#[derive(Debug)]
pub struct Connected {
    pub version: ProtocolVersion,
    pub alpn: Option<Vec<u8>>,
    pub server_cert: CertificateDer<'static>,
}

pub struct Client {
    pub ca_pem: String,
    pub versions: &'static [&'static rustls::SupportedProtocolVersion],
    pub identity: Option<(String, String)>,
    pub alpn: Vec<Vec<u8>>,
}

impl Client {
    pub fn trusting(ca_pem: &str) -> Self {
        Self {
            ca_pem: ca_pem.to_owned(),
            versions: rustls::DEFAULT_VERSIONS,
            identity: None,
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        }
    }

    fn config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let builder = ClientConfig::builder_with_provider(crypto_provider())
            .with_protocol_versions(self.versions)
            .unwrap()
            .with_root_certificates(roots);
        let mut config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => builder
                .with_client_auth_cert(
                    CertificateDer::pem_slice_iter(cert.as_bytes())
                        .map(Result::unwrap)
                        .collect(),
                    PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
                )
                .unwrap(),
        };
        config.alpn_protocols.clone_from(&self.alpn);
        Arc::new(config)
    }

    /// Connects, completes the handshake and echoes one byte through the server.
    pub async fn connect(&self, addr: SocketAddr) -> std::io::Result<Connected> {
        let connector = TlsConnector::from(self.config());
        let tcp = TcpStream::connect(addr).await?;
        let name = ServerName::try_from(SERVER_NAME).unwrap();
        let mut tls = tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
            .await
            .map_err(|_| std::io::Error::other("handshake timed out"))??;
        tls.write_all(b"x").await?;
        let mut byte = [0u8; 1];
        tokio::time::timeout(Duration::from_secs(5), tls.read_exact(&mut byte))
            .await
            .map_err(|_| std::io::Error::other("echo timed out"))??;
        assert_eq!(&byte, b"x");
        let (_, session) = tls.get_ref();
        Ok(Connected {
            version: session.protocol_version().unwrap(),
            alpn: session.alpn_protocol().map(<[u8]>::to_vec),
            server_cert: session.peer_certificates().unwrap()[0].clone(),
        })
    }
}

/// The DER of the first certificate in `pem`.
pub fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

/// A CA for client certificates and a client certificate (EKU clientAuth) signed by it:
/// `(ca_pem, cert_pem, key_pem)`.
pub fn client_identity(name: &str) -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} client CA"));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// Replaces `path` atomically, as kubelet and careful writers do.
pub fn write_atomic(path: &std::path::Path, contents: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
