//! Starting a node's Raft member: storage, openraft with the node's timing, the peer dialer and
//! the Raft listener.

use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::dialer::Dialer;
use super::listener;
use super::network::Network;
use super::peer_tls::PeerTls;
use super::raft_node::{Raft, RaftNode};
use super::rpc::NodeInfo;
use super::timing::PeerTimeouts;
use super::types::NodeId;
use crate::config::ClusterSettings;
use crate::store::Store;

/// Log entries kept behind a snapshot, so a briefly lagging follower catches up from the log.
const LOGS_KEPT_AFTER_SNAPSHOT: u64 = 1_000;

/// Why the Raft member could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterStartError {
    /// Node certificate or CA unusable for node-to-node TLS.
    #[error("node-to-node TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The Raft log or state machine could not be opened.
    #[error("raft storage: {0}")]
    Storage(#[from] super::ClusterStoreError),
    /// openraft refused the configuration or failed to start.
    #[error("raft: {0}")]
    Raft(String),
    /// The Raft listener could not be bound.
    #[error("binding the Raft listener: {0}")]
    Bind(#[source] std::io::Error),
}

/// A started Raft member and its listener task.
#[derive(Debug)]
pub struct Started {
    /// The member.
    pub node: Arc<RaftNode>,
    /// The Raft listener's task (ends when `stop` turns true).
    pub task: JoinHandle<()>,
    /// The Raft listener's address (the real port when configured with port 0).
    pub addr: std::net::SocketAddr,
}

/// What a node needs to join the cluster.
#[derive(Debug)]
pub struct StartArgs<'a> {
    /// This node's ID.
    pub node_id: NodeId,
    /// `[cluster]`.
    pub settings: &'a ClusterSettings,
    /// The node certificate and CA, reloadable.
    pub tls: &'a crate::tls::Certificates,
    /// The node's data directory (Raft log, snapshots).
    pub data_dir: &'a Path,
    /// The node's store.
    pub store: Store,
    /// Takes the records of replicated changes for the node's audit log (the command log's
    /// hand-off).
    pub audit: Arc<dyn super::AppliedRecords>,
    /// The Root of Trust KCV (hex) this node serves with.
    pub kcv: String,
}

/// Opens the Raft storage, starts openraft and the Raft listener.
pub async fn start(
    args: StartArgs<'_>,
    stop: watch::Receiver<bool>,
) -> Result<Started, ClusterStartError> {
    let s = args.settings;
    let tls = PeerTls::from_certificates(args.tls)?;
    let (log, sm) = super::open_storage(args.data_dir, args.store)?;
    let sm = sm.with_audit(args.audit);
    let heartbeat = u64::try_from(s.heartbeat.as_millis()).unwrap_or(u64::MAX);
    let election = u64::try_from(s.election_timeout.as_millis()).unwrap_or(u64::MAX);
    let config = openraft::Config {
        cluster_name: "kms".into(),
        heartbeat_interval: heartbeat,
        election_timeout_min: election,
        // openraft's leader lease is the longest election timeout: a follower votes for a new
        // leader only once the lease of the old one ran out, so failover takes the lease plus
        // an election timeout. 1.5x keeps the randomisation and shortens both.
        election_timeout_max: election.saturating_add(election / 2),
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(s.snapshot_every),
        max_in_snapshot_log_to_keep: LOGS_KEPT_AFTER_SNAPSHOT.min(s.snapshot_every),
        enable_pre_vote: Some(true),
        ..Default::default()
    }
    .validate()
    .map_err(|e| ClusterStartError::Raft(e.to_string()))?;
    let listener = TcpListener::bind(s.listen)
        .await
        .map_err(ClusterStartError::Bind)?;
    let addr = listener.local_addr().map_err(ClusterStartError::Bind)?;
    let dialer = Arc::new(Dialer::new(
        &tls,
        args.node_id,
        args.kcv.clone(),
        Some(s.listen.ip()),
        PeerTimeouts::new(s),
    ));
    let raft = Raft::new(
        args.node_id,
        Arc::new(config),
        Network::new(dialer.clone()),
        log,
        sm.clone(),
    )
    .await
    .map_err(|e| ClusterStartError::Raft(e.to_string()))?;
    let me = NodeInfo {
        id: args.node_id,
        raft_addr: s.advertise.clone(),
        kmip_addr: s.kmip_advertise.clone(),
        kcv: args.kcv,
        incarnation: None,
    };
    let node = Arc::new(RaftNode::new(raft, sm, dialer, me, args.data_dir).await);
    let task = tokio::spawn(listener::serve(listener, tls, node.clone(), stop));
    Ok(Started { node, task, addr })
}
