//! Per-source-address connection slots: at most `server.max_connections_per_ip` connections
//! from one address may be open at once, counted from `accept` to close. The admin listener
//! keeps its own slots the same way (`admin.max_connections_per_ip`, `crate::admin`).
//!
//! Without this, one peer could take every one of the `server.max_connections` slots by
//! opening TCP connections and never finishing the TLS handshake, locking every other client
//! out for the handshake timeout (and again, as often as it likes). The slot is held for the
//! whole connection, not only the handshake: that is the simplest rule to reason about, and it
//! also keeps one authenticated client (or a stolen certificate) from holding every slot
//! after its handshakes.
//!
//! An IPv6 peer is counted by its /64 prefix, since a single host is routinely given a whole
//! /64 and could otherwise use a fresh address per connection. An IPv4-mapped IPv6 address
//! (a dual-stack listener) counts as the IPv4 address it carries.
//!
//! The counts live in a `Mutex<HashMap>`: it is touched twice per connection (accept and
//! close), far below any contention that would matter, and an entry is removed when its count
//! returns to zero, so the map never holds more entries than there are open connections.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::peer::source_key;

/// Open connections per source address, capped.
#[derive(Debug)]
pub(crate) struct AddressSlots {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's hold on its source address's count; released on drop.
#[derive(Debug)]
pub(crate) struct AddressSlot {
    slots: Arc<AddressSlots>,
    key: IpAddr,
}

impl AddressSlots {
    /// Slots for at most `max` open connections per source address.
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a slot for a connection from `peer`, or `None` when its address already holds
    /// the maximum.
    pub(crate) fn try_acquire(self: &Arc<Self>, peer: IpAddr) -> Option<AddressSlot> {
        let key = source_key(peer);
        let mut open = self.lock();
        let count = open.get(&key).copied().unwrap_or(0);
        if count >= self.max {
            return None;
        }
        open.insert(key, count + 1);
        Some(AddressSlot {
            slots: self.clone(),
            key,
        })
    }

    /// Open connections counted against `peer`'s address.
    #[cfg(test)]
    fn open(&self, peer: IpAddr) -> usize {
        self.lock().get(&source_key(peer)).copied().unwrap_or(0)
    }

    /// Addresses with at least one open connection.
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.lock().len()
    }

    /// The map. Nothing can panic while it is held (only map operations run under the lock),
    /// so a poisoned lock still holds consistent counts and is used as is.
    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.slots.lock();
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::AddressSlots;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn an_address_gets_at_most_max_slots_and_others_are_unaffected() {
        let slots = AddressSlots::new(2);
        let first = slots.try_acquire(A).expect("first slot");
        let second = slots.try_acquire(A).expect("second slot");
        assert!(slots.try_acquire(A).is_none(), "third slot from A granted");
        assert_eq!(slots.open(A), 2, "a refusal must not count");
        let other = slots.try_acquire(B).expect("B has its own slots");
        drop(first);
        let again = slots.try_acquire(A).expect("a released slot is free again");
        assert!(slots.try_acquire(A).is_none());
        drop((second, again, other));
        assert_eq!(slots.open(A), 0);
    }

    #[test]
    fn entries_are_removed_when_their_last_connection_closes() {
        let slots = AddressSlots::new(3);
        let held: Vec<_> = (1..=100u8)
            .filter_map(|i| slots.try_acquire(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i))))
            .collect();
        assert_eq!(slots.addresses(), 100);
        drop(held);
        assert_eq!(
            slots.addresses(),
            0,
            "the map must not keep closed addresses"
        );
        // A refused acquisition leaves nothing behind either.
        let zero = AddressSlots::new(0);
        assert!(zero.try_acquire(A).is_none());
        assert_eq!(zero.addresses(), 0, "a refusal left an entry");
    }

    #[test]
    fn ipv4_mapped_ipv6_counts_as_ipv4_and_ipv6_counts_per_64() {
        let slots = AddressSlots::new(1);
        let _v4 = slots.try_acquire(A).expect("slot");
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert!(
            slots.try_acquire(mapped).is_none(),
            "mapped address escaped the cap"
        );

        let host = |low: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, low));
        let _v6 = slots.try_acquire(host(1)).expect("slot");
        assert!(
            slots.try_acquire(host(2)).is_none(),
            "another address in the same /64 escaped the cap"
        );
        let elsewhere = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
        assert!(
            slots.try_acquire(elsewhere).is_some(),
            "another /64 is separate"
        );
    }
}
