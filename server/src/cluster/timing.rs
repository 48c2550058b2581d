//! How long this node waits for its peers, sized from the election timeout (`[cluster]
//! election_timeout_ms`) rather than fixed: a peer that takes longer than an election timeout
//! to open a connection or to confirm a read index would lose its leadership for missed
//! heartbeats too, so waiting longer only holds this node's clients behind a peer that the
//! cluster is about to replace. Calls to the leader also end as soon as this node learns of a
//! leader change (`leader_call.rs`); these bounds cover the time before it does.

use std::time::Duration;

use crate::config::ClusterSettings;

/// The bounds of calls to peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerTimeouts {
    /// Opening a connection to a peer, TCP and TLS: the shortest election timeout. A paused
    /// peer's kernel still accepts TCP, so this bounds the TLS handshake it never answers.
    pub connect: Duration,
    /// One attempt at a read index from the leader: the shortest election timeout. A healthy
    /// leader answers within a heartbeat round trip; a round that gets no answer in time asks
    /// again (the leader it names may have changed meanwhile) until the read's own deadline.
    pub read_index: Duration,
}

impl PeerTimeouts {
    /// The bounds for a cluster with these settings.
    pub fn new(settings: &ClusterSettings) -> Self {
        Self::from_election_timeout(settings.election_timeout)
    }

    /// The bounds for the shortest election timeout `election`.
    pub fn from_election_timeout(election: Duration) -> Self {
        Self {
            connect: election,
            read_index: election,
        }
    }
}
