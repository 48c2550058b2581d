//! The cluster routes (operators): status, bootstrap, adding and removing nodes, and the
//! digest of the replicated state (`docs/ADMIN-API.md`, Cluster).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use openraft::ServerState;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AdminState;
use super::auth::Caller;
use super::consistency::LOCAL_VIEW;
use super::error::ApiError;
use crate::cluster::RaftNode;

fn cluster(state: &AdminState) -> Result<&Arc<RaftNode>, ApiError> {
    state.kms.cluster().ok_or(ApiError::NotClustered)
}

/// `GET /v1/cluster`: what this node knows of the cluster, answered even when it is cut off
/// (not linearized; `"view": "local"`).
pub(crate) async fn status(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(status_of(cluster(&state)?)?))
}

/// The status document of `node`.
pub(crate) fn status_of(node: &RaftNode) -> Result<Value, ApiError> {
    let m = node.metrics();
    let membership = m.membership_config.membership();
    let voters: Vec<u64> = membership.voter_ids().collect();
    let last = m.last_log_index;
    let members: Vec<Value> = membership
        .nodes()
        .map(|(id, n)| {
            let matched = m
                .replication
                .as_ref()
                .and_then(|r| r.get(id))
                .map(|l| l.as_ref().map_or(0, |l| l.index));
            json!({
                "id": id,
                "raft_addr": n.raft_addr,
                "kmip_addr": n.kmip_addr,
                "voter": voters.contains(id),
                "matched": matched,
                "lag": matched.map(|x| last.unwrap_or(0).saturating_sub(x)),
            })
        })
        .collect();
    let incarnation = node
        .state_machine()
        .incarnation()
        .map_err(crate::cluster::ClusterError::from)?;
    Ok(json!({
        "node_id": node.id(),
        "role": role(m.state),
        "leader": m.current_leader,
        "term": m.current_term,
        "last_log": last,
        "committed": m.local_committed.as_ref().map(|l| l.index),
        "applied": m.last_applied.as_ref().map(|l| l.index),
        "incarnation": incarnation.map(|i| i.to_string()),
        "members": members,
        "view": LOCAL_VIEW,
    }))
}

/// The role names of the status document and the metrics.
pub(crate) fn role(state: ServerState) -> &'static str {
    match state {
        ServerState::Leader => "leader",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Learner => "learner",
        ServerState::Shutdown => "shutdown",
    }
}

/// `POST /v1/cluster/init`.
pub(crate) async fn init(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
) -> Result<Json<Value>, ApiError> {
    let node = cluster(&state)?;
    node.init().await?;
    Ok(Json(status_of(node)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddNode {
    raft_addr: String,
}

/// `POST /v1/cluster/nodes` `{"raft_addr": "host:port"}`.
pub(crate) async fn add_node(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let node = cluster(&state)?;
    let body: AddNode =
        serde_json::from_slice(&body).map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    if body.raft_addr.len() > 255 || !body.raft_addr.contains(':') {
        return Err(ApiError::BadRequest("raft_addr must be host:port"));
    }
    let info = node.add_node(&body.raft_addr).await?;
    Ok(Json(json!({
        "id": info.id,
        "raft_addr": info.raft_addr,
        "kmip_addr": info.kmip_addr,
        "voter": true,
    })))
}

/// `DELETE /v1/cluster/nodes/{id}`.
pub(crate) async fn remove_node(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<u64>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = node_id(path)?;
    let node = cluster(&state)?;
    node.remove_node(id).await?;
    Ok(Json(status_of(node)?))
}

/// `POST /v1/cluster/nodes/{id}/rebuild`: member `id` lost its data and restarted empty.
pub(crate) async fn rebuild_node(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<u64>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = node_id(path)?;
    let node = cluster(&state)?;
    node.rebuild_node(id).await?;
    Ok(Json(status_of(node)?))
}

/// The `{id}` of a `/v1/cluster/nodes/{id}` route.
fn node_id(path: Result<Path<u64>, PathRejection>) -> Result<u64, ApiError> {
    let Path(id) = path.map_err(|_| ApiError::BadRequest("node ID must be a number"))?;
    Ok(id)
}

/// `GET /v1/cluster/digest`: this node's state at the applied index it names, answered even when
/// it is cut off (not linearized; `"view": "local"`), so diverged nodes can be compared.
pub(crate) async fn digest(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
) -> Result<Json<Value>, ApiError> {
    let sm = cluster(&state)?.state_machine().clone();
    let (applied, digest) = tokio::task::spawn_blocking(move || sm.digest())
        .await
        .map_err(|e| ApiError::Internal(crate::tenancy::AdminError::Task(e)))?
        .map_err(crate::cluster::ClusterError::from)?;
    Ok(Json(
        json!({ "applied": applied, "digest": hex::encode(digest), "view": LOCAL_VIEW }),
    ))
}
