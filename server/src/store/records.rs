//! What the store keeps: tenants, their KMIP clients, and managed objects. Plaintext key
//! material never appears here: an object's key bytes are a blob sealed under its tenant's
//! Domain Key by the HSM, and a Domain Key is a blob wrapped under the Root of Trust.

use serde::{Deserialize, Serialize};

/// A tenant: one customer of the cloud, with its own Domain Key chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// Tenant identifier (`[a-z0-9][a-z0-9-_.]{0,62}`).
    pub id: String,
    /// Suspended tenants are refused on every operation.
    pub suspended: bool,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Domain Key versions, oldest first; the last is the current one. Each is the HSM's
    /// serialized wrapped-key blob (opaque here; wrapped under the Root of Trust).
    pub domain_keys: Vec<DomainKeyVersion>,
}

impl TenantRecord {
    /// The Domain Key version new objects are sealed under.
    pub fn current_domain_key(&self) -> Option<&DomainKeyVersion> {
        self.domain_keys.last()
    }

    /// A given Domain Key version.
    pub fn domain_key(&self, version: u32) -> Option<&DomainKeyVersion> {
        self.domain_keys.iter().find(|d| d.version == version)
    }
}

/// One version of a tenant's Domain Key, as a blob wrapped under the Root of Trust.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainKeyVersion {
    /// Version, starting at 1.
    pub version: u32,
    /// The Domain Key wrapped under the Root of Trust (not secret: only an HSM holding the
    /// root can unwrap it).
    pub wrapped: hsm::WrappedDomainKey,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

pub use certs::identity::Role;

/// Stores a [`Role`] by its URI name (`kmip-client`, `tenant-admin`, `auditor`, `operator`),
/// the one spelling `certs` defines.
mod role_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use super::Role;

    pub(super) fn serialize<S: Serializer>(role: &Role, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(role.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(|_| D::Error::custom("unknown role"))
    }
}

/// How a client's certificate is recognised. New variants go at the end: records and log
/// entries are postcard-encoded by variant index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientIdentity {
    /// Issued by the KMS CA with this principal name in its SAN URI.
    CaIssued,
    /// A certificate not issued by the KMS CA (e.g. vCenter's self-signed one) pinned by its
    /// SHA-256 fingerprint: a BOUND pin, the only kind that identifies a client. At most one
    /// client holds a bound pin of a fingerprint.
    Pinned {
        /// Lowercase hex SHA-256 of the DER certificate.
        fingerprint: String,
    },
    /// A pin claimed by a tenant admin and not bound yet: it identifies nobody until the
    /// holder of the certificate proves the claim with its enrollment token, or an operator
    /// binds it (`identity::claim`). Any number of clients, in any tenants, may claim the same
    /// fingerprint; claiming reveals nothing about the others.
    PendingPin {
        /// Lowercase hex SHA-256 of the DER certificate.
        fingerprint: String,
        /// HMAC-SHA256 of the one-time enrollment token (`identity::claim::token_digest`).
        token_digest: [u8; 32],
        /// The token binds until this time (Unix seconds); an operator may bind later.
        expires_at: i64,
    },
}

impl ClientIdentity {
    /// The fingerprint of a bound or pending pin.
    pub fn pinned_fingerprint(&self) -> Option<&str> {
        match self {
            ClientIdentity::CaIssued => None,
            ClientIdentity::Pinned { fingerprint }
            | ClientIdentity::PendingPin { fingerprint, .. } => Some(fingerprint),
        }
    }
}

/// An enrolled client of a tenant. Identity is decided from the verified certificate, never a CN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    /// Tenant the client belongs to (None only for operators).
    pub tenant: Option<String>,
    /// Client name, unique within the tenant.
    pub name: String,
    /// What the client may do.
    #[serde(with = "role_name")]
    pub role: Role,
    /// How its certificate is recognised.
    pub identity: ClientIdentity,
    /// Disabled clients are refused at once, even on resumed TLS sessions.
    pub enabled: bool,
    /// Optional second factor: a PHC-format password hash for the KMIP Credential.
    pub password_hash: Option<String>,
    /// Enrollment time, Unix seconds.
    pub created_at: i64,
}

impl ClientRecord {
    /// The key under which the client is stored: `tenant/name` (`-/name` for operators).
    pub fn key(&self) -> String {
        client_key(self.tenant.as_deref(), &self.name)
    }
}

/// The store key of a client.
pub fn client_key(tenant: Option<&str>, name: &str) -> String {
    format!("{}/{}", tenant.unwrap_or("-"), name)
}

/// A managed object (KMIP 1.4 section 2.2): its metadata and, for keys, the sealed material.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// KMIP Unique Identifier, identical on every node.
    pub uid: String,
    /// The one tenant that owns the object.
    pub tenant: String,
    /// Incremented by every change; a write names the revision it was computed from.
    pub revision: u64,
    /// KMIP Object Type enumeration value.
    pub object_type: u32,
    /// KMIP State enumeration value.
    pub state: u32,
    /// Sealed key material; `None` once destroyed.
    pub material: Option<SealedMaterial>,
    /// Attributes: server-managed ones typed, the rest kept as encoded KMIP values.
    pub attributes: StoredAttributes,
}

/// Key material sealed under the tenant's Domain Key, with what is needed to rebuild the
/// managed object around it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedMaterial {
    /// The HSM's sealed blob (AEAD; tenant, object ID and version bound in; names the Domain
    /// Key version it is sealed under).
    pub sealed: hsm::SealedBlob,
    /// KMIP Key Format Type of the stored bytes (Raw for symmetric keys, Opaque for Secret
    /// Data); unused for Opaque Objects.
    pub key_format: u32,
    /// Secret Data Type or Opaque Data Type, for those objects.
    pub data_type: Option<u32>,
}

/// Attributes of a managed object (KMIP 1.4 section 3). Dates are Unix seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAttributes {
    /// Cryptographic Algorithm enumeration.
    pub cryptographic_algorithm: Option<u32>,
    /// Cryptographic Length in bits.
    pub cryptographic_length: Option<i32>,
    /// Cryptographic Usage Mask.
    pub cryptographic_usage_mask: Option<i32>,
    /// Initial Date (creation or registration).
    pub initial_date: i64,
    /// Last Change Date.
    pub last_change_date: i64,
    /// Activation Date.
    pub activation_date: Option<i64>,
    /// Deactivation Date.
    pub deactivation_date: Option<i64>,
    /// Destroy Date.
    pub destroy_date: Option<i64>,
    /// Compromise Date.
    pub compromise_date: Option<i64>,
    /// Compromise Occurrence Date.
    pub compromise_occurrence_date: Option<i64>,
    /// Process Start Date.
    pub process_start_date: Option<i64>,
    /// Protect Stop Date.
    pub protect_stop_date: Option<i64>,
    /// Revocation Reason: code and optional message.
    pub revocation_reason: Option<(u32, Option<String>)>,
    /// SHA-256 digest of the key material in its registered format.
    pub digest: Option<Vec<u8>>,
    /// Every client-settable attribute instance (Name, Object Group, Link, Contact
    /// Information, Cryptographic Parameters, custom `x-`/`y-` attributes of any type ...), in
    /// order, each kept as the binary TTLV of its KMIP 1.x Attribute structure (name, index,
    /// value) so that nothing is lost.
    pub other: Vec<OtherAttribute>,
    /// The values of the object's Name attributes, derived from `other` by the writer (see
    /// `ops::attribute_model`); the store indexes them for uniqueness and Locate.
    pub names: Vec<String>,
}

/// A client-settable attribute instance kept verbatim: the binary TTLV of its KMIP 1.x
/// Attribute structure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherAttribute(pub Vec<u8>);
