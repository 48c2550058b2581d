//! Mutual TLS between nodes. Both sides present their node certificate (`[tls] ecdsa_cert`,
//! EKU serverAuth and clientAuth, SAN URI `urn:kms:node:<id>`) and accept only a chain to the
//! KMS CA (`[tls] client_ca`) naming a node. Which node a peer is comes from its certificate;
//! every call it makes must claim that same ID ([`super::server`]), and a caller checks that
//! the node it reached is the one it meant ([`PeerTls::peer_node`]).

use std::fmt;
use std::sync::Arc;

use certs::identity::Identity;
use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::types::NodeId;
use crate::config::TlsFiles;
use crate::tls::swap::Swap;
use crate::tls::{Certificates, ServerKeys, TlsError, Trust};

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
    /// Loads the node certificate and the CA named in `files` (not reloadable: tools and tests).
    pub fn new(files: &TlsFiles) -> Result<Self, TlsError> {
        Self::from_certificates(&Certificates::load(files)?)
    }

    /// Configurations that present the node certificate and trust the client CAs
    /// `certificates` holds at each handshake (a certificate reload changes both for the
    /// next connection, in either direction).
    pub fn from_certificates(certificates: &Certificates) -> Result<Self, TlsError> {
        let provider = certificates.provider();
        let trust = certificates.trust();
        let key = Arc::new(NodeKey(certificates.server_keys()));
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(Arc::new(NodeClientVerifier {
                trust: trust.clone(),
                provider: provider.clone(),
            }))
            .with_cert_resolver(key.clone());
        // No resumption between nodes: a resumed handshake checks no certificate, so a peer
        // whose CA a reload dropped could come back on an old session. Peer connections are
        // pooled (`dialer.rs`), so full handshakes stay rare.
        let mut server = server;
        server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        server.send_tls13_tickets = 0;
        let mut client = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NodeServerVerifier { trust, provider }))
            .with_client_cert_resolver(key);
        client.enable_sni = false;
        client.resumption = rustls::client::Resumption::disabled();
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
    trust: Arc<Swap<Trust>>,
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
        self.trust
            .load()
            .webpki
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

/// The node certificate (`[tls] ecdsa_cert`) as installed now, presented in both directions.
#[derive(Debug)]
struct NodeKey(Arc<Swap<ServerKeys>>);

impl ResolvesServerCert for NodeKey {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load().ecdsa.clone())
    }
}

impl ResolvesClientCert for NodeKey {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load().ecdsa.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Verifies a calling peer's certificate: a chain to the client CAs installed now (node
/// certificates carry the clientAuth EKU). Which node it names is checked per call.
struct NodeClientVerifier {
    trust: Arc<Swap<Trust>>,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for NodeClientVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeClientVerifier").finish_non_exhaustive()
    }
}

impl ClientCertVerifier for NodeClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // A node presents its one certificate whatever the hints.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.trust
            .load()
            .webpki
            .verify_client_cert(end_entity, intermediates, now)
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
