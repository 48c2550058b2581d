//! Calls to the leader (forwarded writes, read indexes, operators' membership calls). Each one
//! ends as soon as this node names a leader other than the one the call went to (another node,
//! or none while an election runs), instead of waiting out its connect or reply timeout: a
//! leader that died or froze is replaced within about one election, and what waited for it (a
//! client's write, every read of the node sharing one read round, `read_rounds.rs`) goes on
//! with the new one at once.
//!
//! Whether the abandoned call may have reached the old leader decides what the caller may do
//! next ([`Unanswered`]): a call abandoned before its first byte was written certainly was not
//! received and may go to the new leader; one abandoned after may have been received, and a
//! write the old leader appended can still be committed by the new one, so such a write is sent
//! again only under its own request ID, which the state machine applies at most once
//! (`requests.rs`).

use std::time::Duration;

use openraft::async_runtime::watch::WatchReceiver;
use tokio::time::Instant;
use tracing::debug;

use super::raft_node::RaftNode;
use super::rpc::{Call, Reply};
use super::types::NodeId;

/// Why a call to the leader got no reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unanswered {
    /// Nothing of the call was written: no connection in time, not the node meant, or the
    /// leader changed first. The leader certainly did not receive it.
    NotSent,
    /// The call was written (or was being written) and no reply came in time, or the leader
    /// changed meanwhile: the leader may have received it.
    Sent,
}

impl RaftNode {
    /// Sends `call` to the leader `leader` at `addr` and waits up to `limit` (connection
    /// included) for its reply, or until this node names another leader, or none.
    pub(super) async fn call_leader(
        &self,
        leader: NodeId,
        addr: &str,
        call: Call,
        limit: Duration,
    ) -> Result<Reply, Unanswered> {
        let deadline = Instant::now() + limit;
        let changed = self.leader_changed(leader);
        tokio::pin!(changed);
        let conn = tokio::select! {
            // A leader already replaced gets nothing.
            biased;
            () = &mut changed => {
                debug!(leader, "leader changed before the call was sent; not sent");
                return Err(Unanswered::NotSent);
            }
            conn = tokio::time::timeout_at(deadline, self.dialer.checkout(addr, Some(leader))) => {
                match conn {
                    Ok(Ok(conn)) => conn,
                    Ok(Err(_)) | Err(_) => return Err(Unanswered::NotSent),
                }
            }
        };
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::select! {
            // A reply that is there counts, even if the leader changed at the same time.
            biased;
            reply = self.dialer.exchange(addr, conn, call, left) => {
                reply.map(|(_, reply)| reply).map_err(|_| Unanswered::Sent)
            }
            () = &mut changed => {
                debug!(leader, "leader changed while a call to it was in flight; abandoned");
                Err(Unanswered::Sent)
            }
        }
    }

    /// Resolves once this node no longer names `leader` as the leader (another node leads, an
    /// election runs, or Raft stopped).
    async fn leader_changed(&self, leader: NodeId) {
        let mut server = self.raft.server_metrics();
        loop {
            let current = server.borrow_and_update().current_leader;
            if current != Some(leader) || server.changed().await.is_err() {
                return;
            }
        }
    }
}
