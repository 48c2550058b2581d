//! This node's Raft member: the openraft instance over the node's log store and state machine,
//! and what the rest of the server asks of it: replicated writes (forwarded to the leader from
//! a follower), linearizable reads (read-index, asked of the leader from a follower), cluster
//! bootstrap, adding and removing nodes, status.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::watch::WatchReceiver;
use openraft::error::{ClientWriteError, ForwardToLeader, LinearizableReadError, RaftError};
use openraft::raft::linearizable_read::LinearizerOption;
use openraft::{ChangeMembers, ServerState};
use tokio::time::{Instant, sleep, timeout_at};
use tracing::{info, warn};

use super::dialer::{DialError, Dialer};
use super::rpc::{Call, NodeInfo, Refusal, Reply};
use super::types::{ClusterNode, Incarnation, NodeId, Request, Response, TypeConfig};
use super::{ClusterStoreError, StateMachine};
use crate::store::Command;

/// The openraft instance of a node.
pub type Raft = openraft::Raft<TypeConfig, StateMachine>;

/// How long a write may wait for the cluster (an election, a forward, the commit).
const WRITE_TIMEOUT: Duration = Duration::from_secs(8);
/// How long a read may wait to be linearized.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause before asking again while no leader is known.
const RETRY_PAUSE: Duration = Duration::from_millis(40);
/// How long a new node may take to catch up as a learner before it becomes a voter.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);

/// Why the cluster did not carry out a request. Fixed texts: these reach clients.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No leader could be reached, or it could not commit in time: nothing is acknowledged.
    #[error("the cluster has no quorum; try again")]
    NoQuorum,
    /// The write was sent but its outcome is unknown (the leader failed meanwhile).
    #[error("the write's outcome is unknown; read before retrying")]
    Unknown,
    /// A membership change was refused.
    #[error("{0}")]
    Membership(String),
    /// This node's Raft failed or is stopping.
    #[error("the node is unavailable")]
    Unavailable,
    /// The state machine's store failed.
    #[error("store: {0}")]
    Store(#[from] ClusterStoreError),
}

/// A node's membership in the cluster.
#[derive(Debug)]
pub struct RaftNode {
    raft: Raft,
    sm: StateMachine,
    dialer: Arc<Dialer>,
    me: NodeInfo,
    admission: Admission,
}

/// Whether this node takes part in replication and elections. A node with Raft state does; an
/// empty one only once a leader admitted it (`raft-admitted` in the data directory), so a member
/// whose data was lost neither votes nor answers replication (which would make the leader's
/// openraft stop on a reverted log) until an operator rebuilds it.
#[derive(Debug)]
struct Admission {
    admitted: std::sync::atomic::AtomicBool,
    marker: std::path::PathBuf,
}

/// The admission marker's file name in the data directory.
pub const ADMITTED_FILE: &str = "raft-admitted";

impl RaftNode {
    /// Wraps a started openraft instance; `data_dir` holds the admission marker.
    pub async fn new(
        raft: Raft,
        sm: StateMachine,
        dialer: Arc<Dialer>,
        me: NodeInfo,
        data_dir: &std::path::Path,
    ) -> Self {
        let marker = data_dir.join(ADMITTED_FILE);
        let has_state = raft.is_initialized().await.unwrap_or(false);
        let admitted = has_state || marker.exists();
        if !admitted {
            info!(
                "this node holds no Raft state: it waits to be added (or rebuilt) by the cluster"
            );
        }
        Self {
            raft,
            sm,
            dialer,
            me,
            admission: Admission {
                admitted: std::sync::atomic::AtomicBool::new(admitted),
                marker,
            },
        }
    }

    /// Whether this node takes part in replication and elections.
    pub fn is_admitted(&self) -> bool {
        self.admission
            .admitted
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Records that a leader admitted this node (durably, before answering).
    pub fn admit(&self) -> std::io::Result<()> {
        if !self.is_admitted() {
            let file = std::fs::File::create(&self.admission.marker)?;
            file.sync_all()?;
            if let Some(dir) = self.admission.marker.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            info!("admitted by the cluster's leader");
        }
        self.admission
            .admitted
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// The openraft instance (metrics, RPC handling).
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// The state machine (digest, snapshot reception).
    pub fn state_machine(&self) -> &StateMachine {
        &self.sm
    }

    /// This node's ID.
    pub fn id(&self) -> NodeId {
        self.me.id
    }

    /// What this node says about itself (incarnation as of now).
    pub fn info(&self) -> NodeInfo {
        NodeInfo {
            incarnation: self.sm.incarnation().ok().flatten(),
            ..self.me.clone()
        }
    }

    /// Proposes a store command and waits until it is committed and applied here (or on the
    /// leader, when forwarded). Retried only while it certainly was not appended anywhere.
    pub async fn write(&self, command: Command) -> Result<Response, ClusterError> {
        self.propose(Request::store(command)).await
    }

    async fn propose(&self, request: Request) -> Result<Response, ClusterError> {
        let deadline = Instant::now() + WRITE_TIMEOUT;
        loop {
            let local = timeout_at(deadline, self.raft.client_write(request.clone()))
                .await
                .map_err(|_| ClusterError::NoQuorum)?;
            let leader = match local {
                Ok(r) => return Ok(r.data),
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => f,
                Err(RaftError::APIError(_)) => return Err(ClusterError::Unknown),
                Err(RaftError::Fatal(_)) => return Err(ClusterError::Unavailable),
            };
            match self
                .forward(&leader, Call::Forward(request.clone()), deadline)
                .await?
            {
                Some(Reply::Forwarded(r)) => return Ok(r),
                Some(Reply::Refused(Refusal::NotLeader(_))) | None => {}
                Some(_) => return Err(ClusterError::Unknown),
            }
            if Instant::now() + RETRY_PAUSE >= deadline {
                return Err(ClusterError::NoQuorum);
            }
            sleep(RETRY_PAUSE).await;
        }
    }

    /// Sends `call` to the leader named in `leader`. `Ok(None)`: nothing was sent (no leader
    /// known, or it could not be reached): the caller may try again.
    async fn forward(
        &self,
        leader: &ForwardToLeader<TypeConfig>,
        call: Call,
        deadline: Instant,
    ) -> Result<Option<Reply>, ClusterError> {
        let (Some(id), Some(node)) = (leader.leader_id, leader.leader_node.as_ref()) else {
            return Ok(None);
        };
        if id == self.me.id {
            return Ok(None);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self
            .dialer
            .call(&node.raft_addr, Some(id), call, left)
            .await
        {
            Ok((_, reply)) => Ok(Some(reply)),
            Err(DialError::Connect { .. } | DialError::WrongPeer { .. }) => Ok(None),
            Err(DialError::Wire { .. }) => Err(ClusterError::Unknown),
        }
    }

    /// A write forwarded by a follower: proposed here if this node leads, refused otherwise.
    pub async fn write_forwarded(&self, request: Request) -> Reply {
        let deadline = Instant::now() + WRITE_TIMEOUT;
        match timeout_at(deadline, self.raft.client_write(request)).await {
            Ok(Ok(r)) => Reply::Forwarded(r.data),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                Reply::Refused(Refusal::NotLeader(f.leader_id))
            }
            Ok(Err(_)) => Reply::Refused(Refusal::Unavailable),
            Err(_) => Reply::Refused(Refusal::NoQuorum),
        }
    }

    /// Waits until this node's store reflects every write acknowledged anywhere before the
    /// call (read-index through the leader). A node cut off from the majority fails here.
    pub async fn linearize(&self) -> Result<(), ClusterError> {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let local = timeout_at(deadline, self.raft.get_read_log_id(lease_read()))
                .await
                .map_err(|_| ClusterError::NoQuorum)?;
            let index = match local {
                Ok((read, _)) => read.index(),
                Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(f))) => {
                    match self.forward(&f, Call::ReadIndex, deadline).await {
                        Ok(Some(Reply::ReadIndex(i))) => i,
                        Ok(Some(Reply::Refused(Refusal::NotLeader(_))) | None)
                        | Err(ClusterError::Unknown) => {
                            if Instant::now() + RETRY_PAUSE >= deadline {
                                return Err(ClusterError::NoQuorum);
                            }
                            sleep(RETRY_PAUSE).await;
                            continue;
                        }
                        Ok(Some(_)) => return Err(ClusterError::NoQuorum),
                        Err(e) => return Err(e),
                    }
                }
                Err(RaftError::APIError(LinearizableReadError::QuorumNotEnough(_))) => {
                    return Err(ClusterError::NoQuorum);
                }
                Err(RaftError::Fatal(_)) => return Err(ClusterError::Unavailable),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            return self
                .raft
                .wait(Some(left))
                .applied_index_at_least(Some(index), "linearizable read")
                .await
                .map(|_| ())
                .map_err(|_| ClusterError::NoQuorum);
        }
    }

    /// The read index a follower asked for: confirmed with a quorum by this leader.
    pub async fn read_index(&self) -> Reply {
        let deadline = Instant::now() + READ_TIMEOUT;
        match timeout_at(deadline, self.raft.get_read_log_id(lease_read())).await {
            Ok(Ok((read, _))) => Reply::ReadIndex(read.index()),
            Ok(Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(f)))) => {
                Reply::Refused(Refusal::NotLeader(f.leader_id))
            }
            Ok(Err(RaftError::APIError(_))) | Err(_) => Reply::Refused(Refusal::NoQuorum),
            Ok(Err(RaftError::Fatal(_))) => Reply::Refused(Refusal::Unavailable),
        }
    }

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
        let (found, reply) = self
            .dialer
            .call(raft_addr, None, Call::Hello, WRITE_TIMEOUT)
            .await
            .map_err(|e| ClusterError::Membership(format!("cannot reach the new node: {e}")))?;
        let Reply::Hello(info) = reply else {
            return Err(refused(reply));
        };
        if info.id != found {
            return Err(ClusterError::Membership(
                "the new node claims another ID than its certificate".into(),
            ));
        }
        if info.kcv != self.me.kcv {
            return Err(ClusterError::Membership(format!(
                "node {} has Root of Trust KCV {}, the cluster {}: it may not join",
                info.id, info.kcv, self.me.kcv
            )));
        }
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
        let m = self.metrics();
        let Some(node) = m.membership_config.membership().get_node(&id).cloned() else {
            return Err(ClusterError::Membership(format!(
                "node {id} is not a member"
            )));
        };
        if id == self.me.id {
            return Err(ClusterError::Membership(
                "the leader cannot rebuild itself".into(),
            ));
        }
        let (found, reply) = self
            .dialer
            .call(&node.raft_addr, Some(id), Call::Hello, WRITE_TIMEOUT)
            .await
            .map_err(|e| ClusterError::Membership(format!("cannot reach node {id}: {e}")))?;
        let Reply::Hello(info) = reply else {
            return Err(refused(reply));
        };
        if found != id || info.kcv != self.me.kcv {
            return Err(ClusterError::Membership(format!(
                "node {id} answers with another identity or Root of Trust"
            )));
        }
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
        let Some(node) = membership.get_node(&id).cloned() else {
            return Err(ClusterError::Membership(format!(
                "node {id} is not a member"
            )));
        };
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

    /// Stops Raft (the log and state machine are durable as they are).
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            warn!(error = %e, "raft did not stop cleanly");
        }
    }

    /// A copy of the current Raft metrics.
    pub fn metrics(&self) -> openraft::RaftMetrics<TypeConfig> {
        self.raft.metrics().borrow_watched().clone()
    }

    /// The cluster's state on this node, for the metrics.
    pub fn sample(&self) -> crate::metrics::RaftSample {
        let m = self.metrics();
        let last_log = m.last_log_index.unwrap_or(0);
        crate::metrics::RaftSample {
            is_leader: m.state == ServerState::Leader,
            leader: m.current_leader.unwrap_or(0),
            term: m.current_term,
            last_log,
            committed: m.local_committed.map_or(0, |l| l.index),
            applied: m.last_applied.map_or(0, |l| l.index),
            lag: m
                .replication
                .iter()
                .flatten()
                .filter(|(id, _)| **id != self.me.id)
                .map(|(id, matched)| {
                    (
                        *id,
                        last_log.saturating_sub(matched.as_ref().map_or(0, |l| l.index)),
                    )
                })
                .collect(),
        }
    }

    /// Whether this node is the leader right now.
    pub fn is_leader(&self) -> bool {
        self.metrics().state == ServerState::Leader
    }
}

/// How a leader confirms it still leads before a read: a quorum acknowledgement younger than
/// the leader lease (the longest election timeout) suffices, else it sends heartbeats at once
/// and waits for one. Followers refuse to vote for another leader until the lease they granted
/// ran out, and the leader counts the lease from when it sent the acknowledged message, so no
/// other leader can have acknowledged a write meanwhile (assuming clock rates agree within the
/// lease, as every lease-based system does).
fn lease_read() -> LinearizerOption {
    LinearizerOption::new(None, true)
}

fn membership_error<E: std::fmt::Display>(e: E) -> ClusterError {
    ClusterError::Membership(format!("membership change failed: {e}"))
}

fn refused(reply: Reply) -> ClusterError {
    match reply {
        Reply::Refused(Refusal::Membership(m)) => ClusterError::Membership(m),
        Reply::Refused(Refusal::NoQuorum | Refusal::NotLeader(_)) => ClusterError::NoQuorum,
        Reply::Refused(r) => ClusterError::Membership(r.to_string()),
        _ => ClusterError::Unknown,
    }
}
