//! The tamper-evident audit trail's writer (design: `docs/ARCHITECTURE.md`, Audit). The
//! record format, chains, checkpoints and verification live in the `audit-log` crate, which
//! auditors use offline; this module makes records durable on one node.
//!
//! Wiring is one call per audited action, made BEFORE the response leaves (fail-closed):
//!
//! ```no_run
//! # async fn f(audit: server::audit::AuditLog, event: audit_log::AuditEvent)
//! # -> Result<(), server::audit::AuditError> {
//! let seq = audit.append(event).await?; // durable (fsynced) when this returns
//! # let _ = seq; Ok(()) }
//! ```
//!
//! If `append` fails the request must be refused and [`AuditLog::health`] reports degraded.
//! Periodically, [`AuditLog::checkpoint`] signs the chain heads with the HSM's audit key; the
//! caller commits the returned [`Checkpoint`] to the replicated log.

pub mod admin_call;
pub mod disk;
mod error;
mod event;
pub mod forward;
mod outbox;
pub mod query;
pub mod refusals;
mod retention;
mod segment;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use audit_log::{Aggregate, AuditEvent, Checkpoint};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

pub use self::disk::{DiskSpace, DiskStatus};
pub use self::error::AuditError;
pub use self::event::{kmip_status, success};
pub use self::outbox::{OutboxError, drain_outbox, open_with_store};
pub use self::segment::{Quarantined, Recovery};
use self::writer::{Job, Writer};

pub use crate::config::audit::{AuditConfig, DiskWatermark};

/// The retention rules of `config`.
fn retention_rules(config: &AuditConfig) -> retention::Rules {
    retention::Rules {
        segments: config.retain_segments,
        days: config.retain_days,
        bytes: config.retain_bytes,
    }
}

/// Signs checkpoints: ECDSA P-256 over SHA-256 of the message, `r || s` (64 bytes). The HSM
/// does it with its audit key; tests use a software key.
pub trait CheckpointSigner {
    /// Signs `message` (the signer hashes it).
    fn sign_checkpoint(&self, message: &[u8]) -> Result<Vec<u8>, hsm::Error>;
}

impl CheckpointSigner for hsm::Hsm {
    fn sign_checkpoint(&self, message: &[u8]) -> Result<Vec<u8>, hsm::Error> {
        self.sign_audit(message)
    }
}

/// Whether the audit trail can take writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditHealth {
    /// The last write succeeded.
    Healthy,
    /// Writes are failing: requests are being refused.
    Degraded {
        /// When the current run of failures began.
        since: OffsetDateTime,
        /// Failed groups since open.
        failures: u64,
        /// An fsync failed: no write succeeds until the log is reopened.
        poisoned: bool,
    },
}

/// Counters for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditStats {
    /// Records made durable since open.
    pub records: u64,
    /// fsyncs of record groups since open (records / syncs is the group-commit factor).
    pub syncs: u64,
    /// Sequence number of the last durable record.
    pub seq: u64,
    /// The newest sample of the audit directory's free disk space.
    pub disk: Option<DiskStatus>,
    /// Forwarding to a SIEM, when configured ([`forward`]).
    pub forward: Option<ForwardStats>,
}

/// Where forwarding to a SIEM stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardStats {
    /// Sequence number of the last record the SIEM's stream accepted (0: none yet).
    pub forwarded_seq: u64,
    /// Failed attempts (connect, write, read of the trail) since the node started.
    pub failures: u64,
    /// Whether the last attempt succeeded.
    pub connected: bool,
}

/// State the writer thread and the handles share.
#[derive(Debug, Default)]
struct Shared {
    poisoned: AtomicBool,
    /// Set with `degraded_since`, so the request path can ask without taking the lock.
    degraded: AtomicBool,
    failures: AtomicU64,
    degraded_since: Mutex<Option<OffsetDateTime>>,
    records: AtomicU64,
    syncs: AtomicU64,
    seq: AtomicU64,
    next_change: AtomicU64,
    checkpointed: AtomicU64,
    disk: disk::DiskGauge,
    /// Forwarding: whether it runs, the first record retention must keep for it (0: no
    /// hold), the last record sent, failures, and whether the last attempt succeeded.
    forwarding: AtomicBool,
    forward_hold: AtomicU64,
    forwarded: AtomicU64,
    forward_failures: AtomicU64,
    forward_ok: AtomicBool,
}

impl Shared {
    fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::SeqCst)
    }

    fn poison(&self) {
        self.poisoned.store(true, Ordering::SeqCst);
        self.degrade();
    }

    fn degrade(&self) {
        self.degraded.store(true, Ordering::SeqCst);
        self.failures.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut since) = self.degraded_since.lock() {
            since.get_or_insert_with(OffsetDateTime::now_utc);
        }
    }

    fn set_next_change(&self, next: u64) {
        self.next_change.store(next, Ordering::SeqCst);
    }

    fn set_seq(&self, seq: u64) {
        self.seq.store(seq, Ordering::SeqCst);
    }

    fn written(&self, records: u64, seq: u64) {
        self.records.fetch_add(records, Ordering::SeqCst);
        self.syncs.fetch_add(1, Ordering::SeqCst);
        self.set_seq(seq);
        if let Ok(mut since) = self.degraded_since.lock() {
            *since = None;
        }
        self.degraded.store(false, Ordering::SeqCst);
    }
}

/// This node's audit log. Cheap to clone; the writer thread stops on [`AuditLog::shutdown`]
/// or when every handle is gone.
#[derive(Clone, Debug)]
pub struct AuditLog {
    queue: mpsc::UnboundedSender<Job>,
    shared: Arc<Shared>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
    recovery: Arc<Recovery>,
    dir: PathBuf,
    log: Arc<str>,
    queries: Arc<query::QueryGate>,
    watermark: DiskWatermark,
}

impl AuditLog {
    /// Opens (or creates) the log in `dir`: locks the directory, recovers the chain state from
    /// the newest checkpoint and the records after it, moves a torn tail aside (see
    /// [`AuditLog::recovery`]), and starts the writer thread. Blocking file I/O: call it at
    /// startup or from a blocking task.
    pub fn open(dir: impl AsRef<Path>, config: AuditConfig) -> Result<Self, AuditError> {
        config.validate().map_err(AuditError::Config)?;
        let dir = dir.as_ref().to_owned();
        let log: Arc<str> = config.log.as_str().into();
        let queries = Arc::new(query::QueryGate::new(config.max_concurrent_queries));
        let recovered = segment::recover(&dir, &config.log)?;
        let recovery = Arc::new(recovered.recovery.clone());
        let shared = Arc::new(Shared::default());
        shared
            .checkpointed
            .store(recovery.checkpoint.unwrap_or(0), Ordering::SeqCst);
        let watermark = config.watermark;
        shared.disk.sample(&dir, watermark);
        let writer = Writer::new(dir.clone(), config, recovered, shared.clone());
        let (queue, rx) = mpsc::unbounded_channel();
        let thread = thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(AuditError::Thread)?;
        Ok(Self {
            queue,
            shared,
            thread: Arc::new(Mutex::new(Some(thread))),
            recovery,
            dir,
            log,
            queries,
            watermark,
        })
    }

    /// Whose record query runs when (the admin API's `GET /v1/audit/records`).
    pub fn queries(&self) -> &query::QueryGate {
        &self.queries
    }

    /// The log's name (the node's name in records).
    pub fn log_name(&self) -> &str {
        &self.log
    }

    /// Appends one record and returns its sequence number once it is on disk (fsynced).
    /// Concurrent calls share fsyncs. An error means the record may not be durable: refuse the
    /// request.
    pub async fn append(&self, event: AuditEvent) -> Result<u64, AuditError> {
        self.call(|tx| Job::Append(Box::new((event, None)), tx))
            .await
    }

    /// Queues one record without waiting; the receiver answers once it is durable. The store's
    /// committer uses this for the records of audited state changes, from its own thread.
    pub fn submit(&self, event: AuditEvent) -> oneshot::Receiver<Result<u64, AuditError>> {
        self.submit_aggregate(event, None)
    }

    /// As [`AuditLog::submit`], for a record standing for `aggregate.count` events like
    /// `event` (refused connections: `audit::refusals`).
    pub fn submit_aggregate(
        &self,
        event: AuditEvent,
        aggregate: Option<Aggregate>,
    ) -> oneshot::Receiver<Result<u64, AuditError>> {
        let (tx, rx) = oneshot::channel();
        // If the writer is gone the sender is dropped with the job and the receiver says so.
        let _ = self
            .queue
            .send(Job::Append(Box::new((event, aggregate)), tx));
        rx
    }

    /// The sequence number the newest checkpoint covers (0: none).
    pub fn checkpointed_seq(&self) -> u64 {
        self.shared.checkpointed.load(Ordering::SeqCst)
    }

    /// The state change whose record the log expects next: every change below it is durable
    /// in the log (0 until [`AuditLog::resume_changes`]).
    pub fn next_change(&self) -> u64 {
        self.shared.next_change.load(Ordering::SeqCst)
    }

    /// Where the records of state changes continue, as the node works out from the store's
    /// outbox on start ([`AuditLog::max_change_since`]); the log takes them from then on.
    pub async fn resume_changes(&self, next: u64) -> Result<(), AuditError> {
        self.call(|tx| Job::Resume(next, tx)).await
    }

    /// Makes records of no state change durable (concurrently, sharing fsyncs): the records of
    /// reads, refusals and calls no change carried. An error means some may not be: refuse
    /// what they record.
    pub async fn record_all(&self, events: Vec<AuditEvent>) -> Result<(), AuditError> {
        let receipts: Vec<_> = events.into_iter().map(|e| self.submit(e)).collect();
        for receipt in receipts {
            receipt.await.map_err(|_| AuditError::ShutDown)??;
        }
        Ok(())
    }

    /// The highest state change at or above `from` whose record is in the log. Reads the
    /// files: call it on start, before the log takes records of changes.
    pub async fn max_change_since(&self, from: u64) -> Result<Option<u64>, AuditError> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || segment::max_change_since(&dir, from))
            .await
            .map_err(|_| AuditError::ShutDown)?
    }

    /// Signs a checkpoint of the current chain heads with `signer` (on a blocking thread),
    /// stores it and applies retention. Commit the returned checkpoint to the replicated log.
    pub async fn checkpoint<S>(&self, signer: S) -> Result<Checkpoint, AuditError>
    where
        S: CheckpointSigner + Send + 'static,
    {
        let draft = self.call(Job::Draft).await?;
        let message = draft.message();
        let signature = tokio::task::spawn_blocking(move || signer.sign_checkpoint(&message))
            .await
            .map_err(|_| AuditError::ShutDown)?
            .map_err(AuditError::Sign)?;
        let checkpoint = draft.finish(&signature).map_err(AuditError::Signature)?;
        self.call(|tx| Job::Persist(Box::new(checkpoint.clone()), tx))
            .await?;
        Ok(checkpoint)
    }

    /// Whether the last write succeeded and no fsync ever failed: what every request checks
    /// first (no lock taken). [`AuditLog::health`] says more.
    pub fn is_healthy(&self) -> bool {
        !self.shared.degraded.load(Ordering::SeqCst) && !self.shared.is_poisoned()
    }

    /// Whether writes are succeeding.
    pub fn health(&self) -> AuditHealth {
        let since = self.shared.degraded_since.lock().ok().and_then(|s| *s);
        let poisoned = self.shared.is_poisoned();
        match since {
            None if !poisoned => AuditHealth::Healthy,
            since => AuditHealth::Degraded {
                since: since.unwrap_or_else(OffsetDateTime::now_utc),
                failures: self.shared.failures.load(Ordering::SeqCst),
                poisoned,
            },
        }
    }

    /// Counters since open.
    pub fn stats(&self) -> AuditStats {
        AuditStats {
            records: self.shared.records.load(Ordering::SeqCst),
            syncs: self.shared.syncs.load(Ordering::SeqCst),
            seq: self.shared.seq.load(Ordering::SeqCst),
            disk: self.shared.disk.last(),
            forward: self
                .shared
                .forwarding
                .load(Ordering::SeqCst)
                .then(|| ForwardStats {
                    forwarded_seq: self.shared.forwarded.load(Ordering::SeqCst),
                    failures: self.shared.forward_failures.load(Ordering::SeqCst),
                    connected: self.shared.forward_ok.load(Ordering::SeqCst),
                }),
        }
    }

    /// Forwarding starts at record `seq`: retention keeps every segment from the one holding
    /// it (see [`forward`]).
    pub fn hold_from(&self, seq: u64) {
        self.shared.forward_hold.store(seq.max(1), Ordering::SeqCst);
        self.shared
            .forwarded
            .store(seq.saturating_sub(1), Ordering::SeqCst);
        self.shared.forwarding.store(true, Ordering::SeqCst);
    }

    /// Records up to `seq` are delivered to the SIEM (the connection outlived the write).
    pub(crate) fn forwarded(&self, seq: u64) {
        self.shared.forwarded.store(seq, Ordering::SeqCst);
        self.shared
            .forward_hold
            .store(seq.saturating_add(1), Ordering::SeqCst);
        self.shared.forward_ok.store(true, Ordering::SeqCst);
    }

    /// An attempt to forward failed.
    pub(crate) fn forward_failed(&self) {
        self.shared.forwarding.store(true, Ordering::SeqCst);
        self.shared.forward_failures.fetch_add(1, Ordering::SeqCst);
        self.shared.forward_ok.store(false, Ordering::SeqCst);
    }

    /// Samples the free space under the audit directory now against the watermark (see
    /// [`disk`]); the sample is kept for [`AuditLog::stats`].
    pub fn check_disk(&self) -> DiskStatus {
        self.shared.disk.sample(&self.dir, self.watermark)
    }

    /// What open found and repaired.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes everything queued so far, then stops the writer and waits for it, releasing the
    /// directory lock.
    pub async fn shutdown(&self) {
        let _ = self.queue.send(Job::Stop);
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    async fn call<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<T, AuditError>>) -> Job,
    ) -> Result<T, AuditError> {
        let (tx, rx) = oneshot::channel();
        self.queue.send(job(tx)).map_err(|_| AuditError::ShutDown)?;
        rx.await.map_err(|_| AuditError::ShutDown)?
    }
}
