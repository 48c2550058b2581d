//! A backup of the replicated state in the snapshot file format (`snapshot.rs`): written from
//! one consistent read view of the store, on a cluster member or a node alone, while writes go
//! on; installed into a fresh store by `kmsd restore` (`crate::backup`).
//!
//! The file is exactly a Raft snapshot's: the schema version in its preamble, the incarnation
//! and applied log id in its header (none for a node alone), every replicated table, and its
//! SHA-256. It holds what the store holds: sealed material and public records only.

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::ControlFlow;
use std::path::Path;

use audit_log::Checkpoint;
use openraft::type_config::alias::SnapshotMetaOf;

use super::error::{ClusterStoreError, LogRecord};
use super::snapshot::{SnapshotHeader, SnapshotReader, SnapshotWriter, copy_verified};
use super::state_machine::{INCARNATION, LAST_APPLIED, LogId, MEMBERSHIP, meta};
use super::types::TypeConfig;
use crate::store::Store;
use crate::store::replica::{REPLICATED, RecordSink};

/// The replicated table holding every node's signed audit checkpoints.
const CHECKPOINTS_TABLE: &str = "audit_checkpoints";

/// What a written backup file holds, besides its bytes.
#[derive(Debug)]
pub struct BackupContents {
    /// The file, fsync'd (positioned at its end).
    pub file: File,
    /// Incarnation and applied log id (both empty for a node alone).
    pub header: SnapshotHeader,
    /// Records per replicated table, in snapshot order.
    pub counts: Vec<(String, u64)>,
    /// The newest signed audit checkpoint of each log in the state.
    pub checkpoints: BTreeMap<String, Checkpoint>,
}

/// Counts records and passes them to the writer; keeps the newest checkpoint per log.
struct BackupSink<'a> {
    writer: &'a mut SnapshotWriter,
    count: u64,
    checkpoints: Option<&'a mut BTreeMap<String, Checkpoint>>,
    error: Option<ClusterStoreError>,
}

impl RecordSink for BackupSink<'_> {
    fn record(&mut self, key: &[u8], value: &[u8]) -> ControlFlow<()> {
        if let Err(e) = self.writer.record(key, value) {
            self.error = Some(e);
            return ControlFlow::Break(());
        }
        self.count += 1;
        if let Some(newest) = self.checkpoints.as_deref_mut()
            && let Ok(cp) = postcard::from_bytes::<Checkpoint>(value)
            && newest.get(&cp.log).is_none_or(|n| n.seq < cp.seq)
        {
            newest.insert(cp.log.clone(), cp);
        }
        ControlFlow::Continue(())
    }
}

/// Writes every replicated table of `store`, as of one read view (one applied index on a
/// cluster member), to a new file at `path`. Writes go on meanwhile: redb's read view is
/// consistent.
pub fn write_backup(store: &Store, path: &Path) -> Result<BackupContents, ClusterStoreError> {
    let view = store.replica_read()?;
    let header = SnapshotHeader {
        incarnation: meta(&view, INCARNATION, LogRecord::Incarnation)?,
        meta: SnapshotMetaOf::<TypeConfig> {
            last_log_id: meta::<Option<LogId>>(&view, LAST_APPLIED, LogRecord::LastApplied)?
                .flatten(),
            last_membership: meta(&view, MEMBERSHIP, LogRecord::Membership)?.unwrap_or_default(),
        },
    };
    let mut writer = SnapshotWriter::create(path, &header)?;
    let mut counts = Vec::with_capacity(REPLICATED.len());
    let mut checkpoints = BTreeMap::new();
    for table in REPLICATED {
        writer.table(table.name())?;
        let is_checkpoints = table.name() == CHECKPOINTS_TABLE;
        let mut sink = BackupSink {
            writer: &mut writer,
            count: 0,
            checkpoints: is_checkpoints.then_some(&mut checkpoints),
            error: None,
        };
        view.visit(*table, &mut sink)?;
        if let Some(e) = sink.error {
            return Err(e);
        }
        counts.push((table.name().to_owned(), sink.count));
    }
    Ok(BackupContents {
        file: writer.finish()?,
        header,
        counts,
        checkpoints,
    })
}

/// The applied log index and term of a backup's header (`None`: a node alone).
pub fn applied(header: &SnapshotHeader) -> Option<(u64, u64)> {
    header
        .meta
        .last_log_id
        .as_ref()
        .map(|l| (l.index, l.leader_id.term))
}

/// Installs the backup file `src` into `store`, which must be fresh: its digest is checked
/// while it is copied to `scratch` (removed afterwards), then every replicated table is
/// written in one transaction and the Locate index rebuilt. The Raft metadata (applied log
/// id, membership, incarnation) is not carried: the restored store is a node alone, from
/// which a new cluster may be bootstrapped. Returns the backup's header.
pub fn install_backup(
    store: &Store,
    src: &mut File,
    scratch: &Path,
) -> Result<SnapshotHeader, ClusterStoreError> {
    let result = (|| {
        let mut copy = crate::permissions::private_file()
            .read(true)
            .write(true)
            .create_new(true)
            .open(scratch)
            .map_err(ClusterStoreError::SnapshotIo)?;
        copy_verified(src, &mut copy)?;
        let (header, reader) = SnapshotReader::open(copy)?;
        let mut w = store.replica_write()?;
        reader.replace_replicated(&mut w)?;
        w.commit()?;
        Ok(header)
    })();
    let _ = std::fs::remove_file(scratch);
    result
}
