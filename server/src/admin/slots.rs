//! Who may hold an admin connection, so that idle or hostile peers cannot lock the operator
//! out of the node:
//!
//! - at most `admin.max_connections` connections, and at most `admin.max_connections_per_ip`
//!   from one source address (the KMIP listener's [`AddressSlots`], shared), counted from
//!   `accept` to close;
//! - beyond either cap, a connection may take one of `admin.operator_reserved_connections`
//!   reserved slots. Whose it is shows only after the TLS handshake (the client
//!   certificate), so a reserved slot is held through the handshake and kept only if the
//!   certificate inspects as an enrolled operator's. While the reserve is full, a new
//!   connection takes the slot of the oldest one still in its handshake (an idle TCP
//!   connection gives way): idle connections, from one address or many, cannot hold the
//!   reserve against an operator, who needs it only for the few milliseconds of a handshake.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::net::address_slots::{AddressSlot, AddressSlots};

/// The admin listener's slots.
#[derive(Debug)]
pub(super) struct AdminSlots {
    general: Arc<Semaphore>,
    max_general: usize,
    per_address: Arc<AddressSlots>,
    reserve: Arc<ReservedSlots>,
}

/// A connection's hold on its slot; released on drop.
#[derive(Debug)]
pub(super) enum Slot {
    /// Within both caps (both held until the connection closes).
    General {
        _permit: OwnedSemaphorePermit,
        _address: AddressSlot,
    },
    /// Over a cap: an operator's slot, until the handshake shows whose connection it is.
    Reserved(ReservedSlot),
}

impl AdminSlots {
    pub(super) fn new(max: usize, per_address: usize, reserved: usize) -> Self {
        Self {
            general: Arc::new(Semaphore::new(max)),
            max_general: max,
            per_address: AddressSlots::new(per_address),
            reserve: Arc::new(ReservedSlots {
                max: reserved,
                held: Mutex::new(Held::default()),
            }),
        }
    }

    /// A slot for a connection from `peer`: a general one when both caps allow, else a
    /// reserved one (perhaps taken from an older connection still in its handshake), else
    /// `None`.
    pub(super) fn admit(&self, peer: IpAddr) -> Option<Slot> {
        if let Some(address) = self.per_address.try_acquire(peer)
            && let Ok(permit) = self.general.clone().try_acquire_owned()
        {
            return Some(Slot::General {
                _permit: permit,
                _address: address,
            });
        }
        self.reserve.try_take().map(Slot::Reserved)
    }

    /// Waits (at most `drain`) until every general connection has closed.
    pub(super) async fn drain(&self, drain: std::time::Duration) {
        let all = u32::try_from(self.max_general).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(drain, self.general.acquire_many(all)).await;
    }
}

impl Slot {
    /// Whether this is a reserved slot (kept only for an operator).
    pub(super) fn is_reserved(&self) -> bool {
        matches!(self, Slot::Reserved(_))
    }

    /// Resolves when a newer connection took this reserved slot during the handshake; never
    /// for a general slot or an admitted one.
    pub(super) async fn evicted(&mut self) {
        match self {
            Slot::Reserved(r) if r.evicted.is_some() => {
                if let Some(rx) = r.evicted.as_mut()
                    && rx.await.is_ok()
                {
                    return;
                }
                r.evicted = None;
                std::future::pending().await
            }
            _ => std::future::pending().await,
        }
    }

    /// The handshake showed an operator: the reserved slot is kept, no longer to be taken.
    pub(super) fn keep(&mut self) {
        if let Slot::Reserved(r) = self {
            r.evicted = None;
            r.slots.lock().admit(r.id);
        }
    }
}

/// The reserved slots, oldest first.
#[derive(Debug)]
pub(super) struct ReservedSlots {
    max: usize,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    next: u64,
    /// Each held slot and, while its connection is still in the handshake, how to take it.
    slots: Vec<(u64, Option<oneshot::Sender<()>>)>,
}

impl Held {
    fn admit(&mut self, id: u64) {
        if let Some((_, evict)) = self.slots.iter_mut().find(|(i, _)| *i == id) {
            *evict = None;
        }
    }
}

/// One reserved slot; released on drop.
#[derive(Debug)]
pub(super) struct ReservedSlot {
    slots: Arc<ReservedSlots>,
    id: u64,
    evicted: Option<oneshot::Receiver<()>>,
}

impl ReservedSlots {
    fn try_take(self: &Arc<Self>) -> Option<ReservedSlot> {
        if self.max == 0 {
            return None;
        }
        let mut held = self.lock();
        if held.slots.len() >= self.max {
            // The oldest connection still in its handshake gives way.
            let oldest = held.slots.iter().position(|(_, evict)| evict.is_some())?;
            if let (_, Some(evict)) = held.slots.remove(oldest) {
                let _ = evict.send(());
            }
        }
        let id = held.next;
        held.next += 1;
        let (tx, rx) = oneshot::channel();
        held.slots.push((id, Some(tx)));
        Some(ReservedSlot {
            slots: self.clone(),
            id,
            evicted: Some(rx),
        })
    }

    /// The slots. Only vector operations run under the lock: a poisoned one is still whole.
    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for ReservedSlot {
    fn drop(&mut self) {
        let id = self.id;
        self.slots.lock().slots.retain(|(i, _)| *i != id);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    use super::{AdminSlots, Slot};

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    async fn evicted_soon(slot: &mut Slot) -> bool {
        tokio::time::timeout(Duration::from_millis(50), slot.evicted())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn over_the_caps_a_connection_takes_a_reserved_slot_from_the_oldest_handshake() {
        let slots = AdminSlots::new(3, 2, 2);
        let general: Vec<_> = [A, A, B].iter().map(|p| slots.admit(*p).unwrap()).collect();
        assert!(general.iter().all(|s| !s.is_reserved()));
        // A is at its per-address cap, and the listener at its cap: reserved slots.
        let mut first = slots.admit(A).unwrap();
        let mut second = slots.admit(B).unwrap();
        assert!(first.is_reserved() && second.is_reserved());
        // The reserve is full: a third takes the oldest handshake's slot.
        let mut third = slots.admit(B).unwrap();
        assert!(evicted_soon(&mut first).await, "the oldest gave way");
        assert!(!evicted_soon(&mut second).await);
        // An admitted operator's slot is never taken.
        second.keep();
        third.keep();
        assert!(
            slots.admit(A).is_none(),
            "every reserved slot is an operator's"
        );
        drop(third);
        let mut fourth = slots.admit(A).expect("a released slot is free again");
        assert!(!evicted_soon(&mut fourth).await);
        drop(general);
        assert!(
            !slots.admit(A).unwrap().is_reserved(),
            "general slots are free again"
        );
    }

    #[tokio::test]
    async fn no_reserve_means_refusal_over_the_caps() {
        let slots = AdminSlots::new(1, 1, 0);
        let _held = slots.admit(A).unwrap();
        assert!(slots.admit(B).is_none());
    }
}
