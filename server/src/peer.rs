//! The network peer as the layers below the listener see it: its address, and the source it is
//! counted against (per-address connection slots, password lockouts, refusal aggregates).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Address the peer connected from, for audit records.
pub type PeerAddr = SocketAddr;

/// The address a connection is counted against: IPv4 as is (also when mapped into IPv6),
/// IPv6 by its /64 prefix. What the per-address connection slots (`crate::net`), password
/// lockouts (`crate::credential::lockout`) and refusal aggregates
/// (`crate::audit::refusals`) count per source.
pub fn source_key(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = v6.to_bits() & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from_bits(prefix))
        }
    }
}
