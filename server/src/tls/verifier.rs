//! Client certificate verification, and the ONE rule that sorts client certificates:
//! - **issued by the KMS client CA** (its signature chain leads to `[tls] client_ca`, whatever
//!   its dates and EKUs): accepted only while it chains now AND carries the clientAuth EKU
//!   (issue 14, L2; webpki alone accepts a certificate with no EKU extension at all). Such a
//!   certificate is identified by its SAN URI and is never looked up by fingerprint;
//! - **any other certificate** (vCenter's self-signed one, which may lack the clientAuth EKU):
//!   accepted while its fingerprint is pinned for an enabled client or claimed by a pending
//!   pin (whose claim is proven on the connection), and within its validity period.
//!
//! Acceptance here only admits the handshake. Who the peer is (tenant, client, role) is decided
//! afterwards by `identity`, against the current enrollments, on every request.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};

use super::TlsError;
use super::swap::Swap;

/// Answers whether a certificate fingerprint (lowercase hex SHA-256) may complete a TLS
/// handshake. Implemented over the store.
pub trait PinnedCertificates: Send + Sync {
    /// True if the fingerprint is pinned for an enabled client, or named by a pending pin
    /// claim (the claim is proven, or not, by the connection's first request).
    fn admits(&self, fingerprint_hex: &str) -> bool;
}

/// Where a client certificate stands with respect to the KMS client CA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Chains to the KMS client CA now and carries the clientAuth EKU: identified by its SAN
    /// URI, never by a pin.
    KmsCa,
    /// Issued by the KMS client CA but not usable for client authentication now (no clientAuth
    /// EKU, expired, not yet valid): refused, and never pinned either.
    KmsCaUnusable,
    /// Not issued by the KMS client CA: identified by a pin of its fingerprint only.
    Foreign,
}

/// The trusted client CAs (`[tls] client_ca`, one or more: two during a CA rollover), as the
/// verifiers use them. Replaced whole by a certificate reload (`reload.rs`).
pub struct Trust {
    pub(crate) webpki: Arc<dyn ClientCertVerifier>,
    /// The same CAs, for the "issued by it at all" check of [`ClientVerifier::origin`].
    anchors: Vec<TrustAnchor<'static>>,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trust")
            .field("anchors", &self.anchors.len())
            .finish_non_exhaustive()
    }
}

impl Trust {
    /// Trusting every CA certificate of `ca`.
    pub fn new(
        ca: &[CertificateDer<'static>],
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        let mut anchors = Vec::with_capacity(ca.len());
        for cert in ca {
            roots.add(cert.clone())?;
            anchors.push(
                webpki::anchor_from_trusted_cert(cert)
                    .map_err(|_| {
                        rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
                    })?
                    .to_owned(),
            );
        }
        let webpki =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
        Ok(Self { webpki, anchors })
    }
}

/// The verifier installed in the server's TLS configuration.
pub struct ClientVerifier {
    trust: Arc<Swap<Trust>>,
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
        let trust = Arc::new(Swap::new(Trust::new(ca, provider.clone())?));
        Ok(Self::sharing(trust, pinned, provider))
    }

    /// A verifier trusting whatever `trust` holds at each handshake (a reload replaces it).
    pub fn sharing(
        trust: Arc<Swap<Trust>>,
        pinned: Arc<dyn PinnedCertificates>,
        provider: Arc<CryptoProvider>,
    ) -> Self {
        Self {
            trust,
            pinned,
            provider,
        }
    }

    /// Which trusted client CAs this verifier uses now: the count of reloads since start
    /// (inspections made under an earlier generation are not reused).
    pub fn trust_generation(&self) -> u64 {
        self.trust.generation()
    }

    /// Sorts a client certificate by the rule of the module docs, at time `now`.
    pub fn origin(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Origin {
        match self
            .trust
            .load()
            .webpki
            .verify_client_cert(end_entity, intermediates, now)
        {
            Ok(_) if has_client_auth_eku(end_entity) => Origin::KmsCa,
            Ok(_) => Origin::KmsCaUnusable,
            Err(_) if self.issued_by_ca(end_entity, intermediates) => Origin::KmsCaUnusable,
            Err(_) => Origin::Foreign,
        }
    }

    /// True when `end_entity`'s signature chain leads to the client CA, whatever its EKUs and
    /// whatever the time: the chain is checked as of the certificate's own notBefore. Such a
    /// certificate can never be pinned.
    pub fn issued_by_ca(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> bool {
        let Some((not_before, _)) = validity(end_entity) else {
            return false;
        };
        let Ok(cert) = webpki::EndEntityCert::try_from(end_entity) else {
            return false;
        };
        let at =
            UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(not_before).unwrap_or(0)));
        cert.verify_for_usage(
            self.provider.signature_verification_algorithms.all,
            &self.trust.load().anchors,
            intermediates,
            at,
            AnyPurpose,
            None,
            None,
        )
        .is_ok()
    }
}

/// An EKU policy that accepts any purpose (and none): for "was it issued by the CA at all".
struct AnyPurpose;

impl webpki::ExtendedKeyUsageValidator for AnyPurpose {
    fn validate(&self, purposes: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for purpose in purposes {
            purpose?;
        }
        Ok(())
    }
}

/// True when the certificate has an Extended Key Usage extension naming clientAuth
/// (1.3.6.1.5.5.7.3.2). An absent extension does not count (issue 14, L2).
fn has_client_auth_eku(der: &[u8]) -> bool {
    use x509_parser::prelude::{FromDer, X509Certificate};
    X509Certificate::from_der(der).is_ok_and(
        |(_, cert)| matches!(cert.extended_key_usage(), Ok(Some(eku)) if eku.value.client_auth),
    )
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
        let trust = self.trust.load();
        match trust
            .webpki
            .verify_client_cert(end_entity, intermediates, now)
        {
            Ok(v) if has_client_auth_eku(end_entity) => Ok(v),
            Ok(_) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::InvalidPurpose,
            )),
            // Issued by the KMS CA but not valid now: refused, never looked up as a pin.
            Err(e) if self.issued_by_ca(end_entity, intermediates) => Err(e),
            Err(e) => {
                if self.pinned.admits(&fingerprint_hex(end_entity)) {
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
