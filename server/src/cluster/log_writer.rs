//! The Raft log's writer thread. `append` hands entries over and returns at once (openraft's
//! core is not blocked by the fsync); the thread folds every job queued meanwhile into one
//! redb transaction, commits it with fsync, and only then reports the entries flushed through
//! openraft's callback. Until then the entries are readable from [`Pending`], so a reader never
//! misses an appended entry. Truncation and purge go through the same queue, so they apply
//! after the appends before them, and their callers wait for them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use openraft::entry::RaftEntry;
use openraft::storage::IOFlushed;
use openraft::type_config::alias::{EntryOf, LogIdOf};
use redb::{Database, Durability};
use tokio::sync::{mpsc, oneshot};

use super::error::ClusterStoreError;
use super::log_store::{LOG, META};
use super::types::TypeConfig;

type Entry = EntryOf<TypeConfig>;
type LogId = LogIdOf<TypeConfig>;

/// Most jobs folded into one transaction.
const MAX_GROUP: usize = 4096;

/// Entries handed to the writer and not yet known durable, by index.
#[derive(Debug, Default)]
pub(super) struct Pending(Mutex<BTreeMap<u64, Entry>>);

impl Pending {
    pub(super) fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Entry>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type Done = oneshot::Sender<Result<(), ClusterStoreError>>;

enum Job {
    Append {
        entries: Vec<(u64, LogId, Vec<u8>)>,
        callback: IOFlushed<TypeConfig>,
    },
    /// Removes entries from index `from` on.
    Truncate { from: u64, done: Done },
    /// Removes entries up to `upto` and records `log_id` as the last purged.
    Purge {
        upto: u64,
        log_id: Vec<u8>,
        done: Done,
    },
    /// Records the committed log id (`None`: none). Not waited for: losing it is harmless.
    Committed(Option<Vec<u8>>),
}

/// Handle to the writer thread. When the last handle is dropped the thread finishes what is
/// queued and is joined, so the database file is closed and can be opened again at once.
#[derive(Clone, Debug)]
pub(super) struct LogWriter {
    thread: Arc<WriterThread>,
    pending: Arc<Pending>,
}

#[derive(Debug)]
struct WriterThread {
    queue: Option<mpsc::UnboundedSender<Job>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl LogWriter {
    pub(super) fn start(
        db: Arc<Database>,
        pending: Arc<Pending>,
    ) -> Result<Self, ClusterStoreError> {
        let (queue, rx) = mpsc::unbounded_channel();
        let thread_pending = pending.clone();
        let handle = thread::Builder::new()
            .name("raft-log-writer".into())
            .spawn(move || run(&db, &thread_pending, rx))
            .map_err(|_| ClusterStoreError::WriterGone)?;
        Ok(Self {
            thread: Arc::new(WriterThread {
                queue: Some(queue),
                handle: Some(handle),
            }),
            pending,
        })
    }

    fn send(&self, job: Job) -> Result<(), ClusterStoreError> {
        self.thread
            .queue
            .as_ref()
            .ok_or(ClusterStoreError::WriterGone)?
            .send(job)
            .map_err(|_| ClusterStoreError::WriterGone)
    }

    /// Makes `entries` readable at once and queues them; `callback` reports them durable.
    pub(super) fn append(
        &self,
        entries: Vec<(Entry, Vec<u8>)>,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), ClusterStoreError> {
        let mut job = Vec::with_capacity(entries.len());
        {
            let mut pending = self.pending.lock();
            for (entry, bytes) in entries {
                let log_id = entry.log_id();
                let index = log_id.index();
                pending.insert(index, entry);
                job.push((index, log_id, bytes));
            }
        }
        self.send(Job::Append {
            entries: job,
            callback,
        })
    }

    /// Removes every entry from `from` on, and waits until that is durable.
    pub(super) async fn truncate(&self, from: u64) -> Result<(), ClusterStoreError> {
        self.pending.lock().retain(|i, _| *i < from);
        let (done, rx) = oneshot::channel();
        self.send(Job::Truncate { from, done })?;
        rx.await.map_err(|_| ClusterStoreError::WriterGone)?
    }

    /// Removes every entry up to `upto`, records `log_id` as purged, and waits until durable.
    pub(super) async fn purge(&self, upto: u64, log_id: Vec<u8>) -> Result<(), ClusterStoreError> {
        let (done, rx) = oneshot::channel();
        self.send(Job::Purge { upto, log_id, done })?;
        rx.await.map_err(|_| ClusterStoreError::WriterGone)??;
        self.pending.lock().retain(|i, _| *i > upto);
        Ok(())
    }

    /// Queues the committed log id.
    pub(super) fn committed(&self, bytes: Option<Vec<u8>>) -> Result<(), ClusterStoreError> {
        self.send(Job::Committed(bytes))
    }
}

fn run(db: &Database, pending: &Pending, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut group = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let result = write_group(db, &group);
        if let Err(e) = &result {
            tracing::error!(error = %e, "raft log write failed");
        }
        for job in group.drain(..) {
            let outcome = match &result {
                Ok(()) => Ok(()),
                Err(_) => Err(ClusterStoreError::WriteFailed),
            };
            match job {
                Job::Append { entries, callback } => {
                    if outcome.is_ok() {
                        let mut p = pending.lock();
                        for (index, log_id, _) in &entries {
                            if p.get(index).is_some_and(|e| e.log_id() == *log_id) {
                                p.remove(index);
                            }
                        }
                    }
                    callback
                        .io_completed(outcome.map_err(|e| std::io::Error::other(e.to_string())));
                }
                Job::Truncate { done, .. } | Job::Purge { done, .. } => {
                    let _ = done.send(outcome);
                }
                Job::Committed(_) => {}
            }
        }
    }
}

/// Applies the jobs in order in one transaction and commits it with fsync.
fn write_group(db: &Database, group: &[Job]) -> Result<(), ClusterStoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    // Crash recovery reads the saved allocator state instead of walking the file.
    txn.set_quick_repair(true);
    {
        let mut log = txn.open_table(LOG)?;
        let mut meta = txn.open_table(META)?;
        for job in group {
            match job {
                Job::Append { entries, .. } => {
                    for (index, _, bytes) in entries {
                        log.insert(*index, bytes.as_slice())?;
                    }
                }
                Job::Truncate { from, .. } => {
                    log.retain_in(*from.., |_, _| false)?;
                }
                Job::Purge { upto, log_id, .. } => {
                    meta.insert(super::log_store::PURGED, log_id.as_slice())?;
                    log.retain_in(..=*upto, |_, _| false)?;
                }
                Job::Committed(Some(bytes)) => {
                    meta.insert(super::log_store::COMMITTED, bytes.as_slice())?;
                }
                Job::Committed(None) => {
                    meta.remove(super::log_store::COMMITTED)?;
                }
            }
        }
    }
    txn.commit()?;
    Ok(())
}
