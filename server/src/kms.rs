//! The service itself, independent of sockets: the store, the key hierarchy and the request
//! pipeline (identity -> decode -> operations -> encode). The network layer hands it verified
//! certificate chains and raw messages; tests and the admin layer use it directly.

use std::sync::Arc;

use kmip_codec::limits::Limits;
use rustls_pki_types::CertificateDer;
use tracing::{info, warn};

use crate::identity::{self, IdentityError};
use crate::keys::{KeyError, Keys};
use crate::net::PeerAddr;
use crate::store::records::{ClientIdentity, ClientRecord, DomainKeyVersion, Role, TenantRecord};
use crate::store::{Command, Committer, Rejection, Store, StoreError};
use crate::tls::{ClientVerifier, PinnedCertificates};

/// Errors of administrative actions (tenant creation, enrollment).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HSM or key hierarchy failed.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The change conflicts with the current state.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// A name does not follow the label rules.
    #[error("invalid name: {0}")]
    InvalidName(#[from] certs::Error),
}

/// The KMS service of one node.
#[derive(Debug)]
pub struct Kms {
    pub(crate) store: Store,
    pub(crate) committer: Committer,
    pub(crate) keys: Keys,
    pub(crate) verifier: Arc<ClientVerifier>,
    pub(crate) limits: Limits,
    pub(crate) node_id: u64,
}

impl Kms {
    /// Assembles the service.
    pub fn new(
        store: Store,
        committer: Committer,
        keys: Keys,
        verifier: Arc<ClientVerifier>,
        limits: Limits,
        node_id: u64,
    ) -> Self {
        Self {
            store,
            committer,
            keys,
            verifier,
            limits,
            node_id,
        }
    }

    /// This node's ID.
    pub fn node_id(&self) -> u64 {
        self.node_id
    }

    /// The store (read side).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The key hierarchy.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Answers one KMIP message from a peer with a verified certificate chain.
    pub async fn handle(
        &self,
        chain: &[CertificateDer<'static>],
        peer: PeerAddr,
        request: &[u8],
    ) -> Vec<u8> {
        let principal = identity::principal(chain, &self.store, &self.verifier);
        crate::ops::handle_message(self, principal, peer, request).await
    }

    /// Records a connection refused before any request (cap, handshake, framing).
    pub fn connection_refused(&self, peer: PeerAddr, reason: &'static str) {
        warn!(%peer, reason, "connection refused");
    }

    /// Creates a tenant with a fresh Domain Key (version 1) made in the HSM.
    pub async fn create_tenant(&self, id: &str, now: i64) -> Result<TenantRecord, AdminError> {
        certs::identity::TenantId::new(id)?;
        let wrapped = self.keys.new_domain_key(1).await?;
        let record = TenantRecord {
            id: id.to_owned(),
            suspended: false,
            created_at: now,
            domain_keys: vec![DomainKeyVersion {
                version: 1,
                wrapped,
                created_at: now,
            }],
        };
        self.committer
            .apply(Command::CreateTenant(record.clone()))
            .await??;
        info!(tenant = id, "tenant created");
        Ok(record)
    }

    /// Suspends (`true`) or resumes (`false`) a tenant. Identity is re-derived for every
    /// request, so a suspension refuses the tenant's next request, on open connections too.
    ///
    /// The record is read and written back whole: do not run it concurrently with a Domain
    /// Key rotation of the same tenant.
    pub async fn set_tenant_suspended(
        &self,
        id: &str,
        suspended: bool,
    ) -> Result<TenantRecord, AdminError> {
        let mut record = self.store.tenant(id)?.ok_or(Rejection::NoSuchTenant)?;
        record.suspended = suspended;
        self.committer
            .apply(Command::UpdateTenant(record.clone()))
            .await??;
        info!(tenant = id, suspended, "tenant suspension changed");
        Ok(record)
    }

    /// Enrolls (or re-enrolls) a client.
    pub async fn enroll_client(&self, client: ClientRecord) -> Result<(), AdminError> {
        certs::identity::validate_label(certs::LabelKind::Name, &client.name)?;
        self.committer.apply(Command::PutClient(client)).await??;
        Ok(())
    }

    /// Enrolls a KMIP client of `tenant` recognised by its CA-issued principal URI.
    pub async fn enroll_ca_issued(
        &self,
        tenant: &str,
        name: &str,
        role: Role,
        now: i64,
    ) -> Result<(), AdminError> {
        self.enroll_client(ClientRecord {
            tenant: Some(tenant.to_owned()),
            name: name.to_owned(),
            role,
            identity: ClientIdentity::CaIssued,
            enabled: true,
            password_hash: None,
            created_at: now,
        })
        .await
    }

    /// Closes the write side: everything queued is committed first.
    pub async fn shutdown(&self) {
        self.committer.shutdown().await;
    }
}

/// Pinned-certificate lookups for the TLS verifier, answered by the store.
#[derive(Debug, Clone)]
pub struct StorePins(pub Store);

impl PinnedCertificates for StorePins {
    fn is_pinned(&self, fingerprint_hex: &str) -> bool {
        matches!(
            self.0.client_by_fingerprint(fingerprint_hex),
            Ok(Some(c)) if c.enabled
        )
    }
}

/// Identity failures seen by the pipeline.
pub type Admission = Result<identity::Principal, IdentityError>;
