//! Generated certificates are what the API server needs: a CA that verifies the serving
//! certificate under every in-cluster name, written where a Secret mount would put them.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use base64::Engine as _;
use changelint_certs::{CA_COMMON_NAME, crypto_provider, generate};
use common::{NAMESPACE, SERVICE, der};
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier as _;
use rustls::pki_types::{ServerName, UnixTime};
use x509_parser::extensions::GeneralName;

const IN_CLUSTER_NAMES: [&str; 4] = [
    "changelint-webhook",
    "changelint-webhook.changelint-system",
    "changelint-webhook.changelint-system.svc",
    "changelint-webhook.changelint-system.svc.cluster.local",
];

fn verifier(ca_pem: &str) -> Arc<WebPkiServerVerifier> {
    let mut roots = RootCertStore::empty();
    roots.add(der(ca_pem)).unwrap();
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), crypto_provider())
        .build()
        .unwrap()
}

#[test]
fn serving_cert_verifies_against_the_ca_for_every_name() {
    let ips = [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    let certs = generate(SERVICE, NAMESPACE, &["localhost".into()], &ips, 7).unwrap();
    let ca_verifier = verifier(&certs.ca_pem);
    let leaf = der(&certs.cert_pem);

    let mut names: Vec<ServerName<'static>> = IN_CLUSTER_NAMES
        .iter()
        .chain(&["localhost"])
        .map(|name| ServerName::try_from(*name).unwrap())
        .collect();
    names.extend(ips.iter().map(|ip| ServerName::from(*ip)));
    for name in &names {
        ca_verifier
            .verify_server_cert(&leaf, &[], name, &[], UnixTime::now())
            .unwrap_or_else(|e| panic!("{name:?} does not verify: {e}"));
    }

    let other_name = ServerName::try_from("other.changelint-system.svc").unwrap();
    assert!(
        ca_verifier
            .verify_server_cert(&leaf, &[], &other_name, &[], UnixTime::now())
            .is_err(),
        "a name that is not a SAN must not verify"
    );
    let other_ca = generate(SERVICE, NAMESPACE, &[], &[], 7).unwrap();
    assert!(
        verifier(&other_ca.ca_pem)
            .verify_server_cert(&leaf, &[], &names[2], &[], UnixTime::now())
            .is_err(),
        "another CA must not verify this certificate"
    );
}

#[test]
fn serving_cert_has_exactly_the_expected_sans_and_server_auth() {
    let ips = [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7))];
    let extra = vec![
        "webhook.example.test".to_owned(),
        IN_CLUSTER_NAMES[0].to_owned(),
    ];
    let certs = generate(SERVICE, NAMESPACE, &extra, &ips, 7).unwrap();
    let leaf = der(&certs.cert_pem);
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).unwrap();

    let san = cert
        .subject_alternative_name()
        .unwrap()
        .expect("SAN extension");
    let mut dns = Vec::new();
    let mut addresses = Vec::new();
    for name in &san.value.general_names {
        match name {
            GeneralName::DNSName(dns_name) => dns.push((*dns_name).to_owned()),
            GeneralName::IPAddress(bytes) => addresses.push(bytes.to_vec()),
            other => panic!("unexpected SAN {other:?}"),
        }
    }
    let mut expected: Vec<String> = IN_CLUSTER_NAMES.iter().map(|s| (*s).to_owned()).collect();
    expected.push("webhook.example.test".to_owned());
    assert_eq!(dns, expected, "in-cluster names, extras, no duplicates");
    assert_eq!(addresses, vec![vec![10, 0, 0, 7]]);

    let eku = cert.extended_key_usage().unwrap().expect("EKU extension");
    assert!(eku.value.server_auth);
    assert!(!cert.is_ca());
    assert_eq!(
        cert.subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "changelint-webhook.changelint-system.svc"
    );

    let ca_der = der(&certs.ca_pem);
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
    assert!(ca.is_ca());
    assert_eq!(
        ca.subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        CA_COMMON_NAME
    );
    assert_eq!(cert.issuer(), ca.subject());
    let days =
        (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp()) / 86_400;
    assert_eq!(days, 7, "7 days plus the one hour of clock skew allowance");
}

#[test]
fn write_to_writes_the_three_files_with_a_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certs");
    let certs = generate(SERVICE, NAMESPACE, &[], &[], 1).unwrap();
    certs.write_to(&out).unwrap();

    assert_eq!(
        std::fs::read_to_string(out.join("ca.crt")).unwrap(),
        certs.ca_pem
    );
    assert_eq!(
        std::fs::read_to_string(out.join("tls.crt")).unwrap(),
        certs.cert_pem
    );
    assert_eq!(
        std::fs::read_to_string(out.join("tls.key")).unwrap(),
        certs.key_pem
    );
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name.to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |name: &str| {
            std::fs::metadata(out.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("tls.key"), 0o600);

        // Rewriting over a key file someone made world-readable still leaves it private.
        std::fs::set_permissions(out.join("tls.key"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        generate(SERVICE, NAMESPACE, &[], &[], 1)
            .unwrap()
            .write_to(&out)
            .unwrap();
        assert_eq!(mode("tls.key"), 0o600);
    }
}

#[test]
fn write_to_names_the_path_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let err = generate(SERVICE, NAMESPACE, &[], &[], 1)
        .unwrap()
        .write_to(&blocker)
        .unwrap_err();
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[test]
fn ca_bundle_decodes_back_to_the_ca_pem() {
    let certs = generate(SERVICE, NAMESPACE, &[], &[], 1).unwrap();
    let bundle = certs.ca_bundle_base64();
    assert!(!bundle.contains('\n'), "caBundle must be a single line");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&bundle)
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), certs.ca_pem);
    assert!(certs.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
}
