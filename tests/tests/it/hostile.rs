//! Hostile and broken peers: oversize length headers, depth bombs, truncated or trickled
//! messages, silent TCP clients, garbage, TTLV that is no request, lying batch counts, and more
//! connections than the cap. Each is dropped (or answered with a KMIP error) in bounded time,
//! and a well-behaved client connected at the same time keeps getting answers throughout.
//!
//! Tests of timeouts configure short ones (1 s); tests of immediate refusals keep the default
//! 30 s read timeout, so a refusal that came from a timeout would be too slow to pass.

use std::sync::Arc;
use std::time::Duration;

use client::Connection;
use kmip_codec::enums::{Operation, ResultReason, ResultStatus};
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    DiscoverVersionsRequest, RequestBatchItem, RequestMessage, ResponseMessage, decode_response,
    encode_request,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::decode::decode;
use kmip_codec::ttlv::encode::encode;
use kmip_codec::ttlv::{Ttlv, Value};
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::TestServer;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout, timeout_at};
use tokio_rustls::client::TlsStream;

/// Short timeouts for the tests of slow peers.
const SHORT_TIMEOUTS: &[(&str, &str)] = &[
    ("KMSD_SERVER__HANDSHAKE_TIMEOUT_SECS", "1"),
    ("KMSD_SERVER__READ_TIMEOUT_SECS", "1"),
    ("KMSD_SERVER__IDLE_TIMEOUT_SECS", "10"),
];

/// The short timeouts' length.
const SHORT: Duration = Duration::from_secs(1);

/// How long an immediate refusal may take (far below the default 30 s read timeout; loose
/// enough for a loaded 2-core machine).
const PROMPT: Duration = Duration::from_secs(5);

/// Most connections in the cap test.
const CAP: usize = 3;

/// A well-behaved client on its own open connection asking Discover Versions every 100 ms
/// until stopped, and once more after; every request must be answered within [`PROMPT`].
struct Canary {
    stop: watch::Sender<bool>,
    task: JoinHandle<(u32, Vec<String>)>,
}

impl Canary {
    async fn start(server: &TestServer) -> Canary {
        let mut conn = server
            .client("globex")
            .expect("connector")
            .connect()
            .await
            .expect("the canary connects");
        conn.discover_versions(&[])
            .await
            .expect("the canary is served");
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut answered = 0;
            let mut failures = Vec::new();
            // Ask, then wait 100 ms or stop; once stopped, ask one last time.
            loop {
                match timeout(PROMPT, conn.discover_versions(&[])).await {
                    Ok(Ok(_)) => answered += 1,
                    Ok(Err(e)) => failures.push(e.to_string()),
                    Err(_) => failures.push(format!("no answer within {PROMPT:?}")),
                }
                if *stopped.borrow() {
                    break;
                }
                tokio::select! {
                    _ = stopped.changed() => {}
                    _ = sleep(Duration::from_millis(100)) => {}
                }
            }
            (answered, failures)
        });
        Canary { stop, task }
    }

    /// Stops the canary and checks it was answered every time (at least `min` times).
    async fn finish(self, min: u32) {
        let _ = self.stop.send(true);
        let (answered, failures) = self.task.await.expect("canary task");
        assert!(
            failures.is_empty(),
            "the well-behaved client was failed: {failures:?}"
        );
        assert!(
            answered >= min,
            "the well-behaved client got {answered} answers, want {min}"
        );
    }
}

/// A mutually authenticated TLS stream to the server, to write arbitrary bytes on.
async fn raw_tls(server: &TestServer) -> TlsStream<TcpStream> {
    let config = server
        .client_config("acme")
        .expect("config")
        .tls_config()
        .expect("TLS config");
    let tcp = TcpStream::connect(server.addr())
        .await
        .expect("TCP connect");
    let name = ServerName::try_from("127.0.0.1".to_owned()).expect("server name");
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

/// Reads until the server closes the connection. Returns how long that took and how many
/// bytes came before, or `None` when it was still open after `limit`.
async fn closed_within<S: AsyncRead + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> Option<(Duration, usize)> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let mut received = 0;
    loop {
        match timeout_at(start + limit, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some((start.elapsed(), received)),
            Ok(Ok(n)) => received += n,
        }
    }
}

/// A new connection is served (the server is still up for others).
async fn serves_a_new_client(server: &TestServer) {
    let mut conn = server
        .client("globex")
        .expect("connector")
        .connect()
        .await
        .expect("connect");
    conn.discover_versions(&[])
        .await
        .expect("a new client is served");
}

/// A Discover Versions request in `version`, with a batch item ID.
fn discover_versions(version: ProtocolVersion) -> RequestMessage {
    RequestMessage::new(
        version,
        vec![RequestBatchItem::new(DiscoverVersionsRequest::default()).with_id(b"id-1".to_vec())],
    )
}

/// Reads one KMIP response off a raw stream.
async fn read_response(stream: &mut TlsStream<TcpStream>) -> ResponseMessage {
    let bytes = timeout(
        PROMPT,
        client::frame::read_message(stream, &Limits::DEFAULT),
    )
    .await
    .expect("an answer in time")
    .expect("a framed answer");
    decode_response(&bytes, &Limits::DEFAULT).expect("a Response Message")
}

/// The one failed item of an error response, with reason Invalid Message.
fn invalid_message(response: &ResponseMessage) -> &kmip_codec::model::ResponseBatchItem {
    let [item] = response.batch_items.as_slice() else {
        panic!(
            "one error item expected, got {}",
            response.batch_items.len()
        );
    };
    assert_eq!(item.result_status, ResultStatus::OPERATION_FAILED);
    assert_eq!(item.result_reason, Some(ResultReason::INVALID_MESSAGE));
    item
}

/// The same raw connection still answers a valid request after the error.
async fn still_answers(stream: &mut TlsStream<TcpStream>) {
    stream
        .write_all(&encode_request(&discover_versions(ProtocolVersion::V1_4)))
        .await
        .expect("write");
    let response = read_response(stream).await;
    let [item] = response.batch_items.as_slice() else {
        panic!("one item expected");
    };
    assert_eq!(item.result_status, ResultStatus::SUCCESS, "{item:?}");
}

/// A Request Message header (tag 0x420078, Structure) declaring `len` bytes of body.
fn header(len: u32) -> Vec<u8> {
    let mut h = vec![0x42, 0x00, 0x78, 0x01];
    h.extend_from_slice(&len.to_be_bytes());
    h
}

/// Peak resident memory of this process (the server runs in it), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

kms_tests::server_test! {
    async fn an_oversize_length_closes_the_connection_without_allocating(server) {
        let canary = Canary::start(server).await;
        let before = peak_rss_kib();
        for declared in [1u32 << 31, u32::MAX - 7, (kmip_codec::limits::DEFAULT_MAX_MESSAGE_SIZE as u32) + 8] {
            let mut stream = raw_tls(server).await;
            stream.write_all(&header(declared)).await.expect("write");
            stream.flush().await.expect("flush");
            let (after, received) = closed_within(&mut stream, PROMPT)
                .await
                .unwrap_or_else(|| panic!("declared {declared} bytes: connection left open"));
            assert_eq!(received, 0, "declared {declared}: an answer to an untrusted frame");
            assert!(after < PROMPT, "declared {declared}: closed after {after:?}");
        }
        let grown = peak_rss_kib().saturating_sub(before);
        assert!(grown < 64 * 1024, "peak memory grew by {grown} KiB");
        canary.finish(1).await;
        serves_a_new_client(server).await;
    }
}

kms_tests::server_test! {
    async fn a_depth_bomb_is_answered_with_a_kmip_error(server) {
        let canary = Canary::start(server).await;
        // 100 000 nested Structures (800 000 bytes, under the 1 MiB message limit): a
        // recursive decoder without a depth bound would overflow its stack.
        let levels: u32 = 100_000;
        let mut bomb = Vec::with_capacity(levels as usize * 8);
        for i in 0..levels {
            bomb.extend_from_slice(&header(8 * (levels - 1 - i)));
        }
        let mut stream = raw_tls(server).await;
        stream.write_all(&bomb).await.expect("write");
        let response = read_response(&mut stream).await;
        invalid_message(&response);
        still_answers(&mut stream).await;
        canary.finish(1).await;
        serves_a_new_client(server).await;
    }
}

kms_tests::server_test! {
    async fn a_truncated_message_then_silence_is_dropped_after_the_read_timeout(server, SHORT_TIMEOUTS) {
        let canary = Canary::start(server).await;
        let mut stream = raw_tls(server).await;
        let mut partial = header(64);
        partial.extend_from_slice(&[0x42, 0x00, 0x77, 0x01, 0, 0, 0, 0x38, 0x42, 0x00, 0x69]);
        stream.write_all(&partial).await.expect("write");
        stream.flush().await.expect("flush");
        let (after, received) = closed_within(&mut stream, 3 * SHORT + PROMPT)
            .await
            .expect("a truncated message kept the connection open");
        assert_eq!(received, 0, "an answer to half a message");
        assert!(after >= SHORT - Duration::from_millis(200), "closed after {after:?}, before the read timeout");
        canary.finish(5).await;
        serves_a_new_client(server).await;
    }
}

kms_tests::server_test! {
    async fn a_trickling_client_is_dropped_after_the_read_timeout(server, SHORT_TIMEOUTS) {
        let canary = Canary::start(server).await;
        let mut stream = raw_tls(server).await;
        let message = encode_request(&discover_versions(ProtocolVersion::V1_4));
        assert!(message.len() > 40, "the message must outlast the trickle");
        let start = Instant::now();
        let mut closed_after = None;
        // At most 40 bytes (8 s): enough to outlast the 1 s read timeout several times.
        for (sent, byte) in message.iter().take(40).enumerate() {
            let wrote = async {
                stream.write_all(&[*byte]).await?;
                stream.flush().await
            }
            .await;
            if wrote.is_err() {
                closed_after = Some((start.elapsed(), sent));
                break;
            }
            let mut buf = [0u8; 512];
            match timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
                Err(_) => {}
                Ok(Ok(0) | Err(_)) => {
                    closed_after = Some((start.elapsed(), sent + 1));
                    break;
                }
                Ok(Ok(n)) => panic!("{n} bytes answered to a message not yet sent whole"),
            }
        }
        let (after, sent) = closed_after.expect("the trickling client was never dropped");
        assert!(sent < message.len(), "the whole message went through ({sent} bytes)");
        assert!(after >= SHORT - Duration::from_millis(200), "dropped after {after:?}, before the read timeout");
        assert!(after < SHORT + PROMPT, "dropped only after {after:?}");
        canary.finish(5).await;
        serves_a_new_client(server).await;
    }
}

kms_tests::server_test! {
    async fn a_silent_tcp_client_is_dropped_after_the_handshake_timeout(server, SHORT_TIMEOUTS) {
        let canary = Canary::start(server).await;
        let mut tcp = TcpStream::connect(server.addr()).await.expect("TCP connect");
        let (after, received) = closed_within(&mut tcp, 3 * SHORT + PROMPT)
            .await
            .expect("a client that never handshakes kept its connection");
        assert_eq!(received, 0, "the server spoke to a client that sent nothing");
        assert!(after >= SHORT - Duration::from_millis(200), "dropped after {after:?}, before the timeout");
        canary.finish(5).await;
        serves_a_new_client(server).await;
    }
}

kms_tests::server_test! {
    async fn garbage_is_dropped_at_once(server) {
        let canary = Canary::start(server).await;
        let garbage = b"GET / HTTP/1.1\r\nHost: kms.example\r\n\r\n";
        // Before TLS: the handshake fails (a TLS alert may come back), the connection closes.
        let mut tcp = TcpStream::connect(server.addr()).await.expect("TCP connect");
        tcp.write_all(garbage).await.expect("write");
        let (after, _) = closed_within(&mut tcp, PROMPT).await.expect("plain-text garbage kept the connection");
        assert!(after < PROMPT);
        // Inside TLS: neither a TTLV frame header nor an HTTP request line (KMIP over HTTPS
        // answers those, see `kmip_https`), closed without an answer.
        let mut stream = raw_tls(server).await;
        stream.write_all(b"\x17\x03\x03garbage that is no message\r\n\r\n").await.expect("write");
        stream.flush().await.expect("flush");
        let (after, received) = closed_within(&mut stream, PROMPT).await.expect("garbage kept the connection");
        assert_eq!(received, 0, "an answer to garbage");
        assert!(after < PROMPT);
        canary.finish(1).await;
        serves_a_new_client(server).await;
    }
}

kms_tests::server_test! {
    async fn ttlv_that_is_not_a_request_gets_a_kmip_error(server) {
        let canary = Canary::start(server).await;
        let mut stream = raw_tls(server).await;
        let not_requests = [
            // A structure of another tag.
            Ttlv::structure(
                Tag::REQUEST_PAYLOAD,
                vec![Ttlv::new(Tag::UNIQUE_IDENTIFIER, Value::TextString("1".to_owned()))],
            ),
            // A Request Message without header.
            Ttlv::structure(Tag::REQUEST_MESSAGE, vec![]),
            // A Response Message sent back to the server.
            decode(
                &kmip_codec::model::encode_response(&ResponseMessage::new(
                    kmip_codec::model::ResponseHeader::new(ProtocolVersion::V1_4, 0),
                    vec![],
                )),
                &Limits::DEFAULT,
            )
            .expect("response tree"),
        ];
        for tree in &not_requests {
            stream.write_all(&encode(tree)).await.expect("write");
            let response = read_response(&mut stream).await;
            invalid_message(&response);
        }
        still_answers(&mut stream).await;
        canary.finish(1).await;
    }
}

kms_tests::server_test! {
    async fn a_lying_batch_count_gets_a_kmip_error_in_the_requests_version(server) {
        let canary = Canary::start(server).await;
        let mut stream = raw_tls(server).await;
        for version in [ProtocolVersion::V1_2, ProtocolVersion::V2_0] {
            let request = discover_versions(version);
            let mut tree = decode(&encode_request(&request), &Limits::DEFAULT).expect("tree");
            let Value::Structure(parts) = &mut tree.value else { panic!("message") };
            let header = parts.iter_mut().find(|p| p.tag == Tag::REQUEST_HEADER).expect("header");
            let Value::Structure(fields) = &mut header.value else { panic!("header") };
            let count = fields.iter_mut().find(|f| f.tag == Tag::BATCH_COUNT).expect("Batch Count");
            count.value = Value::Integer(2);
            stream.write_all(&encode(&tree)).await.expect("write");
            let response = read_response(&mut stream).await;
            assert_eq!(response.header.protocol_version, version, "the error's protocol version");
            let item = invalid_message(&response);
            assert_eq!(item.unique_batch_item_id.as_deref(), Some(&b"id-1"[..]), "batch item ID echoed");
            assert_eq!(item.operation, Some(Operation::DISCOVER_VERSIONS));
        }
        still_answers(&mut stream).await;
        canary.finish(1).await;
    }
}

kms_tests::server_test! {
    async fn connections_past_the_cap_are_closed(server, &[("KMSD_SERVER__MAX_CONNECTIONS", "3")]) {
        // The canary holds one of the CAP slots, the hogs the others.
        let canary = Canary::start(server).await;
        let mut hogs: Vec<Connection> = Vec::new();
        for _ in 1..CAP {
            let mut conn = server.client("acme").expect("connector").connect().await.expect("connect");
            conn.discover_versions(&[]).await.expect("served within the cap");
            hogs.push(conn);
        }
        let mut extra = TcpStream::connect(server.addr()).await.expect("the kernel accepts");
        let (after, received) = closed_within(&mut extra, PROMPT)
            .await
            .expect("the connection past the cap was kept");
        assert_eq!(received, 0, "the server spoke TLS past the cap");
        assert!(after < PROMPT);
        let refused = server.client("acme").expect("connector").connect().await;
        let refused = match refused {
            Err(_) => true,
            Ok(mut c) => c.discover_versions(&[]).await.is_err(),
        };
        assert!(refused, "a client past the cap was served");
        // Those within the cap are still served.
        for hog in &mut hogs {
            hog.discover_versions(&[]).await.expect("a client within the cap");
        }
        drop(hogs);
        canary.finish(1).await;
        // Freed slots are reusable.
        let deadline = Instant::now() + PROMPT;
        loop {
            let mut conn = server.client("globex").expect("connector").connect().await;
            let served = match conn.as_mut() {
                Ok(c) => c.discover_versions(&[]).await.is_ok(),
                Err(_) => false,
            };
            if served {
                break;
            }
            assert!(Instant::now() < deadline, "slots not freed after the hogs left");
            sleep(Duration::from_millis(50)).await;
        }
    }
}
