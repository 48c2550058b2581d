//! The command log: the one write path of a node. Every state change is a store
//! [`Command`] committed here, by one of two implementations under the same interface:
//! - local: the store's group committer (a node running alone);
//! - Raft: `crate::cluster`, the replication layer under this one (a cluster member), whose
//!   state machine applies committed entries with the store's deterministic apply.
//!
//! It also linearizes reads (a no-op alone), and it is the one place that hands the audit
//! records of applied changes to the node's audit log ([`AuditHandOff`]), with one rule: an
//! answer is sent only once the record of its change is durable, in this node's audit log
//! (local) or inside a committed Raft entry (replicated).

mod error;
mod hand_off;
mod retry;
mod scope;

use std::sync::Arc;

pub use self::error::CommitError;
pub use self::hand_off::AuditHandOff;
pub use self::retry::{MAX_ATTEMPTS, retry_stale};
pub use self::scope::AuditScope;
use crate::audit::AuditLog;
use crate::cluster::RaftNode;
use crate::store::{Command, Committer, Rejection, Store, StoreError};

/// How commands are committed.
#[derive(Clone, Debug)]
enum Replication {
    /// Straight to this node's store, in group-committed fsync'd transactions.
    Local(Committer<AuditHandOff>),
    /// Through the cluster's Raft log: acknowledged once a majority has it durably.
    Raft(Arc<RaftNode>),
}

/// The node's command log. Cheap to clone.
#[derive(Clone, Debug)]
pub struct CommandLog {
    replication: Replication,
}

impl CommandLog {
    /// A log committing to `store` alone, handing the records of applied changes to `audit`.
    pub fn local(store: &Store, audit: AuditLog) -> Result<Self, StoreError> {
        let committer = store.committer(AuditHandOff::new(audit))?;
        Ok(Self {
            replication: Replication::Local(committer),
        })
    }

    /// A log committing through the cluster member `node`, whose state machine hands the
    /// records of every applied change to this node's audit log (started with
    /// [`AuditHandOff::for_state_machine`]).
    pub fn raft(node: Arc<RaftNode>) -> Self {
        Self {
            replication: Replication::Raft(node),
        }
    }

    /// This node's Raft member, when it belongs to a cluster.
    pub fn cluster(&self) -> Option<&Arc<RaftNode>> {
        match &self.replication {
            Replication::Local(_) => None,
            Replication::Raft(node) => Some(node),
        }
    }

    /// Commits `command` in `scope`: carrying the scope's record when it must (see
    /// [`AuditScope`]). `Ok(Err(_))`: deterministically rejected (nothing applied).
    /// [`CommitError::AuditPending`]: applied, but its audit record is not yet durable (the
    /// node writes it from the outbox later): the change must not be acknowledged.
    pub async fn commit(
        &self,
        scope: &AuditScope,
        command: Command,
    ) -> Result<Result<(), Rejection>, CommitError> {
        let (command, carries) = scope.wrap(command);
        let outcome = self.commit_wrapped(command).await;
        let applied = match &outcome {
            Ok(o) => o.is_ok(),
            // Applied, its record in the store: no second record for it.
            Err(e) => e.applied(),
        };
        if applied && let Some(object) = carries {
            scope.applied(object);
        }
        outcome
    }

    async fn commit_wrapped(&self, command: Command) -> Result<Result<(), Rejection>, CommitError> {
        match &self.replication {
            Replication::Local(committer) => {
                let applied = committer.apply(command).await?;
                // Durable in this node's audit log before the answer.
                applied
                    .receipt
                    .durable()
                    .await
                    .map_err(CommitError::AuditPending)?;
                Ok(applied.outcome)
            }
            // Durable inside the committed entry; every node's state machine hands the record
            // to its own audit log.
            Replication::Raft(node) => Ok(node.write(command).await?),
        }
    }

    /// Waits until this node's store reflects every change acknowledged anywhere in the
    /// cluster before the call (a no-op on a node running alone).
    pub async fn linearize(&self) -> Result<(), CommitError> {
        match &self.replication {
            Replication::Local(_) => Ok(()),
            Replication::Raft(node) => Ok(node.linearize().await?),
        }
    }

    /// Commits what is queued and stops (the Raft member leaves the cluster's traffic).
    pub async fn shutdown(&self) {
        match &self.replication {
            Replication::Local(committer) => committer.shutdown().await,
            Replication::Raft(node) => node.shutdown().await,
        }
    }
}
