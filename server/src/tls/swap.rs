//! A value replaced as a whole while readers keep the one they took: the certificates and the
//! trusted client CAs that a reload swaps (`reload.rs`). A handshake takes the current value
//! once; an open connection never looks again, so a reload does not touch it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The current `T`, replaced whole, and how many times it was replaced.
#[derive(Debug)]
pub struct Swap<T> {
    value: RwLock<Arc<T>>,
    generation: AtomicU64,
}

impl<T> Swap<T> {
    /// Holding `value`, generation 0.
    pub fn new(value: T) -> Self {
        Self {
            value: RwLock::new(Arc::new(value)),
            generation: AtomicU64::new(0),
        }
    }

    /// The current value.
    pub fn load(&self) -> Arc<T> {
        self.value.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the current value (readers holding the old one keep it) and counts a new
    /// generation.
    pub fn store(&self, value: T) {
        let mut current = self.value.write().unwrap_or_else(|p| p.into_inner());
        *current = Arc::new(value);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// How many times the value was replaced: what was worked out from an older value (an
    /// inspection under older trusted CAs) is stale.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}
