//! Wrong-password lockouts: after `limits.password_failures_per_client` wrong passwords of
//! one client, or `limits.password_failures_per_address` from one source address (IPv6: one
//! /64), each less than `limits.password_lockout_secs` after the previous one, that client or
//! address is refused every password check for `limits.password_lockout_secs`, without
//! Argon2 running. A correct password clears its client's count (not its address's).
//!
//! Counts live in this node's memory. Only peers with a certificate the server accepts reach
//! a password check, so the entries are bounded by enrolled clients and their addresses;
//! expired entries are dropped as new ones come, and past [`MAX_ENTRIES`] the oldest go.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Most entries kept per table.
const MAX_ENTRIES: usize = 65_536;

/// What a lockout applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One enrolled client, from anywhere.
    Client,
    /// One source address, for every client.
    Address,
}

/// The failure counts of one node.
#[derive(Debug)]
pub(crate) struct Lockouts {
    clients: Table<String>,
    addresses: Table<IpAddr>,
}

impl Lockouts {
    pub(crate) fn new(per_client: u32, per_address: u32, period: Duration) -> Self {
        Self {
            clients: Table::new(per_client, period),
            addresses: Table::new(per_address, period),
        }
    }

    /// Whether `client` or `address` is locked out at `now`.
    pub(crate) fn locked(&self, client: &str, address: IpAddr, now: Instant) -> bool {
        self.clients.locked(client, now) || self.addresses.locked(&key_of(address), now)
    }

    /// Counts a wrong password; returns the scopes whose lockout starts with it.
    pub(crate) fn failed(&self, client: &str, address: IpAddr, now: Instant) -> Vec<Scope> {
        let mut started = Vec::new();
        if self.clients.failed(client.to_owned(), now) {
            started.push(Scope::Client);
        }
        if self.addresses.failed(key_of(address), now) {
            started.push(Scope::Address);
        }
        started
    }

    /// Clears `client`'s count after a correct password.
    pub(crate) fn succeeded(&self, client: &str) {
        self.clients.lock().remove(client);
    }
}

/// The address an attempt is counted against (as the connection caps count them).
fn key_of(address: IpAddr) -> IpAddr {
    crate::peer::source_key(address)
}

#[derive(Debug)]
struct Table<K> {
    max: u32,
    period: Duration,
    entries: Mutex<HashMap<K, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Failures {
    /// Whether this entry still matters at `now`.
    fn live(&self, now: Instant, period: Duration) -> bool {
        match self.locked_until {
            Some(until) => now < until,
            None => now.saturating_duration_since(self.last) < period,
        }
    }
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new(max: u32, period: Duration) -> Self {
        Self {
            max,
            period,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn locked<Q>(&self, key: &Q, now: Instant) -> bool
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock()
            .get(key)
            .and_then(|f| f.locked_until)
            .is_some_and(|until| now < until)
    }

    /// Counts a failure; `true` when it starts a lockout.
    fn failed(&self, key: K, now: Instant) -> bool {
        let period = self.period;
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, f| f.live(now, period));
            if entries.len() >= MAX_ENTRIES {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, f)| f.last)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        let entry = entries.entry(key).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        if !entry.live(now, period) {
            *entry = Failures {
                count: 0,
                last: now,
                locked_until: None,
            };
        }
        if entry.locked_until.is_some() {
            // Refused while locked: not counted, and the lockout is not extended.
            return false;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        if entry.count >= self.max {
            entry.locked_until = Some(now + period);
            return true;
        }
        false
    }

    /// The map. Only map operations run under the lock, so a poisoned one is still whole.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Failures>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::time::{Duration, Instant};

    use super::{Lockouts, Scope};

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const AWAY: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    const PERIOD: Duration = Duration::from_secs(300);

    #[test]
    fn the_nth_failure_locks_the_client_out_for_the_period_once() {
        let l = Lockouts::new(3, 100, PERIOD);
        let t = Instant::now();
        assert!(l.failed("acme/vcenter", HOME, t).is_empty());
        assert!(l.failed("acme/vcenter", AWAY, t).is_empty());
        assert!(!l.locked("acme/vcenter", HOME, t));
        assert_eq!(l.failed("acme/vcenter", HOME, t), vec![Scope::Client]);
        // Locked from every address; another client is not.
        assert!(l.locked("acme/vcenter", AWAY, t));
        assert!(!l.locked("globex/vcenter", AWAY, t));
        // Further failures during the lockout start nothing and do not extend it.
        assert!(l.failed("acme/vcenter", HOME, t + PERIOD / 2).is_empty());
        assert!(l.locked("acme/vcenter", HOME, t + PERIOD - Duration::from_secs(1)));
        assert!(!l.locked("acme/vcenter", HOME, t + PERIOD));
        // Afterwards it counts from zero again.
        assert!(l.failed("acme/vcenter", HOME, t + PERIOD).is_empty());
    }

    #[test]
    fn an_address_is_locked_for_every_client_and_ipv6_counts_per_64() {
        let l = Lockouts::new(100, 2, PERIOD);
        let t = Instant::now();
        assert!(l.failed("acme/a", HOME, t).is_empty());
        assert_eq!(l.failed("globex/b", HOME, t), vec![Scope::Address]);
        assert!(
            l.locked("initech/c", HOME, t),
            "every client from that address"
        );
        assert!(!l.locked("initech/c", AWAY, t));

        let host = |low: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, low));
        assert!(l.failed("acme/a", host(1), t).is_empty());
        assert_eq!(l.failed("acme/a", host(2), t), vec![Scope::Address]);
        assert!(l.locked("acme/z", host(99), t), "the same /64");
    }

    #[test]
    fn spaced_out_failures_and_a_success_reset_the_client_count() {
        let l = Lockouts::new(2, 100, PERIOD);
        let t = Instant::now();
        assert!(l.failed("acme/vcenter", HOME, t).is_empty());
        // More than a period later, the first one is forgotten.
        assert!(l.failed("acme/vcenter", HOME, t + PERIOD).is_empty());
        l.succeeded("acme/vcenter");
        assert!(l.failed("acme/vcenter", HOME, t + PERIOD).is_empty());
        assert_eq!(
            l.failed("acme/vcenter", HOME, t + PERIOD),
            vec![Scope::Client]
        );
    }
}
