//! Bringing the audit log level with the store. The record of every audited state change is
//! committed with the change into the store's outbox (`Command::Audited`); the committer then
//! hands it to the audit log. If the node stopped (or the audit write failed) in between, the
//! record is still in the outbox: on start, and whenever the log falls behind, the missing
//! records are written from there, in change order and each exactly once (the log skips changes
//! it already has, see `writer.rs`).

use std::path::Path;

use tracing::info;

use super::{AuditConfig, AuditError, AuditLog};
use crate::store::{Store, StoreError};

/// Most outbox records handed to the log at once.
const DRAIN_BATCH: usize = 1024;

/// Why the audit log could not be brought level with the store.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The audit log failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens the node's audit log in `dir`, finds where the records of state changes continue (the
/// first change in the outbox the log does not have), writes what is missing, and makes the
/// log take records of changes from then on.
pub async fn open_with_store(
    dir: &Path,
    config: AuditConfig,
    store: &Store,
) -> Result<AuditLog, OutboxError> {
    let dir = dir.to_owned();
    let log = tokio::task::spawn_blocking(move || AuditLog::open(dir, config))
        .await
        .map_err(|_| AuditError::ShutDown)??;
    let next = match store.audit_outbox_first()? {
        // Every change's record is known durable: the log continues after the last change,
        // or after the last one it holds (a cluster node's store may come back older than its
        // log after a crash: the Raft log applies those changes again, and the log must not
        // take their records twice).
        None => {
            let after = store.last_change()?.saturating_add(1);
            match log.max_change_since(after).await? {
                Some(written) => written.saturating_add(1),
                None => after,
            }
        }
        Some(first) => match log.max_change_since(first).await? {
            Some(written) => written.saturating_add(1),
            None => first,
        },
    };
    log.resume_changes(next).await?;
    let written = drain_outbox(&log, store).await?;
    if written > 0 {
        info!(
            written,
            "wrote the audit records of committed changes from the outbox"
        );
    }
    Ok(log)
}

/// Writes the outbox records the log does not have yet, in change order; returns how many
/// were handed over.
pub async fn drain_outbox(log: &AuditLog, store: &Store) -> Result<usize, OutboxError> {
    let mut total = 0;
    loop {
        let batch = store.audit_outbox(log.next_change(), DRAIN_BATCH)?;
        let n = batch.len();
        let receipts: Vec<_> = batch.into_iter().map(|e| log.submit(e)).collect();
        for receipt in receipts {
            receipt.await.map_err(|_| AuditError::ShutDown)??;
        }
        total += n;
        if n < DRAIN_BATCH {
            return Ok(total);
        }
    }
}
