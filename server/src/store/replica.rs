//! The store as a replicated state machine (used by `crate::cluster`): apply commands in a
//! transaction that also records replication metadata, read every replicated table as raw
//! key/value bytes for a snapshot, and replace them all from a snapshot in one transaction.
//!
//! The store knows nothing of Raft: metadata values are opaque bytes that `cluster` encodes.
//! Every table of the store must be listed in [`REPLICATED`] (or be [`META`]); a unit test in
//! `cluster` fails when a table is added to the database without being listed here.

use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use redb::{
    Key, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, TableHandle, Value,
    WriteTransaction,
};

use super::command::{Command, Rejection};
use super::{Store, StoreError, apply, tables};

/// Replication metadata (name -> opaque bytes): last applied log id, last membership, cluster
/// incarnation ID. Rewritten from a snapshot's header, never carried as snapshot records.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("replica_meta");

/// One table carried in snapshots, read and written as raw bytes whatever its key and value
/// types.
pub(crate) trait ReplicatedTable: Sync {
    /// The table's name in the database (and in snapshots).
    fn name(&self) -> &str;
    /// Hands every record, in key order, as raw (key, value) bytes to `sink` until it breaks.
    fn visit(&self, txn: &ReadTransaction, sink: &mut dyn RecordSink) -> Result<(), StoreError>;
    /// Drops every record.
    fn clear(&self, txn: &WriteTransaction) -> Result<(), StoreError>;
    /// Inserts one raw record. `false` (nothing written): the bytes do not decode as the
    /// table's key and value types.
    fn insert(&self, txn: &WriteTransaction, key: &[u8], value: &[u8]) -> Result<bool, StoreError>;
}

/// Takes raw records one by one (a snapshot writer), so a table is never held in memory.
pub(crate) trait RecordSink {
    /// One record; `Break` stops the walk (the sink keeps its own error).
    fn record(&mut self, key: &[u8], value: &[u8]) -> ControlFlow<()>;
}

struct Table<K: Key + 'static, V: Value + 'static>(TableDefinition<'static, K, V>);

impl<K: Key + Sync + 'static, V: Value + Sync + 'static> ReplicatedTable for Table<K, V> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn visit(&self, txn: &ReadTransaction, sink: &mut dyn RecordSink) -> Result<(), StoreError> {
        let table = txn.open_table(self.0)?;
        for entry in table.iter()? {
            let (k, v) = entry?;
            let flow = sink.record(
                K::as_bytes(&k.value()).as_ref(),
                V::as_bytes(&v.value()).as_ref(),
            );
            if flow.is_break() {
                break;
            }
        }
        Ok(())
    }

    fn clear(&self, txn: &WriteTransaction) -> Result<(), StoreError> {
        let mut table = txn.open_table(self.0)?;
        table.retain(|_, _| false)?;
        Ok(())
    }

    fn insert(&self, txn: &WriteTransaction, key: &[u8], value: &[u8]) -> Result<bool, StoreError> {
        // redb's decoders assume well-formed bytes (they panic on, e.g., invalid UTF-8). A
        // snapshot is digest-checked before it gets here; this keeps a malformed record from
        // a buggy peer an error rather than a crash.
        let Ok((k, v)) = catch_unwind(AssertUnwindSafe(|| {
            (K::from_bytes(key), V::from_bytes(value))
        })) else {
            return Ok(false);
        };
        let mut table = txn.open_table(self.0)?;
        table.insert(k, v)?;
        Ok(true)
    }
}

/// Every replicated table, in snapshot order. A new store table is added here.
pub(crate) static REPLICATED: &[&dyn ReplicatedTable] = &[
    &Table(tables::TENANTS),
    &Table(tables::CLIENTS),
    &Table(tables::CLIENT_FINGERPRINTS),
    &Table(tables::PIN_CLAIMS),
    &Table(tables::OBJECTS),
    &Table(tables::TENANT_OBJECTS),
    &Table(tables::TENANT_NAMES),
    &Table(tables::COUNTERS),
    &Table(tables::AUDIT_CHECKPOINTS),
    &Table(tables::TENANT_PLATFORM),
    &Table(tables::HOLDS),
    &Table(tables::HELD_KEYS),
    &Table(tables::EVENTS),
    &Table(tables::DESTROY_GRACE),
    &Table(tables::PENDING_DESTROY),
    &Table(tables::NOTICES),
    &Table(tables::ROTATION_JOBS),
    &Table(tables::ROTATION_SCHEDULE),
    &Table(tables::EXPORT_JOBS),
    &Table(tables::REQUESTS),
    &Table(tables::REQUEST_ORDER),
];

/// Tables that are the node's own and stay out of snapshots: the audit outbox holds the
/// records this node has applied but not yet written to its own audit log, trimmed by that
/// log's progress (not deterministic across nodes).
/// The schema table holds this file's own version (a snapshot carries its version in its
/// preamble).
/// The Locate index is derived from the objects: rebuilt when a snapshot is installed
/// ([`ReplicaWrite::clear_replicated`] marks it), so every node answers the same.
#[cfg(test)]
pub(crate) const NODE_LOCAL: &[&str] = &["audit_outbox", "schema", "locate_index"];

/// The replicated table named `name`.
pub(crate) fn replicated_table(name: &str) -> Option<&'static dyn ReplicatedTable> {
    REPLICATED.iter().copied().find(|t| t.name() == name)
}

/// A consistent read view of the replicated state and its metadata.
pub(crate) struct ReplicaRead {
    txn: ReadTransaction,
}

impl ReplicaRead {
    /// A metadata value.
    pub(crate) fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let table = self.txn.open_table(META)?;
        Ok(table.get(name)?.map(|v| v.value().to_vec()))
    }

    /// The request window's record of request `id`: the log index it was first applied at
    /// and its outcome (the replication layer's bytes).
    pub(crate) fn request(&self, id: u128) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let table = self.txn.open_table(tables::REQUESTS)?;
        Ok(table.get(id)?.map(|v| {
            let (index, outcome) = v.value();
            (index, outcome.to_vec())
        }))
    }

    /// Hands every record of `table`, as of this view, to `sink`.
    pub(crate) fn visit(
        &self,
        table: &dyn ReplicatedTable,
        sink: &mut dyn RecordSink,
    ) -> Result<(), StoreError> {
        table.visit(&self.txn, sink)
    }
}

/// A write transaction over the replicated state, committed with fsync.
pub(crate) struct ReplicaWrite {
    db: std::sync::Arc<redb::Database>,
    cache: std::sync::Arc<super::cache::RecordCache>,
    txn: WriteTransaction,
    durable: bool,
    dirty: bool,
    /// The replicated tables were emptied (a snapshot install): the derived index is rebuilt
    /// before the commit.
    replaced: bool,
    audited: Vec<audit_log::AuditEvent>,
}

impl ReplicaWrite {
    /// Applies one command with the store's deterministic apply (never calls the HSM). The
    /// records of audited changes are collected; [`ReplicaWrite::commit`] hands them out.
    pub(crate) fn apply(&mut self, command: &Command) -> Result<Result<(), Rejection>, StoreError> {
        self.dirty = true;
        apply::apply(&mut self.txn, command, &mut self.audited)
    }

    /// Whether `command` must start a transaction of its own (it takes a savepoint, which
    /// redb allows only before a transaction touches a table): commit what came before it,
    /// with its metadata, via [`ReplicaWrite::commit_and_continue`].
    pub(crate) fn must_split_before(&self, command: &Command) -> bool {
        self.dirty && apply::needs_savepoint(command)
    }

    /// Commits durably and continues in a fresh transaction (redb has one writer at a time,
    /// so the old one ends first).
    pub(crate) fn commit_and_continue(self) -> Result<Self, StoreError> {
        rebuild_if_replaced(&self.txn, self.replaced)?;
        let committed = self.txn.commit();
        self.cache.written();
        committed?;
        Ok(Self {
            txn: begin(&self.db, self.durable)?,
            db: self.db,
            cache: self.cache,
            durable: self.durable,
            dirty: false,
            replaced: false,
            audited: self.audited,
        })
    }

    /// A metadata value, as this transaction sees it.
    pub(crate) fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let table = self.txn.open_table(META)?;
        Ok(table.get(name)?.map(|v| v.value().to_vec()))
    }

    /// Sets a metadata value.
    pub(crate) fn set_meta(&mut self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.dirty = true;
        let mut table = self.txn.open_table(META)?;
        table.insert(name, value)?;
        Ok(())
    }

    /// Records in the request window that request `id` was applied at log `index` with
    /// `outcome` (replacing an older record of the same ID).
    pub(crate) fn record_request(
        &mut self,
        id: u128,
        index: u64,
        outcome: &[u8],
    ) -> Result<(), StoreError> {
        self.dirty = true;
        self.txn
            .open_table(tables::REQUESTS)?
            .insert(id, (index, outcome))?;
        self.txn
            .open_table(tables::REQUEST_ORDER)?
            .insert(index, id)?;
        Ok(())
    }

    /// Drops from the request window every request applied at log index `through` or
    /// before. A request ID applied again later keeps its newer record.
    pub(crate) fn forget_requests_through(&mut self, through: u64) -> Result<(), StoreError> {
        let mut order = self.txn.open_table(tables::REQUEST_ORDER)?;
        let mut gone = Vec::new();
        for entry in order.range(..=through)? {
            let (index, id) = entry?;
            gone.push((index.value(), id.value()));
        }
        if gone.is_empty() {
            return Ok(());
        }
        self.dirty = true;
        order.retain_in(..=through, |_, _| false)?;
        let mut requests = self.txn.open_table(tables::REQUESTS)?;
        for (index, id) in gone {
            let same = requests.get(id)?.is_some_and(|r| r.value().0 == index);
            if same {
                requests.remove(id)?;
            }
        }
        Ok(())
    }

    /// Drops the audit outbox entries below change `written` (the node's audit log has them
    /// durably).
    pub(crate) fn trim_outbox(&mut self, written: u64) -> Result<(), StoreError> {
        if written > 1 {
            let mut outbox = self.txn.open_table(super::tables::AUDIT_OUTBOX)?;
            outbox.retain_in(..written, |_, _| false)?;
        }
        Ok(())
    }

    /// Empties every replicated table (the first step of installing a snapshot); the derived
    /// Locate index is rebuilt from the installed objects at [`ReplicaWrite::commit`].
    pub(crate) fn clear_replicated(&mut self) -> Result<(), StoreError> {
        self.dirty = true;
        self.replaced = true;
        for table in REPLICATED {
            table.clear(&self.txn)?;
        }
        Ok(())
    }

    /// Inserts a raw record into a replicated table; `false`: the bytes do not decode as the
    /// table's types (nothing written).
    pub(crate) fn insert_raw(
        &mut self,
        table: &dyn ReplicatedTable,
        key: &[u8],
        value: &[u8],
    ) -> Result<bool, StoreError> {
        table.insert(&self.txn, key, value)
    }

    /// Commits durably: when this returns, the state and its metadata are on disk together.
    /// Returns the records of the audited changes applied, numbered, for the node's audit log.
    pub(crate) fn commit(self) -> Result<Vec<audit_log::AuditEvent>, StoreError> {
        rebuild_if_replaced(&self.txn, self.replaced)?;
        let committed = self.txn.commit();
        self.cache.written();
        committed?;
        Ok(self.audited)
    }
}

/// Rebuilds the derived Locate index when the replicated tables were replaced in `txn`.
fn rebuild_if_replaced(txn: &WriteTransaction, replaced: bool) -> Result<(), StoreError> {
    if replaced {
        let objects = super::locate_index::rebuild(txn)?;
        tracing::info!(
            objects,
            "rebuilt the Locate index from the installed snapshot"
        );
    }
    Ok(())
}

/// A write transaction: durable ones save the allocator state with the commit, so that
/// opening after a crash does not walk the whole file (see `commit.rs`); deferred ones
/// (`durable == false`) are persisted by the next durable commit.
fn begin(db: &redb::Database, durable: bool) -> Result<WriteTransaction, StoreError> {
    let mut txn = db.begin_write()?;
    if durable {
        txn.set_quick_repair(true);
    } else {
        txn.set_durability(redb::Durability::None)
            .map_err(|_| StoreError::DeferredDurability)?;
    }
    Ok(txn)
}

impl Store {
    /// A consistent read view for building a snapshot or reading metadata.
    pub(crate) fn replica_read(&self) -> Result<ReplicaRead, StoreError> {
        Ok(ReplicaRead {
            txn: self.db.begin_read()?,
        })
    }

    /// A write transaction over the replicated state, with redb's default durability
    /// (`Immediate`: its commit returns once the data is fsync'd).
    pub(crate) fn replica_write(&self) -> Result<ReplicaWrite, StoreError> {
        self.replica_write_with(true)
    }

    /// A write transaction over the replicated state that is durable only once a later
    /// durable commit is (Raft's log, fsync'd on a majority, is what makes a change durable;
    /// entries applied this way are applied again from the log after a crash).
    pub(crate) fn replica_write_with(&self, durable: bool) -> Result<ReplicaWrite, StoreError> {
        Ok(ReplicaWrite {
            db: self.db.clone(),
            cache: self.cache.clone(),
            txn: begin(&self.db, durable)?,
            durable,
            dirty: false,
            replaced: false,
            audited: Vec::new(),
        })
    }

    /// Names of the database's tables that are neither replicated nor replication metadata:
    /// must stay empty, or snapshots would silently lose state.
    #[cfg(test)]
    pub(crate) fn tables_missing_from_snapshots(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_read()?;
        let mut missing = Vec::new();
        for handle in txn.list_tables()? {
            let name = handle.name();
            if name != META.name()
                && replicated_table(name).is_none()
                && !NODE_LOCAL.contains(&name)
            {
                missing.push(name.to_owned());
            }
        }
        Ok(missing)
    }
}
