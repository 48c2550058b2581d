//! The Raft listener: accepts mutual-TLS connections from peers, checks that each call comes
//! from the node its certificate names and with the same Root of Trust, and answers it.

use std::sync::Arc;
use std::time::Duration;

use openraft::type_config::alias::SnapshotOf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tracing::{debug, warn};

use super::peer_tls::PeerTls;
use super::raft_node::RaftNode;
use super::rpc::{Call, Envelope, Refusal, Reply, read_frame, write_frame};
use super::snapshot::{MAX_SNAPSHOT_BYTES, SnapshotData};
use super::types::TypeConfig;

/// Time allowed for a peer's TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a peer connection may sit idle between calls.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Time allowed for one call to arrive once it started.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Most concurrent peer connections (a few per peer: Raft streams and forwarded writes).
const MAX_CONNECTIONS: usize = 512;

/// Serves peers until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    tls: PeerTls,
    node: Arc<RaftNode>,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls.server.clone());
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => return,
            a = listener.accept() => a,
        };
        let Ok((tcp, peer_addr)) = accepted else {
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            debug!(%peer_addr, "peer connection refused: too many");
            continue;
        };
        let (acceptor, node, stop) = (acceptor.clone(), node.clone(), stop.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let _ = tcp.set_nodelay(true);
            let Ok(Ok(stream)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
            else {
                debug!(%peer_addr, "peer handshake failed");
                return;
            };
            serve_peer(stream, &node, stop).await;
        });
    }
}

async fn serve_peer(
    mut stream: TlsStream<TcpStream>,
    node: &RaftNode,
    mut stop: watch::Receiver<bool>,
) {
    let Some(peer) = PeerTls::peer_node(
        stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first()),
    ) else {
        warn!("peer certificate names no node: connection closed");
        return;
    };
    loop {
        let envelope = tokio::select! {
            _ = stop.changed() => return,
            e = read_frame::<_, Envelope>(&mut stream, IDLE_TIMEOUT, READ_TIMEOUT) => e,
        };
        let envelope = match envelope {
            Ok(Some(e)) => e,
            Ok(None) => return,
            Err(e) => {
                debug!(peer, error = %e, "peer connection closed");
                return;
            }
        };
        // A snapshot's bytes follow its envelope: a refused one leaves them unread, so the
        // connection ends after the answer.
        let streams_body = matches!(envelope.call, Call::Snapshot { .. });
        let refusal = if envelope.from != peer {
            warn!(
                peer,
                claimed = envelope.from,
                "peer claims another node ID than its certificate"
            );
            let _ = write_frame(&mut stream, &Reply::Refused(Refusal::WrongNode)).await;
            return;
        } else if envelope.kcv != node.kcv() {
            warn!(peer, peer_kcv = %envelope.kcv, "peer serves another Root of Trust: refused");
            Some(Refusal::KcvMismatch)
        } else if !node.is_admitted() && takes_part(&envelope.call) {
            Some(Refusal::NotAdmitted)
        } else {
            None
        };
        let body_left_unread = streams_body && refusal.is_some();
        let reply = match (refusal, envelope.call) {
            (Some(r), _) => Reply::Refused(r),
            (None, Call::Snapshot { vote, meta, len }) => {
                match take_snapshot(&mut stream, node, peer, vote, meta, len).await {
                    Some(reply) => reply,
                    None => {
                        let _ = write_frame(&mut stream, &Reply::Refused(Refusal::Snapshot)).await;
                        return;
                    }
                }
            }
            (None, call) => answer(node, call).await,
        };
        if write_frame(&mut stream, &reply).await.is_err() || body_left_unread {
            return;
        }
    }
}

/// Receives a snapshot's bytes and installs it; `None` when the bytes did not all arrive (the
/// connection is then out of step and must end).
async fn take_snapshot(
    stream: &mut TlsStream<TcpStream>,
    node: &RaftNode,
    peer: u64,
    vote: openraft::type_config::alias::VoteOf<TypeConfig>,
    meta: openraft::type_config::alias::SnapshotMetaOf<TypeConfig>,
    len: u64,
) -> Option<Reply> {
    let (path, data) = match receive_snapshot(stream, node, len).await {
        Ok(received) => received,
        Err(reason) => {
            warn!(peer, reason, "snapshot not received");
            return None;
        }
    };
    let snapshot = SnapshotOf::<TypeConfig, SnapshotData> {
        meta,
        snapshot: data,
    };
    let installed = node.raft().install_full_snapshot(vote, snapshot).await;
    // Installing copies the file (verified) into place.
    let _ = std::fs::remove_file(&path);
    Some(match installed {
        Ok(r) => Reply::Snapshot(r),
        Err(e) => {
            warn!(peer, error = %e, "snapshot not installed");
            Reply::Refused(Refusal::Snapshot)
        }
    })
}

/// Calls only an admitted node answers: replication, elections, snapshots.
fn takes_part(call: &Call) -> bool {
    matches!(
        call,
        Call::Append(_) | Call::Vote(_) | Call::PreVote(_) | Call::Snapshot { .. }
    )
}

async fn answer(node: &RaftNode, call: Call) -> Reply {
    let raft = node.raft();
    match call {
        Call::Append(rpc) => raft
            .append_entries(rpc)
            .await
            .map_or(Reply::Refused(Refusal::Unavailable), Reply::Append),
        Call::Vote(rpc) => raft
            .vote(rpc)
            .await
            .map_or(Reply::Refused(Refusal::Unavailable), Reply::Vote),
        Call::PreVote(rpc) => raft
            .pre_vote(rpc)
            .await
            .map_or(Reply::Refused(Refusal::Unavailable), Reply::Vote),
        Call::Forward(request) => node.write_forwarded(request).await,
        Call::ReadIndex => node.read_index().await,
        Call::Hello => Reply::Hello(node.info()),
        Call::AddNode { raft_addr } => match node.add_node(&raft_addr).await {
            Ok(info) => Reply::Added(info),
            Err(e) => Reply::Refused(Refusal::Membership(e.to_string())),
        },
        Call::RemoveNode { id } => match node.remove_node(id).await {
            Ok(()) => Reply::Removed,
            Err(e) => Reply::Refused(Refusal::Membership(e.to_string())),
        },
        Call::Admit => match node.admit() {
            Ok(()) => Reply::Admitted,
            Err(_) => Reply::Refused(Refusal::Unavailable),
        },
        Call::RebuildNode { id } => match node.rebuild_node(id).await {
            Ok(()) => Reply::Rebuilding,
            Err(e) => Reply::Refused(Refusal::Membership(e.to_string())),
        },
        Call::Snapshot { .. } => Reply::Refused(Refusal::Snapshot),
    }
}

/// Copies `len` bytes off the connection into a new file in the snapshot directory. The file
/// is checked (digest, incarnation) when installed.
async fn receive_snapshot(
    stream: &mut TlsStream<TcpStream>,
    node: &RaftNode,
    len: u64,
) -> Result<(std::path::PathBuf, SnapshotData), &'static str> {
    if len > MAX_SNAPSHOT_BYTES {
        return Err("snapshot larger than the limit");
    }
    let (path, file) = node
        .state_machine()
        .incoming_snapshot()
        .map_err(|_| "cannot create the snapshot file")?;
    let mut out = tokio::fs::File::from_std(file);
    let timeout = READ_TIMEOUT + Duration::from_millis(len / (10 << 10));
    let copied = tokio::time::timeout(timeout, async {
        let n = tokio::io::copy(&mut (&mut *stream).take(len), &mut out).await?;
        out.flush().await?;
        out.sync_all().await?;
        Ok::<_, std::io::Error>(n)
    })
    .await;
    match copied {
        Ok(Ok(n)) if n == len => {}
        _ => {
            let _ = std::fs::remove_file(&path);
            return Err("snapshot transfer incomplete");
        }
    }
    let file = out.into_std().await;
    Ok((path, SnapshotData::new(file)))
}
