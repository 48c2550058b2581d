//! The service of one node as parts, independent of sockets: the store, the command log, the
//! key hierarchy, the audit trail, identity, quotas and the metrics. No use case lives here:
//! the KMIP request pipeline is `ops/pipeline.rs`, the admin use cases `tenancy.rs`.

use std::net::SocketAddr as PeerAddr;
use std::sync::Arc;

use kmip_codec::limits::Limits;
use rustls_pki_types::CertificateDer;

use crate::audit::AuditLog;
use crate::audit::refusals::{self, RefusalSettings, Refusals};
use crate::cluster::RaftNode;
use crate::command_log::{CommandLog, CommitError};
use crate::identity::{self, IdentityError, PeerCertificate};
use crate::keys::Keys;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::tenancy::Tenancy;
use crate::tls::{ClientVerifier, PinnedCertificates};

/// The KMS service of one node.
#[derive(Debug)]
pub struct Kms {
    pub(crate) store: Store,
    /// The one write path (local, or the cluster's Raft log).
    pub(crate) log: CommandLog,
    pub(crate) keys: Keys,
    /// The node's metrics.
    pub(crate) metrics: Arc<Metrics>,
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
    /// When each client last succeeded here (key providers' state).
    pub(crate) activity: identity::ClientActivity,
}

/// The parts a node assembles its service from (`node.rs`).
#[derive(Debug)]
pub struct Parts {
    /// The store (read side).
    pub store: Store,
    /// The one write path.
    pub log: CommandLog,
    /// The key hierarchy.
    pub keys: Keys,
    /// The node's metrics.
    pub metrics: Arc<Metrics>,
    /// The client certificate verifier.
    pub verifier: Arc<ClientVerifier>,
    /// The codec's limits.
    pub limits: Limits,
    /// This node's ID.
    pub node_id: u64,
    /// The node's audit trail.
    pub audit: AuditLog,
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
    /// Assembles the service from its parts.
    pub fn new(parts: Parts) -> Self {
        Self {
            inspections: identity::RecentInspections::default(),
            activity: identity::ClientActivity::default(),
            store: parts.store,
            log: parts.log,
            keys: parts.keys,
            metrics: parts.metrics,
            verifier: parts.verifier,
            limits: parts.limits,
            node_id: parts.node_id,
            audit: parts.audit,
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

    /// This node's ID.
    pub fn node_id(&self) -> u64 {
        self.node_id
    }

    /// The platform service (platform services' use cases) over this node's parts.
    pub fn platform(&self) -> crate::platform::Platform<'_> {
        crate::platform::Platform::new(&self.store, &self.log)
    }

    /// When each client last made a successful KMIP request on this node.
    pub fn activity(&self) -> &identity::ClientActivity {
        &self.activity
    }

    /// The tenancy service (admin use cases) over this node's parts.
    pub fn tenancy(&self) -> Tenancy<'_> {
        Tenancy::new(&self.store, &self.log, &self.keys)
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
        &self.metrics
    }

    /// Inspects a new connection's verified certificate chain once (see [`PeerCertificate`]).
    pub fn inspect_peer(
        &self,
        chain: &[CertificateDer<'_>],
    ) -> Result<PeerCertificate, IdentityError> {
        self.inspections
            .get_or_inspect(chain, self.verifier.trust_generation(), || {
                PeerCertificate::inspect(chain, &self.verifier)
            })
    }

    /// Records a connection refused before any request (cap, handshake, framing): in the
    /// metrics at once and exactly, in the audit trail and the log in aggregate (see
    /// [`crate::audit::refusals`]), in the background (no answer waits for it).
    pub fn connection_refused(&self, peer: PeerAddr, reason: &'static str) {
        self.metrics().kmip_refused(reason);
        refusals::record(&self.refusals, &self.audit, peer, reason);
    }

    /// Closes the write side: everything queued is committed, then the audit log stops. The
    /// node records the pending refusals and takes the last checkpoint first
    /// ([`crate::node::Node::shutdown`]).
    pub async fn shutdown(&self) {
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
