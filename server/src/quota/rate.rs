//! Batch items per second per client (`limits.client_requests_per_second`, with
//! `limits.client_request_burst`): a token bucket per enrolled client, one token per batch
//! item, so a batch of 256 items costs what 256 messages of one item do.
//!
//! Buckets live in this node's memory: a client spreading its requests over N nodes gets N
//! times the rate (documented in `docs/SECURITY.md`). They are kept in a bounded cache that
//! forgets a client idle long enough for its bucket to have refilled, so forgetting it
//! changes nothing.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::config::RequestRate;

/// Clients whose buckets are kept at once; beyond this the least recently used is forgotten
/// (a fresh client starts with a full bucket, so at worst one client gets a burst again).
const MAX_CLIENTS: u64 = 100_000;

/// The buckets of every client of this node.
#[derive(Debug)]
pub struct RequestRates {
    rate: Option<RequestRate>,
    buckets: Cache<String, Arc<Mutex<Bucket>>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RequestRates {
    /// Buckets of this shape; `None`: every item is admitted.
    pub fn new(rate: Option<RequestRate>) -> Self {
        // A bucket left alone this long is full again: forgetting it is harmless.
        let refill = rate.map_or(Duration::from_secs(1), |r| {
            Duration::from_secs_f64(f64::from(r.burst) / f64::from(r.per_second.max(1)))
        });
        Self {
            rate,
            buckets: Cache::builder()
                .max_capacity(MAX_CLIENTS)
                .time_to_idle(refill + Duration::from_secs(1))
                .build(),
        }
    }

    /// Takes one token from `client`'s bucket (its store key); `false` when it is empty.
    pub fn admit(&self, client: &str) -> bool {
        self.admit_at(client, Instant::now())
    }

    fn admit_at(&self, client: &str, now: Instant) -> bool {
        let Some(rate) = self.rate else {
            return true;
        };
        let bucket = self.buckets.get_with_by_ref(client, || {
            Arc::new(Mutex::new(Bucket {
                tokens: f64::from(rate.burst),
                at: now,
            }))
        });
        // Only arithmetic runs under the lock: a poisoned one still holds a valid bucket.
        let mut b = bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * f64::from(rate.per_second)).min(f64::from(rate.burst));
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::RequestRates;
    use crate::config::RequestRate;

    #[test]
    fn a_client_gets_its_burst_then_its_rate_and_others_are_apart() {
        let rates = RequestRates::new(Some(RequestRate {
            per_second: 10,
            burst: 5,
        }));
        let t0 = Instant::now();
        let admitted = (0..8)
            .filter(|_| rates.admit_at("acme/vcenter", t0))
            .count();
        assert_eq!(admitted, 5, "the burst");
        assert!(
            rates.admit_at("globex/vcenter", t0),
            "another client has its own bucket"
        );
        // 10 per second: one more token every 100 ms.
        assert!(!rates.admit_at("acme/vcenter", t0 + Duration::from_millis(50)));
        assert!(rates.admit_at("acme/vcenter", t0 + Duration::from_millis(160)));
        // Refilled, but never above the burst.
        let later = t0 + Duration::from_secs(60);
        let admitted = (0..8)
            .filter(|_| rates.admit_at("acme/vcenter", later))
            .count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn no_rate_admits_everything() {
        let rates = RequestRates::new(None);
        assert!((0..10_000).all(|_| rates.admit("acme/vcenter")));
    }
}
