//! The certificates work in a real rustls mutual-TLS handshake, with rustls' own
//! WebPkiClientVerifier deciding, for ECDSA and RSA server certificates, TLS 1.2 and 1.3.

use std::sync::Arc;
use std::time::Duration;

use certs::{CertificateAuthority, CertifiedKey, Identity, KeyAlgorithm, identity_from_cert_der};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::common::{self, ca, other_ca};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(ca: &CertificateAuthority) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.certificate().der().clone()).unwrap();
    Arc::new(roots)
}

fn chain(pair: &CertifiedKey) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    (
        vec![pair.certificate.der().clone()],
        PrivateKeyDer::Pkcs8(pair.key.to_pkcs8_der()),
    )
}

fn server_config(
    trust: &CertificateAuthority,
    server: &CertifiedKey,
    version: &'static SupportedProtocolVersion,
) -> ServerConfig {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(trust), provider())
        .build()
        .unwrap();
    let (certs, key) = chain(server);
    ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .unwrap()
}

fn client_config(
    trust: &CertificateAuthority,
    client: &CertifiedKey,
    version: &'static SupportedProtocolVersion,
) -> ClientConfig {
    let (certs, key) = chain(client);
    ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots(trust))
        .with_client_auth_cert(certs, key)
        .unwrap()
}

struct Outcome {
    /// The server's result: the client's leaf certificate as rustls verified it.
    server: std::io::Result<CertificateDer<'static>>,
    /// The client's result: it got the server's reply.
    client: std::io::Result<()>,
}

/// Runs one handshake plus a ping/pong over an in-memory stream.
async fn handshake(server: ServerConfig, client: ClientConfig, server_name: &str) -> Outcome {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let acceptor = TlsAcceptor::from(Arc::new(server));
    let server_task = tokio::spawn(async move {
        let mut tls = acceptor.accept(server_io).await?;
        let mut ping = [0u8; 4];
        tls.read_exact(&mut ping).await?;
        tls.write_all(b"pong").await?;
        tls.shutdown().await?;
        let peer = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first().cloned())
            .ok_or_else(|| std::io::Error::other("no client certificate"))?;
        Ok::<_, std::io::Error>(peer)
    });
    let connector = TlsConnector::from(Arc::new(client));
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let client = async {
        let mut tls = connector.connect(name, client_io).await?;
        tls.write_all(b"ping").await?;
        let mut pong = [0u8; 4];
        tls.read_exact(&mut pong).await?;
        assert_eq!(&pong, b"pong");
        Ok::<_, std::io::Error>(())
    };
    let run = async {
        let client = client.await;
        let server = server_task.await.expect("server task");
        Outcome { server, client }
    };
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("handshake hung")
}

fn rustls_error(err: &std::io::Error) -> Option<&rustls::Error> {
    err.get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
}

const VERSIONS: [&SupportedProtocolVersion; 2] = [&rustls::version::TLS12, &rustls::version::TLS13];

#[tokio::test]
async fn client_certificate_is_accepted_by_rustls_for_ecdsa_and_rsa_servers() {
    let ecdsa_server = common::node(ca(), 1, KeyAlgorithm::EcdsaP256);
    let principal = common::principal("acme", "vcenter");
    let client = common::client(ca(), &principal);
    for server in [&ecdsa_server, common::rsa_node()] {
        for version in VERSIONS {
            for host in ["localhost", "127.0.0.1", "::1"] {
                let out = handshake(
                    server_config(ca(), server, version),
                    client_config(ca(), &client, version),
                    host,
                )
                .await;
                out.client.expect("client side");
                let peer = out.server.expect("server side");
                let id = identity_from_cert_der(&peer).unwrap();
                assert_eq!(id.identity, Identity::Principal(principal.clone()));
            }
        }
    }
}

#[tokio::test]
async fn node_certificate_works_as_a_client_certificate_for_node_to_node_tls() {
    let node_a = common::node(ca(), 2, KeyAlgorithm::EcdsaP256);
    let node_b = common::rsa_node();
    for version in VERSIONS {
        let out = handshake(
            server_config(ca(), &node_a, version),
            client_config(ca(), node_b, version),
            "kms-1.example.com",
        )
        .await;
        out.client.expect("client side");
        let id = identity_from_cert_der(&out.server.expect("server side")).unwrap();
        assert_eq!(id.identity.to_string(), "urn:kms:node:7");
    }
}

#[tokio::test]
async fn client_certificate_from_another_ca_is_rejected() {
    let server = common::node(ca(), 1, KeyAlgorithm::EcdsaP256);
    let stranger = common::client(other_ca(), &common::principal("acme", "vcenter"));
    for version in VERSIONS {
        let out = handshake(
            server_config(ca(), &server, version),
            client_config(ca(), &stranger, version),
            "localhost",
        )
        .await;
        let err = out.server.expect_err("server accepted a foreign client");
        assert!(
            matches!(
                rustls_error(&err),
                Some(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer
                ))
            ),
            "{err:?}"
        );
        assert!(out.client.is_err(), "client got a reply");
    }
}

#[tokio::test]
async fn server_certificate_from_another_ca_is_rejected_by_the_client() {
    let server = common::node(other_ca(), 1, KeyAlgorithm::EcdsaP256);
    let client = common::client(ca(), &common::principal("acme", "vcenter"));
    let out = handshake(
        server_config(ca(), &server, &rustls::version::TLS13),
        client_config(ca(), &client, &rustls::version::TLS13),
        "localhost",
    )
    .await;
    let err = out.client.expect_err("client accepted a foreign server");
    assert!(
        matches!(
            rustls_error(&err),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        ),
        "{err:?}"
    );
    assert!(out.server.is_err());
}

#[tokio::test]
async fn server_certificate_for_another_name_is_rejected() {
    let server = common::node(ca(), 1, KeyAlgorithm::EcdsaP256);
    let client = common::client(ca(), &common::principal("acme", "vcenter"));
    let out = handshake(
        server_config(ca(), &server, &rustls::version::TLS13),
        client_config(ca(), &client, &rustls::version::TLS13),
        "kms-2.example.com",
    )
    .await;
    let err = out.client.expect_err("client accepted a wrong name");
    assert!(
        matches!(
            rustls_error(&err),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{err:?}"
    );
}
