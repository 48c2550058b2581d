//! Signed checkpoints: "log L had `seq` records, ending in `head`, and these tenant heads, at
//! `time`", signed with the HSM-resident audit key and committed to the replicated log, so a
//! rewritten or truncated audit file on any node shows against what the others hold.
//!
//! The signature is ECDSA P-256 over SHA-256 of [`Checkpoint::signing_message`], in the fixed
//! 64-byte `r || s` form: exactly what `hsm::Hsm::sign_audit` returns (it hashes the message
//! on the host and signs the digest with `CKM_ECDSA`). Verification uses `ring`.

use std::fmt;

use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{OffsetDateTime, UtcOffset};

use crate::Error;
use crate::chain::{ChainState, TenantHead};
use crate::hash::{Canon, Hash, decode_lower_hex};
use crate::merkle;

/// Domain string of the signed message.
const CHECKPOINT_DOMAIN: &str = "kms-audit-checkpoint-v1";
/// Length of an `r || s` P-256 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of an uncompressed SEC1 P-256 point.
pub const PUBLIC_KEY_LEN: usize = 65;

/// A checkpoint signature, `r || s`, written as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; SIGNATURE_LEN]);

impl Signature {
    /// Takes the bytes a signer returned; they must be 64.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        <[u8; SIGNATURE_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::SignatureLength { len: bytes.len() })
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        decode_lower_hex::<SIGNATURE_LEN>(&s, "signature")
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// The audit public key: an uncompressed SEC1 P-256 point, as `hsm::Hsm::audit_public_key`
/// returns it.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(Vec<u8>);

impl PublicKey {
    /// Checks the shape (65 bytes, `0x04` first); the point itself is checked on use.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, Error> {
        match bytes.first() {
            Some(0x04) if bytes.len() == PUBLIC_KEY_LEN => Ok(Self(bytes.to_vec())),
            _ => Err(Error::PublicKey { len: bytes.len() }),
        }
    }

    /// From lowercase hex of the SEC1 point.
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        Self::from_sec1(&decode_lower_hex::<PUBLIC_KEY_LEN>(s, "public key")?)
    }

    /// The SEC1 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether `signature` is this key's ECDSA-SHA256 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &Signature) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.0)
            .verify(message, &signature.0)
            .is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(&self.0))
    }
}

/// One tenant's head with its inclusion proof against a checkpoint's `tenants_root`: what a
/// tenant's auditor receives instead of the full list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantProof {
    /// The tenant's head.
    pub head: TenantHead,
    /// Its leaf index in the tree.
    pub index: u64,
    /// Sibling hashes from the leaf up (RFC 9162 inclusion path).
    pub path: Vec<Hash>,
}

/// A signed checkpoint. The signature covers `log`, `seq`, `head`, `time`, `tenants_root` and
/// `tenant_count`; `tenants` (the full list, operator view) and `proof` (one tenant's view)
/// are checked against `tenants_root`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The log (node) it checkpoints.
    pub log: String,
    /// The last record covered (0: the log was empty).
    pub seq: u64,
    /// Hash of record `seq` ([`Hash::GENESIS`] if `seq` is 0).
    pub head: Hash,
    /// When it was made (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Root of the tree of tenant heads (`crate::merkle`), in tenant order.
    pub tenants_root: Hash,
    /// How many tenant chains the tree has.
    pub tenant_count: u64,
    /// Every tenant head, in tenant order (empty in a tenant's view).
    #[serde(default)]
    pub tenants: Vec<TenantHead>,
    /// One tenant's head and proof (only in a tenant's view).
    #[serde(default)]
    pub proof: Option<TenantProof>,
    /// ECDSA P-256 over SHA-256 of the signing message, `r || s`.
    pub signature: Signature,
}

/// A checkpoint before it is signed.
#[derive(Clone, Debug)]
pub struct CheckpointDraft {
    cp: Checkpoint,
}

impl CheckpointDraft {
    /// Captures `state` at `time`.
    pub fn new(state: &ChainState, time: OffsetDateTime) -> Self {
        let tenants = state.tenant_heads();
        let leaves: Vec<Hash> = tenants.iter().map(merkle::leaf_hash).collect();
        Self {
            cp: Checkpoint {
                log: state.log().to_owned(),
                seq: state.seq(),
                head: state.head(),
                time: time.to_offset(UtcOffset::UTC),
                tenants_root: merkle::root(&leaves),
                tenant_count: leaves.len() as u64,
                tenants,
                proof: None,
                signature: Signature([0; SIGNATURE_LEN]),
            },
        }
    }

    /// The bytes to sign (the signer hashes them with SHA-256).
    pub fn message(&self) -> Vec<u8> {
        self.cp.signing_message()
    }

    /// The checkpoint with the signer's `r || s` signature.
    pub fn finish(mut self, signature: &[u8]) -> Result<Checkpoint, Error> {
        self.cp.signature = Signature::from_bytes(signature)?;
        Ok(self.cp)
    }
}

impl Checkpoint {
    /// The signed bytes: the canonical encoding of the signed fields.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut c = Canon::new(CHECKPOINT_DOMAIN);
        c.str(&self.log)
            .u64(self.seq)
            .hash(&self.head)
            .i128(self.time.unix_timestamp_nanos())
            .hash(&self.tenants_root)
            .u64(self.tenant_count);
        c.bytes()
    }

    /// Whether the signature is `key`'s.
    pub fn signature_valid(&self, key: &PublicKey) -> bool {
        key.verifies(&self.signing_message(), &self.signature)
    }

    /// Whether `tenants` is the full list the root was made from.
    pub fn has_full_tenants(&self) -> bool {
        let leaves: Vec<Hash> = self.tenants.iter().map(merkle::leaf_hash).collect();
        leaves.len() as u64 == self.tenant_count && merkle::root(&leaves) == self.tenants_root
    }

    /// The tenant heads this checkpoint proves: the full list if it matches the root, else the
    /// proof's head if its path checks out, else nothing.
    pub fn proven_heads(&self) -> Vec<TenantHead> {
        if self.has_full_tenants() {
            return self.tenants.clone();
        }
        match &self.proof {
            Some(p)
                if merkle::verify_inclusion(
                    &merkle::leaf_hash(&p.head),
                    p.index,
                    self.tenant_count,
                    &p.path,
                    &self.tenants_root,
                ) =>
            {
                vec![p.head.clone()]
            }
            _ => Vec::new(),
        }
    }

    /// This checkpoint as `tenant`'s auditor may see it: the signed fields, that tenant's head
    /// and its inclusion proof, nothing about other tenants but their number.
    pub fn for_tenant(&self, tenant: Option<&str>) -> Result<Self, Error> {
        let index = self
            .tenants
            .iter()
            .position(|t| t.tenant.as_deref() == tenant)
            .ok_or(Error::NoSuchTenantHead)?;
        let leaves: Vec<Hash> = self.tenants.iter().map(merkle::leaf_hash).collect();
        let path = merkle::path(&leaves, index).ok_or(Error::NoSuchTenantHead)?;
        let head = self
            .tenants
            .get(index)
            .cloned()
            .ok_or(Error::NoSuchTenantHead)?;
        Ok(Self {
            tenants: Vec::new(),
            proof: Some(TenantProof {
                head,
                index: index as u64,
                path,
            }),
            ..self.clone()
        })
    }

    /// The checkpoint as one JSON line, without the trailing newline.
    pub fn to_json_line(&self) -> Result<String, Error> {
        Ok(serde_json::to_string(self)?)
    }
}
