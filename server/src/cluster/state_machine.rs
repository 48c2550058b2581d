//! The Raft state machine: the node's store. Entries are applied by the store's deterministic
//! apply (never the HSM) inside the same redb transaction that records the last applied log id
//! and last membership, committed with fsync: state and applied index are crash-consistent.
//! Snapshots are files in `raft-snapshots/` (format in `snapshot.rs`); installing one replaces
//! every replicated table in one transaction, after checking the cluster incarnation ID.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use audit_log::AuditEvent;
use futures_util::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine};
use openraft::type_config::alias::{LogIdOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::{EntryPayload, OptionalSend, StoredMembership};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::error::{ClusterStoreError, LogRecord};
use super::requests::{self, Window};
use super::snapshot::{
    SnapshotData, SnapshotHeader, SnapshotReader, SnapshotWriter, copy_verified,
};
use super::types::{Incarnation, Op, Request, Response, TypeConfig};
use crate::store::Store;
use crate::store::replica::{REPLICATED, RecordSink, ReplicaRead, ReplicaWrite};

/// `Option<LogId>`, postcard.
pub(super) const LAST_APPLIED: &str = "last_applied";
pub(super) const MEMBERSHIP: &str = "membership";
pub(super) const INCARNATION: &str = "incarnation";
/// Node IDs removed from the cluster (postcard `BTreeSet<u64>`): never accepted again.
const RETIRED_NODES: &str = "retired_nodes";
/// The current snapshot in the snapshot directory; others there are `*.tmp` being written.
const CURRENT: &str = "current.snap";

pub(super) type LogId = LogIdOf<TypeConfig>;
pub(super) type Membership = StoredMembershipOf<TypeConfig>;
type Snapshot = SnapshotOf<TypeConfig, SnapshotData>;

/// The state machine of one node: its store and its snapshot directory.
#[derive(Clone, Debug)]
pub struct StateMachine {
    store: Store,
    dir: Arc<SnapshotDir>,
    /// Takes the records of applied changes, in change order (the command log's hand-off to
    /// this node's audit log). `None` in storage tests.
    audit: Option<Arc<dyn AppliedRecords>>,
    /// When an applied batch was last committed durably (see [`DURABLE_EVERY`]).
    last_durable: Arc<Mutex<Instant>>,
    /// Entries applied since start that repeated a request already applied (`requests.rs`).
    repeats: Arc<std::sync::atomic::AtomicU64>,
}

/// Applied entries are committed without fsync (the Raft log, fsync'd on a majority, makes a
/// change durable; after a crash the entries since the last durable commit are applied again
/// from it) and durably at least this often, and always before a snapshot is built, so the log
/// is never purged past what the store holds on disk.
const DURABLE_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Where the state machine hands the audit records of the changes it applies: the command
/// log's hand-off to the node's audit log (`crate::command_log::AuditHandOff`), which this
/// layer, below the command log, knows only by this interface.
pub trait AppliedRecords: Send + Sync + std::fmt::Debug {
    /// The first change number whose record is not yet durable in the node's audit log: audit
    /// outbox entries below it are dropped as entries are applied.
    fn written(&self) -> u64;
    /// Takes the numbered records of the changes just applied, in change order, without making
    /// the answers wait (each is durable inside its committed entry).
    fn applied(&self, records: Vec<AuditEvent>);
    /// State changes up to `next - 1` arrived by snapshot: their records are in the peers'
    /// logs, and this node's log continues after them.
    fn resume_changes(
        &self,
        next: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>;
}

/// Builds snapshots from a consistent read view, concurrently with apply.
#[derive(Clone, Debug)]
pub struct SnapshotBuilder {
    store: Store,
    dir: Arc<SnapshotDir>,
}

#[derive(Debug)]
struct SnapshotDir {
    path: PathBuf,
    /// Serializes replacing the current snapshot.
    current: Mutex<()>,
}

impl StateMachine {
    /// Opens the state machine over `store`, with snapshots kept in `snapshot_dir` (created if
    /// missing; unfinished `*.tmp` files from a crash are removed).
    pub fn open(store: Store, snapshot_dir: &Path) -> Result<Self, ClusterStoreError> {
        crate::permissions::create_private_dir(snapshot_dir)
            .map_err(ClusterStoreError::SnapshotIo)?;
        for entry in fs::read_dir(snapshot_dir).map_err(ClusterStoreError::SnapshotIo)? {
            let path = entry.map_err(ClusterStoreError::SnapshotIo)?.path();
            if path.extension().is_some_and(|e| e == "tmp") {
                fs::remove_file(&path).map_err(ClusterStoreError::SnapshotIo)?;
            }
        }
        // Creates the metadata table, so read views never meet a missing one.
        store.replica_write()?.commit()?;
        Ok(Self {
            store,
            dir: Arc::new(SnapshotDir {
                path: snapshot_dir.to_owned(),
                current: Mutex::new(()),
            }),
            audit: None,
            last_durable: Arc::new(Mutex::new(Instant::now())),
            repeats: Arc::default(),
        })
    }

    /// Hands the records of applied changes to `audit` (the command log's hand-off).
    pub fn with_audit(mut self, audit: Arc<dyn AppliedRecords>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// How many entries this node applied since it started that repeated a request already
    /// applied (answered with the first outcome, nothing applied again).
    pub fn repeated_requests(&self) -> u64 {
        self.repeats.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Node IDs removed from the cluster, never accepted again.
    pub fn retired_nodes(&self) -> Result<BTreeSet<u64>, ClusterStoreError> {
        let view = self.store.replica_read()?;
        Ok(meta(&view, RETIRED_NODES, LogRecord::RetiredNodes)?.unwrap_or_default())
    }

    /// SHA-256 over every replicated table (names, keys, values, in order) and the applied log
    /// index it was taken at, from one read view: equal on nodes at the same index.
    pub fn digest(&self) -> Result<(Option<u64>, [u8; 32]), ClusterStoreError> {
        struct HashSink(Sha256);
        impl RecordSink for HashSink {
            fn record(&mut self, key: &[u8], value: &[u8]) -> ControlFlow<()> {
                for part in [key, value] {
                    self.0.update((part.len() as u64).to_le_bytes());
                    self.0.update(part);
                }
                ControlFlow::Continue(())
            }
        }
        let view = self.store.replica_read()?;
        let applied = meta::<Option<LogId>>(&view, LAST_APPLIED, LogRecord::LastApplied)?
            .flatten()
            .map(|l| l.index);
        let mut sink = HashSink(Sha256::new());
        for table in REPLICATED {
            sink.0.update(table.name().as_bytes());
            sink.0.update([0]);
            view.visit(*table, &mut sink)?;
        }
        Ok((applied, sink.0.finalize().into()))
    }

    /// A new file in the snapshot directory for a snapshot arriving from the leader (removed
    /// on the next start if never installed).
    pub fn incoming_snapshot(&self) -> Result<(PathBuf, File), ClusterStoreError> {
        let path = self.dir.temp_path();
        let file = crate::permissions::private_file()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(ClusterStoreError::SnapshotIo)?;
        Ok((path, file))
    }

    /// The store this state machine applies to (reads serve from it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The cluster incarnation ID this node's state belongs to, once stamped.
    pub fn incarnation(&self) -> Result<Option<Incarnation>, ClusterStoreError> {
        let view = self.store.replica_read()?;
        meta(&view, INCARNATION, LogRecord::Incarnation)
    }

    /// Last applied log id and last membership, as stored.
    pub fn applied(&self) -> Result<(Option<LogId>, Membership), ClusterStoreError> {
        let view = self.store.replica_read()?;
        Ok((
            meta::<Option<LogId>>(&view, LAST_APPLIED, LogRecord::LastApplied)?.flatten(),
            meta(&view, MEMBERSHIP, LogRecord::Membership)?.unwrap_or_default(),
        ))
    }
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

pub(super) fn meta<T: DeserializeOwned>(
    view: &ReplicaRead,
    name: &str,
    what: LogRecord,
) -> Result<Option<T>, ClusterStoreError> {
    view.meta(name)?.map(|b| decode(&b, what)).transpose()
}

fn write_meta<T: DeserializeOwned>(
    w: &ReplicaWrite,
    name: &str,
    what: LogRecord,
) -> Result<Option<T>, ClusterStoreError> {
    w.meta(name)?.map(|b| decode(&b, what)).transpose()
}

async fn blocking<R, F>(f: F) -> Result<R, ClusterStoreError>
where
    R: Send + 'static,
    F: FnOnce() -> Result<R, ClusterStoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await?
}

/// Fixes the incarnation ID if none is set; the first stamp in the log wins.
fn stamp(w: &mut ReplicaWrite, incarnation: Incarnation) -> Result<(), ClusterStoreError> {
    match write_meta::<Incarnation>(w, INCARNATION, LogRecord::Incarnation)? {
        None => w.set_meta(INCARNATION, &encode(&incarnation)?)?,
        Some(current) if current == incarnation => {}
        Some(current) => {
            tracing::warn!(%current, ignored = %incarnation, "cluster already stamped; later stamp ignored");
        }
    }
    Ok(())
}

type Entry = openraft::type_config::alias::EntryOf<TypeConfig>;

/// What one apply call did: the responses in entry order, the audit records of the changes
/// applied (numbered, in change order), and how many entries repeated a request already applied.
pub(super) struct Applied {
    pub(super) responses: Vec<Response>,
    pub(super) audited: Vec<AuditEvent>,
    pub(super) repeats: u64,
}

/// Applies entries in one transaction with the applied log id and membership. An entry whose
/// request ID was applied within the request window (`requests.rs`) applies nothing and
/// answers the recorded outcome. Outbox entries below `written` (durable in the node's audit
/// log) are dropped on the way.
pub(super) fn apply_entries(
    store: &Store,
    entries: &[Entry],
    written: u64,
    durable: bool,
) -> Result<Applied, ClusterStoreError> {
    let Some(last) = entries.last() else {
        return Ok(Applied {
            responses: Vec::new(),
            audited: Vec::new(),
            repeats: 0,
        });
    };
    let mut w = store.replica_write_with(durable)?;
    let mut window = Window::open(store)?;
    let mut out = Vec::with_capacity(entries.len());
    let mut membership = None;
    let mut applied: Option<LogId> = None;
    let mut repeats = 0;
    for entry in entries {
        // A batch must start a transaction: commit the entries before it with their applied
        // log id, so a crash in between never applies them twice.
        if let EntryPayload::Normal(request) = &entry.payload
            && let Op::Store(command) = &request.op
            && w.must_split_before(command)
        {
            record_applied(&mut w, applied.as_ref())?;
            if let Some(m) = membership.take() {
                w.set_meta(MEMBERSHIP, &encode(&m)?)?;
            }
            w = w.commit_and_continue()?;
        }
        applied = Some(entry.log_id);
        let index = entry.log_id.index;
        out.push(match &entry.payload {
            EntryPayload::Blank => Ok(()),
            EntryPayload::Normal(request) => {
                if let Some((first, outcome)) = window.earlier(request.id, index)? {
                    repeats += 1;
                    tracing::info!(
                        request = %request.id,
                        index,
                        first,
                        "a request applied before is in the log again: answered with its first outcome, not applied again"
                    );
                    outcome
                } else {
                    let outcome = apply_request(&mut w, request)?;
                    window.record(&mut w, request.id, index, &outcome)?;
                    outcome
                }
            }
            EntryPayload::Membership(m) => {
                membership = Some(StoredMembership::new(Some(entry.log_id), m.clone()));
                Ok(())
            }
        });
    }
    record_applied(&mut w, Some(&last.log_id))?;
    if let Some(m) = membership {
        w.set_meta(MEMBERSHIP, &encode(&m)?)?;
    }
    w.trim_outbox(written)?;
    let audited = w.commit()?;
    Ok(Applied {
        responses: out,
        audited,
        repeats,
    })
}

/// Applies one request's change (the first time its ID is seen in the window).
fn apply_request(w: &mut ReplicaWrite, request: &Request) -> Result<Response, ClusterStoreError> {
    Ok(match &request.op {
        Op::Store(command) => w.apply(command)?,
        Op::Incarnation(i) => {
            stamp(w, *i)?;
            Ok(())
        }
        Op::RetireNode(id) => {
            let mut retired: BTreeSet<u64> =
                write_meta(w, RETIRED_NODES, LogRecord::RetiredNodes)?.unwrap_or_default();
            if retired.insert(*id) {
                w.set_meta(RETIRED_NODES, &encode(&retired)?)?;
            }
            Ok(())
        }
    })
}

/// Records the last applied log id, with the request window trimmed to it: the window's
/// contents are a function of the applied index, whatever the batching.
fn record_applied(w: &mut ReplicaWrite, applied: Option<&LogId>) -> Result<(), ClusterStoreError> {
    requests::prune(w, applied.map(|l| l.index))?;
    w.set_meta(LAST_APPLIED, &encode(&applied)?)
        .map_err(Into::into)
}

/// Passes records to the snapshot writer, keeping its first error.
struct WriterSink<'a> {
    writer: &'a mut SnapshotWriter,
    error: Option<ClusterStoreError>,
}

impl RecordSink for WriterSink<'_> {
    fn record(&mut self, key: &[u8], value: &[u8]) -> ControlFlow<()> {
        match self.writer.record(key, value) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

impl SnapshotDir {
    fn temp_path(&self) -> PathBuf {
        self.path.join(format!("{}.tmp", uuid::Uuid::new_v4()))
    }

    fn current_path(&self) -> PathBuf {
        self.path.join(CURRENT)
    }

    /// Makes the finished file at `tmp` the current snapshot, unless the current one is newer
    /// (`force`: always). The rename is atomic and the directory fsync'd.
    fn adopt(
        &self,
        tmp: &Path,
        meta: &SnapshotMetaOf<TypeConfig>,
        force: bool,
    ) -> Result<(), ClusterStoreError> {
        let _guard = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if !force
            && let Some((current, _)) = self.open_current()?
            && current.meta.last_log_id > meta.last_log_id
        {
            fs::remove_file(tmp).map_err(ClusterStoreError::SnapshotIo)?;
            return Ok(());
        }
        fs::rename(tmp, self.current_path()).map_err(ClusterStoreError::SnapshotIo)?;
        File::open(&self.path)
            .and_then(|d| d.sync_all())
            .map_err(ClusterStoreError::SnapshotIo)
    }

    fn open_current(&self) -> Result<Option<(SnapshotHeader, File)>, ClusterStoreError> {
        let file = match File::open(self.current_path()) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ClusterStoreError::SnapshotIo(e)),
        };
        let reading = file.try_clone().map_err(ClusterStoreError::SnapshotIo)?;
        let (header, _) = SnapshotReader::open(reading)?;
        Ok(Some((header, file)))
    }
}

/// Writes a snapshot of the store as of one read view, after a durable commit: openraft purges
/// the log up to a snapshot, so everything the snapshot holds must be on disk in the store.
fn build(store: &Store, dir: &SnapshotDir) -> Result<Snapshot, ClusterStoreError> {
    {
        let mut w = store.replica_write()?;
        let applied: Option<Option<LogId>> = write_meta(&w, LAST_APPLIED, LogRecord::LastApplied)?;
        w.set_meta(LAST_APPLIED, &encode(&applied.flatten())?)?;
        w.commit()?;
    }
    let view = store.replica_read()?;
    let header = SnapshotHeader {
        incarnation: meta(&view, INCARNATION, LogRecord::Incarnation)?,
        meta: SnapshotMetaOf::<TypeConfig> {
            last_log_id: meta::<Option<LogId>>(&view, LAST_APPLIED, LogRecord::LastApplied)?
                .flatten(),
            last_membership: meta(&view, MEMBERSHIP, LogRecord::Membership)?.unwrap_or_default(),
        },
    };
    let tmp = dir.temp_path();
    let result = (|| {
        let mut writer = SnapshotWriter::create(&tmp, &header)?;
        for table in REPLICATED {
            writer.table(table.name())?;
            let mut sink = WriterSink {
                writer: &mut writer,
                error: None,
            };
            view.visit(*table, &mut sink)?;
            if let Some(e) = sink.error {
                return Err(e);
            }
        }
        writer.finish()
    })();
    let file = match result {
        Ok(f) => f,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    dir.adopt(&tmp, &header.meta, false)?;
    Ok(Snapshot {
        meta: header.meta,
        snapshot: SnapshotData::new(file),
    })
}

/// Verifies, checks and installs a snapshot: every replicated table replaced in one
/// transaction, then the file kept as the current snapshot.
fn install(
    store: &Store,
    dir: &SnapshotDir,
    announced: &SnapshotMetaOf<TypeConfig>,
    data: SnapshotData,
) -> Result<(), ClusterStoreError> {
    let tmp = dir.temp_path();
    let result = (|| {
        let mut src = data.into_file().map_err(ClusterStoreError::SnapshotIo)?;
        let mut copy = crate::permissions::private_file()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(ClusterStoreError::SnapshotIo)?;
        copy_verified(&mut src, &mut copy)?;
        let (header, reader) = SnapshotReader::open(copy)?;
        if header.meta != *announced {
            return Err(ClusterStoreError::SnapshotMetaMismatch);
        }
        let mut w = store.replica_write()?;
        let local: Option<Incarnation> = write_meta(&w, INCARNATION, LogRecord::Incarnation)?;
        match (local, header.incarnation) {
            (Some(local), Some(found)) if local != found => {
                return Err(ClusterStoreError::IncarnationMismatch { local, found });
            }
            (Some(local), None) => return Err(ClusterStoreError::IncarnationMissing { local }),
            _ => {}
        }
        reader.replace_replicated(&mut w)?;
        w.set_meta(LAST_APPLIED, &encode(&header.meta.last_log_id)?)?;
        w.set_meta(MEMBERSHIP, &encode(&header.meta.last_membership)?)?;
        if let Some(i) = header.incarnation {
            w.set_meta(INCARNATION, &encode(&i)?)?;
        }
        w.commit()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    dir.adopt(&tmp, announced, true)
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let (store, dir) = (self.store.clone(), self.dir.clone());
        Ok(blocking(move || build(&store, &dir)).await?)
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Membership), io::Error> {
        let this = self.clone();
        Ok(blocking(move || this.applied()).await?)
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let mut batch = Vec::new();
        let mut responders = Vec::new();
        while let Some((entry, responder)) = entries.try_next().await? {
            batch.push(entry);
            responders.push(responder);
        }
        let store = self.store.clone();
        let written = self.audit.as_ref().map_or(0, |a| a.written());
        let durable = {
            let mut last = self.last_durable.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.elapsed() >= DURABLE_EVERY;
            if due {
                *last = Instant::now();
            }
            due
        };
        let Applied {
            responses,
            audited,
            repeats,
        } = blocking(move || apply_entries(&store, &batch, written, durable)).await?;
        self.repeats
            .fetch_add(repeats, std::sync::atomic::Ordering::Relaxed);
        // Every node writes the records of every change to its own log, in change order; the
        // answer does not wait (the record is durable in the committed entry).
        if let Some(audit) = &self.audit {
            audit.applied(audited);
        }
        // Only after the commit (durable, or deferred behind the fsync'd Raft log entry).
        for (responder, response) in responders.into_iter().zip(responses) {
            if let Some(r) = responder {
                r.send(response);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            store: self.store.clone(),
            dir: self.dir.clone(),
        }
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMetaOf<TypeConfig>,
        snapshot: SnapshotData,
    ) -> Result<(), io::Error> {
        let (store, dir, meta) = (self.store.clone(), self.dir.clone(), meta.clone());
        let install_store = store.clone();
        blocking(move || install(&install_store, &dir, &meta, snapshot)).await?;
        // The records of the changes the snapshot brought are in the peers' logs, not this
        // node's: its log continues after them.
        if let Some(audit) = &self.audit {
            let next = store
                .last_change()
                .map_err(ClusterStoreError::from)?
                .saturating_add(1);
            audit.resume_changes(next).await;
        }
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        let dir = self.dir.clone();
        let current = blocking(move || dir.open_current()).await?;
        Ok(current.map(|(header, file)| Snapshot {
            meta: header.meta,
            snapshot: SnapshotData::new(file),
        }))
    }
}
