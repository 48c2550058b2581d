//! The one error type of the write path.

use crate::audit::AuditError;
use crate::cluster::ClusterError;
use crate::store::StoreError;

/// Why a command is not known committed (or, [`CommitError::AuditPending`], committed but not
/// to be acknowledged). None carries record contents.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The store failed: nothing is known applied.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The change is committed with its audit record in the outbox, but the audit log did not
    /// take the record: the request must not be acknowledged; the record is written later.
    #[error("audit record not yet durable")]
    AuditPending(#[source] AuditError),
    /// The cluster did not acknowledge the change (fixed text: no quorum, outcome unknown,
    /// node unavailable); nothing is known applied.
    #[error("{0}")]
    Cluster(&'static str),
}

impl CommitError {
    /// Whether the change is applied (its record is on its way to the audit log).
    pub fn applied(&self) -> bool {
        matches!(self, Self::AuditPending(_))
    }
}

impl From<ClusterError> for CommitError {
    fn from(e: ClusterError) -> Self {
        CommitError::Cluster(match e {
            ClusterError::NoQuorum => "cluster has no quorum; try again",
            ClusterError::Unknown => "outcome unknown; read before retrying",
            ClusterError::Membership(_) | ClusterError::Unavailable | ClusterError::Store(_) => {
                "cluster unavailable; try again"
            }
        })
    }
}
