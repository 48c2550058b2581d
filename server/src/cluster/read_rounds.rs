//! Read indexes shared by the reads that wait together. Every KMIP message asks for a read
//! index before it reads (see `RaftNode::linearize`): a message to the Raft core on the
//! leader, a round trip to the leader on a follower. Asked one by one, that is one core
//! message or one network round trip per KMIP message. Here the reads that arrive while one
//! round is in flight wait for the next round and share its answer.
//!
//! Why a shared answer is linearizable: a round starts only after every read in it arrived, so
//! the index it gets is at least the commit index at each read's arrival, which is what each
//! read needs. Reads that arrive during a round are never answered by it.
//!
//! Rounds run in a task of their own, so a read whose caller goes away (a closed connection)
//! never stalls the others. A round's ask of the leader is bounded by one election timeout and
//! abandoned as soon as the leader changes, then made again (`RaftNode::read_index_now`,
//! `leader_call.rs`): the reads waiting for the next round never wait behind a call to a
//! leader that died or froze.

use std::sync::Mutex;

use tokio::sync::oneshot;

use super::raft_node::ClusterError;

/// How a round failed, for every read in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReadFailure {
    NoQuorum,
    Unavailable,
}

impl From<&ClusterError> for ReadFailure {
    fn from(e: &ClusterError) -> Self {
        match e {
            ClusterError::NoQuorum | ClusterError::Unknown => Self::NoQuorum,
            _ => Self::Unavailable,
        }
    }
}

impl From<ReadFailure> for ClusterError {
    fn from(f: ReadFailure) -> Self {
        match f {
            ReadFailure::NoQuorum => Self::NoQuorum,
            ReadFailure::Unavailable => Self::Unavailable,
        }
    }
}

type Waiter = oneshot::Sender<Result<u64, ReadFailure>>;

#[derive(Debug, Default)]
struct Rounds {
    /// A round task exists (it takes the waiting reads until there are none).
    running: bool,
    waiting: Vec<Waiter>,
}

/// The reads waiting for the next round.
#[derive(Debug, Default)]
pub(super) struct ReadRounds {
    rounds: Mutex<Rounds>,
}

impl ReadRounds {
    /// Joins the next round. `true`: no round task runs; the caller must start one.
    pub(super) fn join(&self) -> (oneshot::Receiver<Result<u64, ReadFailure>>, bool) {
        let (tx, rx) = oneshot::channel();
        let Ok(mut rounds) = self.rounds.lock() else {
            // a poisoned lock: the dropped sender answers "unavailable"
            return (rx, false);
        };
        rounds.waiting.push(tx);
        let start = !rounds.running;
        rounds.running = true;
        (rx, start)
    }

    /// The reads of the next round, or `None` (and the round task ends) when none wait.
    pub(super) fn next_round(&self) -> Option<Vec<Waiter>> {
        let mut rounds = self.rounds.lock().ok()?;
        if rounds.waiting.is_empty() {
            rounds.running = false;
            return None;
        }
        Some(std::mem::take(&mut rounds.waiting))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_that_arrive_during_a_round_wait_for_the_next() {
        let rounds = ReadRounds::default();
        let (mut first, start) = rounds.join();
        assert!(start);
        let (_, start_again) = rounds.join();
        assert!(!start_again, "one round task at a time");
        let round_1 = rounds.next_round().expect("two reads wait");
        assert_eq!(round_1.len(), 2);
        // arrives while round 1 is in flight
        let (mut late, start_late) = rounds.join();
        assert!(!start_late);
        for w in round_1 {
            let _ = w.send(Ok(7));
        }
        assert_eq!(first.try_recv(), Ok(Ok(7)));
        assert!(late.try_recv().is_err(), "not answered by round 1");
        let round_2 = rounds.next_round().expect("the late read");
        for w in round_2 {
            let _ = w.send(Err(ReadFailure::NoQuorum));
        }
        assert_eq!(late.try_recv(), Ok(Err(ReadFailure::NoQuorum)));
        assert!(rounds.next_round().is_none());
        let (_, start) = rounds.join();
        assert!(
            start,
            "the task ended with the last round; the next read starts one"
        );
    }
}
