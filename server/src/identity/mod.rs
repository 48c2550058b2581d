//! Who the peer is. A [`Principal`] (tenant, client, role) comes from the VERIFIED client
//! certificate and the current enrollments in the store, never from a CN, by ONE rule that
//! depends on the certificate alone, never on the order of enrollments
//! (`tls::verifier::Origin`):
//! 1. a certificate issued by the KMS client CA is identified by its single
//!    `urn:kms:principal:` SAN URI, which must name a client enrolled as CA-issued with that
//!    role; it must chain to the CA now and carry the clientAuth EKU. It is never looked up
//!    by fingerprint, so no pin can take it over;
//! 2. any other certificate is identified only by a BOUND pin of its SHA-256 fingerprint. A
//!    pin is bound by proof that the pinning tenant's client holds the certificate (see
//!    [`claim`]) or by an operator; a pending claim identifies nobody.
//!
//! The principal is re-derived for every request, so disabling a client or suspending a tenant
//! takes effect at once, even on resumed TLS sessions and open connections.

mod activity;
mod audit_names;
pub mod claim;
mod recent;

use std::fmt;

use certs::identity::{Identity, PrincipalUri, identity_from_cert_der};
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::policy::Denial;
use crate::store::records::{ClientIdentity, ClientRecord, Role};
use crate::store::{Store, StoreError};
use crate::tls::verifier::fingerprint_hex;
use crate::tls::{ClientVerifier, Origin};

pub use activity::{ClientActivity, Seen};
pub use audit_names::{audit_certificate, audit_principal};
pub use recent::RecentInspections;

/// An authenticated peer.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    /// The tenant the principal acts in (`None` for operators).
    pub tenant: Option<String>,
    /// Client name within the tenant.
    pub client: String,
    /// What it may do.
    pub role: Role,
    /// Certificate facts for the audit trail.
    pub certificate: CertificateFacts,
}

/// Facts about the peer's certificate recorded with every audit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateFacts {
    /// Lowercase hex SHA-256 of the DER certificate.
    pub fingerprint: String,
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// notAfter, Unix seconds (`None`: not read).
    pub not_after: Option<i64>,
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Principal({:?} {}/{} {})",
            self.role,
            self.tenant.as_deref().unwrap_or("-"),
            self.client,
            &self.certificate.fingerprint[..16.min(self.certificate.fingerprint.len())]
        )
    }
}

/// Why a peer is not admitted. The peer only sees Authentication Not Successful (KMIP) or 401
/// (admin API), never which of these it was.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The TLS layer produced no client certificate.
    #[error("no client certificate")]
    NoCertificate,
    /// A KMS-CA certificate carries no usable principal URI, or names no client enrolled as
    /// CA-issued with that role.
    #[error("certificate names no enrolled client")]
    NotEnrolled,
    /// The certificate is issued by the KMS CA but is not valid for client authentication now
    /// (no clientAuth EKU, expired or not yet valid).
    #[error("KMS CA certificate not valid for client authentication")]
    UnusableCaCertificate,
    /// The certificate is not issued by the KMS CA and no pin of it is bound (a pending claim
    /// may exist: see [`claim`]).
    #[error("certificate is not pinned for any client")]
    NotPinned,
    /// The client is enrolled but disabled.
    #[error("client is disabled")]
    Disabled,
    /// The tenant is suspended or gone.
    #[error("tenant is suspended or unknown")]
    TenantUnavailable,
    /// The store could not answer.
    #[error("store unavailable")]
    Store(#[from] StoreError),
    /// A change (binding a pin claim) was not committed.
    #[error("commit failed")]
    Commit(#[from] crate::command_log::CommitError),
}

/// What a connection's certificate says, worked out once per connection: its facts, and how
/// it is identified ([`PeerIdentity`]). Sorting it is the expensive part (a signature
/// verification), so it is not repeated per request; the enrollment state, which can change at
/// any time, is looked up per request by [`principal_of`].
#[derive(Clone, Debug)]
pub struct PeerCertificate {
    facts: CertificateFacts,
    identity: PeerIdentity,
}

/// How a peer certificate is identified, decided by the certificate alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerIdentity {
    /// Issued by the KMS CA, valid for client authentication, naming this principal.
    Principal(PrincipalUri),
    /// Issued by the KMS CA but unusable (no clientAuth EKU, not valid now, or no single
    /// principal URI): refused.
    Refused,
    /// Not issued by the KMS CA: identified by a bound pin of its fingerprint, if any.
    Pinnable,
}

impl PeerCertificate {
    /// Inspects the verified chain of a connection.
    pub fn inspect(
        chain: &[CertificateDer<'_>],
        verifier: &ClientVerifier,
    ) -> Result<PeerCertificate, IdentityError> {
        let (end_entity, intermediates) =
            chain.split_first().ok_or(IdentityError::NoCertificate)?;
        let info =
            certs::identity::cert_info(end_entity).map_err(|_| IdentityError::NotEnrolled)?;
        let identity = match verifier.origin(end_entity, intermediates, UnixTime::now()) {
            Origin::KmsCa => match identity_from_cert_der(end_entity).map(|c| c.identity) {
                Ok(Identity::Principal(p)) => PeerIdentity::Principal(p),
                Ok(Identity::Node(_)) | Err(_) => PeerIdentity::Refused,
            },
            Origin::KmsCaUnusable => PeerIdentity::Refused,
            Origin::Foreign => PeerIdentity::Pinnable,
        };
        Ok(PeerCertificate {
            facts: CertificateFacts {
                fingerprint: fingerprint_hex(end_entity),
                subject: info.subject,
                issuer: info.issuer,
                not_after: crate::tls::verifier::validity(end_entity).map(|(_, until)| until),
            },
            identity,
        })
    }

    /// The certificate facts recorded in audit records.
    pub fn facts(&self) -> &CertificateFacts {
        &self.facts
    }

    /// How the certificate is identified.
    pub fn identity(&self) -> &PeerIdentity {
        &self.identity
    }
}

/// Derives the principal of a peer from its verified certificate chain (one-shot: inspects the
/// chain, then looks the enrollment up).
pub fn principal(
    chain: &[CertificateDer<'_>],
    store: &Store,
    verifier: &ClientVerifier,
) -> Result<Principal, IdentityError> {
    principal_of(&PeerCertificate::inspect(chain, verifier)?, store)
}

/// The principal of an inspected peer certificate under the current enrollments, by the rule
/// of the module docs: a KMS-CA principal URI names a client enrolled as CA-issued with that
/// role; any other certificate needs a bound pin of its fingerprint.
///
/// The client must be admitted by the policy ([`crate::policy::admit`]: enabled, its tenant
/// active).
pub fn principal_of(peer: &PeerCertificate, store: &Store) -> Result<Principal, IdentityError> {
    let client = match &peer.identity {
        PeerIdentity::Principal(p) => {
            let key =
                crate::store::records::client_key(p.tenant.as_ref().map(|t| t.as_str()), &p.name);
            let client = store.client(&key)?.ok_or(IdentityError::NotEnrolled)?;
            if client.identity != ClientIdentity::CaIssued || client.role != p.role {
                return Err(IdentityError::NotEnrolled);
            }
            client
        }
        PeerIdentity::Refused => return Err(IdentityError::UnusableCaCertificate),
        PeerIdentity::Pinnable => store
            .client_by_fingerprint(&peer.facts.fingerprint)?
            .filter(|c| matches!(c.identity, ClientIdentity::Pinned { .. }))
            .ok_or(IdentityError::NotPinned)?,
    };
    admit(&client, store)?;
    Ok(Principal {
        tenant: client.tenant.clone(),
        client: client.name.clone(),
        role: client.role,
        certificate: peer.facts.clone(),
    })
}

/// Whether a certificate that is not issued by the KMS CA may complete a TLS handshake: its
/// fingerprint is pinned for an enabled client, or claimed by a pending pin (which its first
/// request may prove, see [`claim`]). Store failures refuse.
pub fn admits_at_handshake(store: &Store, fingerprint: &str) -> bool {
    matches!(store.client_by_fingerprint(fingerprint), Ok(Some(c)) if c.enabled)
        || store.is_claimed(fingerprint).unwrap_or(false)
}

/// Whether the policy admits `client` now (enabled, its tenant in service).
fn admit(client: &ClientRecord, store: &Store) -> Result<(), IdentityError> {
    let tenant = match &client.tenant {
        Some(t) if client.enabled => store.tenant(t)?,
        _ => None,
    };
    crate::policy::admit(client, tenant.as_deref()).map_err(|denial| match denial {
        Denial::ClientDisabled => IdentityError::Disabled,
        Denial::TenantUnavailable
        | Denial::Unauthenticated
        | Denial::Forbidden
        | Denial::NotFound
        | Denial::UnnamedTenant
        | Denial::NotSubscribed => IdentityError::TenantUnavailable,
    })
}
