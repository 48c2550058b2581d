//! Replication across nodes with Raft (`openraft`) over redb: the type configuration, the Raft
//! log store (`raft-log.redb`), the state machine over the node's store, snapshots, the
//! node-to-node protocol over mutual TLS, and this node's member ([`RaftNode`]): replicated
//! writes, linearizable reads, membership (see `docs/ARCHITECTURE.md`, Replication).

pub mod backup_file;
mod dialer;
pub mod error;
mod leader_call;
mod listener;
pub mod log_store;
mod log_writer;
mod membership;
mod network;
pub mod peer_tls;
pub mod raft_node;
mod read_rounds;
pub mod requests;
pub mod rpc;
pub mod snapshot;
mod start;
pub mod state_machine;
mod timing;
pub mod types;

use std::path::Path;

pub use error::ClusterStoreError;
pub use log_store::{LogReader, LogStore};
pub use raft_node::{ClusterError, RaftNode};
pub use snapshot::SnapshotData;
pub use start::{ClusterStartError, StartArgs, Started, start};
pub use state_machine::{AppliedRecords, SnapshotBuilder, StateMachine};
pub use types::{ClusterNode, Incarnation, NodeId, Op, Request, Response, TypeConfig};

use crate::store::Store;

/// The Raft log's database file, in the node's data directory.
pub const RAFT_LOG_FILE: &str = "raft-log.redb";
/// The snapshot directory, in the node's data directory.
pub const SNAPSHOT_DIR: &str = "raft-snapshots";

/// Opens the Raft log store and the state machine of a node whose data directory is
/// `data_dir` and whose store is `store`.
pub fn open_storage(
    data_dir: &Path,
    store: Store,
) -> Result<(LogStore, StateMachine), ClusterStoreError> {
    let log = LogStore::open(&data_dir.join(RAFT_LOG_FILE))?;
    let sm = StateMachine::open(store, &data_dir.join(SNAPSHOT_DIR))?;
    Ok((log, sm))
}

#[cfg(test)]
mod tests;
