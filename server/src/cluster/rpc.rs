//! The node-to-node wire protocol, over mutual TLS with node certificates: each message is a
//! 4-byte big-endian length and a postcard body. A caller sends an [`Envelope`] and reads one
//! [`Reply`]; a snapshot's bytes follow its envelope raw. Lengths are checked against
//! [`MAX_FRAME`] before anything is allocated.

use std::time::Duration;

use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::type_config::alias::{SnapshotMetaOf, VoteOf};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::types::{Incarnation, NodeId, Request, Response, TypeConfig};

/// Largest frame: an append of many entries, each bounded by the KMIP message size.
pub const MAX_FRAME: u32 = 256 << 20;

/// One call from a node: who sends it (must be the node its certificate names), the Root of
/// Trust KCV it serves with (must equal the receiver's), and the call.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender's node ID.
    pub from: NodeId,
    /// The sender's Root of Trust key check value (hex).
    pub kcv: String,
    /// What is asked.
    pub call: Call,
}

/// What one node asks another.
#[derive(Debug, Serialize, Deserialize)]
pub enum Call {
    /// Raft log replication (and heartbeats).
    Append(AppendEntriesRequest<TypeConfig>),
    /// Raft election.
    Vote(VoteRequest<TypeConfig>),
    /// Raft pre-vote (does not disturb a healthy leader).
    PreVote(VoteRequest<TypeConfig>),
    /// A full snapshot of `len` bytes follows this envelope.
    Snapshot {
        /// The leader's vote.
        vote: VoteOf<TypeConfig>,
        /// What the snapshot holds.
        meta: SnapshotMetaOf<TypeConfig>,
        /// Its size in bytes.
        len: u64,
    },
    /// A write a follower took from a client, for the leader to propose.
    Forward(Request),
    /// A follower's read: the log index it must apply up to before answering.
    ReadIndex,
    /// Who are you (sent before a node is added).
    Hello,
    /// An operator's add-node call taken by a follower.
    AddNode {
        /// The new node's Raft address.
        raft_addr: String,
    },
    /// The leader admits this node into Raft traffic (before adding or rebuilding it).
    Admit,
    /// An operator's rebuild-node call taken by a follower.
    RebuildNode {
        /// The node whose data was lost.
        id: NodeId,
    },
    /// An operator's remove-node call taken by a follower.
    RemoveNode {
        /// The node to remove.
        id: NodeId,
    },
}

/// The answer to one [`Call`].
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// To [`Call::Append`].
    Append(AppendEntriesResponse<TypeConfig>),
    /// To [`Call::Vote`] and [`Call::PreVote`].
    Vote(VoteResponse<TypeConfig>),
    /// To [`Call::Snapshot`].
    Snapshot(SnapshotResponse<TypeConfig>),
    /// To [`Call::Forward`]: the deterministic outcome of the write, and the log index it was
    /// committed at (the follower waits until it applied it before it answers its client).
    Forwarded {
        /// The outcome.
        outcome: Response,
        /// The write's log index.
        index: u64,
    },
    /// To [`Call::ReadIndex`].
    ReadIndex(u64),
    /// To [`Call::Hello`].
    Hello(NodeInfo),
    /// To [`Call::AddNode`]: the node added.
    Added(NodeInfo),
    /// To [`Call::RemoveNode`].
    Removed,
    /// To [`Call::Admit`].
    Admitted,
    /// To [`Call::RebuildNode`].
    Rebuilding,
    /// The call was not carried out.
    Refused(Refusal),
}

/// What a node says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Its node ID.
    pub id: NodeId,
    /// Where peers reach its Raft listener.
    pub raft_addr: String,
    /// Where clients reach its KMIP listener.
    pub kmip_addr: String,
    /// Its Root of Trust KCV (hex).
    pub kcv: String,
    /// The cluster it belongs to, if any.
    pub incarnation: Option<Incarnation>,
}

/// Why a call was not carried out. Fixed texts only: nothing internal crosses the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// This node is not the leader (the one it knows of, if any).
    #[error("not the leader")]
    NotLeader(Option<NodeId>),
    /// The leader could not confirm its leadership or commit in time.
    #[error("no quorum")]
    NoQuorum,
    /// The caller's Root of Trust differs from this node's.
    #[error("root of trust KCV differs")]
    KcvMismatch,
    /// The sender is not the node its certificate names.
    #[error("sender does not match its certificate")]
    WrongNode,
    /// A membership change was refused (reason in fixed words).
    #[error("membership change refused: {0}")]
    Membership(String),
    /// The node is shutting down or failed.
    #[error("node unavailable")]
    Unavailable,
    /// This node holds no Raft state and was not admitted: it takes no part in replication or
    /// elections (a member whose data was lost must be rebuilt by an operator).
    #[error("node not admitted")]
    NotAdmitted,
    /// The snapshot could not be received or installed.
    #[error("snapshot refused")]
    Snapshot,
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The socket failed or closed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// Nothing (or not all) arrived in time.
    #[error("timed out")]
    Timeout,
    /// The frame is larger than [`MAX_FRAME`].
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(u32),
    /// The frame does not decode (or encode).
    #[error("malformed frame")]
    Malformed(#[source] postcard::Error),
}

/// Writes one frame.
pub async fn write_frame<S: AsyncWrite + Unpin, T: Serialize>(
    stream: &mut S,
    value: &T,
) -> Result<(), WireError> {
    let body = postcard::to_allocvec(value).map_err(WireError::Malformed)?;
    let len = u32::try_from(body.len())
        .ok()
        .filter(|l| *l <= MAX_FRAME)
        .ok_or(WireError::TooLarge(u32::MAX))?;
    stream.write_all(&len.to_be_bytes()).await?;
    stream.write_all(&body).await?;
    stream.flush().await?;
    Ok(())
}

/// Reads one frame; `Ok(None)` is a clean close before it. The first byte may take `idle`; the
/// rest must follow within `read`.
pub async fn read_frame<S: AsyncRead + Unpin, T: DeserializeOwned>(
    stream: &mut S,
    idle: Duration,
    read: Duration,
) -> Result<Option<T>, WireError> {
    let mut len = [0u8; 4];
    let n = tokio::time::timeout(idle, stream.read(&mut len[..1]))
        .await
        .map_err(|_| WireError::Timeout)??;
    if n == 0 {
        return Ok(None);
    }
    let body = tokio::time::timeout(read, async {
        stream.read_exact(&mut len[1..]).await?;
        let len = u32::from_be_bytes(len);
        if len > MAX_FRAME {
            return Err(WireError::TooLarge(len));
        }
        // Grows as bytes arrive: a peer announcing a large frame and sending nothing pins
        // nothing.
        let mut body = Vec::new();
        let got = (&mut *stream)
            .take(u64::from(len))
            .read_to_end(&mut body)
            .await?;
        if got != len as usize {
            return Err(WireError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(body)
    })
    .await
    .map_err(|_| WireError::Timeout)??;
    postcard::from_bytes(&body)
        .map(Some)
        .map_err(WireError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn frames_round_trip_and_oversized_ones_are_refused_before_allocation() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        let sent = Envelope {
            from: 2,
            kcv: "abcdef".into(),
            call: Call::AddNode {
                raft_addr: "10.0.0.2:5698".into(),
            },
        };
        write_frame(&mut a, &sent).await.unwrap();
        let got: Envelope = read_frame(&mut b, T, T).await.unwrap().unwrap();
        assert_eq!(got.from, 2);
        assert!(matches!(got.call, Call::AddNode { raft_addr } if raft_addr == "10.0.0.2:5698"));

        a.write_all(&(MAX_FRAME + 1).to_be_bytes()).await.unwrap();
        let e = read_frame::<_, Envelope>(&mut b, T, T).await.unwrap_err();
        assert!(
            matches!(e, WireError::TooLarge(n) if n == MAX_FRAME + 1),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_truncated_or_garbled_frame_is_an_error_and_a_close_is_none() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        a.write_all(&3u32.to_be_bytes()).await.unwrap();
        a.write_all(&[0xff, 0xff, 0xff]).await.unwrap();
        let e = read_frame::<_, Envelope>(&mut b, T, T).await.unwrap_err();
        assert!(matches!(e, WireError::Malformed(_)), "{e}");
        a.write_all(&10u32.to_be_bytes()).await.unwrap();
        a.write_all(&[1, 2]).await.unwrap();
        drop(a);
        assert!(read_frame::<_, Envelope>(&mut b, T, T).await.is_err());
        let (a, mut b) = tokio::io::duplex(16);
        drop(a);
        assert!(
            read_frame::<_, Envelope>(&mut b, T, T)
                .await
                .unwrap()
                .is_none()
        );
    }
}
