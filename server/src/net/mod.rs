//! The KMIP listener: TCP accept under a connection cap and a per-source-address cap (see
//! [`address_slots`]), the TLS handshake under a timeout,
//! then one task per connection reading length-checked TTLV frames (see [`frame`]) and
//! answering each in order, or serving KMIP over HTTPS (`POST /kmip`, see [`http`]) when the
//! client speaks HTTP. Graceful shutdown stops accepting, lets in-flight requests finish
//! and closes idle connections.

pub(crate) mod address_slots;
mod connection;
pub mod frame;
pub mod http;
mod prefixed;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::audit::refusals;
use crate::config::NetLimits;
use crate::kms::Kms;

/// Runs the accept loop until `shutdown` turns true, then waits (at most `drain`) for open
/// connections to finish their current request.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    kms: Arc<Kms>,
    limits: NetLimits,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
) {
    let max = limits.max_connections;
    let slots = Arc::new(Semaphore::new(max));
    let per_address = address_slots::AddressSlots::new(limits.max_connections_per_ip);
    info!(
        addr = ?listener.local_addr().ok(),
        max_connections = max,
        max_connections_per_ip = limits.max_connections_per_ip,
        "KMIP listener up"
    );
    let limits = Arc::new(limits);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            debug!(%peer, "connection cap reached; closing");
            kms.connection_refused(peer, refusals::CONNECTION_CAP);
            drop(tcp);
            continue;
        };
        // Checked after the global permit, so the map never counts more than
        // `max_connections` entries, and before the TLS handshake, so a peer that never
        // completes one cannot hold more than its own share of the slots.
        let Some(address_slot) = per_address.try_acquire(peer.ip()) else {
            debug!(%peer, "per-address connection cap reached; closing");
            kms.connection_refused(peer, refusals::ADDRESS_CAP);
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let conn = connection::Connection {
            acceptor: acceptor.clone(),
            kms: kms.clone(),
            limits: limits.clone(),
            peer,
            shutdown: shutdown.clone(),
        };
        let open = kms.metrics().kmip_connection();
        tokio::spawn(async move {
            conn.run(tcp).await;
            drop(open);
            drop(address_slot);
            drop(permit);
        });
    }
    info!("KMIP listener stopping; draining connections");
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(drain, slots.acquire_many(all)).await;
}

pub use crate::peer::PeerAddr;
