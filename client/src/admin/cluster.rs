//! The cluster routes of the admin API (`/v1/cluster...`, operators): status, bootstrap,
//! adding and removing nodes, and the digest of the replicated state.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AdminClient;
use crate::error::Result;

/// `GET /v1/cluster`: what this node knows of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// This node's ID.
    pub node_id: u64,
    /// `leader`, `follower`, `candidate`, `learner` or `shutdown`.
    pub role: String,
    /// The leader this node knows of.
    #[serde(default)]
    pub leader: Option<u64>,
    /// Current term.
    pub term: u64,
    /// Index of the last log entry this node holds.
    #[serde(default)]
    pub last_log: Option<u64>,
    /// Index of the last entry known committed.
    #[serde(default)]
    pub committed: Option<u64>,
    /// Index of the last entry applied to this node's store.
    #[serde(default)]
    pub applied: Option<u64>,
    /// The cluster incarnation ID, once the cluster is initialised.
    #[serde(default)]
    pub incarnation: Option<String>,
    /// Voters and learners, by ID.
    #[serde(default)]
    pub members: Vec<ClusterMember>,
    /// `local`: this node's own view, answered even when it is cut off from the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
}

/// One member of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterMember {
    /// Its node ID (named in its certificate as `urn:kms:node:<id>`).
    pub id: u64,
    /// Where peers reach its Raft listener.
    pub raft_addr: String,
    /// Where clients reach its KMIP listener.
    pub kmip_addr: String,
    /// A voter (else a learner).
    pub voter: bool,
    /// On the leader: the last log index known replicated to it.
    #[serde(default)]
    pub matched: Option<u64>,
    /// On the leader: how many entries it is behind the leader's last log entry.
    #[serde(default)]
    pub lag: Option<u64>,
}

/// `GET /v1/cluster/digest`: SHA-256 over every replicated table of this node's store, as of
/// the applied index it names. Nodes at the same applied index must have the same digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDigest {
    /// The applied log index the digest was taken at.
    #[serde(default)]
    pub applied: Option<u64>,
    /// Lowercase hex SHA-256.
    pub digest: String,
    /// `local`: this node's state as it is (at `applied`), not linearized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
}

impl AdminClient {
    /// `GET /v1/cluster`.
    pub async fn cluster_status(&self) -> Result<ClusterStatus> {
        self.get("/v1/cluster").await
    }

    /// `POST /v1/backups`: a signed backup of the node's replicated state (operators): the
    /// JSON document with `manifest`, `signature` (base64 DER), `signer` (PEM) and `snapshot`
    /// (base64).
    pub async fn create_backup(&self) -> Result<serde_json::Value> {
        self.post("/v1/backups", json!({})).await
    }

    /// `POST /v1/cluster/init`: makes this node a one-voter cluster with a fresh incarnation
    /// ID. Refused (409) when the node already belongs to a cluster.
    pub async fn cluster_init(&self) -> Result<ClusterStatus> {
        self.post("/v1/cluster/init", json!({})).await
    }

    /// `POST /v1/cluster/nodes`: adds the node listening for Raft at `raft_addr` (its ID comes
    /// from its certificate), first as a learner, then as a voter once it caught up. Sent to
    /// the leader (a follower forwards it).
    pub async fn cluster_add_node(&self, raft_addr: &str) -> Result<ClusterMember> {
        self.post("/v1/cluster/nodes", json!({ "raft_addr": raft_addr }))
            .await
    }

    /// `DELETE /v1/cluster/nodes/{id}`: removes a node; its ID is never accepted again.
    pub async fn cluster_remove_node(&self, id: u64) -> Result<ClusterStatus> {
        self.endpoint
            .exchange("DELETE", &format!("/v1/cluster/nodes/{id}"), None)
            .await?
            .json()
    }

    /// `POST /v1/cluster/nodes/{id}/rebuild`: member `id` lost its data and was started
    /// empty; the leader lets it start over and sends it a snapshot.
    pub async fn cluster_rebuild_node(&self, id: u64) -> Result<ClusterStatus> {
        self.post(&format!("/v1/cluster/nodes/{id}/rebuild"), json!({}))
            .await
    }

    /// `GET /v1/cluster/digest`.
    pub async fn cluster_digest(&self) -> Result<StateDigest> {
        self.get("/v1/cluster/digest").await
    }
}
