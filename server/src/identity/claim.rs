//! Pin claims: how a tenant comes to own a certificate the KMS CA did not issue (vCenter's
//! self-signed one), without the first tenant to name a fingerprint owning it.
//!
//! 1. A tenant admin uploads the certificate itself (PEM). [`check_certificate`] refuses, all
//!    with the same answer, anything that is not one current X.509 certificate, that carries a
//!    `urn:kms:` identity, or that the KMS CA issued (those are identified by their SAN URI and
//!    are never pinned). The client is enrolled with a PENDING claim and the admin gets a
//!    one-time [`EnrollmentToken`], valid for `[admin] pin_claim_ttl_secs`.
//! 2. The claim binds when a KMIP connection presenting that certificate (the TLS handshake
//!    proves it holds the private key) sends, in its request's Credential, Username = the
//!    client's name and Password = the token ([`redeem`]). vCenter's key provider has exactly
//!    these two fields. Or an operator binds it after checking the fingerprint out of band.
//!
//! Why this is sound: the certificate alone proves nothing about who enrolls it (certificates
//! are public), and the token alone proves nothing about the certificate (it is shown to the
//! admin who claimed). Together they show that whoever configures the certificate's holder
//! (vCenter's administrator) chose this tenant's claim. Another tenant's claim of the same
//! certificate is never refused and never binds: it answers exactly like any claim, so it
//! reveals nothing, and it squats nothing, since a claim is not exclusive until bound.
//!
//! A pending claim lets the certificate complete a TLS handshake, so that it can present the
//! token; every request it sends is refused (Authentication Not Successful) until it is bound.

use std::fmt;

use hmac::{Hmac, Mac};
use kmip_codec::model::{Credential, RequestHeader};
use rand::RngCore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::Sha256;
use tracing::{info, warn};
use zeroize::Zeroizing;

use super::{IdentityError, PeerCertificate, PeerIdentity};
use crate::command_log::CommandLog;
use crate::peer::PeerAddr;
use crate::store::records::ClientIdentity;
use crate::store::{Command, Store};
use crate::tls::ClientVerifier;

/// Random bytes in an enrollment token (shown as twice as many hex digits).
pub const TOKEN_BYTES: usize = 16;

/// Domain separation of the token digest.
const DIGEST_CONTEXT: &[u8] = b"kms pin claim token v1\0";

/// A one-time enrollment token: shown once, to the tenant admin who claimed, and stored only
/// as its digest. `Debug` is redacted; the text is wiped on drop.
pub struct EnrollmentToken(Zeroizing<String>);

impl fmt::Debug for EnrollmentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnrollmentToken(<redacted>)")
    }
}

impl EnrollmentToken {
    /// A fresh token from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
        rand::rng().fill_bytes(bytes.as_mut());
        Self(Zeroizing::new(hex::encode(bytes.as_ref())))
    }

    /// The token text, for the one answer that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest stored in the claim: HMAC-SHA256 keyed by the token over the claimed
    /// fingerprint, so a digest is useless for any other certificate.
    pub fn digest(&self, fingerprint: &str) -> [u8; 32] {
        // HMAC takes keys of any length: `mac` cannot fail; no token matches an all-zero
        // digest if it ever did, since `token_matches` fails the same way.
        mac(self.0.as_bytes(), fingerprint).map_or([0; 32], |m| m.finalize().into_bytes().into())
    }
}

fn mac(token: &[u8], fingerprint: &str) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(token).ok()?;
    mac.update(DIGEST_CONTEXT);
    mac.update(fingerprint.as_bytes());
    Some(mac)
}

/// Whether `given` is the token of a claim of `fingerprint` with `digest` (constant time).
pub fn token_matches(given: &str, fingerprint: &str, digest: &[u8; 32]) -> bool {
    mac(given.as_bytes(), fingerprint).is_some_and(|m| m.verify_slice(digest).is_ok())
}

/// Why an uploaded certificate cannot be pinned. The caller answers all of them alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PinRefusal {
    /// Not exactly one PEM `CERTIFICATE`.
    #[error("not exactly one PEM certificate")]
    NotOneCertificate,
    /// Not an X.509 certificate (or trailing bytes, or too large).
    #[error("certificate does not parse")]
    Unparsable,
    /// Expired or not yet valid.
    #[error("certificate is not valid now")]
    OutsideValidity,
    /// Carries a `urn:kms:` SAN URI: a KMS identity is never pinned.
    #[error("certificate carries a urn:kms: identity")]
    KmsIdentity,
    /// Issued by the KMS client CA: identified by its SAN URI, never pinned.
    #[error("certificate is issued by the KMS CA")]
    IssuedByKmsCa,
}

/// Checks an uploaded certificate for pinning (see the module docs) at `now` (Unix seconds)
/// and returns its fingerprint (lowercase hex SHA-256 of the DER).
pub fn check_certificate(
    pem: &str,
    verifier: &ClientVerifier,
    now: i64,
) -> Result<String, PinRefusal> {
    let mut certs = CertificateDer::pem_slice_iter(pem.as_bytes());
    let der = match (certs.next(), certs.next()) {
        (Some(Ok(der)), None) => der,
        _ => return Err(PinRefusal::NotOneCertificate),
    };
    let info = certs::identity::cert_info(&der).map_err(|_| PinRefusal::Unparsable)?;
    let (not_before, not_after) =
        crate::tls::verifier::validity(&der).ok_or(PinRefusal::Unparsable)?;
    if now < not_before || now > not_after {
        return Err(PinRefusal::OutsideValidity);
    }
    match certs::identity::identity_from_cert_der(&der) {
        Err(certs::Error::NoIdentityUri) => {}
        Ok(_) | Err(_) => return Err(PinRefusal::KmsIdentity),
    }
    if verifier.issued_by_ca(&der, &[]) {
        return Err(PinRefusal::IssuedByKmsCa);
    }
    Ok(info.fingerprint.hex())
}

/// The Username and Password of a request header's first such Credential.
fn username_password(header: &RequestHeader) -> Option<(&str, &str)> {
    header
        .authentication
        .as_ref()?
        .credentials
        .iter()
        .find_map(|c| match c {
            Credential::UsernameAndPassword { username, password } => {
                Some((username.as_str(), password.as_ref()?.expose()))
            }
            Credential::Other { .. } => None,
        })
}

/// Binds a pending claim of the peer's certificate when the request's Credential names the
/// claiming client and carries its unexpired token. Returns whether a claim was bound (the
/// caller then derives the principal again). The binding is a replicated, audited change.
pub(crate) async fn redeem(
    store: &Store,
    log: &CommandLog,
    node: &str,
    peer: &PeerCertificate,
    addr: PeerAddr,
    header: &RequestHeader,
    now: i64,
) -> Result<bool, IdentityError> {
    if peer.identity != PeerIdentity::Pinnable {
        return Ok(false);
    }
    let Some((username, password)) = username_password(header) else {
        return Ok(false);
    };
    let fingerprint = &peer.facts.fingerprint;
    for claim in store.pin_claims(fingerprint, username)? {
        let ClientIdentity::PendingPin {
            fingerprint: claimed,
            token_digest,
            expires_at,
        } = &claim.identity
        else {
            continue;
        };
        if claimed != fingerprint
            || now > *expires_at
            || !claim.enabled
            || !token_matches(password, fingerprint, token_digest)
        {
            continue;
        }
        let event = audit_log::AuditEvent {
            tenant: claim.tenant.clone(),
            principal: Some(audit_log::Principal {
                client: Some(claim.name.clone()),
                ..crate::identity::audit_certificate(&peer.facts)
            }),
            client_addr: Some(addr.to_string()),
            ..crate::audit::success(node, audit_log::Kind::Kmip, "ClaimPin")
        }
        .clamped();
        let bind = Command::BindPin {
            client: claim.key(),
            fingerprint: fingerprint.clone(),
            token_digest: Some(*token_digest),
        };
        // The claim is part of the KMIP request that presented the token: its own scope.
        let scope = crate::command_log::AuditScope::kmip_item(event);
        let outcome = log.commit(&scope, bind).await?;
        return match outcome {
            Ok(()) => {
                info!(
                    tenant = claim.tenant.as_deref().unwrap_or("-"),
                    client = %claim.name,
                    "pinned certificate bound by its enrollment token"
                );
                Ok(true)
            }
            Err(rejection) => {
                warn!(%rejection, client = %claim.name, "pin claim not bound");
                Ok(false)
            }
        };
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::tls::PinnedCertificates;

    struct NoPins;
    impl PinnedCertificates for NoPins {
        fn admits(&self, _: &str) -> bool {
            false
        }
    }

    fn verifier(ca: &certs::CertificateAuthority) -> ClientVerifier {
        ClientVerifier::new(
            &[ca.certificate().der().clone()],
            Arc::new(NoPins),
            crate::tls::provider(),
        )
        .expect("verifier")
    }

    fn self_signed(not_after_year: i32) -> rcgen::Certificate {
        let mut params =
            rcgen::CertificateParams::new(vec!["vcenter.example".to_owned()]).expect("params");
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(not_after_year, 1, 1);
        let key = rcgen::KeyPair::generate().expect("key");
        params.self_signed(&key).expect("certificate")
    }

    const NOW: i64 = 1_750_000_000; // 2025

    #[test]
    fn a_token_matches_only_its_own_claim() {
        let token = EnrollmentToken::generate();
        assert_eq!(token.expose().len(), 2 * TOKEN_BYTES);
        let digest = token.digest("aa");
        assert!(token_matches(token.expose(), "aa", &digest));
        assert!(
            !token_matches(token.expose(), "bb", &digest),
            "another certificate"
        );
        assert!(!token_matches(
            EnrollmentToken::generate().expose(),
            "aa",
            &digest
        ));
        assert!(!token_matches("", "aa", &digest));
        assert_eq!(format!("{token:?}"), "EnrollmentToken(<redacted>)");
    }

    #[test]
    fn only_one_current_foreign_certificate_can_be_pinned() {
        let ca = certs::CertificateAuthority::generate(&certs::CaParams::default()).expect("CA");
        let v = verifier(&ca);
        let good = self_signed(2040);
        let fp = check_certificate(&good.pem(), &v, NOW).expect("pinnable");
        assert_eq!(fp, crate::tls::verifier::fingerprint_hex(good.der()));

        let expired = self_signed(2021);
        assert_eq!(
            check_certificate(&expired.pem(), &v, NOW),
            Err(PinRefusal::OutsideValidity)
        );
        assert_eq!(
            check_certificate("garbage", &v, NOW),
            Err(PinRefusal::NotOneCertificate)
        );
        let two = format!("{}{}", good.pem(), expired.pem());
        assert_eq!(
            check_certificate(&two, &v, NOW),
            Err(PinRefusal::NotOneCertificate)
        );
        // A CA-issued certificate, current or not, with its EKU or without: never pinned.
        let issued = ca
            .issue_client(&certs::ClientRequest {
                principal: certs::identity::PrincipalUri::kmip_client(
                    certs::identity::TenantId::new("acme").expect("tenant"),
                    "vc",
                )
                .expect("principal"),
                algorithm: certs::KeyAlgorithm::EcdsaP256,
                days: 30,
            })
            .expect("issued");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert_eq!(
            check_certificate(issued.certificate.pem(), &v, now),
            Err(PinRefusal::KmsIdentity)
        );
        // Issued by the CA without any identity URI nor EKU, valid from 2020 to 2040.
        let key = rcgen::KeyPair::from_pem(&ca.key().to_pem()).expect("CA key");
        let issuer = rcgen::Issuer::from_ca_cert_der(ca.certificate().der(), key).expect("issuer");
        let mut params =
            rcgen::CertificateParams::new(vec!["vcenter.example".to_owned()]).expect("params");
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        let plain = params
            .signed_by(&rcgen::KeyPair::generate().expect("key"), &issuer)
            .expect("issued");
        assert_eq!(
            check_certificate(&plain.pem(), &v, NOW),
            Err(PinRefusal::IssuedByKmsCa)
        );
        assert!(v.issued_by_ca(issued.certificate.der(), &[]));
        assert!(!v.issued_by_ca(good.der(), &[]));
    }
}
