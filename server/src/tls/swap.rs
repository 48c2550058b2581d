//! A value replaced as a whole while readers keep the one they took: the certificates and the
//! trusted client CAs that a reload swaps (`reload.rs`). A handshake takes the current value
//! once; an open connection never looks again, so a reload does not touch it.

use std::sync::{Arc, RwLock};

/// The current `T`, replaced whole.
#[derive(Debug)]
pub struct Swap<T>(RwLock<Arc<T>>);

impl<T> Swap<T> {
    /// Holding `value`.
    pub fn new(value: T) -> Self {
        Self(RwLock::new(Arc::new(value)))
    }

    /// The current value.
    pub fn load(&self) -> Arc<T> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the current value (readers holding the old one keep it).
    pub fn store(&self, value: T) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(value);
    }
}
