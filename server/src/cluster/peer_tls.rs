//! Mutual TLS between nodes. Both sides present their node certificate (`[tls] ecdsa_cert`,
//! EKU serverAuth and clientAuth, SAN URI `urn:kms:node:<id>`) and accept only a chain to the
//! KMS CA (`[tls] client_ca`) naming a node. Which node a peer is comes from its certificate;
//! every call it makes must claim that same ID ([`super::server`]), and a caller checks that
//! the node it reached is the one it meant ([`PeerTls::peer_node`]).

use std::fmt;
use std::sync::Arc;

use certs::identity::Identity;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::types::NodeId;
use crate::config::TlsFiles;
use crate::tls::{self, TlsError};

/// The server name sent in node-to-node handshakes. Not checked: the node URI is.
pub const PEER_SERVER_NAME: &str = "kms-node";

/// TLS configurations of the Raft listener and of calls to peers.
#[derive(Clone)]
pub struct PeerTls {
    /// The listener's configuration.
    pub server: Arc<ServerConfig>,
    /// The caller's configuration.
    pub client: Arc<ClientConfig>,
}

impl fmt::Debug for PeerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerTls").finish_non_exhaustive()
    }
}

impl PeerTls {
    /// Loads the node certificate and the CA named in `files`.
    pub fn new(files: &TlsFiles) -> Result<Self, TlsError> {
        let provider = tls::provider();
        let mut roots = RootCertStore::empty();
        for cert in tls::read_certs(&files.client_ca)? {
            roots.add(cert)?;
        }
        let roots = Arc::new(roots);
        let chain = tls::read_certs(&files.ecdsa_cert)?;
        let key = tls::read_key(&files.ecdsa_key)?;
        let verifier =
            WebPkiClientVerifier::builder_with_provider(roots, provider.clone()).build()?;
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(verifier.clone())
            .with_single_cert(chain.clone(), key.clone_key())?;
        let mut client = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NodeServerVerifier { verifier, provider }))
            .with_client_auth_cert(chain, key)?;
        client.enable_sni = false;
        Ok(Self {
            server: Arc::new(server),
            client: Arc::new(client),
        })
    }

    /// The node ID a verified peer certificate names, or `None` when it names no node.
    pub fn peer_node(end_entity: Option<&CertificateDer<'_>>) -> Option<NodeId> {
        let der = end_entity?;
        match certs::identity::identity_from_cert_der(der).ok()?.identity {
            Identity::Node(n) => Some(n.node_id),
            Identity::Principal(_) => None,
        }
    }

    /// The fixed server name of node-to-node handshakes.
    pub fn server_name() -> ServerName<'static> {
        ServerName::try_from(PEER_SERVER_NAME)
            .unwrap_or(ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()))
    }
}

/// Verifies a peer's server certificate as a node certificate: the chain to the KMS CA (the
/// same check as for client certificates: node certificates carry both EKUs) and a node URI.
/// Host names are not checked; the node URI is what names a peer.
struct NodeServerVerifier {
    verifier: Arc<dyn ClientCertVerifier>,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for NodeServerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeServerVerifier").finish_non_exhaustive()
    }
}

impl ServerCertVerifier for NodeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier
            .verify_client_cert(end_entity, intermediates, now)?;
        if PeerTls::peer_node(Some(end_entity)).is_none() {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crate::tls::tls12_signature(&self.provider, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crate::tls::tls13_signature(&self.provider, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
