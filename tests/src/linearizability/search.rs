//! The search: depth first over "which operation takes effect next", never twice through the
//! same (operations placed, model) pair (Lowe's memoization of Wing and Gong's algorithm).
//!
//! An operation may take effect next when it was invoked no later than the earliest answer of
//! the answered operations not yet placed (otherwise one of those ended before it began and
//! must come first). The search succeeds once every answered operation is placed; an
//! operation of unknown outcome may be placed (with any answer) or never.

use std::collections::HashSet;

use super::model::{Call, KeyModel};
use super::{Op, Response};

/// Most (placed, model) pairs one key's search may visit before it gives up undecided.
const MAX_VISITED: usize = 2_000_000;

/// The checker's finding for one key's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// An order exists: the indexes of the operations in the order found (unknown ones left
    /// out are missing from it).
    Linearizable(Vec<usize>),
    /// No order fits: the longest order the search could build, the model after it and the
    /// operations none of which could come next.
    NotLinearizable {
        /// The longest order built.
        longest: Vec<usize>,
        /// The model after it.
        model: KeyModel,
        /// The answered operations still to place.
        unplaced: Vec<usize>,
    },
    /// The search visited [`MAX_VISITED`] states without deciding.
    Undecided,
}

impl Verdict {
    /// Whether an order was found.
    pub fn is_linearizable(&self) -> bool {
        matches!(self, Verdict::Linearizable(_))
    }
}

/// Checks one key's history against the model, starting from a key not yet created.
pub fn check(ops: &[Op]) -> Verdict {
    Search::new(ops).run()
}

struct Search<'a> {
    ops: &'a [Op],
    placed: Vec<bool>,
    order: Vec<usize>,
    /// Answered operations not yet placed.
    to_place: usize,
    visited: HashSet<(Vec<u64>, KeyModel)>,
    longest: (Vec<usize>, KeyModel),
}

impl<'a> Search<'a> {
    fn new(ops: &'a [Op]) -> Self {
        let to_place = ops
            .iter()
            .filter(|o| matches!(o.response, Response::Answered { .. }))
            .count();
        Self {
            ops,
            placed: vec![false; ops.len()],
            order: Vec::new(),
            to_place,
            visited: HashSet::new(),
            longest: (Vec::new(), KeyModel::default()),
        }
    }

    fn run(mut self) -> Verdict {
        match self.place(KeyModel::default()) {
            Some(true) => Verdict::Linearizable(self.order),
            Some(false) => {
                let (longest, model) = self.longest;
                let done: HashSet<usize> = longest.iter().copied().collect();
                let unplaced = (0..self.ops.len())
                    .filter(|i| !done.contains(i))
                    .filter(|&i| matches!(self.ops[i].response, Response::Answered { .. }))
                    .collect();
                Verdict::NotLinearizable {
                    longest,
                    model,
                    unplaced,
                }
            }
            None => Verdict::Undecided,
        }
    }

    /// Whether the unplaced operations can follow `model`; `None` when out of budget.
    fn place(&mut self, model: KeyModel) -> Option<bool> {
        if self.to_place == 0 {
            return Some(true);
        }
        if !self.visited.insert((self.placed_bits(), model)) {
            return Some(false);
        }
        if self.visited.len() > MAX_VISITED {
            return None;
        }
        if self.order.len() > self.longest.0.len() {
            self.longest = (self.order.clone(), model);
        }
        let first_answer = (0..self.ops.len())
            .filter(|&i| !self.placed[i])
            .map(|i| self.ops[i].answered_at())
            .min()
            .unwrap_or(u64::MAX);
        let candidates: Vec<usize> = (0..self.ops.len())
            .filter(|&i| !self.placed[i] && self.ops[i].invoked <= first_answer)
            .collect();
        // A read that fits now is placed now, without trying the alternatives: it leaves the
        // key as it is, and every order that places it later can place it here instead (it may
        // come next, so nothing unplaced ended before it began). Without this, reads
        // concurrent with each other would be tried in every order.
        if let Some((i, next)) = candidates.iter().find_map(|&i| {
            let op = self.ops[i];
            let Response::Answered { answer, .. } = op.response else {
                return None;
            };
            if !matches!(op.call, Call::Get | Call::GetState) {
                return None;
            }
            model.step(op.call, Some(answer)).map(|next| (i, next))
        }) {
            self.placed[i] = true;
            self.order.push(i);
            self.to_place -= 1;
            let found = self.place(next);
            if found == Some(false) {
                self.to_place += 1;
                self.order.pop();
                self.placed[i] = false;
            }
            return found;
        }
        for i in candidates {
            let op = self.ops[i];
            let answer = match op.response {
                Response::Answered { answer, .. } => Some(answer),
                Response::Unknown => None,
            };
            let Some(next) = model.step(op.call, answer) else {
                continue;
            };
            self.placed[i] = true;
            self.order.push(i);
            let answered = answer.is_some();
            if answered {
                self.to_place -= 1;
            }
            let found = self.place(next);
            if found != Some(false) {
                return found;
            }
            if answered {
                self.to_place += 1;
            }
            self.order.pop();
            self.placed[i] = false;
        }
        Some(false)
    }

    fn placed_bits(&self) -> Vec<u64> {
        let mut bits = vec![0u64; self.placed.len().div_ceil(64)];
        for (i, _) in self.placed.iter().enumerate().filter(|(_, p)| **p) {
            bits[i / 64] |= 1 << (i % 64);
        }
        bits
    }
}
