//! The schema version of a node's persisted state: the store's tables and records, the Raft
//! log's entries (store commands) and the snapshots streamed between nodes. One number for all
//! three, because they change together: a new record field is a new table, a new command is a
//! new enum variant at the end, and an older binary can decode neither.
//!
//! A store or log created now records [`SCHEMA_VERSION`]; one written before versions existed
//! has none and is [`UNVERSIONED`]. Opening one written by a newer binary (a higher version) is
//! refused ([`SchemaTooNew`]) before anything in it is read or written. Migrations, oldest
//! first (each one recorded in the same transaction as the new version):
//!
//! | from | to | what changes |
//! |---|---|---|
//! | 1 (no version recorded) | 2 | the version is recorded; the platform tables (`tenant_platform`, `holds`, `held_keys`, `events`) are created empty; the log may carry the platform commands |
//! | 2 | 3 | the two-stage destroy, notice and rotation job tables (`destroy_grace`, `pending_destroy`, `notices`, `rotation_jobs`) are created empty; the log may carry `MarkPendingDestroy`, `CancelDestroy`, `EraseMaterial`, `Notice`, `StartRotation`, `UpdateRotation` and the policy change `DestroyGrace` |
//! | 3 (or older) | 4 | the Locate index (`locate_index`, node-local) is built from the objects at open, in the transaction that records the version; the `rotation_schedule` table is created empty and the log may carry the policy change `DomainKeyRotation`; snapshots are otherwise unchanged from 3 (a snapshot of version 2 to 4 is installed the same way, the index rebuilt after it) |
//! | 4 (or older) | 5 | the `export_jobs` table is created empty; the log may carry `RequestExport` and `ExportStep` (tenant migration); a snapshot of version 2 to 4 is installed the same way |
//! | 5 (or older) | 6 | the request window tables (`requests`, `request_order`, replicated, carried in snapshots; `cluster/requests.rs`) are created empty. Log entries do not change encoding: every entry already carried its request ID, and an entry written before (a fresh random ID per proposal, never proposed twice) applies as before. A snapshot of version 2 to 5 is installed the same way, with an empty window |

use redb::{ReadableTable, TableDefinition, WriteTransaction};

/// The schema version this binary writes and understands (and every older one).
pub const SCHEMA_VERSION: u32 = 6;

/// The first version with the Locate index (`locate_index.rs`): an older store builds it when
/// migrated.
pub const LOCATE_INDEX_SINCE: u32 = 4;

/// The version of a store or log written before versions were recorded.
pub const UNVERSIONED: u32 = 1;

/// Name -> version: the store file's schema version under [`VERSION_KEY`]. Node-local (kept out
/// of snapshots, which carry the version in their own preamble).
pub(super) const SCHEMA: TableDefinition<&str, u32> = TableDefinition::new("schema");
const VERSION_KEY: &str = "version";

/// A store, log or snapshot written by a newer binary than this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "was written with schema version {found}, newer than this kmsd's schema version {supported}: \
     run a kmsd release that supports schema version {found} (a data directory is never downgraded)"
)]
pub struct SchemaTooNew {
    /// The version found.
    pub found: u32,
    /// The newest version this binary understands ([`SCHEMA_VERSION`]).
    pub supported: u32,
}

/// What opening a store or log found, once its version is known to be usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    /// Created now: the current version is recorded.
    Created,
    /// Already at the current version.
    Current,
    /// Written by an older binary at version `from`: migrated to the current one.
    Migrated {
        /// The version found.
        from: u32,
    },
}

/// Decides what to do with a store or log whose recorded version is `recorded` (`None`: no
/// version), `fresh` when it held nothing at all before this open.
pub fn plan(recorded: Option<u32>, fresh: bool) -> Result<Opened, SchemaTooNew> {
    match recorded {
        Some(found) if found > SCHEMA_VERSION => Err(SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        }),
        Some(SCHEMA_VERSION) => Ok(Opened::Current),
        Some(from) => Ok(Opened::Migrated { from }),
        None if fresh => Ok(Opened::Created),
        None => Ok(Opened::Migrated { from: UNVERSIONED }),
    }
}

/// Checks the store's version inside `txn` (opened on the database before any other table is
/// created) and records the current one: a refusal leaves the file as it was (the caller drops
/// the transaction uncommitted).
pub(super) fn check_store(txn: &WriteTransaction) -> Result<Opened, super::StoreError> {
    let fresh = txn.list_tables()?.next().is_none();
    let mut table = txn.open_table(SCHEMA)?;
    let recorded = table.get(VERSION_KEY)?.map(|v| v.value());
    let opened = plan(recorded, fresh).map_err(super::StoreError::SchemaTooNew)?;
    if opened != Opened::Current {
        table.insert(VERSION_KEY, SCHEMA_VERSION)?;
    }
    Ok(opened)
}

/// Logs a migration or a creation (nothing for a store already current).
pub fn log_opened(what: &'static str, opened: Opened) {
    match opened {
        Opened::Created => {
            tracing::info!(
                what,
                schema = SCHEMA_VERSION,
                "created at the current schema version"
            );
        }
        Opened::Current => {}
        Opened::Migrated { from } => tracing::info!(
            what,
            from,
            to = SCHEMA_VERSION,
            "migrated to the current schema version (see docs/OPERATIONS.md#upgrades)"
        ),
    }
}

/// Overwrites the store file's recorded schema version, as a binary of that version would
/// have left it: for tests of the refusal and of the migration (`None` removes the version,
/// as before versions existed). Not used by the server.
#[doc(hidden)]
pub fn overwrite_store_version(
    path: &std::path::Path,
    version: Option<u32>,
) -> Result<(), super::StoreError> {
    let db = redb::Database::open(path)?;
    let txn = db.begin_write()?;
    {
        let mut table = txn.open_table(SCHEMA)?;
        match version {
            Some(v) => {
                table.insert(VERSION_KEY, v)?;
            }
            None => {
                table.remove(VERSION_KEY)?;
            }
        }
    }
    txn.commit()?;
    Ok(())
}

/// The store file's recorded schema version (`None`: none recorded). For tests and tools.
#[doc(hidden)]
pub fn read_store_version(path: &std::path::Path) -> Result<Option<u32>, super::StoreError> {
    use redb::ReadableDatabase;
    let db = redb::Database::open(path)?;
    let txn = db.begin_read()?;
    let table = txn.open_table(SCHEMA)?;
    Ok(table.get(VERSION_KEY)?.map(|v| v.value()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_covers_every_case() {
        assert_eq!(plan(None, true), Ok(Opened::Created));
        assert_eq!(
            plan(None, false),
            Ok(Opened::Migrated { from: UNVERSIONED })
        );
        assert_eq!(plan(Some(SCHEMA_VERSION), false), Ok(Opened::Current));
        assert_eq!(plan(Some(1), false), Ok(Opened::Migrated { from: 1 }));
        let e = plan(Some(SCHEMA_VERSION + 1), false).unwrap_err();
        assert_eq!(e.found, SCHEMA_VERSION + 1);
        let text = e.to_string();
        assert!(
            text.contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
            "{text}"
        );
        assert!(
            text.contains(&format!("schema version {SCHEMA_VERSION}")),
            "{text}"
        );
    }
}
