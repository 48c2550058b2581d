//! What a run's record shows: every key's history checked for linearizability, the stale reads
//! during the run, the acknowledged writes the end-of-run sweep did not find, and the counts of
//! outcomes; printed as the battery's report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::{KeyOp, Recorder};
use crate::linearizability::{self, Call, Op, Response, Verdict};

/// The findings of one run.
#[derive(Debug)]
pub struct Findings {
    /// Keys whose history was checked (one per acknowledged Create).
    pub keys: usize,
    /// Operations in those histories (the sweep's reads included).
    pub ops: usize,
    /// Keys whose history no order fits, with the checker's account.
    pub violations: Vec<String>,
    /// Keys the checker could not decide within its budget.
    pub undecided: Vec<String>,
    /// Reads during the run that saw a key older than a write acknowledged before they began.
    pub stale_reads: Vec<String>,
    /// Sweep reads (a key on a node after convergence) older than an acknowledged write: an
    /// acknowledged Create not found, an acknowledged Revoke or Destroy not holding.
    pub lost_writes: Vec<String>,
    /// Writes of unknown outcome, Creates included (their UID is unknown).
    pub unknown_writes: usize,
    /// Of which Creates.
    pub unknown_creates: usize,
    /// Writes refused with "no quorum" (nothing done).
    pub refused: usize,
    /// Reads without an answer (left out).
    pub unanswered_reads: usize,
    /// Acknowledged operations per kind: Create, Revoke, Destroy, Get, Get Attributes.
    pub answered: [usize; 5],
}

impl Findings {
    /// Checks every key's history in `recorder`.
    pub fn of(recorder: &Recorder) -> Findings {
        let mut by_key: BTreeMap<String, Vec<KeyOp>> = BTreeMap::new();
        for k in recorder.ops() {
            by_key.entry(k.uid.clone()).or_default().push(k);
        }
        let mut f = Findings {
            keys: by_key.len(),
            ops: 0,
            violations: Vec::new(),
            undecided: Vec::new(),
            stale_reads: Vec::new(),
            lost_writes: Vec::new(),
            unknown_writes: recorder.unknown_creates(),
            unknown_creates: recorder.unknown_creates(),
            refused: recorder.refused(),
            unanswered_reads: recorder.unanswered_reads(),
            answered: [0; 5],
        };
        for (uid, history) in &by_key {
            let ops: Vec<Op> = history.iter().map(|k| k.op).collect();
            f.ops += ops.len();
            for op in &ops {
                match op.response {
                    Response::Unknown => f.unknown_writes += 1,
                    Response::Answered { .. } => f.answered[kind(op.call)] += 1,
                }
            }
            match linearizability::check(&ops) {
                Verdict::Linearizable(_) => {}
                Verdict::Undecided => f.undecided.push(uid.clone()),
                Verdict::NotLinearizable {
                    longest,
                    model,
                    unplaced,
                } => f.violations.push(format!(
                    "key {uid}: no order fits; longest order {longest:?} leaves {model:?}, none of {unplaced:?} fits next\n{}",
                    describe(history)
                )),
            }
            for i in linearizability::stale_reads(&ops) {
                let k = &history[i];
                let line = format!(
                    "key {uid} on node {}: {:?} answered {:?}\n{}",
                    k.node,
                    k.op.call,
                    k.op.response,
                    describe(history)
                );
                if k.sweep {
                    f.lost_writes.push(line);
                } else {
                    f.stale_reads.push(line);
                }
            }
        }
        f
    }

    /// Whether nothing was lost, nothing stale was read and every key's history fits.
    pub fn all_good(&self) -> bool {
        self.violations.is_empty()
            && self.undecided.is_empty()
            && self.stale_reads.is_empty()
            && self.lost_writes.is_empty()
    }

    /// The report, one line per figure, each starting with `battery:`; then the details of
    /// anything found.
    pub fn report(&self, failovers: &[Duration]) -> String {
        let [creates, revokes, destroys, gets, states] = self.answered;
        let verdict = if self.violations.is_empty() && self.undecided.is_empty() {
            format!("OK ({} of {} keys)", self.keys, self.keys)
        } else {
            format!(
                "VIOLATED for {} keys, undecided for {} (of {})",
                self.violations.len(),
                self.undecided.len(),
                self.keys
            )
        };
        let mut out = String::new();
        let mut line = |text: String| {
            let _ = writeln!(out, "battery: {text}");
        };
        line(format!(
            "answered: {creates} Create, {revokes} Revoke, {destroys} Destroy, {gets} Get, {states} Get Attributes (sweep included); {} operations on {} keys",
            self.ops, self.keys
        ));
        line(format!(
            "unknown outcomes: {} writes ({} of them Creates); refused, nothing done: {}; reads without an answer: {}",
            self.unknown_writes, self.unknown_creates, self.refused, self.unanswered_reads
        ));
        line(format!(
            "acknowledged writes lost: {}",
            self.lost_writes.len()
        ));
        line(format!("stale reads: {}", self.stale_reads.len()));
        line(format!("linearizability per key: {verdict}"));
        line(format!(
            "failover (kill -9 of the leader to the first acknowledged write sent after it), {} cycles: {}",
            failovers.len(),
            distribution(failovers)
        ));
        for detail in self
            .violations
            .iter()
            .chain(&self.stale_reads)
            .chain(&self.lost_writes)
            .take(10)
        {
            let _ = writeln!(out, "{detail}");
        }
        for uid in self.undecided.iter().take(10) {
            let _ = writeln!(out, "undecided: key {uid}");
        }
        out
    }
}

fn kind(call: Call) -> usize {
    match call {
        Call::Create { .. } => 0,
        Call::Revoke => 1,
        Call::Destroy => 2,
        Call::Get => 3,
        Call::GetState => 4,
    }
}

/// A key's history, one operation a line, by invocation time (milliseconds).
fn describe(history: &[KeyOp]) -> String {
    let mut sorted: Vec<(usize, &KeyOp)> = history.iter().enumerate().collect();
    sorted.sort_by_key(|(_, k)| k.op.invoked);
    let ms = |n: u64| n as f64 / 1e6;
    sorted
        .into_iter()
        .map(|(i, k)| {
            let answer = match k.op.response {
                Response::Answered { at, answer } => format!("{:.1} ms: {answer:?}", ms(at)),
                Response::Unknown => "unknown".to_owned(),
            };
            let sweep = if k.sweep { " (sweep)" } else { "" };
            format!(
                "  #{i} node {}{sweep}: {:?} at {:.1} ms -> {answer}",
                k.node,
                k.op.call,
                ms(k.op.invoked)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Min, median and max in milliseconds.
pub fn distribution(times: &[Duration]) -> String {
    let mut ms: Vec<u128> = times.iter().map(Duration::as_millis).collect();
    ms.sort_unstable();
    match (ms.first(), ms.get(ms.len() / 2), ms.last()) {
        (Some(min), Some(median), Some(max)) => {
            format!("min {min} ms, median {median} ms, max {max} ms")
        }
        _ => "none".to_owned(),
    }
}
