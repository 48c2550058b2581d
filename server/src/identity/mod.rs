//! Who the peer is. A [`Principal`] (tenant, client, role) comes from the VERIFIED client
//! certificate and the current enrollments in the store, never from a CN:
//! 1. a certificate whose SHA-256 fingerprint is pinned belongs to that pinned client;
//! 2. otherwise its single `urn:kms:principal:` SAN URI names the client, which must be
//!    enrolled as CA-issued, and the certificate must chain to the KMS client CA now.
//!
//! The principal is re-derived for every request, so disabling a client or suspending a tenant
//! takes effect at once, even on resumed TLS sessions and open connections.

mod recent;

use std::fmt;

use certs::identity::{Identity, PrincipalUri, identity_from_cert_der};
use rustls_pki_types::CertificateDer;

use crate::store::records::{ClientIdentity, ClientRecord, Role};
use crate::store::{Store, StoreError};
use crate::tls::ClientVerifier;
use crate::tls::verifier::fingerprint_hex;

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
    /// The certificate is neither pinned nor carries a usable principal URI.
    #[error("certificate names no enrolled client")]
    NotEnrolled,
    /// The principal URI is present but the certificate does not chain to the KMS CA.
    #[error("certificate with an identity URI is not issued by the KMS CA")]
    NotIssuedByCa,
    /// The client is enrolled but disabled.
    #[error("client is disabled")]
    Disabled,
    /// The tenant is suspended or gone.
    #[error("tenant is suspended or unknown")]
    TenantUnavailable,
    /// The store could not answer.
    #[error("store unavailable")]
    Store(#[from] StoreError),
}

/// What a connection's certificate says, worked out once per connection: its facts, and the
/// principal URI it carries if (and only if) it chains to the KMS client CA. Checking the
/// chain is the expensive part (a signature verification), so it is not repeated per request;
/// the enrollment state, which can change at any time, is looked up per request by
/// [`principal_of`].
#[derive(Clone, Debug)]
pub struct PeerCertificate {
    facts: CertificateFacts,
    ca_issued: Option<PrincipalUri>,
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
        let ca_issued = match identity_from_cert_der(end_entity) {
            Ok(id) => match id.identity {
                Identity::Principal(p) if verifier.chains_to_ca(end_entity, intermediates) => {
                    Some(p)
                }
                _ => None,
            },
            Err(_) => None,
        };
        Ok(PeerCertificate {
            facts: CertificateFacts {
                fingerprint: fingerprint_hex(end_entity),
                subject: info.subject,
                issuer: info.issuer,
            },
            ca_issued,
        })
    }

    /// The certificate facts recorded in audit records.
    pub fn facts(&self) -> &CertificateFacts {
        &self.facts
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

/// The principal of an inspected peer certificate under the current enrollments:
/// 1. a pinned fingerprint names its client;
/// 2. else a CA-issued principal URI names a client enrolled as CA-issued with that role.
///
/// The client must be enabled and its tenant active.
pub fn principal_of(peer: &PeerCertificate, store: &Store) -> Result<Principal, IdentityError> {
    let client = match store.client_by_fingerprint(&peer.facts.fingerprint)? {
        Some(client) => client,
        None => {
            let p = peer.ca_issued.as_ref().ok_or(IdentityError::NotEnrolled)?;
            let key =
                crate::store::records::client_key(p.tenant.as_ref().map(|t| t.as_str()), &p.name);
            let client = store.client(&key)?.ok_or(IdentityError::NotEnrolled)?;
            if client.identity != ClientIdentity::CaIssued || client.role != p.role {
                return Err(IdentityError::NotEnrolled);
            }
            client
        }
    };
    admit(&client, store)?;
    Ok(Principal {
        tenant: client.tenant.clone(),
        client: client.name.clone(),
        role: client.role,
        certificate: peer.facts.clone(),
    })
}

fn admit(client: &ClientRecord, store: &Store) -> Result<(), IdentityError> {
    if !client.enabled {
        return Err(IdentityError::Disabled);
    }
    if let Some(tenant) = &client.tenant {
        match store.tenant(tenant)? {
            Some(t) if !t.suspended => {}
            _ => return Err(IdentityError::TenantUnavailable),
        }
    }
    Ok(())
}
