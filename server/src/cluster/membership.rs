//! Bootstrap and membership changes of the cluster, on the leader (a follower passes the
//! operator's call on): init, adding a node (identity, Root of Trust, incarnation and retired-ID
//! checks; log compaction and admission first, so it starts from a snapshot), rebuilding a
//! member whose data was lost, removing a node for good.

use std::collections::BTreeSet;
use std::time::Duration;

use openraft::ChangeMembers;
use openraft::error::ForwardToLeader;
use tokio::time::{Instant, timeout_at};
use tracing::info;

use super::ClusterError;
use super::raft_node::{RaftNode, WRITE_TIMEOUT, refused};
use super::rpc::{Call, NodeInfo, Reply};
use super::types::{ClusterNode, Incarnation, NodeId, Request, TypeConfig};

/// How long a new node may take to catch up as a learner before it becomes a voter.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);

impl RaftNode {
    /// Bootstraps a one-voter cluster of this node with a fresh incarnation ID. Refused when
    /// the node already belongs to a cluster.
    pub async fn init(&self) -> Result<Incarnation, ClusterError> {
        let initialized = self
            .raft
            .is_initialized()
            .await
            .map_err(|_| ClusterError::Unavailable)?;
        if initialized || self.sm.incarnation()?.is_some() {
            return Err(ClusterError::Membership(
                "this node already belongs to a cluster".into(),
            ));
        }
        let node = ClusterNode {
            kmip_addr: self.me.kmip_addr.clone(),
            raft_addr: self.me.raft_addr.clone(),
        };
        self.raft
            .initialize(std::collections::BTreeMap::from([(self.me.id, node)]))
            .await
            .map_err(|e| ClusterError::Membership(format!("initialisation failed: {e}")))?;
        self.admit().map_err(|_| ClusterError::Unavailable)?;
        let incarnation = Incarnation::random();
        if let Err(r) = self.propose(Request::incarnation(incarnation)).await? {
            return Err(ClusterError::Membership(r.to_string()));
        }
        let stamped = self.sm.incarnation()?.unwrap_or(incarnation);
        info!(node = self.me.id, incarnation = %stamped, "cluster initialised");
        Ok(stamped)
    }

    /// Adds the node listening at `raft_addr`: checks who it is (certificate), that its Root of
    /// Trust matches, that its ID was never used and that it belongs to no other cluster; adds
    /// it as a learner, waits until it caught up, then makes it a voter. On a follower the call
    /// goes to the leader.
    pub async fn add_node(&self, raft_addr: &str) -> Result<NodeInfo, ClusterError> {
        if !self.raft.is_leader() {
            return self
                .to_leader(Call::AddNode {
                    raft_addr: raft_addr.to_owned(),
                })
                .await
                .and_then(|r| match r {
                    Reply::Added(info) => Ok(info),
                    other => Err(refused(other)),
                });
        }
        let info = self.hello(raft_addr, None).await?;
        let ours = self.sm.incarnation()?;
        if info.incarnation.is_some() && info.incarnation != ours {
            return Err(ClusterError::Membership(format!(
                "node {} belongs to another cluster; wipe its data directory first",
                info.id
            )));
        }
        if self.sm.retired_nodes()?.contains(&info.id) {
            return Err(ClusterError::Membership(format!(
                "node ID {} was removed from this cluster and is never reused",
                info.id
            )));
        }
        let metrics = self.metrics();
        if metrics
            .membership_config
            .membership()
            .get_node(&info.id)
            .is_some()
        {
            return Err(ClusterError::Membership(format!(
                "node {} is already a member",
                info.id
            )));
        }
        let node = ClusterNode {
            kmip_addr: info.kmip_addr.clone(),
            raft_addr: raft_addr.to_owned(),
        };
        let deadline = Instant::now() + CATCH_UP_TIMEOUT;
        self.compact_log(deadline).await?;
        self.send_admit(raft_addr, info.id).await?;
        timeout_at(deadline, self.raft.add_learner(info.id, node, true))
            .await
            .map_err(|_| ClusterError::Membership("the new node did not catch up in time".into()))?
            .map_err(membership_error)?;
        timeout_at(
            deadline,
            self.raft
                .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([info.id])), false),
        )
        .await
        .map_err(|_| ClusterError::NoQuorum)?
        .map_err(membership_error)?;
        info!(node = info.id, raft_addr, "node added as a voter");
        Ok(NodeInfo {
            raft_addr: raft_addr.to_owned(),
            ..info
        })
    }

    /// Asks the node at `raft_addr` who it is. The ID it claims must be the one its certificate
    /// names (and `expect`, when given), and its Root of Trust must be this node's.
    async fn hello(
        &self,
        raft_addr: &str,
        expect: Option<NodeId>,
    ) -> Result<NodeInfo, ClusterError> {
        let (found, reply) = self
            .dialer
            .call(raft_addr, expect, Call::Hello, WRITE_TIMEOUT)
            .await
            .map_err(|e| ClusterError::Membership(format!("cannot reach the node: {e}")))?;
        let Reply::Hello(info) = reply else {
            return Err(refused(reply));
        };
        if info.id != found {
            return Err(ClusterError::Membership(
                "the node claims another ID than its certificate".into(),
            ));
        }
        if info.kcv != self.me.kcv {
            return Err(ClusterError::Membership(format!(
                "node {} has Root of Trust KCV {}, the cluster {}: it may not take part",
                info.id, info.kcv, self.me.kcv
            )));
        }
        Ok(info)
    }

    async fn send_admit(&self, raft_addr: &str, id: NodeId) -> Result<(), ClusterError> {
        match self
            .dialer
            .call(raft_addr, Some(id), Call::Admit, WRITE_TIMEOUT)
            .await
        {
            Ok((_, Reply::Admitted)) => Ok(()),
            Ok((_, other)) => Err(refused(other)),
            Err(e) => Err(ClusterError::Membership(format!(
                "cannot reach node {id}: {e}"
            ))),
        }
    }

    /// Rebuilds member `id` whose data was lost (it restarted empty): the leader lets its
    /// replication to that node start over once, then admits it; the node gets a snapshot.
    /// Refused unless the node answers with this node's Root of Trust and holds no state.
    pub async fn rebuild_node(&self, id: NodeId) -> Result<(), ClusterError> {
        if !self.raft.is_leader() {
            return self
                .to_leader(Call::RebuildNode { id })
                .await
                .and_then(|r| match r {
                    Reply::Rebuilding => Ok(()),
                    other => Err(refused(other)),
                });
        }
        let node = member(self.metrics().membership_config.membership(), id)?;
        if id == self.me.id {
            return Err(ClusterError::Membership(
                "the leader cannot rebuild itself".into(),
            ));
        }
        let info = self.hello(&node.raft_addr, Some(id)).await?;
        if info.incarnation.is_some() {
            return Err(ClusterError::Membership(format!(
                "node {id} still holds its state: nothing to rebuild"
            )));
        }
        self.raft
            .trigger()
            .allow_next_revert(&id, true)
            .await
            .map_err(|_| ClusterError::Unavailable)?
            .map_err(membership_error)?;
        self.send_admit(&node.raft_addr, id).await?;
        info!(
            node = id,
            "rebuilding a node whose data was lost: it gets a snapshot"
        );
        Ok(())
    }

    /// Snapshots the applied state and purges the log up to it, so that a node being added
    /// starts from the snapshot (which replaces its whole replicated state) rather than from
    /// the log: the first node's state before `init` (its offline operator enrollment) is in
    /// no log entry, and whatever a new node held before it joined must not survive.
    async fn compact_log(&self, deadline: Instant) -> Result<(), ClusterError> {
        let m = self.metrics();
        let Some(applied) = m.last_applied else {
            return Ok(());
        };
        if m.purged.as_ref().is_some_and(|p| p.index >= applied.index) {
            return Ok(());
        }
        let left = || Some(deadline.saturating_duration_since(Instant::now()));
        self.raft
            .trigger()
            .snapshot()
            .await
            .map_err(|_| ClusterError::Unavailable)?;
        self.raft
            .wait(left())
            .metrics(
                |m| {
                    m.snapshot
                        .as_ref()
                        .is_some_and(|s| s.index >= applied.index)
                },
                "snapshot before adding a node",
            )
            .await
            .map_err(|_| ClusterError::Membership("no snapshot could be built".into()))?;
        self.raft
            .trigger()
            .purge_log(applied.index)
            .await
            .map_err(|_| ClusterError::Unavailable)?;
        self.raft
            .wait(left())
            .metrics(
                |m| m.purged.as_ref().is_some_and(|p| p.index >= applied.index),
                "log purge before adding a node",
            )
            .await
            .map_err(|_| ClusterError::Membership("the log could not be compacted".into()))?;
        Ok(())
    }

    /// Removes node `id` (voter or learner) and retires its ID for good.
    pub async fn remove_node(&self, id: NodeId) -> Result<(), ClusterError> {
        if !self.raft.is_leader() {
            return self
                .to_leader(Call::RemoveNode { id })
                .await
                .and_then(|r| match r {
                    Reply::Removed => Ok(()),
                    other => Err(refused(other)),
                });
        }
        let metrics = self.metrics();
        let membership = metrics.membership_config.membership().clone();
        let node = member(&membership, id)?;
        if membership.voter_ids().count() == 1 && membership.voter_ids().any(|v| v == id) {
            return Err(ClusterError::Membership(
                "the last voter cannot be removed".into(),
            ));
        }
        if let Err(r) = self.propose(Request::retire_node(id)).await? {
            return Err(ClusterError::Membership(r.to_string()));
        }
        let deadline = Instant::now() + WRITE_TIMEOUT;
        if membership.voter_ids().any(|v| v == id) {
            timeout_at(
                deadline,
                self.raft
                    .change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id])), false),
            )
            .await
            .map_err(|_| ClusterError::NoQuorum)?
            .map_err(membership_error)?;
        }
        timeout_at(
            deadline,
            self.raft
                .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([id])), false),
        )
        .await
        .map_err(|_| ClusterError::NoQuorum)?
        .map_err(membership_error)?;
        self.dialer.forget(&node.raft_addr);
        info!(node = id, "node removed; its ID is retired");
        Ok(())
    }

    /// Sends an operator call to the leader.
    async fn to_leader(&self, call: Call) -> Result<Reply, ClusterError> {
        let deadline = Instant::now() + CATCH_UP_TIMEOUT;
        let metrics = self.metrics();
        let node = metrics
            .current_leader
            .and_then(|l| metrics.membership_config.membership().get_node(&l).cloned());
        let leader = match (metrics.current_leader, node) {
            (Some(l), Some(n)) => ForwardToLeader::<TypeConfig>::new(l, n),
            _ => ForwardToLeader::empty(),
        };
        self.forward(&leader, call, deadline)
            .await?
            .ok_or(ClusterError::NoQuorum)
    }
}

/// Member `id`'s node record, or the operator's error when it is not a member.
fn member(
    membership: &openraft::Membership<NodeId, ClusterNode>,
    id: NodeId,
) -> Result<ClusterNode, ClusterError> {
    membership
        .get_node(&id)
        .cloned()
        .ok_or_else(|| ClusterError::Membership(format!("node {id} is not a member")))
}

fn membership_error<E: std::fmt::Display>(e: E) -> ClusterError {
    ClusterError::Membership(format!("membership change failed: {e}"))
}
