//! The group committer: one thread owns the write side of the database, takes every command
//! queued since its last commit, applies them in one transaction and fsyncs once. Each command
//! is applied all-or-nothing (a rejected command leaves no trace), and each caller learns its own
//! outcome only after the commit is durable. The audit records an applied command returns go,
//! in change order and from this thread, to the committer's [`AppliedSink`] (the command log's
//! audit hand-off); the caller gets the sink's receipt for them.

use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use audit_log::AuditEvent;
use redb::Database;
use tokio::sync::{mpsc, oneshot};

use super::apply::{apply, needs_savepoint};
use super::cache::RecordCache;
use super::command::{Command, Rejection};
use super::{StoreError, tables};

/// Most commands folded into one transaction; bounds the latency of the last one in a burst.
const MAX_GROUP: usize = 1024;

/// Takes the audit records of applied commands, in change order, as they are committed.
/// Implemented above the store (the command log hands them to the audit log); the store only
/// calls it.
pub trait AppliedSink: Send + Sync + 'static {
    /// What the caller of [`Committer::apply`] gets for the records (e.g. the audit log's
    /// receipts).
    type Receipt: Send + 'static;
    /// The first change number whose record is not yet known durable wherever the records go:
    /// audit outbox entries below it are dropped as writes go by.
    fn written(&self) -> u64;
    /// Takes the numbered records of one applied command (called by the committer thread,
    /// after the commit, in change order).
    fn take(&self, records: Vec<AuditEvent>) -> Self::Receipt;
}

/// No audit log: the caller gets the records themselves and the outbox is kept whole (tests,
/// tools that open the store alone).
impl AppliedSink for () {
    type Receipt = Vec<AuditEvent>;

    fn written(&self) -> u64 {
        0
    }

    fn take(&self, records: Vec<AuditEvent>) -> Vec<AuditEvent> {
        records
    }
}

/// What applying one command did.
#[derive(Debug)]
#[must_use = "the audit records of an applied change must reach the audit log"]
pub struct Applied<R> {
    /// Applied, or deterministically rejected (nothing written).
    pub outcome: Result<(), Rejection>,
    /// The sink's receipt for the records of the audited changes applied.
    pub receipt: R,
}

type Reply<R> = oneshot::Sender<Result<Applied<R>, StoreError>>;

enum Job<R> {
    Apply(Box<Command>, Reply<R>),
    /// Commits what was queued before it, then ends the thread.
    Stop,
}

/// Handle to the committer thread. Cheap to clone; the thread stops on [`Committer::shutdown`]
/// or when every handle is gone.
pub struct Committer<S: AppliedSink = ()> {
    queue: mpsc::UnboundedSender<Job<S::Receipt>>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl<S: AppliedSink> Clone for Committer<S> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            thread: self.thread.clone(),
        }
    }
}

impl<S: AppliedSink> std::fmt::Debug for Committer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer").finish_non_exhaustive()
    }
}

impl<S: AppliedSink> Committer<S> {
    pub(super) fn start(
        db: Arc<Database>,
        cache: Arc<RecordCache>,
        sink: S,
    ) -> Result<Self, StoreError> {
        let (queue, rx) = mpsc::unbounded_channel();
        let thread = thread::Builder::new()
            .name("store-committer".into())
            .spawn(move || run(&db, &cache, &sink, rx))
            .map_err(StoreError::Thread)?;
        Ok(Self {
            queue,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Commits everything queued so far, then stops the thread and waits for it, so that the
    /// database can be reopened by this process.
    pub async fn shutdown(&self) {
        let _ = self.queue.send(Job::Stop);
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    /// Applies `command` durably. The error is a storage failure (nothing is known to be
    /// applied).
    pub async fn apply(&self, command: Command) -> Result<Applied<S::Receipt>, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send(Job::Apply(Box::new(command), tx))
            .map_err(|_| StoreError::ShutDown)?;
        rx.await.map_err(|_| StoreError::ShutDown)?
    }
}

fn run<S: AppliedSink>(
    db: &Database,
    cache: &RecordCache,
    sink: &S,
    mut rx: mpsc::UnboundedReceiver<Job<S::Receipt>>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    let mut stopping = false;
    while !stopping {
        match rx.blocking_recv() {
            Some(Job::Apply(c, r)) => group.push((c, r)),
            Some(Job::Stop) | None => break,
        }
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(Job::Apply(c, r)) => group.push((c, r)),
                Ok(Job::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let commands: Vec<&Command> = group.iter().map(|(c, _)| &**c).collect();
        let committed = commit_group(db, &commands, sink.written());
        cache.written();
        match committed {
            Ok(outcomes) => {
                for ((_, reply), (outcome, records)) in group.drain(..).zip(outcomes) {
                    let receipt = sink.take(records);
                    let _ = reply.send(Ok(Applied { outcome, receipt }));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, commands = group.len(), "store commit failed");
                for (_, reply) in group.drain(..) {
                    let _ = reply.send(Err(StoreError::CommitFailed));
                }
            }
        }
    }
}

type Outcome = (Result<(), Rejection>, Vec<AuditEvent>);

/// Applies a group: each command is checked completely before it writes anything (batches
/// roll back to a savepoint), so a rejection leaves no trace. Outbox entries below `written`
/// (the audit log has them durably) are dropped on the way.
///
/// redb takes a savepoint only in a transaction that has not touched a table yet, so a batch
/// that follows other writes starts a new transaction: the group is committed (with fsync) in
/// runs, each starting at a batch. Nothing is visible to readers before it is durable.
fn commit_group(
    db: &Database,
    commands: &[&Command],
    written: u64,
) -> Result<Vec<Outcome>, StoreError> {
    let mut outcomes = Vec::with_capacity(commands.len());
    let mut rest = commands;
    while !rest.is_empty() {
        let run = 1 + rest
            .iter()
            .skip(1)
            .take_while(|c| !needs_savepoint(c))
            .count();
        let (now, later) = rest.split_at(run);
        let mut txn = db.begin_write()?;
        // Saves the allocator state with each commit, so that opening after a crash does not
        // walk the whole file (minutes for millions of keys); costs a second fsync per commit.
        txn.set_quick_repair(true);
        for command in now {
            let mut records = Vec::new();
            let outcome = apply(&mut txn, command, &mut records)?;
            outcomes.push((outcome, records));
        }
        if later.is_empty() && written > 1 {
            let mut outbox = txn.open_table(tables::AUDIT_OUTBOX)?;
            outbox.retain_in(..written, |_, _| false)?;
        }
        txn.commit()?;
        rest = later;
    }
    Ok(outcomes)
}
