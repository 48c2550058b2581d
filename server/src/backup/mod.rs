//! Backup and restore of the KMS itself (`docs/OPERATIONS.md`, Backup and restore).
//!
//! A backup is four files: `backup.bin`, every replicated table as of one read view in the
//! Raft snapshot format (`crate::cluster::backup_file`), sealed material only; and
//! `manifest.json` (what it holds: schema version, applied index and incarnation on a
//! cluster, the Root of Trust KCV, record counts, the file's SHA-256, the audit checkpoints it
//! follows), signed by the node's HSM audit key (`manifest.sig`, DER ECDSA P-256 / SHA-256;
//! `signer.pem`, the key's SubjectPublicKeyInfo), like a tenant bundle. [`create`] makes one
//! for the admin API; [`restore`] installs one into a fresh data directory (`kmsd restore`).

mod create;
mod error;
mod restore;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use create::{BackupFiles, create};
pub use error::BackupError;
pub use restore::{Restored, restore};

/// `manifest.json`'s `format`.
pub const FORMAT: &str = "kms-backup-1";
/// Largest `backup.bin` the admin API answers: its base64 in the JSON answer (4/3 of it)
/// stays under what `kmsctl` reads (96 MiB). Checked on the file's size before it is read.
pub const MAX_BACKUP_BYTES: u64 = 64 << 20;
/// The backup file's name in a backup directory.
pub const SNAPSHOT_FILE: &str = "backup.bin";
/// The signed manifest's name.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The signature's name (DER).
pub const SIGNATURE_FILE: &str = "manifest.sig";
/// The signer's public key's name (PEM).
pub const SIGNER_FILE: &str = "signer.pem";
/// Largest manifest read (a few KiB in practice).
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// `manifest.json`: what a backup holds. The exact bytes are signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The store schema version of the records (`crate::store::schema::SCHEMA_VERSION`).
    pub schema_version: u32,
    /// The snapshot file format of `backup.bin`.
    pub snapshot_format: u32,
    /// When the backup was taken (RFC 3339, UTC).
    pub created_at: String,
    /// The node that took and signed it (its audit log's name) and its ID.
    pub node: String,
    /// The node's ID.
    pub node_id: u64,
    /// The cluster the state was read from (`None`: a node alone).
    pub cluster: Option<ClusterPoint>,
    /// KCVs (hex) of the Root of Trust the Domain Keys in the backup are wrapped under.
    pub root_kcv: Vec<String>,
    /// Records per replicated table.
    pub tables: BTreeMap<String, u64>,
    /// `backup.bin`'s size in bytes.
    pub snapshot_bytes: u64,
    /// `backup.bin`'s SHA-256 (hex).
    pub snapshot_sha256: String,
    /// The newest signed audit checkpoint of each log in the backed-up state: the backup
    /// follows them (a checkpoint is signed just before the backup is read).
    pub audit_checkpoints: Vec<CheckpointRef>,
}

/// Where in the cluster's history a backup was read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterPoint {
    /// The cluster incarnation ID.
    pub incarnation: Option<String>,
    /// The last applied log index of the read view.
    pub applied_index: Option<u64>,
    /// Its term.
    pub applied_term: Option<u64>,
}

/// A signed audit checkpoint, named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRef {
    /// The log (node name).
    pub log: String,
    /// The last record it covers.
    pub seq: u64,
    /// That record's hash (hex).
    pub head: String,
    /// When it was signed (RFC 3339).
    pub time: String,
}

/// SHA-256 as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// `secs` as RFC 3339 UTC.
fn rfc3339(time: time::OffsetDateTime) -> String {
    time.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
