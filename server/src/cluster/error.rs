//! Errors of the replication storage (Raft log store, state machine, snapshots). openraft's
//! storage traits take `std::io::Error`; [`ClusterStoreError`] travels inside it as the typed
//! source (`io::Error::get_ref` + `downcast_ref`), with kind `InvalidData` for corruption.

use std::fmt;
use std::io;

use super::types::Incarnation;
use crate::store::StoreError;
use crate::store::schema::SchemaTooNew;

/// Which stored Raft record failed to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogRecord {
    /// The log entry at this index.
    Entry(u64),
    /// The saved vote.
    Vote,
    /// The saved committed log id.
    Committed,
    /// The last purged log id.
    Purged,
    /// State-machine metadata: last applied log id.
    LastApplied,
    /// State-machine metadata: last membership.
    Membership,
    /// State-machine metadata: cluster incarnation ID.
    Incarnation,
    /// State-machine metadata: retired node IDs.
    RetiredNodes,
    /// The log file's schema version.
    Schema,
    /// The recorded outcome of a request in the request window (`requests.rs`).
    RequestOutcome,
}

impl fmt::Display for LogRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Entry(i) => write!(f, "log entry {i}"),
            Self::Vote => f.write_str("vote"),
            Self::Committed => f.write_str("committed log id"),
            Self::Purged => f.write_str("last purged log id"),
            Self::LastApplied => f.write_str("last applied log id"),
            Self::Membership => f.write_str("last membership"),
            Self::Incarnation => f.write_str("cluster incarnation ID"),
            Self::RetiredNodes => f.write_str("retired node IDs"),
            Self::Schema => f.write_str("schema version"),
            Self::RequestOutcome => f.write_str("request window outcome"),
        }
    }
}

/// What is wrong with a snapshot file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotDefect {
    /// It does not start with the snapshot magic and a known format version.
    Magic,
    /// It ends before its declared contents.
    Truncated,
    /// A length field exceeds its limit.
    TooLarge,
    /// The trailing SHA-256 digest does not match the contents.
    Digest,
    /// An unknown record tag.
    Tag,
    /// Bytes after the end marker.
    TrailingBytes,
    /// A record comes before any table.
    NoTable,
}

impl fmt::Display for SnapshotDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Magic => "not a snapshot of this format",
            Self::Truncated => "truncated",
            Self::TooLarge => "a length exceeds its limit",
            Self::Digest => "digest mismatch",
            Self::Tag => "unknown record tag",
            Self::TrailingBytes => "bytes after the end marker",
            Self::NoTable => "record outside a table",
        })
    }
}

/// Errors of the replication storage. None carries record contents.
#[derive(Debug, thiserror::Error)]
pub enum ClusterStoreError {
    /// The Raft log database could not be opened or created.
    #[error("opening the Raft log database failed")]
    Open(#[from] redb::DatabaseError),
    /// A transaction could not start.
    #[error("starting a Raft log transaction failed")]
    Transaction(#[from] redb::TransactionError),
    /// A table could not be opened.
    #[error("opening a Raft log table failed")]
    Table(#[from] redb::TableError),
    /// Reading or writing a table failed.
    #[error("Raft log storage I/O failed")]
    Storage(#[from] redb::StorageError),
    /// Durability could not be set.
    #[error("setting Raft log durability failed")]
    Durability(#[from] redb::SetDurabilityError),
    /// The commit (and its fsync) failed.
    #[error("Raft log commit failed")]
    Commit(#[from] redb::CommitError),
    /// A stored Raft record does not decode: the store is corrupt.
    #[error("stored {what} is corrupt")]
    Corrupt {
        /// Which record.
        what: LogRecord,
        /// The decoder's complaint.
        #[source]
        source: postcard::Error,
    },
    /// A Raft record could not be serialized.
    #[error("the Raft log writer thread is gone")]
    /// The Raft log writer thread is gone (shutting down, or it failed to start).
    WriterGone,
    #[error("Raft log write failed")]
    /// A write of the Raft log failed (logged once by the writer).
    WriteFailed,
    #[error("Raft record does not serialize")]
    Encode(#[source] postcard::Error),
    /// The store (state machine tables) failed.
    #[error("state machine store failed")]
    Store(#[from] StoreError),
    /// A blocking storage task did not finish (panicked or was cancelled).
    #[error("storage task failed")]
    Task(#[from] tokio::task::JoinError),
    /// Reading or writing a snapshot file failed.
    #[error("snapshot file I/O failed")]
    SnapshotIo(#[source] io::Error),
    /// A snapshot file is malformed.
    #[error("snapshot is malformed: {0}")]
    SnapshotMalformed(SnapshotDefect),
    /// A snapshot record names a table the store does not replicate.
    #[error("snapshot names a table this node does not know")]
    SnapshotUnknownTable,
    /// A snapshot record does not decode as its table's key and value types.
    #[error("snapshot record does not fit its table")]
    SnapshotRecordMalformed,
    /// The snapshot's own metadata differs from what Raft says it installs.
    #[error("snapshot metadata differs from the announced one")]
    SnapshotMetaMismatch,
    /// The snapshot belongs to another cluster incarnation.
    #[error("snapshot of cluster incarnation {found} refused: this node belongs to {local}")]
    IncarnationMismatch {
        /// This node's incarnation.
        local: Incarnation,
        /// The snapshot's.
        found: Incarnation,
    },
    /// The snapshot has no incarnation while this node has one.
    #[error("snapshot without a cluster incarnation refused: this node belongs to {local}")]
    IncarnationMissing {
        /// This node's incarnation.
        local: Incarnation,
    },
    /// The Raft log file was written by a newer binary (nothing in it was read or changed).
    #[error("the Raft log file {0}")]
    SchemaTooNew(SchemaTooNew),
    /// A snapshot was written by a newer binary (refused before any record is used).
    #[error("the snapshot {0}")]
    SnapshotSchemaTooNew(SchemaTooNew),
}

impl ClusterStoreError {
    pub(crate) fn kind(&self) -> io::ErrorKind {
        match self {
            Self::Corrupt { .. }
            | Self::SnapshotMalformed(_)
            | Self::SnapshotUnknownTable
            | Self::SnapshotRecordMalformed
            | Self::SnapshotMetaMismatch
            | Self::IncarnationMismatch { .. }
            | Self::IncarnationMissing { .. }
            | Self::SchemaTooNew(_)
            | Self::SnapshotSchemaTooNew(_) => io::ErrorKind::InvalidData,
            Self::Open(_)
            | Self::Transaction(_)
            | Self::Table(_)
            | Self::Storage(_)
            | Self::Durability(_)
            | Self::Commit(_)
            | Self::Encode(_)
            | Self::Store(_)
            | Self::Task(_)
            | Self::SnapshotIo(_)
            | Self::WriterGone
            | Self::WriteFailed => io::ErrorKind::Other,
        }
    }

    /// The typed error inside an `io::Error` returned through openraft's storage traits.
    pub fn from_io(e: &io::Error) -> Option<&Self> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<Self>())
    }
}

impl From<ClusterStoreError> for io::Error {
    fn from(e: ClusterStoreError) -> Self {
        io::Error::new(e.kind(), e)
    }
}
