//! The bytes KMIP messages in flight may hold, node-wide (`limits.max_inflight_bytes`).
//!
//! A connection handles one message at a time, so on its own it holds at most one request
//! (`server.max_message_size`) and one answer (`limits.max_response_size`). The pool bounds
//! what all connections hold together: a request's declared length is taken from it before
//! its body buffer is allocated (waiting while the pool is spent: back-pressure, under the
//! read timeout), and an answer's items are charged as they are built, without waiting (an
//! item that finds the pool spent is answered "server busy" instead). Everything a message
//! took goes back when its answer has been written.
//!
//! The pool counts KiB, so that a tokio semaphore (permits counted in `u32` per acquisition)
//! covers any configurable size.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes per permit.
const UNIT: usize = 1024;

/// The node's pool of in-flight bytes.
#[derive(Clone, Debug)]
pub struct MemoryPool {
    permits: Arc<Semaphore>,
    total: usize,
}

/// What one connection's message in flight holds of the pool; returned on [`Self::release`]
/// or drop.
#[derive(Debug)]
pub struct MessageMemory {
    pool: MemoryPool,
    held: Option<OwnedSemaphorePermit>,
}

impl MemoryPool {
    /// A pool of `bytes` (rounded up to whole KiB).
    pub fn new(bytes: usize) -> Self {
        let units = bytes.div_ceil(UNIT).min(Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(units)),
            total: units,
        }
    }

    /// An empty hold for one connection.
    pub fn connection(&self) -> MessageMemory {
        MessageMemory {
            pool: self.clone(),
            held: None,
        }
    }

    /// Bytes not held by any message now.
    pub fn available(&self) -> usize {
        self.permits.available_permits().saturating_mul(UNIT)
    }

    /// The pool's size in bytes.
    pub fn size(&self) -> usize {
        self.total.saturating_mul(UNIT)
    }
}

impl MessageMemory {
    /// Takes `bytes` for a request, waiting until the pool has them. A request larger than
    /// the whole pool cannot be admitted (configuration keeps every admissible request
    /// below it); it waits until the caller's timeout.
    pub async fn reserve(&mut self, bytes: usize) {
        let units = units(bytes);
        if usize::try_from(units).map_or(true, |u| u > self.pool.total) {
            return std::future::pending().await;
        }
        let Ok(permit) = self.pool.permits.clone().acquire_many_owned(units).await else {
            // The semaphore is never closed.
            return std::future::pending().await;
        };
        self.keep(permit);
    }

    /// Takes `bytes` more for an answer if the pool has them now; `false` otherwise.
    pub fn try_grow(&mut self, bytes: usize) -> bool {
        match self
            .pool
            .permits
            .clone()
            .try_acquire_many_owned(units(bytes))
        {
            Ok(permit) => {
                self.keep(permit);
                true
            }
            Err(_) => false,
        }
    }

    /// Bytes the pool could still give this message now.
    pub fn available(&self) -> usize {
        self.pool.available()
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.held
            .as_ref()
            .map_or(0, |p| p.num_permits().saturating_mul(UNIT))
    }

    /// Returns everything held (the answer was written).
    pub fn release(&mut self) {
        self.held = None;
    }

    fn keep(&mut self, permit: OwnedSemaphorePermit) {
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
    }
}

/// Whole units covering `bytes` (at least one, so every charge counts).
fn units(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::MemoryPool;

    #[tokio::test]
    async fn holds_add_up_and_go_back_on_release() {
        let pool = MemoryPool::new(64 * 1024);
        let mut a = pool.connection();
        let mut b = pool.connection();
        a.reserve(40 * 1024).await;
        assert_eq!(pool.available(), 24 * 1024);
        assert!(b.try_grow(20 * 1024), "room left");
        assert!(!b.try_grow(8 * 1024), "the pool is spent");
        assert!(a.try_grow(3 * 1024 + 1), "charged in whole KiB");
        assert_eq!(pool.available(), 0);
        assert_eq!(a.held(), 44 * 1024);
        // A request waits until the pool has room again.
        let mut c = pool.connection();
        let waiting = tokio::time::timeout(Duration::from_millis(50), c.reserve(10 * 1024)).await;
        assert!(waiting.is_err(), "admitted over the pool");
        a.release();
        tokio::time::timeout(Duration::from_secs(5), c.reserve(10 * 1024))
            .await
            .expect("admitted once memory came back");
        drop(b);
        assert_eq!(pool.available(), 54 * 1024);
    }

    #[tokio::test]
    async fn a_request_larger_than_the_pool_is_never_admitted() {
        let pool = MemoryPool::new(8 * 1024);
        let mut m = pool.connection();
        let waiting = tokio::time::timeout(Duration::from_millis(50), m.reserve(9 * 1024)).await;
        assert!(waiting.is_err());
        assert_eq!(pool.available(), 8 * 1024, "nothing taken");
    }
}
