//! The reliability battery's clients and what they record (issue 20, "Reliability battery").
//!
//! Each [`client`] speaks KMIP over mutual TLS to one node and, until told to stop, sends
//! Create, Revoke (Cessation of Operation), Destroy, Get and Get Attributes (State) on the few
//! keys created last by any client, so clients on different nodes work on the same keys at
//! the same time. Every request is recorded in the [`Recorder`] with the time it was sent and
//! the time and content of its answer, or as of unknown outcome (sent, and no answer the model
//! knows: a timeout, a lost connection, "outcome unknown"). [`findings`] checks the record key
//! by key ([`crate::linearizability`]); [`cycles`] kills leaders and sweeps every node at the
//! end.
//!
//! Nothing recorded holds key material: each distinct material Get returns is named by a
//! number.

pub mod cycles;
pub mod findings;
mod requests;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use client::Connector;

use crate::linearizability::{Answer, Call, Op, Response};

/// The mix of requests, in parts: Create, Revoke, Destroy, Get, Get Attributes (State).
const MIX: [(Call, u32); 5] = [
    (Call::Create { active: false }, 10),
    (Call::Revoke, 15),
    (Call::Destroy, 5),
    (Call::Get, 35),
    (Call::GetState, 35),
];

/// Pause after a request that got no answer (the node may be down).
const AFTER_TROUBLE: Duration = Duration::from_millis(50);

/// One recorded operation on a key.
#[derive(Clone, Debug)]
pub struct KeyOp {
    /// The key's Unique Identifier.
    pub uid: String,
    /// The node the request went to.
    pub node: u64,
    /// Made by the end-of-run sweep ([`cycles::sweep`]), after every node converged.
    pub sweep: bool,
    /// What was asked and answered.
    pub op: Op,
}

/// A request that got no answer the model knows (or no connection): with the failover
/// windows, what the soak run reports.
#[derive(Clone, Debug)]
pub struct Trouble {
    /// When, since the recorder started.
    pub at: Duration,
    /// The node the client talks to.
    pub node: u64,
    /// The client's error (never key material: client errors hold none).
    pub what: String,
}

#[derive(Debug, Default)]
struct Record {
    ops: Vec<KeyOp>,
    /// UIDs of acknowledged Creates, oldest first.
    keys: Vec<String>,
    materials: HashMap<u64, u32>,
    unknown_creates: usize,
    refused: usize,
    unanswered_reads: usize,
    troubles: Vec<Trouble>,
}

/// The history of a run, shared by its clients.
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    record: Mutex<Record>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            record: Mutex::default(),
        }
    }
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Nanoseconds from the recorder's start to `at`.
    pub fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.start).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Since the recorder started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// From the recorder's start to `at` (the clock of [`Trouble::at`]).
    pub fn since_start(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start)
    }

    /// The recorded operations, in the order they were recorded.
    pub fn ops(&self) -> Vec<KeyOp> {
        self.lock().ops.clone()
    }

    /// The UIDs of the acknowledged Creates.
    pub fn created(&self) -> Vec<String> {
        self.lock().keys.clone()
    }

    /// Creates sent whose outcome is unknown (their UID is not known either).
    pub fn unknown_creates(&self) -> usize {
        self.lock().unknown_creates
    }

    /// Writes refused with "no quorum" (nothing done): left out of the history.
    pub fn refused(&self) -> usize {
        self.lock().refused
    }

    /// Reads that got no answer: left out of the history.
    pub fn unanswered_reads(&self) -> usize {
        self.lock().unanswered_reads
    }

    /// Every request that got no answer the model knows, and every failed connection.
    pub fn troubles(&self) -> Vec<Trouble> {
        self.lock().troubles.clone()
    }

    /// When the first write invoked at or after `since` was acknowledged, if one was.
    pub fn first_write_acknowledged_after(&self, since: Instant) -> Option<Instant> {
        let since = self.nanos(since);
        self.lock()
            .ops
            .iter()
            .filter(|k| !matches!(k.op.call, Call::Get | Call::GetState))
            .filter(|k| k.op.invoked >= since)
            .filter_map(|k| match k.op.response {
                Response::Answered {
                    at,
                    answer: Answer::Ok,
                } => Some(at),
                _ => None,
            })
            .min()
            .map(|at| self.start + Duration::from_nanos(at))
    }

    /// The number naming this key material (the same bytes, the same number).
    fn material(&self, bytes: &[u8]) -> u32 {
        let mut hasher = DefaultHasher::new();
        bytes.hash(&mut hasher);
        let mut record = self.lock();
        let next = u32::try_from(record.materials.len() + 1).unwrap_or(u32::MAX);
        *record.materials.entry(hasher.finish()).or_insert(next)
    }

    fn push(&self, op: KeyOp) {
        let mut record = self.lock();
        if let (
            Call::Create { .. },
            Response::Answered {
                answer: Answer::Ok, ..
            },
        ) = (op.op.call, op.op.response)
        {
            record.keys.push(op.uid.clone());
        }
        record.ops.push(op);
    }

    fn trouble(&self, node: u64, what: String) {
        let at = self.elapsed();
        self.lock().troubles.push(Trouble { at, node, what });
    }

    /// One of the `hot` keys created last, picked with `roll`.
    fn hot_key(&self, hot: usize, roll: u64) -> Option<String> {
        let record = self.lock();
        let hot = &record.keys[record.keys.len().saturating_sub(hot)..];
        let n = u64::try_from(hot.len()).ok().filter(|&n| n > 0)?;
        hot.get(usize::try_from(roll % n).ok()?).cloned()
    }
}

/// A small deterministic generator (SplitMix64): the mix of requests, not cryptography.
struct Dice(u64);

impl Dice {
    fn roll(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn call(&mut self) -> Call {
        let total: u32 = MIX.iter().map(|(_, w)| w).sum();
        let mut pick = u32::try_from(self.roll() % u64::from(total)).unwrap_or(0);
        for (call, weight) in MIX {
            if pick < weight {
                return call;
            }
            pick -= weight;
        }
        MIX[0].0
    }
}

/// How the clients load the cluster.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Pause of a client after an answered request.
    pub pace: Duration,
    /// How many of the keys created last the clients work on: few, and clients on different
    /// nodes collide on the same keys; many, and they rarely do.
    pub hot_keys: usize,
}

/// One client: requests to node `node` through `connector`, one at a time, until `stop`;
/// everything goes to `recorder`.
pub async fn client(
    connector: Connector,
    node: u64,
    recorder: Arc<Recorder>,
    stop: Arc<AtomicBool>,
    seed: u64,
    load: Load,
) {
    let mut dice = Dice(seed);
    let mut conn = None;
    while !stop.load(Ordering::Relaxed) {
        if conn.is_none() {
            match connector.connect().await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    recorder.trouble(node, format!("connect: {e}"));
                    tokio::time::sleep(AFTER_TROUBLE).await;
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let call = dice.call();
        let uid = match call {
            Call::Create { .. } => None,
            _ => match recorder.hot_key(load.hot_keys, dice.roll()) {
                Some(uid) => Some(uid),
                None => continue,
            },
        };
        let keep = requests::send(c, call, uid, node, &recorder).await;
        if !keep {
            conn = None;
            tokio::time::sleep(AFTER_TROUBLE).await;
        } else if !load.pace.is_zero() {
            tokio::time::sleep(load.pace).await;
        }
    }
}
