//! A linearizability checker for the recorded history of one managed object (a key), in the
//! style of Wing and Gong with Lowe's memoization: it searches for an order of the operations
//! that respects real time (an operation answered before another was invoked comes first) and
//! that the sequential model of one key ([`model`]) accepts, answer by answer.
//!
//! Operations whose outcome is unknown (a timeout, a lost connection, "outcome unknown") may
//! have been applied or not: the search may place them anywhere after their invocation, with
//! whatever answer the model gives, or leave them out. Operations refused with "nothing done"
//! and reads that got no answer are not part of a history at all (the recorder drops them).
//!
//! A history of many keys is checked key by key (linearizability is compositional: the whole is
//! linearizable when every object's history is). [`stale_reads`] names, apart from that verdict,
//! the reads that saw a key older than a write acknowledged before they began: with a lifecycle
//! that only moves forward this is a simple real-time check, and it says what went wrong more
//! plainly than a failed search.

pub mod model;
mod search;

#[cfg(test)]
mod tests;

pub use model::{Answer, Call, KeyModel, Lifecycle};
pub use search::{Verdict, check};

/// What became of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response {
    /// The server answered at this time (nanoseconds since the history's start).
    Answered {
        /// When the answer arrived.
        at: u64,
        /// What it said.
        answer: Answer,
    },
    /// Sent, never answered, or answered "outcome unknown": it may have been applied.
    Unknown,
}

/// One operation on the key: what was asked, when, and what became of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    /// What was asked.
    pub call: Call,
    /// When it was sent (nanoseconds since the history's start), before the request left.
    pub invoked: u64,
    /// What became of it.
    pub response: Response,
}

impl Op {
    /// An operation answered at `at` with `answer`.
    pub fn answered(call: Call, invoked: u64, at: u64, answer: Answer) -> Self {
        Self {
            call,
            invoked,
            response: Response::Answered { at, answer },
        }
    }

    /// An operation whose outcome is unknown.
    pub fn unknown(call: Call, invoked: u64) -> Self {
        Self {
            call,
            invoked,
            response: Response::Unknown,
        }
    }

    /// When it was answered; `u64::MAX` when never.
    pub fn answered_at(&self) -> u64 {
        match self.response {
            Response::Answered { at, .. } => at,
            Response::Unknown => u64::MAX,
        }
    }
}

/// The indexes of the reads in `ops` that saw the key in a state older than a write
/// acknowledged before the read was invoked: a key not found after its Create was
/// acknowledged, key material or a live state after an acknowledged Destroy, a live state
/// after an acknowledged Revoke.
pub fn stale_reads(ops: &[Op]) -> Vec<usize> {
    let mut stale = Vec::new();
    for (i, read) in ops.iter().enumerate() {
        let Response::Answered { answer, .. } = read.response else {
            continue;
        };
        let Some((_, newest_seen)) = model::levels_a_read_shows(read.call, answer) else {
            continue;
        };
        let acknowledged = ops
            .iter()
            .filter(|w| w.answered_at() < read.invoked)
            .filter_map(|w| match w.response {
                Response::Answered { answer, .. } => model::level_a_write_proves(w.call, answer),
                Response::Unknown => None,
            })
            .max();
        if acknowledged.is_some_and(|level| level > newest_seen) {
            stale.push(i);
        }
    }
    stale
}
