//! Why a backup was not taken, verified or restored. Nothing secret in any message.

use std::path::PathBuf;

use crate::audit::{AuditError, OutboxError};
use crate::audit_housekeeping::CheckpointError;
use crate::cluster::ClusterStoreError;
use crate::command_log::CommitError;
use crate::store::{Rejection, StoreError};

/// A backup or restore failure.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The audit checkpoint taken before a backup failed.
    #[error("audit checkpoint before the backup: {0}")]
    Checkpoint(#[source] CheckpointError),
    /// A checkpoint of the backup could not be written as a line.
    #[error("audit checkpoint: {0}")]
    CheckpointLine(#[source] audit_log::Error),
    /// Writing or reading the snapshot file.
    #[error("backup file: {0}")]
    Snapshot(#[from] ClusterStoreError),
    /// The backup is larger than the admin API answers.
    #[error(
        "backup of {bytes} bytes exceeds the admin API's limit of {} bytes",
        super::MAX_BACKUP_BYTES
    )]
    TooLarge {
        /// Its size.
        bytes: u64,
    },
    /// Another backup is being taken on this node.
    #[error("a backup is already being taken on this node")]
    Busy,
    /// Local file I/O.
    #[error("I/O: {0}")]
    Io(#[source] std::io::Error),
    /// A file of the backup could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A small file of the backup is too large to be what it claims.
    #[error("{} is too large", .0.display())]
    FileTooLarge(PathBuf),
    /// A blocking task died.
    #[error("background task failed")]
    Task,
    /// The HSM failed.
    #[error("HSM: {0}")]
    Hsm(#[source] hsm::Error),
    /// The HSM holds no audit key.
    #[error("the HSM holds no audit key")]
    NoAuditKey,
    /// Converting the signature or key.
    #[error("signature encoding: {0}")]
    Crypto(#[source] kms_crypto::Error),
    /// Encoding the manifest.
    #[error("encoding the manifest: {0}")]
    Encode(#[source] serde_json::Error),
    /// The signer given is not a P-256 public key (PEM, or SEC1 hex).
    #[error("--signer is not a P-256 public key (PEM SubjectPublicKeyInfo or SEC1 point in hex)")]
    BadSigner,
    /// The manifest's signature does not verify under the signer given.
    #[error("manifest signature does not verify under the given signer: refused")]
    BadSignature,
    /// The manifest does not parse.
    #[error("manifest.json does not parse: {0}")]
    BadManifest(#[source] serde_json::Error),
    /// The manifest is of another format.
    #[error("unknown backup format {0:?}")]
    UnknownFormat(String),
    /// The backup's schema version is not this binary's.
    #[error(
        "backup has store schema version {backup}, this kmsd {binary}: restore with the kmsd \
         version that took it, then upgrade"
    )]
    SchemaVersion {
        /// The backup's.
        backup: u32,
        /// This binary's.
        binary: u32,
    },
    /// `backup.bin` is not the size the manifest says (truncated or grown).
    #[error("backup.bin is {file} bytes, the manifest says {manifest}: truncated or altered")]
    SizeMismatch {
        /// The file's size.
        file: u64,
        /// The manifest's.
        manifest: u64,
    },
    /// `backup.bin`'s SHA-256 is not the manifest's.
    #[error("backup.bin's SHA-256 differs from the manifest's: altered")]
    DigestMismatch,
    /// The data directory already holds something.
    #[error("data directory {} is not empty: restore only into a fresh one", .0.display())]
    DataDirNotEmpty(PathBuf),
    /// The token's Root of Trust is not the one the backup's Domain Keys are wrapped under.
    #[error(
        "the backup's Root of Trust KCV is {backup}, the token's {token}: restore the Root of \
         Trust into this token first (kmsd ceremony)"
    )]
    KcvMismatch {
        /// The backup's KCVs.
        backup: String,
        /// The token's.
        token: String,
    },
    /// The store.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The audit trail.
    #[error("audit trail: {0}")]
    Audit(#[from] AuditError),
    /// Opening the audit trail over the store.
    #[error("audit trail: {0}")]
    Outbox(#[from] OutboxError),
    /// Committing the checkpoint.
    #[error("commit: {0}")]
    Commit(#[from] CommitError),
    /// The checkpoint was refused by the store.
    #[error("checkpoint refused: {0}")]
    Rejected(Rejection),
}
