//! The Raft log and vote, in their own redb file (`raft-log.redb` in the data directory).
//!
//! Every write is a redb transaction committed with `Durability::Immediate` (fsync) before it
//! is reported: `save_vote` returns, and openraft's IO callback for `append` is invoked, only
//! once the data is on disk. `append` itself returns at once (the entries are readable from
//! then on) and the writer thread (`log_writer.rs`) commits everything queued meanwhile in one
//! transaction (group commit). Decode failures are [`ClusterStoreError::Corrupt`], never
//! panics.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;

use openraft::OptionalSend;
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::type_config::alias::{EntryOf, LogIdOf, VoteOf};
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{ClusterStoreError, LogRecord};
use super::log_writer::{LogWriter, Pending};
use super::types::TypeConfig;
use crate::store::schema;

/// Log index -> postcard-encoded entry.
pub(super) const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("raft_log");
/// Name -> postcard-encoded vote, committed log id, last purged log id.
pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("raft_log_meta");

const VOTE: &str = "vote";
/// The log file's schema version (postcard `u32`, see [`crate::store::schema`]).
const SCHEMA: &str = "schema_version";
pub(super) const COMMITTED: &str = "committed";
pub(super) const PURGED: &str = "last_purged";

type Entry = EntryOf<TypeConfig>;
type LogId = LogIdOf<TypeConfig>;
type Vote = VoteOf<TypeConfig>;

/// The Raft log store of one node.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
    pending: Arc<Pending>,
    writer: LogWriter,
}

impl Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore").finish_non_exhaustive()
    }
}

/// Reads log entries and the vote for replication tasks, concurrently with writes (MVCC),
/// including entries appended but not yet flushed.
#[derive(Clone)]
pub struct LogReader {
    db: Arc<Database>,
    pending: Arc<Pending>,
}

impl Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader").finish_non_exhaustive()
    }
}

impl LogStore {
    /// Opens (or creates, mode 0600) the log database at `path`. A log written by a newer
    /// binary is refused ([`ClusterStoreError::SchemaTooNew`]) before anything else is done
    /// with it; an older one is migrated (see [`crate::store::schema`]).
    pub fn open(path: &Path) -> Result<Self, ClusterStoreError> {
        crate::permissions::touch_private(path).map_err(redb::DatabaseError::from)?;
        let db = Database::builder().create(path)?;
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let opened = check_schema(&txn)?;
        txn.open_table(LOG)?;
        txn.commit()?;
        schema::log_opened("Raft log", opened);
        let db = Arc::new(db);
        let pending = Arc::new(Pending::default());
        let writer = LogWriter::start(db.clone(), pending.clone())?;
        Ok(Self {
            db,
            pending,
            writer,
        })
    }

    /// Runs one write transaction on a blocking thread and commits it with fsync.
    async fn write<R, F>(&self, f: F) -> Result<R, ClusterStoreError>
    where
        R: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<R, ClusterStoreError> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut txn = db.begin_write()?;
            txn.set_durability(Durability::Immediate)?;
            // Crash recovery reads the saved allocator state instead of walking the file.
            txn.set_quick_repair(true);
            let out = f(&txn)?;
            txn.commit()?;
            Ok(out)
        })
        .await?
    }

    fn reader(&self) -> LogReader {
        LogReader {
            db: self.db.clone(),
            pending: self.pending.clone(),
        }
    }
}

/// Checks the log's schema version inside `txn` (before any other table is created) and
/// records the current one; a refusal leaves the file as it was (`txn` is dropped unapplied).
fn check_schema(txn: &WriteTransaction) -> Result<schema::Opened, ClusterStoreError> {
    let fresh = txn.list_tables()?.next().is_none();
    let mut meta = txn.open_table(META)?;
    let recorded: Option<u32> = meta
        .get(SCHEMA)?
        .map(|v| decode(v.value(), LogRecord::Schema))
        .transpose()?;
    let opened = schema::plan(recorded, fresh).map_err(ClusterStoreError::SchemaTooNew)?;
    if opened != schema::Opened::Current {
        meta.insert(SCHEMA, encode(&schema::SCHEMA_VERSION)?.as_slice())?;
    }
    Ok(opened)
}

/// Overwrites a log file's recorded schema version, as a binary of that version would have
/// left it (`None`: as before versions existed). For tests of the refusal and the migration.
#[cfg(test)]
pub(super) fn overwrite_schema(path: &Path, version: Option<u32>) -> Result<(), ClusterStoreError> {
    let db = Database::open(path)?;
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        match version {
            Some(v) => {
                meta.insert(SCHEMA, encode(&v)?.as_slice())?;
            }
            None => {
                meta.remove(SCHEMA)?;
            }
        }
    }
    txn.commit()?;
    Ok(())
}

/// A log file's recorded schema version. For tests.
#[cfg(test)]
pub(super) fn read_schema(path: &Path) -> Result<Option<u32>, ClusterStoreError> {
    let db = Database::open(path)?;
    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    meta.get(SCHEMA)?
        .map(|v| decode(v.value(), LogRecord::Schema))
        .transpose()
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ClusterStoreError> {
    postcard::to_allocvec(value).map_err(ClusterStoreError::Encode)
}

/// Decodes a whole value: trailing bytes are corruption too.
fn decode<T: DeserializeOwned>(bytes: &[u8], what: LogRecord) -> Result<T, ClusterStoreError> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok(_) => Err(ClusterStoreError::Corrupt {
            what,
            source: postcard::Error::DeserializeBadEncoding,
        }),
        Err(source) => Err(ClusterStoreError::Corrupt { what, source }),
    }
}

fn decode_entry(index: u64, bytes: &[u8]) -> Result<Entry, ClusterStoreError> {
    let entry: Entry = decode(bytes, LogRecord::Entry(index))?;
    // An entry stored under another index is as corrupt as one that does not decode.
    if entry.log_id().index() != index {
        return Err(ClusterStoreError::Corrupt {
            what: LogRecord::Entry(index),
            source: postcard::Error::DeserializeBadEncoding,
        });
    }
    Ok(entry)
}

impl LogReader {
    async fn read<R, F>(&self, f: F) -> Result<R, ClusterStoreError>
    where
        R: Send + 'static,
        F: FnOnce(&redb::ReadTransaction) -> Result<R, ClusterStoreError> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db.begin_read()?)).await?
    }

    async fn meta<T>(
        &self,
        name: &'static str,
        what: LogRecord,
    ) -> Result<Option<T>, ClusterStoreError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.read(move |txn| {
            let table = txn.open_table(META)?;
            table
                .get(name)?
                .map(|v| decode(v.value(), what))
                .transpose()
        })
        .await
    }
}

impl RaftLogReader<TypeConfig> for LogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let start = range.start_bound().cloned();
        let end = range.end_bound().cloned();
        // Pending entries first, then the database: an entry the writer flushes in between
        // leaves pending only after its commit, so it is in one or the other.
        let pending: BTreeMap<u64, Entry> = self
            .pending
            .lock()
            .range::<u64, _>((start, end))
            .map(|(i, e)| (*i, e.clone()))
            .collect();
        let mut entries = self
            .read(move |txn| {
                let table = txn.open_table(LOG)?;
                let mut out = BTreeMap::new();
                for item in table.range::<u64>((start, end))? {
                    let (k, v) = item?;
                    out.insert(k.value(), decode_entry(k.value(), v.value())?);
                }
                Ok(out)
            })
            .await?;
        // A pending entry is newer than a stored one at the same index (after a truncation).
        entries.extend(pending);
        Ok(entries.into_values().collect())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(self.meta(VOTE, LogRecord::Vote).await?)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let pending_last = self
            .pending
            .lock()
            .values()
            .next_back()
            .map(RaftEntry::log_id);
        let mut state = self
            .reader()
            .read(|txn| {
                let meta = txn.open_table(META)?;
                let purged: Option<LogId> = meta
                    .get(PURGED)?
                    .map(|v| decode(v.value(), LogRecord::Purged))
                    .transpose()?;
                let log = txn.open_table(LOG)?;
                let last = match log.last()? {
                    Some((k, v)) => Some(decode_entry(k.value(), v.value())?.log_id()),
                    None => purged,
                };
                Ok(LogState {
                    last_purged_log_id: purged,
                    last_log_id: last,
                })
            })
            .await?;
        if pending_last.is_some() && pending_last > state.last_log_id {
            state.last_log_id = pending_last;
        }
        Ok(state)
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.reader()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let bytes = encode(vote)?;
        self.write(move |txn| {
            txn.open_table(META)?.insert(VOTE, bytes.as_slice())?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        // Queued behind the appends, not waited for: a lost committed id is found again.
        let bytes = committed.as_ref().map(encode).transpose()?;
        self.writer.committed(bytes)?;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.reader().meta(COMMITTED, LogRecord::Committed).await?)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut encoded = Vec::new();
        for entry in entries {
            let bytes = encode(&entry)?;
            encoded.push((entry, bytes));
        }
        // Returns once the entries are readable; the callback reports them durable.
        self.writer.append(encoded, callback)?;
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |id| id.index() + 1);
        self.writer.truncate(from).await?;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let upto = log_id.index();
        let bytes = encode(&log_id)?;
        self.writer.purge(upto, bytes).await?;
        Ok(())
    }
}
