//! The audit writer: one thread owns the audit files. It takes every append queued since its
//! last fsync, chains them, writes them in one go and fsyncs once (group commit, as
//! `store::commit` does for the database); each caller learns its sequence number only once
//! its record is durable. It also ends a segment at each checkpoint, stores signed
//! checkpoints and applies retention.

use std::collections::{BTreeSet, VecDeque};
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use audit_log::{Aggregate, AuditEvent, ChainState, Checkpoint, CheckpointDraft};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use super::segment::{self, CHECKPOINTS, Recovered};
use super::{AuditConfig, AuditError, Shared};

/// Most appends folded into one fsync; bounds the latency of the last one in a burst.
const MAX_GROUP: usize = 1024;

type Reply<T> = oneshot::Sender<Result<T, AuditError>>;

pub(super) enum Job {
    /// An event, with the count and span of the like events it stands for, if any.
    Append(Box<(AuditEvent, Option<Aggregate>)>, Reply<u64>),
    /// Ends the current segment and captures the chain heads for signing.
    Draft(Reply<CheckpointDraft>),
    /// Stores a signed checkpoint, then applies retention.
    Persist(Box<Checkpoint>, Reply<()>),
    /// Starts taking state-change records from change `.0` on.
    Resume(u64, Reply<()>),
    /// Writes what was queued before it, then ends the thread.
    Stop,
}

/// The segment being appended to.
struct Current {
    file: File,
    len: u64,
    path: PathBuf,
}

/// A failed file-system call, kept so that every caller of a group gets its own error.
struct Failure {
    what: &'static str,
    path: PathBuf,
    kind: io::ErrorKind,
}

impl Failure {
    fn error(&self) -> AuditError {
        AuditError::Io {
            what: self.what,
            path: self.path.clone(),
            source: io::Error::from(self.kind),
        }
    }
}

pub(super) struct Writer {
    dir: PathBuf,
    config: AuditConfig,
    state: ChainState,
    current: Option<Current>,
    boundaries: BTreeSet<u64>,
    /// The state change whose record comes next; 0 until the node resumes the log from the
    /// store's outbox (records of changes are refused until then).
    next_change: u64,
    shared: Arc<Shared>,
    /// Held for the writer's lifetime: the directory's flock.
    _lock: File,
}

impl Writer {
    pub(super) fn new(
        dir: PathBuf,
        config: AuditConfig,
        r: Recovered,
        shared: Arc<Shared>,
    ) -> Self {
        let current = r
            .current
            .map(|(file, len, path)| Current { file, len, path });
        shared.set_seq(r.state.seq());
        Self {
            dir,
            config,
            state: r.state,
            current,
            boundaries: r.boundaries.into_iter().collect(),
            next_change: 0,
            shared,
            _lock: r.lock,
        }
    }

    pub(super) fn run(mut self, mut rx: mpsc::UnboundedReceiver<Job>) {
        let mut group = VecDeque::with_capacity(MAX_GROUP);
        loop {
            let Some(first) = rx.blocking_recv() else {
                return;
            };
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Append(e, r) => {
                        let (event, aggregate) = *e;
                        group.push_back((event, aggregate, r));
                        if group.len() < MAX_GROUP {
                            next = rx.try_recv().ok();
                        }
                    }
                    other => {
                        self.commit_group(&mut group);
                        match other {
                            Job::Draft(r) => {
                                let _ = r.send(Ok(self.draft()));
                            }
                            Job::Persist(cp, r) => {
                                let _ = r.send(self.persist(&cp));
                            }
                            Job::Resume(next, r) => {
                                self.next_change = next.max(1);
                                self.shared.set_next_change(self.next_change);
                                let _ = r.send(Ok(()));
                            }
                            Job::Stop | Job::Append(..) => return,
                        }
                        next = rx.try_recv().ok();
                    }
                }
            }
            self.commit_group(&mut group);
        }
    }

    /// Chains, writes and fsyncs a group, a segment at a time.
    fn commit_group(&mut self, group: &mut VecDeque<(AuditEvent, Option<Aggregate>, Reply<u64>)>) {
        if group.is_empty() {
            return;
        }
        if self.shared.is_poisoned() {
            for (_, _, r) in group.drain(..) {
                let _ = r.send(Err(AuditError::Poisoned));
            }
            return;
        }
        while !group.is_empty() {
            if let Err(f) = self.ensure_segment() {
                self.fail(group.drain(..).map(|(_, _, r)| r), &f);
                return;
            }
            let Some(cur) = self.current.as_mut() else {
                return;
            };
            // the chains advance as records are encoded; a failed write takes them back
            let mut rewind = self.state.rewind_point();
            let mut next_change = self.next_change;
            let mut buf = Vec::new();
            let mut done = Vec::new();
            while let Some((event, aggregate, reply)) = group.pop_front() {
                // Records of state changes go in change order, each exactly once.
                if let Some(change) = event.change {
                    if next_change > 0 && change < next_change {
                        // already written, maybe in this very group: answered with the
                        // group, once it is durable
                        done.push((0, reply));
                        continue;
                    }
                    if change != next_change {
                        let _ = reply.send(Err(AuditError::ChangeGap {
                            expected: next_change,
                            found: change,
                        }));
                        continue;
                    }
                }
                let record = self.state.next_aggregate(event, aggregate);
                let line = match record.to_json_line() {
                    Ok(line) => line,
                    Err(e) => {
                        let _ = reply.send(Err(AuditError::Encode(e)));
                        continue;
                    }
                };
                let used = cur.len + buf.len() as u64;
                if used > 0 && used + line.len() as u64 + 1 > self.config.segment_bytes {
                    group.push_front((record.event, record.aggregate, reply));
                    break;
                }
                if let Err(e) = self.state.advance_undoable(&record, &mut rewind) {
                    let _ = reply.send(Err(AuditError::Encode(e)));
                    continue;
                }
                if record.event.change.is_some() {
                    next_change += 1;
                }
                buf.extend_from_slice(line.as_bytes());
                buf.push(b'\n');
                done.push((record.seq, reply));
            }
            if !done.is_empty() {
                if let Err(e) = cur.file.write_all(&buf) {
                    self.state.rewind(rewind);
                    let f = Failure {
                        what: "writing",
                        path: cur.path.clone(),
                        kind: e.kind(),
                    };
                    tracing::error!(error = %e, file = %cur.path.display(), "audit write failed");
                    // take back any partial write; if even that fails, stop writing for good
                    if let Err(e) = cur
                        .file
                        .set_len(cur.len)
                        .and_then(|()| cur.file.sync_data())
                    {
                        tracing::error!(error = %e, "audit: cannot undo a partial write");
                        self.shared.poison();
                    }
                    let pending = done.into_iter().map(|(_, r)| r);
                    self.fail(pending.chain(group.drain(..).map(|(_, _, r)| r)), &f);
                    return;
                }
                if let Err(e) = cur.file.sync_data() {
                    self.state.rewind(rewind);
                    let f = Failure {
                        what: "syncing",
                        path: cur.path.clone(),
                        kind: e.kind(),
                    };
                    tracing::error!(error = %e, file = %cur.path.display(), "audit fsync failed");
                    self.shared.poison();
                    let pending = done.into_iter().map(|(_, r)| r);
                    self.fail(pending.chain(group.drain(..).map(|(_, _, r)| r)), &f);
                    return;
                }
                cur.len += buf.len() as u64;
                self.next_change = next_change;
                self.shared.set_next_change(next_change);
                let records = done.iter().filter(|(seq, _)| *seq > 0).count() as u64;
                self.shared.written(records, self.state.seq());
                for (seq, r) in done {
                    let _ = r.send(Ok(seq));
                }
            }
            if !group.is_empty() {
                self.current = None;
            }
        }
    }

    fn fail(&self, replies: impl Iterator<Item = Reply<u64>>, f: &Failure) {
        self.shared.degrade();
        for r in replies {
            let _ = r.send(Err(f.error()));
        }
    }

    /// Opens a new segment named by the next sequence number if none is open.
    fn ensure_segment(&mut self) -> Result<(), Failure> {
        if self.current.is_some() {
            return Ok(());
        }
        let path = segment::segment_path(&self.dir, self.state.seq().saturating_add(1));
        let fail = |what, e: io::Error| {
            tracing::error!(error = %e, file = %path.display(), "audit: cannot {what} a segment");
            Failure {
                what,
                path: path.clone(),
                kind: e.kind(),
            }
        };
        let file = crate::permissions::private_file()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| fail("creating", e))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| fail("syncing the directory of", e))?;
        self.current = Some(Current { file, len: 0, path });
        // a segment rolled: the trail grew by one segment's worth since the last look
        self.shared.disk.sample(&self.dir, self.config.watermark);
        Ok(())
    }

    fn draft(&mut self) -> CheckpointDraft {
        if self.current.as_ref().is_some_and(|c| c.len > 0) {
            self.current = None;
        }
        CheckpointDraft::new(&self.state, OffsetDateTime::now_utc())
    }

    fn persist(&mut self, cp: &Checkpoint) -> Result<(), AuditError> {
        let path = self.dir.join(CHECKPOINTS);
        let line = cp.to_json_line().map_err(AuditError::Encode)?;
        // Never write what the recovery could not read back.
        if line.len() > audit_log::MAX_CHECKPOINT_LINE_LEN {
            return Err(AuditError::Config(
                "too many tenants for one checkpoint line",
            ));
        }
        let existed = path.exists();
        let mut file = crate::permissions::private_file()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(AuditError::io("opening", &path))?;
        let len = file
            .metadata()
            .map_err(AuditError::io("reading metadata of", &path))?
            .len();
        let written = file.write_all(format!("{line}\n").as_bytes());
        if let Err(e) = written {
            self.shared.degrade();
            if file.set_len(len).and_then(|()| file.sync_data()).is_err() {
                self.shared.poison();
            }
            return Err(AuditError::io("writing", &path)(e));
        }
        if let Err(e) = file.sync_data() {
            self.shared.poison();
            return Err(AuditError::io("syncing", &path)(e));
        }
        if !existed {
            segment::sync_dir(&self.dir)?;
        }
        self.boundaries.insert(cp.seq.saturating_add(1));
        self.shared
            .checkpointed
            .store(cp.seq, std::sync::atomic::Ordering::SeqCst);
        if let Err(e) = self.retain() {
            tracing::warn!(error = %e, "audit retention failed; segments are kept");
        }
        Ok(())
    }

    /// Removes the oldest segments that the retention rules let go ([`super::retention`]):
    /// deleted, or moved to `archive_dir` when one is set.
    fn retain(&mut self) -> Result<(), AuditError> {
        let rules = super::retention_rules(&self.config);
        if !rules.any() {
            return Ok(());
        }
        let listed = segment::list_segments(&self.dir)?;
        let mut facts = Vec::with_capacity(listed.len());
        for (first, path) in &listed {
            let meta = std::fs::metadata(path).map_err(AuditError::io("reading", path))?;
            facts.push(super::retention::Segment {
                first: *first,
                bytes: meta.len(),
                modified: meta.modified().map_err(AuditError::io("reading", path))?,
            });
        }
        let hold = self
            .shared
            .forward_hold
            .load(std::sync::atomic::Ordering::SeqCst);
        let cut = super::retention::removable(
            &facts,
            rules,
            &self.boundaries,
            hold,
            std::time::SystemTime::now(),
        );
        if cut == 0 {
            return Ok(());
        }
        for (_, path) in listed.iter().take(cut) {
            match &self.config.archive_dir {
                Some(archive) => archive_segment(path, archive)?,
                None => std::fs::remove_file(path).map_err(AuditError::io("deleting", path))?,
            }
        }
        segment::sync_dir(&self.dir)?;
        tracing::info!(
            segments = cut,
            archived = self.config.archive_dir.is_some(),
            "audit retention removed checkpointed segments"
        );
        Ok(())
    }
}

/// Moves a segment into `archive` (made 0700 if missing): a rename on the same file system,
/// else a copy made durable before the original is deleted.
fn archive_segment(path: &std::path::Path, archive: &std::path::Path) -> Result<(), AuditError> {
    crate::permissions::create_private_dir(archive).map_err(AuditError::io("creating", archive))?;
    let Some(name) = path.file_name() else {
        return Ok(());
    };
    let target = archive.join(name);
    if std::fs::rename(path, &target).is_err() {
        let mut from = File::open(path).map_err(AuditError::io("reading", path))?;
        let mut to = crate::permissions::private_file()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(AuditError::io("archiving", &target))?;
        io::copy(&mut from, &mut to).map_err(AuditError::io("archiving", &target))?;
        to.sync_all().map_err(AuditError::io("syncing", &target))?;
        std::fs::remove_file(path).map_err(AuditError::io("deleting", path))?;
    }
    segment::sync_dir(archive)
}
