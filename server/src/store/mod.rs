//! The durable state of one node, in `redb`: tenants, clients, managed objects. Reads use
//! MVCC read transactions (no global lock); writes arrive as [`Command`]s and are applied in
//! group-committed, fsync'd transactions by [`committer::Committer`].
//!
//! Why redb (and not sled): see `docs/ARCHITECTURE.md`. Keep this module narrow so the choice
//! stays easy to see and to change.

mod apply;
mod cache;
pub mod command;
mod committer;
pub mod events;
pub mod exports;
pub mod jobs;
pub mod locate_index;
pub mod pending;
pub mod platform;
pub mod records;
pub(crate) mod replica;
pub mod schema;
mod tables;

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable};

use cache::RecordCache;
pub use command::{Command, Rejection};
pub use committer::{Applied, AppliedSink, Committer};
use records::{ClientRecord, ObjectRecord, TenantRecord};

/// Errors of the storage layer. None of them carries record contents.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("opening the database failed")]
    Open(#[from] redb::DatabaseError),
    /// A transaction could not start.
    #[error("starting a transaction failed")]
    Transaction(#[from] redb::TransactionError),
    /// A table could not be opened.
    #[error("opening a table failed")]
    Table(#[from] redb::TableError),
    /// Reading or writing a table failed.
    #[error("storage I/O failed")]
    Storage(#[from] redb::StorageError),
    /// A savepoint (used to roll back a rejected batch) failed.
    #[error("savepoint failed")]
    Savepoint(#[from] redb::SavepointError),
    /// The commit (and its fsync) failed.
    #[error("commit failed")]
    Commit(#[from] redb::CommitError),
    /// A stored record does not decode: the store is corrupt.
    #[error("stored record is corrupt")]
    Corrupt(#[source] postcard::Error),
    /// A record could not be serialized.
    #[error("record does not serialize")]
    Encode(#[source] postcard::Error),
    /// The committer thread could not be started.
    #[error("starting the committer thread failed")]
    Thread(#[source] std::io::Error),
    /// The group this command was in could not be committed (nothing of it is applied; the
    /// cause is logged once by the committer).
    #[error("commit failed")]
    CommitFailed,
    /// The committer thread is gone (the node is shutting down).
    #[error("store is shut down")]
    ShutDown,
    /// A deferred-durability transaction could not be set up.
    #[error("deferred durability refused")]
    DeferredDurability,
    /// The store file was written by a newer binary (nothing in it was read or changed).
    #[error("the store file {0}")]
    SchemaTooNew(schema::SchemaTooNew),
}

/// The store's file name in a node's data directory.
pub const STORE_FILE: &str = "kms.redb";

/// Most pending pin claims [`Store::pin_claims`] reads for one fingerprint and name (claims
/// of one name are one per tenant).
pub const MAX_PIN_CLAIMS_READ: usize = 64;

/// The node's store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: Arc<Database>,
    /// Decoded tenants, clients and objects between writes (see `cache.rs`); every write
    /// transaction on `db` calls [`RecordCache::written`] after its commit.
    cache: Arc<RecordCache>,
}

impl Store {
    /// Opens (or creates) the database file and its tables.
    /// A new file is created mode 0600 (see [`crate::permissions`]). A file written by a newer
    /// binary is refused ([`StoreError::SchemaTooNew`]) before anything else is done with it;
    /// an older one is migrated (see [`schema`]).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        crate::permissions::touch_private(path).map_err(redb::DatabaseError::from)?;
        let db = Database::builder().set_cache_size(64 << 20).create(path)?;
        let txn = db.begin_write()?;
        let opened = schema::check_store(&txn)?;
        tables::create_all(&txn)?;
        txn.open_table(replica::META)?;
        // Schema version 4 added the Locate index: built once from the objects of an older
        // store, in the transaction that records the new version.
        if let schema::Opened::Migrated { from } = opened
            && from < schema::LOCATE_INDEX_SINCE
        {
            let objects = locate_index::rebuild(&txn)?;
            tracing::info!(objects, "built the Locate index of the migrated store");
        }
        txn.commit()?;
        schema::log_opened("store", opened);
        Ok(Self {
            db: Arc::new(db),
            cache: Arc::new(RecordCache::new()),
        })
    }

    /// Starts the group committer for this store (one per store), handing the records of
    /// applied changes to `sink` (`()`: back to the caller).
    pub fn committer<S: AppliedSink>(&self, sink: S) -> Result<Committer<S>, StoreError> {
        Committer::start(self.db.clone(), self.cache.clone(), sink)
    }

    /// The audited state changes committed but not yet known durable in the audit log, from
    /// change number `from` on, at most `limit`, in order.
    pub fn audit_outbox(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<audit_log::AuditEvent>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::AUDIT_OUTBOX)?;
        let mut out = Vec::new();
        for entry in table.range(from..)?.take(limit) {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    /// The first change number in the audit outbox, if any.
    pub fn audit_outbox_first(&self) -> Result<Option<u64>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::AUDIT_OUTBOX)?;
        Ok(table.first()?.map(|(k, _)| k.value()))
    }

    /// The last state-change number given out (0: none yet).
    pub fn last_change(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::COUNTERS)?;
        Ok(table.get(tables::CHANGE_COUNTER)?.map_or(0, |v| v.value()))
    }

    /// Every signed audit checkpoint kept in the replicated state, by log then sequence.
    pub fn audit_checkpoints(&self) -> Result<Vec<audit_log::Checkpoint>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::AUDIT_CHECKPOINTS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    /// A managed object by UID, whatever its tenant (callers authorize).
    pub fn object(&self, uid: &str) -> Result<Option<Arc<ObjectRecord>>, StoreError> {
        self.cache.object(uid, || {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(tables::OBJECTS)?;
            table.get(uid)?.map(|v| decode(v.value())).transpose()
        })
    }

    /// Every object of a tenant, in UID order, passed to `visit` until it returns `false`.
    pub fn for_each_object_of(
        &self,
        tenant: &str,
        mut visit: impl FnMut(ObjectRecord) -> bool,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_read()?;
        let index = txn.open_table(tables::TENANT_OBJECTS)?;
        let objects = txn.open_table(tables::OBJECTS)?;
        for entry in index.range((tenant, "")..)? {
            let (key, _) = entry?;
            let (t, uid) = key.value();
            if t != tenant {
                break;
            }
            if let Some(v) = objects.get(uid)?
                && !visit(decode(v.value())?)
            {
                break;
            }
        }
        Ok(())
    }

    /// Hands `visit` the tenant's objects carrying every Locate index term of `terms`
    /// ([`locate_index::term`]; every object when empty), newest Initial Date first then by
    /// UID, until it returns `false`. Reads only the index entries of the term with the fewest
    /// and the candidates carrying every term (see `locate_index.rs`).
    pub fn locate(
        &self,
        tenant: &str,
        terms: &[Vec<u8>],
        visit: impl FnMut(ObjectRecord) -> bool,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_read()?;
        locate_index::walk(&txn, tenant, terms, visit)
    }

    /// The UID of the tenant's object carrying Name `name`.
    pub fn object_named(&self, tenant: &str, name: &str) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::TENANT_NAMES)?;
        Ok(table.get((tenant, name))?.map(|v| v.value().to_owned()))
    }

    /// A tenant by ID.
    pub fn tenant(&self, id: &str) -> Result<Option<Arc<TenantRecord>>, StoreError> {
        self.cache.tenant(id, || {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(tables::TENANTS)?;
            table.get(id)?.map(|v| decode(v.value())).transpose()
        })
    }

    /// Every tenant, in ID order.
    pub fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::TENANTS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    /// A client by its store key (`tenant/name`).
    pub fn client(&self, key: &str) -> Result<Option<Arc<ClientRecord>>, StoreError> {
        self.cache.client(key, || {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(tables::CLIENTS)?;
            table.get(key)?.map(|v| decode(v.value())).transpose()
        })
    }

    /// The client enrolled with this certificate fingerprint (lowercase hex SHA-256).
    pub fn client_by_fingerprint(&self, fp: &str) -> Result<Option<Arc<ClientRecord>>, StoreError> {
        self.cache.pinned(fp, || {
            let txn = self.db.begin_read()?;
            let index = txn.open_table(tables::CLIENT_FINGERPRINTS)?;
            let Some(key) = index.get(fp)? else {
                return Ok(None);
            };
            let clients = txn.open_table(tables::CLIENTS)?;
            clients
                .get(key.value())?
                .map(|v| decode(v.value()))
                .transpose()
        })
    }

    /// The pending pin claims of certificate fingerprint `fp` by clients named `name`, at most
    /// one per tenant, at most [`MAX_PIN_CLAIMS_READ`] of them.
    pub fn pin_claims(&self, fp: &str, name: &str) -> Result<Vec<ClientRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let index = txn.open_table(tables::PIN_CLAIMS)?;
        let clients = txn.open_table(tables::CLIENTS)?;
        let mut out = Vec::new();
        for entry in index.range((fp, name, "")..)?.take(MAX_PIN_CLAIMS_READ) {
            let (key, _) = entry?;
            let (f, n, tenant) = key.value();
            if f != fp || n != name {
                break;
            }
            if let Some(v) = clients.get(records::client_key(Some(tenant), n).as_str())? {
                out.push(decode(v.value())?);
            }
        }
        Ok(out)
    }

    /// Whether any client holds a pending pin claim of certificate fingerprint `fp`.
    pub fn is_claimed(&self, fp: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_read()?;
        let index = txn.open_table(tables::PIN_CLAIMS)?;
        let first = index.range((fp, "", "")..)?.next().transpose()?;
        Ok(first.is_some_and(|(key, _)| key.value().0 == fp))
    }

    /// A tenant's platform policy (the default when none was set).
    pub fn platform_policy(&self, tenant: &str) -> Result<platform::PlatformPolicy, StoreError> {
        let txn = self.db.begin_read()?;
        platform::policy_of(&txn.open_table(tables::TENANT_PLATFORM)?, tenant)
    }

    /// The backup holds of a tenant, in backup-set order.
    pub fn holds_of(&self, tenant: &str) -> Result<Vec<platform::HoldRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::HOLDS)?;
        let mut out = Vec::new();
        for entry in table.range((tenant, "")..)? {
            let (k, v) = entry?;
            if k.value().0 != tenant {
                break;
            }
            out.push(decode(v.value())?);
        }
        Ok(out)
    }

    /// One backup hold.
    pub fn hold(
        &self,
        tenant: &str,
        backup_set: &str,
    ) -> Result<Option<platform::HoldRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::HOLDS)?;
        table
            .get((tenant, backup_set))?
            .map(|v| decode(v.value()))
            .transpose()
    }

    /// The backup sets holding key `uid` (of any retention), in order.
    pub fn holds_on(&self, uid: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::HELD_KEYS)?;
        let mut out = Vec::new();
        for entry in table.range((uid, "", "")..)? {
            let (k, until) = entry?;
            let (u, _, set) = k.value();
            if u != uid {
                break;
            }
            out.push((set.to_owned(), until.value()));
        }
        Ok(out)
    }

    /// Up to `limit` events of `tenant` after change `after`, oldest first.
    pub fn events_after(
        &self,
        tenant: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<events::EventRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::EVENTS)?;
        let mut out = Vec::new();
        let start = (tenant, after.saturating_add(1), 0u8);
        for entry in table.range(start..)?.take(limit) {
            let (k, v) = entry?;
            if k.value().0 != tenant {
                break;
            }
            out.push(decode(v.value())?);
        }
        Ok(out)
    }

    /// Every client of a tenant (`None`: operators).
    pub fn clients_of(&self, tenant: Option<&str>) -> Result<Vec<ClientRecord>, StoreError> {
        let prefix = records::client_key(tenant, "");
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::CLIENTS)?;
        let mut out = Vec::new();
        for entry in table.range(prefix.as_str()..)? {
            let (k, v) = entry?;
            if !k.value().starts_with(&prefix) {
                break;
            }
            out.push(decode(v.value())?);
        }
        Ok(out)
    }
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(StoreError::Corrupt)
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(value).map_err(StoreError::Encode)
}

#[cfg(test)]
mod pending_tests;
#[cfg(test)]
mod schema_tests;
#[cfg(test)]
pub(crate) mod tests;
