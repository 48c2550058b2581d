//! The Raft type configuration of the cluster: node IDs (`server.node_id`, never reused), the
//! addresses a node publishes, log entry data (the store's [`Command`]s) and responses (a
//! command's deterministic outcome).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{Command, Rejection};

openraft::declare_raft_types!(
    /// Raft types of the KMS cluster.
    pub TypeConfig:
        D = Request,
        R = Response,
        NodeId = u64,
        Node = ClusterNode,
);

/// A Raft node ID (`server.node_id`; named in the node certificate as `urn:kms:node:<id>`).
pub type NodeId = u64;

/// What a node tells the cluster about itself (stored in membership entries).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterNode {
    /// Where clients reach its KMIP listener (`host:port`).
    pub kmip_addr: String,
    /// Where peers reach its Raft listener (`host:port`).
    pub raft_addr: String,
}

/// One log entry's data: a state change proposed by the leader after it did every
/// non-deterministic step (UIDs, timestamps, random material, HSM sealing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Chosen by the node that took the client request; names the request across nodes
    /// (logs, forwarding). Not interpreted by apply.
    pub id: Uuid,
    /// The change.
    pub op: Op,
}

/// A replicated change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// A store command, applied by the store's deterministic apply.
    Store(Command),
    /// Fixes the cluster incarnation ID. Proposed once, right after the cluster is
    /// initialised; the first one in the log wins and later ones change nothing.
    Incarnation(Incarnation),
    /// Retires a node ID before the node is removed: it is never accepted again.
    RetireNode(NodeId),
}

/// The outcome of applying a [`Request`]: the store's deterministic rejection, if any.
pub type Response = Result<(), Rejection>;

/// Names one life of a cluster: a UUID fixed when the cluster is bootstrapped and kept in every
/// node's store. A snapshot of another incarnation is refused, so a node never takes the state
/// of another (or a rebuilt) cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Incarnation(pub Uuid);

impl Incarnation {
    /// A fresh random incarnation ID (bootstrap).
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for Incarnation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Request {
    /// A store command under a fresh request ID.
    pub fn store(command: Command) -> Self {
        Self {
            id: Uuid::new_v4(),
            op: Op::Store(command),
        }
    }

    /// Retires a node ID (before its removal).
    pub fn retire_node(id: NodeId) -> Self {
        Self {
            id: Uuid::new_v4(),
            op: Op::RetireNode(id),
        }
    }

    /// The incarnation stamp proposed at bootstrap.
    pub fn incarnation(incarnation: Incarnation) -> Self {
        Self {
            id: Uuid::new_v4(),
            op: Op::Incarnation(incarnation),
        }
    }
}

/// Names the request only: commands carry records (sealed material, password hashes) that
/// have no place in logs.
impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.op {
            Op::Store(_) => write!(f, "request {}: store command", self.id),
            Op::Incarnation(i) => write!(f, "request {}: incarnation {i}", self.id),
            Op::RetireNode(n) => write!(f, "request {}: retire node {n}", self.id),
        }
    }
}
