//! openraft's network over [`Dialer`]: append, vote, pre-vote and full snapshots to a peer.

use std::future::Future;
use std::sync::Arc;

use openraft::error::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, v2::RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::type_config::alias::{SnapshotOf, VoteOf};

use super::dialer::{DialError, Dialer};
use super::rpc::{Call, Reply};
use super::snapshot::SnapshotData;
use super::types::{ClusterNode, NodeId, TypeConfig};

/// Makes a [`PeerLink`] per peer.
#[derive(Clone, Debug)]
pub struct Network {
    dialer: Arc<Dialer>,
}

impl Network {
    /// A network calling peers through `dialer`.
    pub fn new(dialer: Arc<Dialer>) -> Self {
        Self { dialer }
    }
}

/// The calls to one peer.
#[derive(Debug)]
pub struct PeerLink {
    dialer: Arc<Dialer>,
    target: NodeId,
    addr: String,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerLink;

    async fn new_client(&mut self, target: NodeId, node: &ClusterNode) -> PeerLink {
        PeerLink {
            dialer: self.dialer.clone(),
            target,
            addr: node.raft_addr.clone(),
        }
    }
}

fn unreachable(e: &DialError) -> RPCError<TypeConfig> {
    match e {
        DialError::Wire { .. } => RPCError::Network(NetworkError::new(e)),
        _ => RPCError::Unreachable(Unreachable::new(e)),
    }
}

fn unexpected(reply: &Reply) -> RPCError<TypeConfig> {
    match reply {
        Reply::Refused(r) => RPCError::Unreachable(Unreachable::new(r)),
        _ => RPCError::Network(NetworkError::from_string("unexpected reply")),
    }
}

impl PeerLink {
    async fn call(&self, call: Call, option: &RPCOption) -> Result<Reply, RPCError<TypeConfig>> {
        self.dialer
            .call(&self.addr, Some(self.target), call, option.hard_ttl())
            .await
            .map(|(_, reply)| reply)
            .map_err(|e| unreachable(&e))
    }
}

impl RaftNetworkV2<TypeConfig> for PeerLink {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self.call(Call::Append(rpc), &option).await? {
            Reply::Append(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self.call(Call::Vote(rpc), &option).await? {
            Reply::Vote(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self.call(Call::PreVote(rpc), &option).await? {
            Reply::Vote(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: VoteOf<TypeConfig>,
        snapshot: SnapshotOf<TypeConfig, SnapshotData>,
        cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let meta = snapshot.meta.clone();
        let file = snapshot
            .snapshot
            .into_file()
            .map_err(|e| StreamingError::Unreachable(Unreachable::new(&e)))?;
        let len = file
            .metadata()
            .map_err(|e| StreamingError::Unreachable(Unreachable::new(&e)))?
            .len();
        let call = Call::Snapshot { vote, meta, len };
        // A snapshot of gigabytes takes a while: allow a generous time per byte.
        let timeout = option.hard_ttl().max(std::time::Duration::from_secs(30))
            + std::time::Duration::from_millis(len / (10 << 10));
        let send = self.dialer.send_snapshot(
            &self.addr,
            self.target,
            call,
            tokio::fs::File::from_std(file),
            timeout,
        );
        let reply = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            r = send => r.map_err(|e| StreamingError::Unreachable(Unreachable::new(&e)))?,
        };
        match reply {
            Reply::Snapshot(r) => Ok(r),
            Reply::Refused(r) => Err(StreamingError::Unreachable(Unreachable::new(&r))),
            _ => Err(StreamingError::Network(NetworkError::from_string(
                "unexpected reply",
            ))),
        }
    }
}
