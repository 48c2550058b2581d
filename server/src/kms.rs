//! The service itself, independent of sockets: the store, the key hierarchy and the request
//! pipeline (identity -> decode -> operations -> encode). The network layer hands it verified
//! certificate chains and raw messages; tests and the admin layer use it directly.

use std::sync::Arc;
use std::time::Instant;

use kmip_codec::limits::Limits;
use rustls_pki_types::CertificateDer;
use tracing::info;

use audit_log::AuditEvent;

use crate::audit::{AuditError, AuditLog};
use crate::cluster::RaftNode;
use crate::command_log::{AuditScope, CommandLog, CommitError};
use crate::identity::{self, IdentityError, PeerCertificate};
use crate::keys::{KeyError, Keys};
use crate::metrics::Metrics;
use crate::net::PeerAddr;
use crate::net::refusals::{RefusalSettings, Refusals};
use crate::store::records::{
    ClientIdentity, ClientRecord, DomainKeyVersion, ObjectRecord, Role, TenantRecord,
};
use crate::store::{Command, Rejection, Store, StoreError};
use crate::tls::{ClientVerifier, PinnedCertificates};

/// Errors of administrative actions (tenant creation, enrollment).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A change was not committed (or not yet audited).
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// The HSM or key hierarchy failed.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The change conflicts with the current state.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// A name does not follow the label rules.
    #[error("invalid name: {0}")]
    InvalidName(#[from] certs::Error),
    /// No such client is enrolled.
    #[error("no such client")]
    NoSuchClient,
    /// A password could not be hashed.
    #[error("password hashing failed")]
    Password(#[source] argon2::password_hash::Error),
    /// A blocking task (password hashing) did not finish.
    #[error("background task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// The KMS service of one node.
#[derive(Debug)]
pub struct Kms {
    pub(crate) store: Store,
    /// The one write path (local, or the cluster's Raft log).
    pub(crate) log: CommandLog,
    pub(crate) keys: Keys,
    pub(crate) verifier: Arc<ClientVerifier>,
    pub(crate) limits: Limits,
    pub(crate) node_id: u64,
    pub(crate) audit: AuditLog,
    /// Peer chains inspected within the last minute (new connections of the same client).
    pub(crate) inspections: identity::RecentInspections,
    /// What one message, client and tenant may cost (`[limits]`).
    pub(crate) quotas: crate::quota::Quotas,
    /// KMIP Credential password checks: bounded pool, lockouts.
    pub(crate) passwords: crate::credential::PasswordChecks,
    /// Connections refused before authentication, counted for their aggregate records.
    pub(crate) refusals: Refusals,
}

/// What one KMIP connection keeps from one message to the next: the password it proved (so
/// Argon2 runs once per connection) and the in-flight memory its current message holds
/// (returned once the answer is written).
#[derive(Debug)]
pub struct ConnectionState {
    pub(crate) password: crate::credential::ProvenPassword,
    pub(crate) memory: crate::quota::memory::MessageMemory,
}

impl ConnectionState {
    /// Returns the in-flight memory of the message just answered.
    pub fn release(&mut self) {
        self.memory.release();
    }
}

impl Kms {
    /// Assembles the service.
    pub fn new(
        store: Store,
        log: CommandLog,
        keys: Keys,
        verifier: Arc<ClientVerifier>,
        limits: Limits,
        node_id: u64,
        audit: AuditLog,
    ) -> Self {
        Self {
            store,
            log,
            keys,
            verifier,
            limits,
            node_id,
            audit,
            inspections: identity::RecentInspections::default(),
            refusals: Refusals::new(RefusalSettings::default()),
            quotas: crate::quota::Quotas::default(),
            passwords: crate::credential::PasswordChecks::default(),
        }
    }

    /// Enforces these limits instead of the defaults.
    pub fn with_limits(mut self, limits: crate::config::ServiceLimits) -> Self {
        self.passwords = crate::credential::PasswordChecks::new(&limits);
        self.quotas = crate::quota::Quotas::new(limits);
        self
    }

    /// The state a new KMIP connection starts with.
    pub fn connection_state(&self) -> ConnectionState {
        ConnectionState {
            password: crate::credential::ProvenPassword::new(),
            memory: self.quotas.memory().connection(),
        }
    }

    /// Aggregates refused connections per `settings` instead of the defaults.
    pub fn with_refusal_settings(mut self, settings: RefusalSettings) -> Self {
        self.refusals = Refusals::new(settings);
        self
    }

    /// This node's Raft member, when it belongs to a cluster.
    pub fn cluster(&self) -> Option<&Arc<RaftNode>> {
        self.log.cluster()
    }

    /// Commits a state change through the command log, in the audit scope of the call that
    /// makes it.
    pub(crate) async fn commit(
        &self,
        scope: &AuditScope,
        command: Command,
    ) -> Result<Result<(), Rejection>, CommitError> {
        self.log.commit(scope, command).await
    }

    /// Waits until this node's store reflects every change acknowledged anywhere in the
    /// cluster before the call (a no-op on a node running alone).
    pub(crate) async fn linearize(&self) -> Result<(), CommitError> {
        self.log.linearize().await
    }

    /// The node's audit trail.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The name of this node's audit log, as its records name the node.
    pub fn log_name(&self) -> &str {
        self.audit.log_name()
    }

    /// Makes records durable (concurrently, sharing fsyncs). An error means some may not be:
    /// refuse what they record.
    pub async fn record(&self, events: Vec<AuditEvent>) -> Result<(), AuditError> {
        let receipts: Vec<_> = events.into_iter().map(|e| self.audit.submit(e)).collect();
        for receipt in receipts {
            receipt.await.map_err(|_| AuditError::ShutDown)??;
        }
        Ok(())
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

    /// The node's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        self.keys.metrics()
    }

    /// Answers one KMIP message from a peer with a verified certificate chain, on a
    /// connection in `state`.
    pub async fn handle(
        &self,
        certificate: &Result<PeerCertificate, IdentityError>,
        peer: PeerAddr,
        request: &[u8],
        state: &mut ConnectionState,
    ) -> Vec<u8> {
        let start = Instant::now();
        // First, so that the enrollment looked up below is current too.
        let linearized = self.linearize().await.is_ok();
        let principal = match certificate {
            Ok(c) => identity::principal_of(c, &self.store),
            Err(_) => Err(IdentityError::NoCertificate),
        };
        let response = crate::ops::handle_message(
            self,
            principal,
            certificate.as_ref().ok(),
            peer,
            request,
            linearized,
            state,
        )
        .await;
        self.metrics().kmip_message(start.elapsed());
        response
    }

    /// Inspects a new connection's verified certificate chain once (see [`PeerCertificate`]).
    pub fn inspect_peer(
        &self,
        chain: &[CertificateDer<'_>],
    ) -> Result<PeerCertificate, IdentityError> {
        self.inspections
            .get_or_inspect(chain, || PeerCertificate::inspect(chain, &self.verifier))
    }

    /// Records a connection refused before any request (cap, handshake, framing): in the
    /// metrics at once and exactly, in the audit trail and the log in aggregate (see
    /// [`crate::net::refusals`]), in the background (no answer waits for it).
    pub fn connection_refused(&self, peer: PeerAddr, reason: &'static str) {
        self.metrics().kmip_refused(reason);
        crate::net::refusals::record(self, peer, reason);
    }

    /// Creates a tenant with a fresh Domain Key (version 1) made in the HSM.
    pub async fn create_tenant(
        &self,
        scope: &AuditScope,
        id: &str,
        now: i64,
    ) -> Result<TenantRecord, AdminError> {
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
        self.commit(scope, Command::CreateTenant(record.clone()))
            .await??;
        info!(tenant = id, "tenant created");
        Ok(record)
    }

    /// Suspends (`true`) or resumes (`false`) a tenant. Identity is re-derived for every
    /// request, so a suspension refuses the tenant's next request, on open connections too.
    pub async fn set_tenant_suspended(
        &self,
        scope: &AuditScope,
        id: &str,
        suspended: bool,
    ) -> Result<TenantRecord, AdminError> {
        self.commit(
            scope,
            Command::SetTenantSuspended {
                tenant: id.to_owned(),
                suspended,
            },
        )
        .await??;
        info!(tenant = id, suspended, "tenant suspension changed");
        let record = self.store.tenant(id)?.ok_or(Rejection::NoSuchTenant)?;
        Ok(TenantRecord::clone(&record))
    }

    /// Enrolls (or re-enrolls) a client.
    pub async fn enroll_client(
        &self,
        scope: &AuditScope,
        client: ClientRecord,
    ) -> Result<(), AdminError> {
        certs::identity::validate_label(certs::LabelKind::Name, &client.name)?;
        self.commit(scope, Command::PutClient(client)).await??;
        Ok(())
    }

    /// Enrolls a KMIP client of `tenant` recognised by its CA-issued principal URI.
    pub async fn enroll_ca_issued(
        &self,
        scope: &AuditScope,
        tenant: &str,
        name: &str,
        role: Role,
        now: i64,
    ) -> Result<(), AdminError> {
        self.enroll_client(
            scope,
            ClientRecord {
                tenant: Some(tenant.to_owned()),
                name: name.to_owned(),
                role,
                identity: ClientIdentity::CaIssued,
                enabled: true,
                password_hash: None,
                created_at: now,
            },
        )
        .await
    }

    /// Enrolls an operator (no tenant) recognised by its CA-issued principal URI
    /// `urn:kms:principal:operator:-:<name>`.
    pub async fn enroll_operator(
        &self,
        scope: &AuditScope,
        name: &str,
        now: i64,
    ) -> Result<(), AdminError> {
        self.enroll_client(
            scope,
            ClientRecord {
                tenant: None,
                name: name.to_owned(),
                role: Role::Operator,
                identity: ClientIdentity::CaIssued,
                enabled: true,
                password_hash: None,
                created_at: now,
            },
        )
        .await
    }

    /// Enables or disables a client. Identity is re-derived for every request (and pinned
    /// certificates are checked at every handshake), so a disabled client is refused at once.
    pub async fn set_client_enabled(
        &self,
        scope: &AuditScope,
        tenant: Option<&str>,
        name: &str,
        enabled: bool,
    ) -> Result<ClientRecord, AdminError> {
        self.change_client(scope, tenant, name, |c| c.enabled = enabled)
            .await
    }

    /// Sets (`Some`) or clears (`None`) a client's KMIP Credential password, stored as an
    /// Argon2id hash (computed on the blocking pool). The password is never logged.
    pub async fn set_client_password(
        &self,
        scope: &AuditScope,
        tenant: Option<&str>,
        name: &str,
        password: Option<zeroize::Zeroizing<String>>,
    ) -> Result<ClientRecord, AdminError> {
        let hash = match password {
            Some(p) => Some(
                tokio::task::spawn_blocking(move || crate::credential::hash(&p))
                    .await
                    .map_err(AdminError::Task)?
                    .map_err(AdminError::Password)?,
            ),
            None => None,
        };
        self.change_client(scope, tenant, name, move |c| c.password_hash = hash.clone())
            .await
    }

    async fn change_client(
        &self,
        scope: &AuditScope,
        tenant: Option<&str>,
        name: &str,
        change: impl Fn(&mut ClientRecord),
    ) -> Result<ClientRecord, AdminError> {
        let key = crate::store::records::client_key(tenant, name);
        let current = self.store.client(&key)?.ok_or(AdminError::NoSuchClient)?;
        let mut client = ClientRecord::clone(&current);
        change(&mut client);
        self.commit(scope, Command::PutClient(client.clone()))
            .await??;
        info!(
            tenant = tenant.unwrap_or("-"),
            client = name,
            enabled = client.enabled,
            "client changed"
        );
        Ok(client)
    }

    /// Domain Key rotation, step 1: makes version `current + 1` in the HSM and makes it the
    /// tenant's current one. Older versions stay in the record, so everything sealed under them
    /// still unseals (`Get` keeps working) until [`Kms::reseal_object`] has moved every blob and
    /// [`Kms::retire_domain_keys`] drops them. Returns the new version. Of two concurrent
    /// rotations one is refused ([`Rejection::DomainKeyVersion`]).
    pub async fn add_domain_key_version(
        &self,
        scope: &AuditScope,
        tenant: &str,
        now: i64,
    ) -> Result<u32, AdminError> {
        let record = self.store.tenant(tenant)?.ok_or(Rejection::NoSuchTenant)?;
        let version = record
            .current_domain_key()
            .map_or(1, |d| d.version.saturating_add(1));
        let wrapped = self.keys.new_domain_key(version).await?;
        self.commit(
            scope,
            Command::AddDomainKey {
                tenant: tenant.to_owned(),
                key: DomainKeyVersion {
                    version,
                    wrapped,
                    created_at: now,
                },
            },
        )
        .await??;
        info!(tenant, version, "domain key version added");
        Ok(version)
    }

    /// Domain Key rotation, step 2: re-seals one object's material under the tenant's current
    /// Domain Key (in the HSM; plaintext never leaves zeroizing memory). Returns `false` when
    /// there was nothing to do (no material, already current, or the object is gone). A
    /// concurrent change of the object is retried.
    pub async fn reseal_object(
        &self,
        scope: &AuditScope,
        tenant: &str,
        uid: &str,
    ) -> Result<bool, AdminError> {
        let resealed = crate::command_log::retry_stale(|| async move {
            let record = self.store.tenant(tenant)?.ok_or(Rejection::NoSuchTenant)?;
            let current = record
                .current_domain_key()
                .ok_or(KeyError::MissingDomainKey(0))?
                .version;
            let Some(object) = self.store.object(uid)?.filter(|o| o.tenant == tenant) else {
                return Ok(Ok(false));
            };
            let Some(material) = object.material.as_ref() else {
                return Ok(Ok(false));
            };
            if material.sealed.dk_version() == current {
                return Ok(Ok(false));
            }
            let sealed = self.keys.reseal(&record, uid, &material.sealed).await?;
            let mut next = ObjectRecord::clone(&object);
            next.revision = object.revision + 1;
            if let Some(m) = next.material.as_mut() {
                m.sealed = sealed;
            }
            let outcome = self
                .commit(
                    scope,
                    Command::PutObject {
                        expected_revision: Some(object.revision),
                        record: Box::new(next),
                    },
                )
                .await?;
            Ok::<_, AdminError>(outcome.map(|()| true))
        })
        .await??;
        Ok(resealed)
    }

    /// Counts the tenant's objects whose material is sealed under another Domain Key version
    /// than the current one, and lists their UIDs.
    pub fn objects_on_old_domain_keys(&self, tenant: &str) -> Result<Vec<String>, AdminError> {
        let record = self.store.tenant(tenant)?.ok_or(Rejection::NoSuchTenant)?;
        let current = record
            .current_domain_key()
            .ok_or(KeyError::MissingDomainKey(0))?
            .version;
        let mut out = Vec::new();
        self.store.for_each_object_of(tenant, |o| {
            if o.material
                .as_ref()
                .is_some_and(|m| m.sealed.dk_version() != current)
            {
                out.push(o.uid);
            }
            true
        })?;
        Ok(out)
    }

    /// Domain Key rotation, step 3: drops every Domain Key version but the current one from
    /// the tenant record, and the unwrapped copies from the HSM. Returns the number of objects
    /// still on old versions (nothing changed) unless every blob is resealed. The store checks
    /// this again atomically when it applies the retirement, and refuses material sealed under
    /// a retired version, so no object can end up unreadable.
    pub async fn retire_domain_keys(
        &self,
        scope: &AuditScope,
        tenant: &str,
    ) -> Result<usize, AdminError> {
        let left = self.objects_on_old_domain_keys(tenant)?.len();
        if left > 0 {
            return Ok(left);
        }
        let record = self.store.tenant(tenant)?.ok_or(Rejection::NoSuchTenant)?;
        let Some(current) = record.current_domain_key().map(|d| d.version) else {
            return Ok(0);
        };
        if record.domain_keys.len() > 1 {
            match self
                .commit(
                    scope,
                    Command::RetireDomainKeys {
                        tenant: tenant.to_owned(),
                        keep_from: current,
                    },
                )
                .await?
            {
                Ok(()) => {}
                // An object sealed under an old version appeared meanwhile: try again later.
                Err(Rejection::DomainKeyInUse) => {
                    return Ok(self.objects_on_old_domain_keys(tenant)?.len().max(1));
                }
                Err(r) => return Err(r.into()),
            }
        }
        let tenant_id = tenant.to_owned();
        self.keys
            .hsm()
            .drop_domain_key_async(tenant_id)
            .await
            .map_err(KeyError::from)?;
        info!(tenant, "old domain key versions retired");
        Ok(0)
    }

    /// Closes the write side: everything queued is committed first, then the pending counts
    /// of refused connections are recorded, the audit log takes a last checkpoint and stops.
    pub async fn shutdown(&self) {
        crate::net::refusals::flush(self).await;
        crate::audit::final_checkpoint(self).await;
        self.log.shutdown().await;
        self.audit.shutdown().await;
    }
}

/// Pinned-certificate lookups for the TLS verifier, answered by the store.
#[derive(Debug, Clone)]
pub struct StorePins(pub Store);

impl PinnedCertificates for StorePins {
    fn admits(&self, fingerprint_hex: &str) -> bool {
        identity::admits_at_handshake(&self.0, fingerprint_hex)
    }
}

/// Identity failures seen by the pipeline.
pub type Admission = Result<identity::Principal, IdentityError>;
