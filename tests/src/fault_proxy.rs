//! A TCP forwarding proxy that can cut chosen peers off, for network-partition tests.
//!
//! A [`FaultProxy`] listens on a loopback address and forwards every connection to one target
//! address, byte for byte in both directions. Peers are told apart by their source IP (cluster
//! nodes bind their outgoing connections to their own loopback address). [`FaultProxy::block`]
//! closes the live connections from an IP at once and closes new ones right after `accept`;
//! [`FaultProxy::unblock`] and [`FaultProxy::heal`] let them through again.
//!
//! [`FaultProxy::black_hole`] makes the target silent instead, as when a machine is gone but its
//! address still routes and packets are dropped (a zone loss): connections stay open and
//! nothing arrives through them, so peers learn of the loss only from their own timeouts.
//!
//! Dropping the proxy stops its listener and closes every connection it forwards.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::Error;

/// Time allowed to connect to the target before the incoming connection is closed.
const TARGET_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A running proxy. Must be made and used inside a tokio runtime.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    target: SocketAddr,
    blocked: watch::Sender<HashSet<IpAddr>>,
    silent: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on `listen` (port 0 picks a free port) and forwards to `target`.
    pub async fn start(listen: SocketAddr, target: SocketAddr) -> Result<FaultProxy, Error> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| Error::Io {
                what: "binding the fault proxy",
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Io {
            what: "reading the fault proxy's address",
            source,
        })?;
        let (blocked, _) = watch::channel(HashSet::new());
        let (silent, _) = watch::channel(false);
        let accept = tokio::spawn(accept_loop(
            listener,
            target,
            blocked.clone(),
            silent.clone(),
        ));
        Ok(FaultProxy {
            addr,
            target,
            blocked,
            silent,
            accept,
        })
    }

    /// The address peers connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address connections are forwarded to.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// Cuts `ip` off: its live connections are closed now, new ones right after `accept`.
    pub fn block(&self, ip: IpAddr) {
        self.blocked.send_modify(|set| {
            set.insert(ip);
        });
    }

    /// Lets `ip` through again (its closed connections stay closed).
    pub fn unblock(&self, ip: IpAddr) {
        self.blocked.send_modify(|set| {
            set.remove(&ip);
        });
    }

    /// Lets every source through again.
    pub fn heal(&self) {
        self.blocked.send_modify(HashSet::clear);
    }

    /// Whether `ip` is blocked now.
    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        self.blocked.borrow().contains(&ip)
    }

    /// Makes the target silent, as if packets to and from it were dropped: live connections
    /// stay open but nothing is forwarded either way any more (what peers send is read and
    /// discarded), and new connections are accepted and held the same way. Nobody sees a
    /// close or a refusal.
    pub fn black_hole(&self) {
        self.silent.send_replace(true);
    }

    /// Ends [`FaultProxy::black_hole`]: the connections held silent are closed, new ones are
    /// forwarded again.
    pub fn end_black_hole(&self) {
        self.silent.send_replace(false);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        // Connection tasks end when they see the sender gone (see `cut_off`).
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    blocked: watch::Sender<HashSet<IpAddr>>,
    silent: watch::Sender<bool>,
) {
    loop {
        let Ok((inbound, peer)) = listener.accept().await else {
            // Out of file descriptors or similar: back off rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if blocked.borrow().contains(&peer.ip()) {
            drop(inbound);
            continue;
        }
        if *silent.borrow() {
            tokio::spawn(hold_silent(inbound, silent.subscribe()));
            continue;
        }
        tokio::spawn(forward(
            inbound,
            peer.ip(),
            target,
            blocked.subscribe(),
            silent.subscribe(),
        ));
    }
}

/// Forwards one connection until either side closes it or its source gets blocked; once the
/// target turns silent, holds it open without forwarding.
async fn forward(
    mut inbound: TcpStream,
    source: IpAddr,
    target: SocketAddr,
    mut blocked: watch::Receiver<HashSet<IpAddr>>,
    mut silent: watch::Receiver<bool>,
) {
    let connect = tokio::time::timeout(TARGET_CONNECT_TIMEOUT, TcpStream::connect(target));
    let mut outbound = tokio::select! {
        connected = connect => match connected {
            Ok(Ok(stream)) => stream,
            _ => return,
        },
        () = cut_off(&mut blocked, source) => return,
        () = silenced(&mut silent) => return hold_silent(inbound, silent).await,
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let silence = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => false,
        () = cut_off(&mut blocked, source) => false,
        () = silenced(&mut silent) => true,
    };
    drop(outbound);
    if silence {
        hold_silent(inbound, silent).await;
    }
    // The streams are dropped here: the peer and the target see the connection closed.
}

/// Returns once the target turned silent or the proxy is gone.
async fn silenced(silent: &mut watch::Receiver<bool>) {
    let _ = silent.wait_for(|s| *s).await;
}

/// Keeps `inbound` open, reading and discarding whatever arrives, until the peer closes it, the
/// silence ends or the proxy is gone; then closes it.
async fn hold_silent(mut inbound: TcpStream, mut silent: watch::Receiver<bool>) {
    let mut sink = [0u8; 4096];
    loop {
        tokio::select! {
            read = inbound.read(&mut sink) => {
                if !matches!(read, Ok(n) if n > 0) {
                    return;
                }
            }
            _ = silent.wait_for(|s| !*s) => return,
        }
    }
}

/// Returns once `source` is blocked or the proxy is gone.
async fn cut_off(blocked: &mut watch::Receiver<HashSet<IpAddr>>, source: IpAddr) {
    // `wait_for` checks the current value first, then every change.
    let _ = blocked.wait_for(|set| set.contains(&source)).await;
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpSocket, TcpStream};

    use super::FaultProxy;

    const STEP: Duration = Duration::from_secs(5);

    fn loopback(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
    }

    /// An echo server on a free loopback port.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = stream.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    /// A connection to `to` whose source address is `from`.
    async fn connect_from(from: IpAddr, to: SocketAddr) -> TcpStream {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(from, 0)).unwrap();
        tokio::time::timeout(STEP, socket.connect(to))
            .await
            .expect("connect in time")
            .expect("connect")
    }

    /// Whether `stream` echoes a message back.
    async fn echoes(stream: &mut TcpStream, msg: &[u8]) -> bool {
        if stream.write_all(msg).await.is_err() {
            return false;
        }
        let mut buf = vec![0u8; msg.len()];
        matches!(
            tokio::time::timeout(STEP, stream.read_exact(&mut buf)).await,
            Ok(Ok(_)) if buf == msg
        )
    }

    /// Whether the other side closed `stream` (EOF or reset) within the step time.
    async fn closed_by_peer(stream: &mut TcpStream) -> bool {
        let mut buf = [0u8; 16];
        match tokio::time::timeout(STEP, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => true,
            Ok(Ok(_)) | Err(_) => false,
        }
    }

    #[tokio::test]
    async fn forwards_blocks_by_source_ip_and_heals() {
        let target = echo_server().await;
        let proxy = FaultProxy::start("127.0.0.1:0".parse().unwrap(), target)
            .await
            .unwrap();
        let (a, b) = (loopback(2), loopback(3));
        let mut from_a = connect_from(a, proxy.addr()).await;
        let mut from_b = connect_from(b, proxy.addr()).await;
        assert!(echoes(&mut from_a, b"hello from a").await, "forwarding");
        assert!(echoes(&mut from_b, b"hello from b").await, "forwarding");

        proxy.block(a);
        assert!(proxy.is_blocked(a) && !proxy.is_blocked(b));
        assert!(
            closed_by_peer(&mut from_a).await,
            "a live connection of a blocked source is closed"
        );
        let mut again = connect_from(a, proxy.addr()).await;
        assert!(
            closed_by_peer(&mut again).await,
            "a new connection of a blocked source is closed"
        );
        assert!(
            echoes(&mut from_b, b"still here").await,
            "other sources are not affected"
        );

        proxy.heal();
        assert!(!proxy.is_blocked(a));
        let mut healed = connect_from(a, proxy.addr()).await;
        assert!(echoes(&mut healed, b"back").await, "heal lets a through");

        proxy.block(b);
        proxy.unblock(b);
        let mut b_again = connect_from(b, proxy.addr()).await;
        assert!(
            echoes(&mut b_again, b"unblocked").await,
            "unblock lets b through"
        );

        drop(proxy);
        assert!(
            closed_by_peer(&mut healed).await,
            "dropping the proxy closes what it forwards"
        );
    }

    /// Whether `stream` stays open and silent: a message sent gets neither an answer nor a
    /// close within a short wait.
    async fn silent(stream: &mut TcpStream) -> bool {
        if stream.write_all(b"anyone?").await.is_err() {
            return false;
        }
        let mut buf = [0u8; 16];
        tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf))
            .await
            .is_err()
    }

    #[tokio::test]
    async fn a_black_hole_holds_connections_open_and_silent_until_it_ends() {
        let target = echo_server().await;
        let proxy = FaultProxy::start("127.0.0.1:0".parse().unwrap(), target)
            .await
            .unwrap();
        let mut live = connect_from(loopback(2), proxy.addr()).await;
        assert!(echoes(&mut live, b"before").await, "forwarding");

        proxy.black_hole();
        assert!(
            silent(&mut live).await,
            "a live connection goes silent, not closed"
        );
        let mut new = connect_from(loopback(2), proxy.addr()).await;
        assert!(
            silent(&mut new).await,
            "a new connection is accepted and held silent"
        );

        proxy.end_black_hole();
        assert!(
            closed_by_peer(&mut live).await,
            "held connections are closed at the end"
        );
        assert!(
            closed_by_peer(&mut new).await,
            "held connections are closed at the end"
        );
        let mut after = connect_from(loopback(2), proxy.addr()).await;
        assert!(echoes(&mut after, b"after").await, "forwarding again");
    }
}
