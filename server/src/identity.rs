//! Who the peer is. A [`Principal`] (tenant, client, role) comes from the VERIFIED client
//! certificate and the current enrollments in the store, never from a CN:
//! 1. a certificate whose SHA-256 fingerprint is pinned belongs to that pinned client;
//! 2. otherwise its single `urn:kms:principal:` SAN URI names the client, which must be
//!    enrolled as CA-issued, and the certificate must chain to the KMS client CA now.
//!
//! The principal is re-derived for every request, so disabling a client or suspending a tenant
//! takes effect at once, even on resumed TLS sessions and open connections.

use std::fmt;

use certs::identity::{Identity, identity_from_cert_der};
use rustls_pki_types::CertificateDer;

use crate::store::records::{ClientIdentity, ClientRecord, Role};
use crate::store::{Store, StoreError};
use crate::tls::ClientVerifier;
use crate::tls::verifier::fingerprint_hex;

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

/// Why a peer is not admitted. Sent to the peer only as Permission Denied / a closed connection.
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

/// Derives the principal of a peer from its verified certificate chain.
pub fn principal(
    chain: &[CertificateDer<'_>],
    store: &Store,
    verifier: &ClientVerifier,
) -> Result<Principal, IdentityError> {
    let (end_entity, intermediates) = chain.split_first().ok_or(IdentityError::NoCertificate)?;
    let fingerprint = fingerprint_hex(end_entity);
    let client = match store.client_by_fingerprint(&fingerprint)? {
        Some(client) => client,
        None => ca_issued_client(end_entity, intermediates, store, verifier)?,
    };
    admit(&client, store)?;
    let info = certs::identity::cert_info(end_entity).map_err(|_| IdentityError::NotEnrolled)?;
    Ok(Principal {
        tenant: client.tenant.clone(),
        client: client.name.clone(),
        role: client.role,
        certificate: CertificateFacts {
            fingerprint,
            subject: info.subject,
            issuer: info.issuer,
        },
    })
}

fn ca_issued_client(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    store: &Store,
    verifier: &ClientVerifier,
) -> Result<ClientRecord, IdentityError> {
    let id = identity_from_cert_der(end_entity).map_err(|_| IdentityError::NotEnrolled)?;
    let Identity::Principal(p) = id.identity else {
        return Err(IdentityError::NotEnrolled);
    };
    if !verifier.chains_to_ca(end_entity, intermediates) {
        return Err(IdentityError::NotIssuedByCa);
    }
    let key = crate::store::records::client_key(p.tenant.as_ref().map(|t| t.as_str()), &p.name);
    let client = store.client(&key)?.ok_or(IdentityError::NotEnrolled)?;
    if client.identity != ClientIdentity::CaIssued || client.role != p.role {
        return Err(IdentityError::NotEnrolled);
    }
    Ok(client)
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
