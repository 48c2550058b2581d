//! The node's audit housekeeping task: signs a checkpoint of the chain heads with the HSM's
//! audit key at the configured interval (when records were added) and keeps it in the
//! replicated state (`Command::AuditCheckpoint`), writes outbox records the log fell
//! behind on (after a failed audit write), records the aggregated refusals of each interval
//! (`audit::refusals`) and samples the free space under the audit directory (`audit::disk`).
//!
//! A node task, not part of the audit writer: it works with the whole node (store, command log,
//! HSM, refusals), so it sits above all of them (`docs/ARCHITECTURE.md`, server layers).

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::audit::{AuditError, drain_outbox};
use crate::kms::Kms;
use crate::store::Command;

/// How often the task looks at the log.
const TICK: Duration = Duration::from_secs(1);

/// Runs until `stop` turns true.
pub async fn run_checkpoints(
    kms: std::sync::Arc<Kms>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut last = Instant::now();
    let mut refusals_flushed = Instant::now();
    let mut disk_checked = Instant::now();
    let mut lagging_at: Option<u64> = None;
    loop {
        tokio::select! {
            () = tokio::time::sleep(TICK) => {}
            _ = stop.changed() => return,
        }
        // Behind on the same change for a whole tick: the committer's hand-over failed.
        let next = kms.audit.next_change();
        let behind = kms.store.last_change().is_ok_and(|last| next <= last);
        if behind && lagging_at == Some(next) {
            match drain_outbox(&kms.audit, &kms.store).await {
                Ok(n) => info!(records = n, "audit log caught up with the outbox"),
                Err(e) => warn!(error = %e, "audit log still cannot take outbox records"),
            }
        }
        lagging_at = behind.then_some(next);
        if refusals_flushed.elapsed() >= kms.refusals.settings().interval {
            refusals_flushed = Instant::now();
            crate::audit::refusals::flush(&kms.refusals, &kms.audit).await;
        }
        if disk_checked.elapsed() >= crate::audit::disk::CHECK_EVERY {
            disk_checked = Instant::now();
            kms.audit.check_disk();
        }
        if last.elapsed() >= interval {
            last = Instant::now();
            if let Err(e) = checkpoint(&kms).await {
                warn!(error = %e, "audit checkpoint failed");
            }
        }
    }
}

/// Takes a last checkpoint on shutdown, if records were added since the previous one.
pub async fn final_checkpoint(kms: &Kms) {
    if let Err(e) = checkpoint(kms).await {
        warn!(error = %e, "final audit checkpoint failed");
    }
}

/// Signs a checkpoint (if there are records since the last one) and commits it (also before a
/// backup, so that the backup follows the newest records: `crate::backup`).
pub async fn checkpoint(kms: &Kms) -> Result<(), CheckpointError> {
    if kms.audit.stats().seq <= kms.audit.checkpointed_seq() {
        return Ok(());
    }
    let cp = kms.audit.checkpoint(kms.keys.hsm().clone()).await?;
    debug!(seq = cp.seq, "audit checkpoint signed");
    kms.log
        .commit(
            &crate::command_log::AuditScope::checkpoint(),
            Command::AuditCheckpoint(Box::new(cp)),
        )
        .await?
        .map_err(CheckpointError::Rejected)?;
    Ok(())
}

/// Why a checkpoint was not signed or not kept.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Commit(#[from] crate::command_log::CommitError),
    #[error("checkpoint rejected: {0}")]
    Rejected(crate::store::Rejection),
}
