//! Calls to peers: mutual-TLS connections kept per peer address and reused, one call at a
//! time per connection. A connection is checked for a close by the peer before reuse; the
//! node a connection reached is checked against the node the caller meant. Opening one takes
//! at most [`PeerTimeouts::connect`] (sized from the election timeout, `timing.rs`).

use std::collections::HashMap;
use std::io::SeekFrom;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::peer_tls::PeerTls;
use super::rpc::{Call, Envelope, Reply, WireError, read_frame, write_frame};
use super::timing::PeerTimeouts;
use super::types::NodeId;

/// Idle connections kept per peer address (forwarded writes use several at once).
const MAX_IDLE_PER_PEER: usize = 64;

/// Why a call got no reply. The outcome of a call that was sent is unknown.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// The address does not resolve or the connection could not be opened.
    #[error("cannot reach {addr}: {reason}")]
    Connect {
        /// The peer address.
        addr: String,
        /// Why (fixed or OS text; no secrets).
        reason: String,
    },
    /// The peer is not the node meant.
    #[error("{addr} is node {found:?}, not node {expected}")]
    WrongPeer {
        /// The peer address.
        addr: String,
        /// Who was meant.
        expected: NodeId,
        /// Who answered.
        found: Option<NodeId>,
    },
    /// The call or its reply failed on the wire.
    #[error("call to {addr} failed: {source}")]
    Wire {
        /// The peer address.
        addr: String,
        /// Why.
        source: WireError,
    },
}

/// An open connection to a peer, ready for one call.
pub(super) struct Conn {
    stream: TlsStream<TcpStream>,
    peer: NodeId,
}

/// Opens and reuses connections to peers.
pub struct Dialer {
    connector: TlsConnector,
    me: NodeId,
    kcv: String,
    bind_ip: Option<IpAddr>,
    timeouts: PeerTimeouts,
    idle: Mutex<HashMap<String, Vec<Conn>>>,
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialer")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl Dialer {
    /// A dialer for node `me` serving with Root of Trust KCV `kcv`. Outgoing connections come
    /// from `bind_ip` when set (the Raft listener's address), so peers and firewalls see one
    /// address per node.
    pub fn new(
        tls: &PeerTls,
        me: NodeId,
        kcv: String,
        bind_ip: Option<IpAddr>,
        timeouts: PeerTimeouts,
    ) -> Self {
        Self {
            connector: TlsConnector::from(tls.client.clone()),
            me,
            kcv,
            bind_ip: bind_ip.filter(|ip| !ip.is_unspecified()),
            timeouts,
            idle: Mutex::new(HashMap::new()),
        }
    }

    /// The bounds of calls to peers.
    pub(super) fn timeouts(&self) -> PeerTimeouts {
        self.timeouts
    }

    /// Sends `call` to the node at `addr` (which must be node `expect`, when given) and waits
    /// up to `timeout` for its reply. Returns who answered and the reply.
    pub async fn call(
        &self,
        addr: &str,
        expect: Option<NodeId>,
        call: Call,
        timeout: Duration,
    ) -> Result<(NodeId, Reply), DialError> {
        let conn = self.checkout(addr, expect).await?;
        self.exchange(addr, conn, call, timeout).await
    }

    /// Sends `call` on `conn` (from [`Dialer::checkout`] for `addr`) and waits up to `timeout`
    /// for the reply; the connection is kept for reuse after a reply. Returns who answered and
    /// the reply. From its first byte on, the call may have reached the peer.
    pub(super) async fn exchange(
        &self,
        addr: &str,
        mut conn: Conn,
        call: Call,
        timeout: Duration,
    ) -> Result<(NodeId, Reply), DialError> {
        let envelope = self.envelope(call);
        let reply = reply_within(addr, timeout, async {
            write_frame(&mut conn.stream, &envelope).await?;
            read_frame::<_, Reply>(&mut conn.stream, timeout, timeout).await
        })
        .await?;
        let peer = conn.peer;
        self.checkin(addr, conn);
        Ok((peer, reply))
    }

    /// Streams the snapshot file `file` (`len` bytes) to node `expect` at `addr` after the
    /// envelope `call` ([`Call::Snapshot`]), on a connection of its own.
    pub async fn send_snapshot(
        &self,
        addr: &str,
        expect: NodeId,
        call: Call,
        mut file: tokio::fs::File,
        timeout: Duration,
    ) -> Result<Reply, DialError> {
        let mut conn = self.connect(addr, Some(expect)).await?;
        let envelope = self.envelope(call);
        reply_within(addr, timeout, async {
            write_frame(&mut conn.stream, &envelope).await?;
            file.seek(SeekFrom::Start(0)).await?;
            tokio::io::copy(&mut file, &mut conn.stream).await?;
            conn.stream.flush().await?;
            read_frame::<_, Reply>(&mut conn.stream, timeout, timeout).await
        })
        .await
    }

    fn envelope(&self, call: Call) -> Envelope {
        Envelope {
            from: self.me,
            kcv: self.kcv.clone(),
            call,
        }
    }

    /// A connection to node `expect` (when given) at `addr`: an idle one still open, else a
    /// new one (within [`PeerTimeouts::connect`]). Nothing of a call is sent yet.
    pub(super) async fn checkout(
        &self,
        addr: &str,
        expect: Option<NodeId>,
    ) -> Result<Conn, DialError> {
        loop {
            let pooled = self
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_mut(addr)
                .and_then(Vec::pop);
            let Some(conn) = pooled else {
                return self.connect(addr, expect).await;
            };
            if expect.is_some_and(|e| e != conn.peer) || !is_open(&conn).await {
                continue;
            }
            return Ok(conn);
        }
    }

    fn checkin(&self, addr: &str, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.entry(addr.to_owned()).or_default();
        if list.len() < MAX_IDLE_PER_PEER {
            list.push(conn);
        }
    }

    /// Drops the idle connections to `addr` (after the peer was removed or failed).
    pub fn forget(&self, addr: &str) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(addr);
    }

    async fn connect(&self, addr: &str, expect: Option<NodeId>) -> Result<Conn, DialError> {
        let connect_err = |reason: String| DialError::Connect {
            addr: addr.to_owned(),
            reason,
        };
        let stream = tokio::time::timeout(self.timeouts.connect, async {
            let target = resolve(addr).await?;
            let socket = match target {
                SocketAddr::V4(_) => TcpSocket::new_v4()?,
                SocketAddr::V6(_) => TcpSocket::new_v6()?,
            };
            if let Some(ip) = self.bind_ip
                && ip.is_ipv4() == target.is_ipv4()
            {
                socket.bind(SocketAddr::new(ip, 0))?;
            }
            let tcp = socket.connect(target).await?;
            tcp.set_nodelay(true)?;
            self.connector.connect(PeerTls::server_name(), tcp).await
        })
        .await
        .map_err(|_| connect_err("timed out".into()))?
        .map_err(|e| connect_err(e.to_string()))?;
        let peer = PeerTls::peer_node(
            stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first()),
        );
        match (peer, expect) {
            (Some(p), Some(e)) if p == e => Ok(Conn { stream, peer: p }),
            (Some(p), None) => Ok(Conn { stream, peer: p }),
            (found, Some(expected)) => Err(DialError::WrongPeer {
                addr: addr.to_owned(),
                expected,
                found,
            }),
            (None, None) => Err(connect_err("peer certificate names no node".into())),
        }
    }
}

/// Runs one exchange with the peer at `addr` within `timeout`; a close before the reply is an
/// error like any other wire failure.
async fn reply_within(
    addr: &str,
    timeout: Duration,
    exchange: impl std::future::Future<Output = Result<Option<Reply>, WireError>>,
) -> Result<Reply, DialError> {
    let wire = |source| DialError::Wire {
        addr: addr.to_owned(),
        source,
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| wire(WireError::Timeout))?
        .map_err(wire)?
        .ok_or_else(|| wire(WireError::Io(std::io::ErrorKind::UnexpectedEof.into())))
}

async fn resolve(addr: &str) -> std::io::Result<SocketAddr> {
    tokio::net::lookup_host(addr)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other("address resolves to nothing"))
}

/// Whether a pooled connection is still open: the peer sends nothing unasked, so readable
/// means closed (or broken).
async fn is_open(conn: &Conn) -> bool {
    let mut byte = [0u8; 1];
    let tcp = conn.stream.get_ref().0;
    tokio::time::timeout(Duration::ZERO, tcp.peek(&mut byte))
        .await
        .is_err()
}
