//! Client certificate verification. A client certificate is accepted when either
//! - it chains to the KMS client CA (webpki: signature, validity, clientAuth EKU), or
//! - its SHA-256 fingerprint is pinned for an enabled client (vCenter's self-signed
//!   certificate, which may lack the clientAuth EKU); its validity period is still checked.
//!
//! Acceptance here only admits the handshake. Who the peer is (tenant, client, role) is decided
//! afterwards by `identity`, against the current enrollments, on every request.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};

use super::TlsError;

/// Answers whether a certificate fingerprint (lowercase hex SHA-256) is pinned for an enabled
/// client. Implemented over the store.
pub trait PinnedCertificates: Send + Sync {
    /// True if the fingerprint belongs to an enabled, pinned client.
    fn is_pinned(&self, fingerprint_hex: &str) -> bool;
}

/// The verifier installed in the server's TLS configuration.
pub struct ClientVerifier {
    webpki: Arc<dyn ClientCertVerifier>,
    pinned: Arc<dyn PinnedCertificates>,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for ClientVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientVerifier").finish_non_exhaustive()
    }
}

impl ClientVerifier {
    /// A verifier trusting `ca` for issued certificates and `pinned` for pinned ones.
    pub fn new(
        ca: &[CertificateDer<'static>],
        pinned: Arc<dyn PinnedCertificates>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in ca {
            roots.add(cert.clone())?;
        }
        let webpki = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()?;
        Ok(Self {
            webpki,
            pinned,
            provider,
        })
    }

    /// True when `end_entity` chains to the client CA right now. The identity layer calls this
    /// before trusting an identity URI in a certificate, so that a pinned certificate removed
    /// after its handshake cannot smuggle in a CA-style identity.
    pub fn chains_to_ca(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> bool {
        self.webpki
            .verify_client_cert(end_entity, intermediates, UnixTime::now())
            .is_ok()
    }
}

/// Lowercase hex SHA-256 of a DER certificate.
pub fn fingerprint_hex(der: &[u8]) -> String {
    hex::encode(certs::identity::fingerprint_sha256(der))
}

fn within_validity(der: &[u8], now: UnixTime) -> bool {
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    validity(der).is_some_and(|(not_before, not_after)| not_before <= now && now <= not_after)
}

/// A DER certificate's notBefore and notAfter, in Unix seconds (`None`: it does not parse).
pub(crate) fn validity(der: &[u8]) -> Option<(i64, i64)> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let validity = cert.validity();
    Some((
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    ))
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // vCenter picks its certificate itself; hints would only list the KMS CA and hide
        // that self-signed certificates are welcome too.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self
            .webpki
            .verify_client_cert(end_entity, intermediates, now)
        {
            Ok(v) => Ok(v),
            Err(e) => {
                if self.pinned.is_pinned(&fingerprint_hex(end_entity)) {
                    if within_validity(end_entity, now) {
                        return Ok(ClientCertVerified::assertion());
                    }
                    return Err(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::Expired,
                    ));
                }
                Err(e)
            }
        }
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
