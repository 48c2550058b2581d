//! The one hand-off of applied changes' audit records to the node's audit log, for both
//! implementations of the command log. Records go in change order. The rule is the same for
//! both: the answer to a change is sent only once its record is durable —
//! - local: in this node's audit log, so the committer's caller waits for
//!   [`Receipts::durable`];
//! - replicated: inside the committed Raft entry (fsync'd on a majority) already, so the
//!   state machine, which applies every entry on every node, hands the records over without
//!   making the answer wait ([`Receipts::watch`]). A record the log does not take stays in the
//!   outbox (written later; the node refuses requests while its audit log is unhealthy), and
//!   one lost with a deferred commit is made again when the entry is applied again.

use std::future::Future;
use std::pin::Pin;

use audit_log::AuditEvent;
use tokio::sync::oneshot;

use crate::audit::{AuditError, AuditLog};

/// Hands applied records to the node's audit log (see the module docs).
#[derive(Clone, Debug)]
pub struct AuditHandOff {
    audit: AuditLog,
}

/// The audit log's answers for the records of one applied command (or entry batch).
#[derive(Debug)]
#[must_use = "wait for the records or watch them"]
pub struct Receipts(Vec<oneshot::Receiver<Result<u64, AuditError>>>);

impl AuditHandOff {
    /// Hands records to `audit`.
    pub fn new(audit: AuditLog) -> Self {
        Self { audit }
    }

    /// Hands over the numbered records of applied changes, in change order.
    pub fn hand_off(&self, records: Vec<AuditEvent>) -> Receipts {
        Receipts(records.into_iter().map(|e| self.audit.submit(e)).collect())
    }

    /// This hand-off as the Raft state machine takes it (the cluster layer knows nothing of
    /// the command log above it).
    pub fn for_state_machine(&self) -> std::sync::Arc<dyn crate::cluster::AppliedRecords> {
        std::sync::Arc::new(self.clone())
    }
}

impl Receipts {
    /// Waits until every record is durable in the audit log.
    pub async fn durable(self) -> Result<(), AuditError> {
        for receipt in self.0 {
            receipt.await.map_err(|_| AuditError::ShutDown)??;
        }
        Ok(())
    }

    /// Lets the records become durable in the background, warning about any the log does not
    /// take (they stay in the outbox).
    pub fn watch(self) {
        if self.0.is_empty() {
            return;
        }
        tokio::spawn(async move {
            if self.durable().await.is_err() {
                tracing::warn!("audit log did not take the record of a replicated change");
            }
        });
    }
}

/// The local command log: the committer thread hands records over as it commits.
impl crate::store::AppliedSink for AuditHandOff {
    type Receipt = Receipts;

    fn written(&self) -> u64 {
        self.audit.next_change()
    }

    fn take(&self, records: Vec<AuditEvent>) -> Receipts {
        self.hand_off(records)
    }
}

impl crate::cluster::AppliedRecords for AuditHandOff {
    fn written(&self) -> u64 {
        self.audit.next_change()
    }

    fn applied(&self, records: Vec<AuditEvent>) {
        self.hand_off(records).watch();
    }

    fn resume_changes(&self, next: u64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if next > self.audit.next_change() {
                tracing::warn!(
                    from = self.audit.next_change(),
                    to = next - 1,
                    "state changes arrived by snapshot: their audit records are in the peers' logs"
                );
                if self.audit.resume_changes(next).await.is_err() {
                    tracing::warn!("audit log did not take the new change position");
                }
            }
        })
    }
}
