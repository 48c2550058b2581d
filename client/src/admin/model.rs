//! The admin API's JSON documents as typed values (`docs/ADMIN-API.md`). None holds key
//! material or a password: the API never returns either. Unknown fields are ignored, so a
//! newer server's extra fields do not break an older `kmsctl`.

use serde::{Deserialize, Serialize};

/// A tenant (`GET /v1/tenants/{t}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Tenant ID.
    pub id: String,
    /// Suspended tenants' principals are refused.
    pub suspended: bool,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
    /// The Domain Key version new keys are sealed under.
    #[serde(default)]
    pub domain_key_version: Option<u32>,
    /// Every version kept (more than one while a rotation re-seals).
    #[serde(default)]
    pub domain_key_versions: Vec<u32>,
}

/// `GET /v1/tenants`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct TenantList {
    pub(crate) tenants: Vec<Tenant>,
}

/// An enrolled principal (KMIP client, tenant admin, auditor or operator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolledClient {
    /// Its tenant (`None` for operators).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Client name.
    pub name: String,
    /// `kmip-client`, `tenant-admin`, `auditor` or `operator`.
    pub role: String,
    /// `ca-issued` or `pinned`.
    pub identity: String,
    /// For pinned clients: `pending` (claimed, identifies nobody yet) or `bound`.
    #[serde(default)]
    pub pin: Option<String>,
    /// SHA-256 of the pinned certificate, lowercase hex.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Until when a pending claim's enrollment token binds (RFC 3339).
    #[serde(default)]
    pub claim_expires_at: Option<String>,
    /// Disabled clients are refused at their next request.
    pub enabled: bool,
    /// Whether a KMIP Credential password is set (the password is never returned).
    pub has_password: bool,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
    /// The one-time enrollment token of a pin claim: only in the answer that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_token: Option<ClaimToken>,
}

/// A pin claim's one-time enrollment token: the KMIP Credential Password that binds the claim
/// (Username = the client name). `Debug` is redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClaimToken(String);

impl ClaimToken {
    /// The token text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClaimToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClaimToken(<redacted>)")
    }
}

/// A certificate the KMS CA signed for a CSR (`POST .../clients/{name}/csr`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCertificate {
    /// The certificate (PEM).
    pub certificate: String,
    /// The KMS client CA certificate (PEM).
    pub ca: String,
    /// SHA-256 of the certificate, lowercase hex.
    pub fingerprint: String,
    /// The principal URI it carries.
    pub principal: String,
    /// RFC 3339.
    #[serde(default)]
    pub not_after: Option<String>,
}

/// `GET /v1/tenants/{t}/clients`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ClientList {
    pub(crate) clients: Vec<EnrolledClient>,
}

/// What to enroll with `POST /v1/tenants/{t}/clients`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Enrollment {
    /// Client name (the `<name>` of `urn:kms:principal:<role>:<tenant>:<name>`).
    pub name: String,
    /// `kmip-client` (the server's default), `tenant-admin` or `auditor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A certificate not issued by the KMS CA (PEM) to claim as a pin; `None` for a
    /// CA-issued client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

/// The VMware attributes vCenter puts on its keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vmware {
    /// `x-Component` (`Virtual Machine`, `ESXi Server`).
    pub component: Option<String>,
    /// `x-Identifier` (VM or host UUID).
    pub identifier: Option<String>,
    /// `x-Name` (VM or host name).
    pub name: Option<String>,
}

/// A key in the inventory: metadata only, never material or digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// Unique Identifier.
    pub uid: String,
    /// KMIP Object Type, XML name (`SymmetricKey`).
    pub object_type: String,
    /// Effective KMIP State, XML name (`Active`).
    pub state: String,
    /// Cryptographic Algorithm, XML name.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// Cryptographic Length in bits.
    #[serde(default)]
    pub length: Option<i32>,
    /// Domain Key version the material is sealed under.
    #[serde(default)]
    pub domain_key_version: Option<u32>,
    /// Initial Date, RFC 3339.
    #[serde(default)]
    pub initial_date: Option<String>,
    /// Last Change Date, RFC 3339.
    #[serde(default)]
    pub last_change_date: Option<String>,
    /// Activation Date, RFC 3339.
    #[serde(default)]
    pub activation_date: Option<String>,
    /// Deactivation Date, RFC 3339.
    #[serde(default)]
    pub deactivation_date: Option<String>,
    /// Compromise Date, RFC 3339.
    #[serde(default)]
    pub compromise_date: Option<String>,
    /// Destroy Date, RFC 3339.
    #[serde(default)]
    pub destroy_date: Option<String>,
    /// Revocation Reason Code, XML name.
    #[serde(default)]
    pub revocation_reason: Option<String>,
    /// KMIP Names.
    #[serde(default)]
    pub names: Vec<String>,
    /// Marked by a tenant admin as trusted for wrapping: a Sensitive key may be wrapped under it.
    #[serde(default)]
    pub trusted_for_wrapping: bool,
    /// VMware attributes.
    #[serde(default)]
    pub vmware: Vmware,
    /// Pending destruction: when the material is erased unless the destroy is cancelled,
    /// RFC 3339 (shown by single-key reads and key actions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erase_at: Option<String>,
}

/// One page of `GET /v1/tenants/{t}/keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPage {
    /// Keys in UID order.
    pub keys: Vec<Key>,
    /// The `after` of the next page; `None` on the last one.
    #[serde(default)]
    pub next: Option<String>,
}

/// Filters and paging of the inventory; every field optional, combined with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyFilter {
    /// KMIP State XML name (`Active`, `PreActive`, `Deactivated`, `Compromised`, ...).
    pub state: Option<String>,
    /// `x-Component` equals.
    pub component: Option<String>,
    /// `x-Name` or a KMIP Name equals.
    pub name: Option<String>,
    /// Last Change Date at least this many days ago.
    pub stale_days: Option<u32>,
    /// Page size, 1 to 1000 (server default 100).
    pub limit: Option<u32>,
    /// Start after this UID.
    pub after: Option<String>,
}

/// A key action of `POST /v1/tenants/{t}/keys/{uid}/{action}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAction {
    /// Pre-Active to Active (KMIP 1.4 section 4.19).
    Activate,
    /// Revoke (KMIP 1.4 section 4.20).
    Revoke,
    /// Destroy (KMIP 1.4 section 4.21).
    Destroy,
    /// A new key replacing this one (KMIP 1.4 section 4.4).
    Rekey,
    /// Marks the key trusted for wrapping: Sensitive keys may then be wrapped under it.
    TrustWrapping,
    /// Clears that mark.
    DistrustWrapping,
    /// Cancels a pending destruction (two-stage destroy): the key returns to its state
    /// before the destroy.
    CancelDestroy,
}

impl KeyAction {
    /// The route's last segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activate => "activate",
            Self::Revoke => "revoke",
            Self::Destroy => "destroy",
            Self::Rekey => "rekey",
            Self::TrustWrapping => "trust-wrapping",
            Self::DistrustWrapping => "distrust-wrapping",
            Self::CancelDestroy => "cancel-destroy",
        }
    }
}

/// `POST /v1/tenants/{t}/rotate-domain-key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationStarted {
    /// Job ID to poll.
    pub job: String,
    /// The new Domain Key version.
    pub domain_key_version: u32,
}

/// `GET /v1/tenants/{t}/jobs/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Job ID.
    pub job: String,
    /// Tenant.
    pub tenant: String,
    /// `rotate-domain-key`.
    pub kind: String,
    /// The version objects are re-sealed under.
    pub domain_key_version: u32,
    /// `running`, `completed` or `failed`.
    pub state: String,
    /// Objects found on older versions at the start.
    pub total: u64,
    /// Objects re-sealed so far.
    pub resealed: u64,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub started_at: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub finished_at: Option<String>,
}

impl Job {
    /// True once the job completed or failed.
    pub fn is_finished(&self) -> bool {
        self.state != "running"
    }
}

/// Counts in the node status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeCounts {
    /// Tenants.
    pub tenants: u64,
    /// Enrolled principals.
    pub clients: u64,
    /// Managed objects.
    pub objects: u64,
    /// Unsealed keys cached.
    pub cached_keys: u64,
}

/// Unsealed-key cache lookups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyCacheCounts {
    /// Hits.
    pub hits: u64,
    /// Misses.
    pub misses: u64,
}

/// `GET /v1/node/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Node ID.
    pub node_id: u64,
    /// Server version.
    pub version: String,
    /// Key check value of the Root of Trust.
    pub root_kcv: String,
    /// HSM token label.
    pub hsm_token: String,
    /// Seconds since the admin listener started.
    pub uptime_secs: u64,
    /// Counts.
    #[serde(default)]
    pub counts: NodeCounts,
    /// Unsealed-key cache.
    #[serde(default)]
    pub key_cache: KeyCacheCounts,
    /// Domain Key rotations running on this node.
    #[serde(default)]
    pub rotations_running: u64,
    /// `local`: counted in this node's store as it is, not linearized (answered by a node cut
    /// off from the cluster too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
}

/// `POST /v1/node/reload-certificates`: the files read and the certificates now in use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificatesReloaded {
    /// Always `true` (a refused reload is an error answer).
    pub reloaded: bool,
    /// The files read, in order.
    pub files: Vec<String>,
    /// The certificates now in use.
    pub certificates: Vec<CertificateInUse>,
    /// `local`: this node's own files (answered by a node cut off from the cluster too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
}

/// One certificate a node uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateInUse {
    /// `ecdsa`, `rsa` or `client_ca`.
    pub role: String,
    /// The file it was read from.
    pub file: String,
    /// Lowercase hex SHA-256 of the DER certificate.
    pub fingerprint_sha256: String,
    /// notAfter, Unix seconds.
    pub not_after: i64,
}

/// `GET /readyz` and `GET /healthz`: `status` plus per-dependency checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Health {
    /// `ok` (healthz) or `ready` (readyz).
    pub status: String,
    /// `ok` when the store answered (readyz).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// `ok` when the HSM answered (readyz).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hsm: Option<String>,
    /// `local`: this node's own view (not whether it reaches its cluster).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    /// `ok` when the audit trail takes writes (readyz).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<String>,
    /// `ok`, or `low` when free space under the audit directory is below the watermark
    /// (readyz; `status` is then `degraded`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_disk: Option<String>,
    /// `ok`, or `expiring` when a certificate has less than 30 days left (readyz; `status` is
    /// then `degraded`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificates: Option<String>,
    /// What needs an operator's attention although the node serves.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}
