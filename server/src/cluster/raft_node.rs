//! This node's Raft member: the openraft instance over the node's log store and state machine,
//! and what the rest of the server asks of it: replicated writes (forwarded to the leader from
//! a follower), linearizable reads (read-index, asked of the leader from a follower), status.
//! Bootstrap and membership changes are in `membership.rs`.

use std::sync::Arc;
use std::time::Duration;

use openraft::ServerState;
use openraft::async_runtime::watch::WatchReceiver;
use openraft::error::{ClientWriteError, ForwardToLeader, LinearizableReadError, RaftError};
use openraft::raft::linearizable_read::LinearizerOption;
use tokio::time::{Instant, sleep, timeout_at};
use tracing::{info, warn};

use super::dialer::Dialer;
use super::leader_call::Unanswered;
use super::read_rounds::ReadRounds;
use super::rpc::{Call, NodeInfo, Refusal, Reply};
use super::types::{NodeId, Request, Response, TypeConfig};
use super::{ClusterStoreError, StateMachine};
use crate::store::Command;

/// The openraft instance of a node.
pub type Raft = openraft::Raft<TypeConfig, StateMachine>;

/// How long a write may wait for the cluster (an election, a forward, the commit). A forward
/// to a leader that is replaced meanwhile ends at once (`leader_call.rs`).
pub(super) const WRITE_TIMEOUT: Duration = Duration::from_secs(8);
/// How long a read may wait to be linearized.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one forward of a write waits for the leader's reply before it is sent again
/// (under the same request ID, so at most one copy is applied): a reply lost with its
/// connection while the leader stays in place is not waited for until the write's deadline.
const FORWARD_ATTEMPT: Duration = Duration::from_secs(2);
/// Logged once per write that is proposed again after an attempt that may have been appended.
const RETRYING: &str = "a write's outcome is unknown; proposing it again under the same request ID";
/// Pause before asking again while no leader is known.
const RETRY_PAUSE: Duration = Duration::from_millis(40);

/// Why the cluster did not carry out a request. Fixed texts: these reach clients.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No leader could be reached in time (a write was sent to none, a read got no read
    /// index): nothing was done.
    #[error("the cluster has no quorum; try again")]
    NoQuorum,
    /// The write may have been appended and no attempt under its request ID got an answer
    /// before the write's deadline (no leader could be reached since, or none could commit
    /// it): it may still be committed.
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
    pub(super) raft: Raft,
    pub(super) sm: StateMachine,
    pub(super) dialer: Arc<Dialer>,
    pub(super) me: NodeInfo,
    admission: Admission,
    /// Reads waiting for a shared read index.
    reads: ReadRounds,
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
            reads: ReadRounds::default(),
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
            let file = crate::permissions::private_file()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&self.admission.marker)?;
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

    /// The Root of Trust KCV (hex) this node serves with.
    pub fn kcv(&self) -> &str {
        &self.me.kcv
    }

    /// What this node says about itself (incarnation as of now).
    pub fn info(&self) -> NodeInfo {
        NodeInfo {
            incarnation: self.sm.incarnation().ok().flatten(),
            ..self.me.clone()
        }
    }

    /// Proposes a store command and waits until it is committed and applied here (forwarded to
    /// the leader from a follower: applied by the leader, then here).
    pub async fn write(&self, command: Command) -> Result<Response, ClusterError> {
        self.propose(Request::store(command)).await
    }

    /// Proposes `request` until it is answered or [`WRITE_TIMEOUT`] passes, always under the
    /// request's own ID: an attempt that may have been appended (a forward sent without a
    /// reply, an entry discarded on a leader change, a leader that could not commit in time)
    /// is proposed again, to the leader of the moment, and the state machine's request window
    /// (`requests.rs`) applies the request at most once and answers every copy with the
    /// outcome of the first. [`ClusterError::Unknown`] only when the deadline passes after an
    /// attempt that may have been appended; [`ClusterError::NoQuorum`] when none may have been.
    pub(super) async fn propose(&self, request: Request) -> Result<Response, ClusterError> {
        let deadline = Instant::now() + WRITE_TIMEOUT;
        let mut maybe_appended = false;
        loop {
            // Timing out here, this node leads and may have appended the entry: a later leader
            // can still commit it.
            let local = timeout_at(deadline, self.raft.client_write(request.clone()))
                .await
                .map_err(|_| ClusterError::Unknown)?;
            let leader = match local {
                Ok(r) => return Ok(r.data),
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => f,
                // Appended here, then dropped on a leader change: another node may still
                // commit its copy. Asked again of the new leader under the same ID.
                Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(f))) => {
                    if !maybe_appended {
                        info!(request = %request.id, "{RETRYING}");
                    }
                    maybe_appended = true;
                    f
                }
                Err(RaftError::APIError(_)) => return Err(ClusterError::Unknown),
                Err(RaftError::Fatal(_)) => return Err(ClusterError::Unavailable),
            };
            let attempt = deadline.min(Instant::now() + FORWARD_ATTEMPT);
            match self
                .forward(&leader, Call::Forward(request.clone()), attempt)
                .await
            {
                Ok(Some(Reply::Forwarded { outcome, index })) => {
                    self.await_applied(index, deadline).await;
                    return Ok(outcome);
                }
                // Refused before it was appended, or not sent at all.
                Ok(Some(Reply::Refused(Refusal::NotLeader(_))) | None) => {}
                // Sent without a reply, or refused by a leader that may have appended it.
                Ok(Some(_)) | Err(ClusterError::Unknown) => {
                    if !maybe_appended {
                        info!(request = %request.id, "{RETRYING}");
                    }
                    maybe_appended = true;
                }
                Err(e) => return Err(e),
            }
            if Instant::now() + RETRY_PAUSE >= deadline {
                return Err(if maybe_appended {
                    ClusterError::Unknown
                } else {
                    ClusterError::NoQuorum
                });
            }
            sleep(RETRY_PAUSE).await;
        }
    }

    /// Waits (until `deadline`) until this node applied the entry at `index`: a write this node
    /// forwarded, committed and applied by the leader. What the caller reads next (the answer
    /// of the same request) must show it. The write stands either way; if it is not applied
    /// here in time (the node was cut off right after), the answer may show the state before
    /// it, which is logged.
    async fn await_applied(&self, index: u64, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        if self
            .raft
            .wait(Some(left))
            .applied_index_at_least(Some(index), "forwarded write")
            .await
            .is_err()
        {
            warn!(
                index,
                "a forwarded write is committed but not applied here in time; its answer may show the state before it"
            );
        }
    }

    /// Sends `call` to the leader named in `leader`, abandoned as soon as this node names
    /// another leader (`leader_call.rs`). `Ok(None)`: nothing was sent (no leader known, it
    /// could not be reached, or it was replaced first): the caller may try again.
    /// [`ClusterError::Unknown`]: it was sent and got no reply.
    pub(super) async fn forward(
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
        match self.call_leader(id, &node.raft_addr, call, left).await {
            Ok(reply) => Ok(Some(reply)),
            Err(Unanswered::NotSent) => Ok(None),
            Err(Unanswered::Sent) => Err(ClusterError::Unknown),
        }
    }

    /// A write forwarded by a follower: proposed here if this node leads, refused otherwise.
    pub async fn write_forwarded(&self, request: Request) -> Reply {
        let deadline = Instant::now() + WRITE_TIMEOUT;
        match timeout_at(deadline, self.raft.client_write(request)).await {
            Ok(Ok(r)) => Reply::Forwarded {
                outcome: r.data,
                index: r.log_id.index(),
            },
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                Reply::Refused(Refusal::NotLeader(f.leader_id))
            }
            Ok(Err(_)) => Reply::Refused(Refusal::Unavailable),
            Err(_) => Reply::Refused(Refusal::NoQuorum),
        }
    }

    /// Waits until this node's store reflects every write acknowledged anywhere before the
    /// call (read-index through the leader, shared with the reads waiting at the same time:
    /// `read_rounds.rs`). A node cut off from the majority fails here.
    pub async fn linearize(self: &Arc<Self>) -> Result<(), ClusterError> {
        let deadline = Instant::now() + READ_TIMEOUT;
        let (answer, start) = self.reads.join();
        if start {
            let node = Arc::clone(self);
            tokio::spawn(async move { node.read_rounds().await });
        }
        let index = match timeout_at(deadline, answer).await {
            Ok(Ok(index)) => index?,
            Ok(Err(_)) => return Err(ClusterError::Unavailable),
            Err(_) => return Err(ClusterError::NoQuorum),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        self.raft
            .wait(Some(left))
            .applied_index_at_least(Some(index), "linearizable read")
            .await
            .map(|_| ())
            .map_err(|_| ClusterError::NoQuorum)
    }

    /// Gets read indexes for the waiting reads, a round at a time, until none wait (see
    /// `read_rounds.rs`).
    async fn read_rounds(&self) {
        while let Some(round) = self.reads.next_round() {
            let index = self
                .read_index_now(Instant::now() + READ_TIMEOUT)
                .await
                .map_err(|e| (&e).into());
            for read in round {
                let _ = read.send(index);
            }
        }
    }

    /// A read index confirmed now: by the leader lease or a quorum on the leader, asked of
    /// the leader on a follower. Each ask of the leader is bounded by
    /// [`PeerTimeouts::read_index`](super::timing::PeerTimeouts) and abandoned when the leader
    /// changes (`leader_call.rs`), then asked again (of the new leader) until `deadline`: the
    /// reads of the node wait behind no call to a leader that died or froze.
    async fn read_index_now(&self, deadline: Instant) -> Result<u64, ClusterError> {
        let attempt = self.dialer.timeouts().read_index;
        loop {
            let local = timeout_at(deadline, self.raft.get_read_log_id(lease_read()))
                .await
                .map_err(|_| ClusterError::NoQuorum)?;
            let asked = match local {
                Ok((read, _)) => return Ok(read.index()),
                Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(f))) => {
                    // A read index has no effect on the leader: unanswered asks are repeated.
                    self.forward(&f, Call::ReadIndex, deadline.min(Instant::now() + attempt))
                        .await
                }
                Err(RaftError::APIError(LinearizableReadError::QuorumNotEnough(_))) => {
                    return Err(ClusterError::NoQuorum);
                }
                Err(RaftError::Fatal(_)) => return Err(ClusterError::Unavailable),
            };
            match asked {
                Ok(Some(Reply::ReadIndex(i))) => return Ok(i),
                Ok(Some(Reply::Refused(Refusal::NotLeader(_))) | None)
                | Err(ClusterError::Unknown) => {}
                Ok(Some(_)) => return Err(ClusterError::NoQuorum),
                Err(e) => return Err(e),
            }
            if Instant::now() + RETRY_PAUSE >= deadline {
                return Err(ClusterError::NoQuorum);
            }
            sleep(RETRY_PAUSE).await;
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

    /// Stops Raft (the log and state machine are durable as they are).
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            warn!(error = %e, "raft did not stop cleanly");
        }
    }

    /// Whether this node is the leader now (as far as it knows).
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow_watched().state == ServerState::Leader
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
            repeated_requests: self.sm.repeated_requests(),
        }
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

pub(super) fn refused(reply: Reply) -> ClusterError {
    match reply {
        Reply::Refused(Refusal::Membership(m)) => ClusterError::Membership(m),
        Reply::Refused(Refusal::NoQuorum | Refusal::NotLeader(_)) => ClusterError::NoQuorum,
        Reply::Refused(r) => ClusterError::Membership(r.to_string()),
        _ => ClusterError::Unknown,
    }
}
