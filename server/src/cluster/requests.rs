//! The request window: exactly-once application of a request proposed more than once.
//!
//! Every [`Request`](super::Request) carries an ID chosen by the node that took the client's
//! request, kept across that node's retries (`raft_node.rs`, `propose`). A retry whose first
//! attempt may have been appended (a forward sent without a reply, a leader change, a leader's
//! timeout) is proposed again under the same ID, so the log may hold the request twice. The
//! state machine records, for each request it applies, its ID, log index and outcome
//! (replicated tables `requests` and `request_order`, carried in snapshots); an entry whose ID
//! was applied within the window before it applies nothing and answers the recorded outcome.
//!
//! The bound, deterministic on every node: an entry at log index `i` repeats the request first
//! applied at `j` when `i - j <=` [`REQUEST_WINDOW`]. Records that left the window are dropped
//! whenever the applied index is recorded (each commit of the state machine): after applying up
//! to index `L` the tables hold exactly the requests first applied after `L - REQUEST_WINDOW`,
//! whatever the batching of entries into transactions, so the state digest and snapshots agree.

use std::collections::HashMap;

use uuid::Uuid;

use super::error::{ClusterStoreError, LogRecord};
use super::types::Response;
use crate::store::Store;
use crate::store::replica::{ReplicaRead, ReplicaWrite};

/// How many log indexes a request is remembered after the one it was first applied at. A
/// write's retries end with its deadline (8 s, `raft_node.rs`): the window covers them as long
/// as fewer entries than this are committed in that time (12 500 per second; a cluster
/// commits a few thousand). Each remembered request takes about 60 bytes of store.
pub const REQUEST_WINDOW: u64 = 100_000;

/// What one apply call knows of the window: the state before it (a read view taken when its
/// transaction began) and the requests it applied since. Looked up outside the write
/// transaction, which must stay untouched before a command that takes a savepoint.
pub(super) struct Window {
    before: ReplicaRead,
    applied: HashMap<Uuid, (u64, Response)>,
}

impl Window {
    /// The window as of now. Open it after the write transaction began: redb has one writer,
    /// so the view is that transaction's starting state.
    pub(super) fn open(store: &Store) -> Result<Self, ClusterStoreError> {
        Ok(Self {
            before: store.replica_read()?,
            applied: HashMap::new(),
        })
    }

    /// The outcome of request `id` if it was first applied within the window before `index`
    /// (and the index it was applied at).
    pub(super) fn earlier(
        &self,
        id: Uuid,
        index: u64,
    ) -> Result<Option<(u64, Response)>, ClusterStoreError> {
        let found = match self.applied.get(&id) {
            Some((at, outcome)) => Some((*at, outcome.clone())),
            None => match self.before.request(id.as_u128())? {
                Some((at, bytes)) => Some((at, decode(&bytes)?)),
                None => None,
            },
        };
        Ok(found.filter(|(at, _)| index.saturating_sub(*at) <= REQUEST_WINDOW))
    }

    /// Records that request `id` was applied at `index` with `outcome`.
    pub(super) fn record(
        &mut self,
        w: &mut ReplicaWrite,
        id: Uuid,
        index: u64,
        outcome: &Response,
    ) -> Result<(), ClusterStoreError> {
        let bytes = postcard::to_allocvec(outcome).map_err(ClusterStoreError::Encode)?;
        w.record_request(id.as_u128(), index, &bytes)?;
        self.applied.insert(id, (index, outcome.clone()));
        Ok(())
    }
}

/// Drops the requests that left the window once entries up to `applied` are applied.
pub(super) fn prune(w: &mut ReplicaWrite, applied: Option<u64>) -> Result<(), ClusterStoreError> {
    if let Some(through) = applied.and_then(|a| a.checked_sub(REQUEST_WINDOW)) {
        w.forget_requests_through(through)?;
    }
    Ok(())
}

fn decode(bytes: &[u8]) -> Result<Response, ClusterStoreError> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok(_) => Err(ClusterStoreError::Corrupt {
            what: LogRecord::RequestOutcome,
            source: postcard::Error::DeserializeBadEncoding,
        }),
        Err(source) => Err(ClusterStoreError::Corrupt {
            what: LogRecord::RequestOutcome,
            source,
        }),
    }
}
