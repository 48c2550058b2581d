//! The per-source-address connection cap (`server.max_connections_per_ip`): silent TCP peers
//! from one address cannot take more than their share of the listener's slots. Over the cap a
//! connection from that address is closed at once (before any TLS handshake), while a client
//! from another address is still served, and once the silent peers leave their address is
//! served again.
//!
//! Linux loopback accepts any 127/8 source address, so "another address" is 127.0.0.2.
//! The handshake timeout keeps its 10 s default: a refusal that came from it would be too slow
//! to pass.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use kmip_codec::enums::ResultStatus;
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    DiscoverVersionsRequest, RequestBatchItem, RequestMessage, decode_response, encode_request,
};
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::TestServer;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, sleep, timeout};

/// The cap under test.
const CAP: usize = 3;

/// How long an immediate refusal (or a request) may take: far below the 10 s handshake
/// timeout, loose enough for a loaded 2-core machine.
const PROMPT: Duration = Duration::from_secs(5);

/// The address the silent peers use.
const CROWDED: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

/// Another loopback source address.
const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// A TCP connection to `server` from `source`.
async fn connect_from(server: SocketAddr, source: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(source), 0))
        .expect("bind the source address");
    socket.connect(server).await.expect("TCP connect")
}

/// Whether the server closes `tcp` (without sending anything) within [`PROMPT`].
async fn closed_promptly(tcp: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    // The server never writes first: data, or nothing within PROMPT, is not a refusal.
    matches!(
        timeout(PROMPT, tcp.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// Mutual TLS from `source` as `acme`'s KMIP client, then Discover Versions; `Err` says why
/// it was not served.
async fn served_from(server: &TestServer, source: Ipv4Addr) -> Result<(), String> {
    let config = server
        .client_config("acme")
        .map_err(|e| e.to_string())?
        .tls_config()
        .map_err(|e| e.to_string())?;
    let tcp = connect_from(server.addr(), source).await;
    let name = ServerName::try_from("127.0.0.1".to_owned()).map_err(|e| e.to_string())?;
    let exchange = async {
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake: {e}"))?;
        let request = RequestMessage::new(
            ProtocolVersion::V1_4,
            vec![RequestBatchItem::new(DiscoverVersionsRequest::default())],
        );
        tls.write_all(&encode_request(&request))
            .await
            .map_err(|e| format!("write: {e}"))?;
        let bytes = client::frame::read_message(&mut tls, &Limits::DEFAULT)
            .await
            .map_err(|e| format!("read: {e}"))?;
        let response =
            decode_response(&bytes, &Limits::DEFAULT).map_err(|e| format!("decode: {e}"))?;
        match response.batch_items.as_slice() {
            [item] if item.result_status == ResultStatus::SUCCESS => Ok(()),
            items => Err(format!("unexpected answer: {items:?}")),
        }
    };
    timeout(PROMPT, exchange)
        .await
        .map_err(|_| format!("no answer within {PROMPT:?}"))?
}

kms_tests::server_test! {
    async fn one_address_cannot_hold_more_than_its_share(
        server,
        &[("KMSD_SERVER__MAX_CONNECTIONS_PER_IP", "3")]
    ) {
        let started = Instant::now();
        // Before the crowd, 127.0.0.1 is served (the cap is not simply refusing everything).
        served_from(server, CROWDED).await.expect("served before the crowd");
        // Its slot is freed when the server has seen the close, which a loaded machine may
        // take a moment to do; the crowd must not race it.
        let metrics = server.kms().metrics();
        let deadline = Instant::now() + PROMPT;
        while metrics.kmip_connections_open() > 0 && Instant::now() < deadline {
            sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(metrics.kmip_connections_open(), 0, "the first connection ended");

        // CAP silent peers that never start a TLS handshake.
        let mut silent = Vec::new();
        for _ in 0..CAP {
            silent.push(connect_from(server.addr(), CROWDED).await);
        }
        // The listener accepts in order, so the next one from the same address is over the
        // cap, and closed at once rather than after the handshake timeout.
        let mut over = connect_from(server.addr(), CROWDED).await;
        assert!(
            closed_promptly(&mut over).await,
            "a connection over the per-address cap was not closed within {PROMPT:?}"
        );
        // The silent peers themselves are still open (they hold the slots).
        for tcp in &mut silent {
            let mut buf = [0u8; 1];
            assert!(
                timeout(Duration::from_millis(200), tcp.read(&mut buf)).await.is_err(),
                "a silent peer under the cap was closed early"
            );
        }
        // Another address is served meanwhile.
        served_from(server, OTHER)
            .await
            .expect("a client from another address is served while 127.0.0.1 is at its cap");
        // And 127.0.0.1 is still refused: its slots are not freed by others' traffic.
        assert!(
            served_from(server, CROWDED).await.is_err(),
            "127.0.0.1 was served over its cap"
        );

        // The silent peers leave; the server sees their close and frees their slots.
        drop(silent);
        let deadline = Instant::now() + PROMPT;
        let mut last = served_from(server, CROWDED).await;
        while last.is_err() && Instant::now() < deadline {
            sleep(Duration::from_millis(50)).await;
            last = served_from(server, CROWDED).await;
        }
        last.expect("127.0.0.1 is served again once its silent peers closed");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "took {:?}",
            started.elapsed()
        );
    }
}
