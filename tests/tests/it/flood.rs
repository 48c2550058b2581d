//! Unauthenticated floods cannot grow the audit trail or the log at will (issue 14, H2).
//!
//! A real `kmsd dev` process (real SoftHSM2, real TLS) takes a few seconds of connections that
//! are refused before authentication, from three loopback addresses: failed TLS handshakes
//! (garbage, and a record of the wrong type that rustls itself complains about), malformed
//! frames after a good handshake, and connections over the per-address cap. Then:
//!
//! - every refusal is counted exactly in `kms_kmip_connections_refused_total`;
//! - the audit trail holds at most two records per (source, reason) per interval, and the
//!   counts of those records add up, per reason, to exactly what the metrics counted: nothing
//!   is hidden from the auditor;
//! - the log holds as few WARN lines;
//! - the flood was large enough that a record (or a WARN line) per refusal would have broken
//!   those bounds.
//!
//! The server runs with the default aggregation settings (10 s, 64 keys); the many-sources
//! case (more keys than that) is in `refusals`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use audit_log::{AuditRecord, ChainState, Filter, Kind};
use kms_tests::dev_server::DevServer;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout};

/// How long the flood lasts.
const FLOOD: Duration = Duration::from_secs(3);

/// The aggregation interval the server uses (`audit.refusal_interval_secs`, default).
const INTERVAL: Duration = Duration::from_secs(10);

/// Reasons a connection is refused before authentication.
const REASONS: u64 = 5;

/// Connections over this many from one address are refused.
const PER_ADDRESS: usize = 2;

/// Sends garbage instead of a TLS handshake.
const GARBAGE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
/// Handshakes with a good certificate, then sends a malformed frame.
const BAD_FRAMES: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// Holds its share of connections, then keeps opening more.
const OVER_CAP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

/// Time the server has to close a refused connection.
const PROMPT: Duration = Duration::from_secs(10);

/// A free port on the loopback interface (bound once and released).
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

async fn connect_from(server: SocketAddr, source: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(source), 0))
        .expect("bind the source address");
    socket.connect(server).await.expect("TCP connect")
}

/// Reads until the server closes; panics if it does not within [`PROMPT`].
async fn until_closed<S: AsyncReadExt + Unpin>(stream: &mut S) {
    let mut buf = [0u8; 1024];
    let closed = timeout(PROMPT, async {
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
    assert!(closed.is_ok(), "a refused connection stayed open");
}

/// Connections from [`GARBAGE`] until `end`: plain text, or an application-data record
/// before any handshake (which rustls logs as a warning). Returns how many.
async fn garbage(server: SocketAddr, end: Instant) -> u64 {
    let mut made = 0;
    while Instant::now() < end {
        let mut tcp = connect_from(server, GARBAGE).await;
        let bytes: &[u8] = if made % 2 == 0 {
            b"GET / HTTP/1.0\r\n\r\n"
        } else {
            &[0x17, 0x03, 0x03, 0x00, 0x01, 0x00]
        };
        let _ = tcp.write_all(bytes).await;
        until_closed(&mut tcp).await;
        made += 1;
    }
    made
}

/// Connections from [`BAD_FRAMES`] until `end`: a good handshake as acme's KMIP client, then
/// a header that is not a TTLV structure. Returns how many.
async fn bad_frames(server: SocketAddr, pki: &Path, end: Instant) -> u64 {
    let config = client::ClientConfig::new(server.to_string(), "127.0.0.1")
        .with_ca_file(pki.join("ca.pem"))
        .with_identity(
            pki.join("clients/acme/vcenter.pem"),
            pki.join("clients/acme/vcenter.key"),
        )
        .tls_config()
        .expect("client TLS configuration");
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut made = 0;
    while Instant::now() < end {
        let tcp = connect_from(server, BAD_FRAMES).await;
        let name = ServerName::try_from("127.0.0.1").expect("server name");
        let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
        tls.write_all(&[0xff; 8]).await.expect("write");
        until_closed(&mut tls).await;
        made += 1;
    }
    made
}

/// Connections from [`OVER_CAP`] until `end`, while [`PER_ADDRESS`] silent ones hold its
/// slots; then the silent ones leave (their handshakes fail). Returns how many were refused.
async fn over_cap(server: SocketAddr, end: Instant) -> u64 {
    let mut silent = Vec::new();
    for _ in 0..PER_ADDRESS {
        silent.push(connect_from(server, OVER_CAP).await);
    }
    let mut made = 0;
    while Instant::now() < end {
        let mut tcp = connect_from(server, OVER_CAP).await;
        until_closed(&mut tcp).await;
        made += 1;
    }
    drop(silent);
    made + PER_ADDRESS as u64
}

/// `kms_kmip_connections_refused_total` per reason, read over the admin API as the operator.
async fn refused_metrics(admin: SocketAddr, pki: &Path) -> BTreeMap<String, u64> {
    let arg = |p: &str| pki.join(p).display().to_string();
    let args = [
        "node".to_owned(),
        "metrics".to_owned(),
        "--admin-addr".to_owned(),
        admin.to_string(),
        "--ca".to_owned(),
        arg("ca.pem"),
        "--cert".to_owned(),
        arg("admins/operator-admin.pem"),
        "--key".to_owned(),
        arg("admins/operator-admin.key"),
    ];
    let (exit, out, err) = kms_tests::kmsctl::run(args).await;
    assert_eq!(
        exit,
        client::cli::Exit::Success,
        "kmsctl node metrics: {err}"
    );
    out.lines()
        .filter_map(|l| l.strip_prefix("kms_kmip_connections_refused_total{reason=\""))
        .filter_map(|rest| rest.split_once("\"} "))
        .map(|(reason, n)| (reason.to_owned(), n.trim().parse().expect("a count")))
        .collect()
}

/// Every record of the audit directory, checked to form one unbroken chain.
fn audit_records(dir: &Path) -> Vec<AuditRecord> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = server::audit::query::read_page(dir, after, 10_000, &Filter::default())
            .expect("read the audit files");
        out.extend(page.records);
        if !page.more {
            break;
        }
        after = page.next;
    }
    if let Some(first) = out.first() {
        let mut chain = ChainState::genesis(&first.log);
        for r in &out {
            chain.advance(r).expect("the trail is one unbroken chain");
        }
    }
    out
}

#[test]
fn a_flood_of_refused_connections_leaves_bounded_records_and_log_lines_that_add_up() {
    kms_tests::testbed::runtime().block_on(flood());
}

async fn flood() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = tmp.path().join("kms");
    let (kmip, admin) = (free_port(), free_port());
    let per_address = PER_ADDRESS.to_string();
    let server = DevServer::start(
        &dir,
        1,
        &["--listen", &kmip.to_string()],
        &[
            ("KMSD_ADMIN__LISTEN", &admin.to_string()),
            ("KMSD_SERVER__MAX_CONNECTIONS_PER_IP", &per_address),
        ],
    )
    .await
    .expect("kmsd dev starts");
    let started = Instant::now();
    let pki = dir.join("pki");
    let end = Instant::now() + FLOOD;
    let (garbage_1, garbage_2, frames, capped) = tokio::join!(
        garbage(kmip, end),
        garbage(kmip, end),
        bad_frames(kmip, &pki, end),
        over_cap(kmip, end),
    );
    let refused = garbage_1 + garbage_2 + frames + capped;

    // Every refused connection is counted, exactly (the last ones may take a moment).
    let mut metrics = BTreeMap::new();
    for _ in 0..100 {
        metrics = refused_metrics(admin, &pki).await;
        if metrics.values().sum::<u64>() >= refused {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        metrics.values().sum::<u64>(),
        refused,
        "the metrics count every refusal: {metrics:?}"
    );
    let exited = server.stop().await.expect("stop");
    assert!(exited.success, "kmsd dev exits cleanly: {}", exited.stderr);
    let lived = started.elapsed();

    // At most two records per (source, reason) per interval, over the intervals the server
    // lived through (one more for a partial one, one for the shutdown).
    let intervals = lived.as_secs() / INTERVAL.as_secs() + 2;
    let bound = 2 * 3 * REASONS * intervals;
    assert!(
        refused > 2 * bound,
        "the flood ({refused} refusals in {FLOOD:?}) is too small to tell a bounded trail"
    );
    let records = audit_records(&dir.join("data").join("audit"));
    let refusals: Vec<&AuditRecord> = records
        .iter()
        .filter(|r| r.event.kind == Kind::Connection)
        .collect();
    // The log: as bounded (a few lines of start-up and shutdown besides).
    let warnings: Vec<&str> = exited
        .stderr
        .lines()
        .filter(|l| l.contains(" WARN "))
        .collect();
    eprintln!(
        "{refused} refused connections in {lived:?}: {} records, {} WARN lines (bound {bound})",
        refusals.len(),
        warnings.len(),
    );
    assert!(
        refusals.len() as u64 <= bound && warnings.len() as u64 <= bound + 10,
        "{} records and {} WARN lines for {refused} refused connections (bound {bound}); \
         lines like\n{}",
        refusals.len(),
        warnings.len(),
        warnings
            .iter()
            .take(5)
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    );

    // The counts are the evidence: per reason they add up to what the metrics counted.
    let mut counted: BTreeMap<String, u64> = BTreeMap::new();
    for r in &refusals {
        let reason = r.event.reason.clone().expect("a refusal names its reason");
        *counted.entry(reason).or_default() += r.aggregate.map_or(1, |a| a.count);
        assert!(
            r.event.principal.is_none() && r.event.tenant.is_none(),
            "{r:?}"
        );
    }
    assert_eq!(counted, metrics, "record counts differ from the metrics");
    for reason in [
        "TLS handshake failed",
        "malformed frame",
        "per-address cap reached",
    ] {
        assert!(
            counted.contains_key(reason),
            "no record of {reason}: {counted:?}"
        );
    }
    assert!(
        refusals
            .iter()
            .any(|r| r.aggregate.is_some_and(|a| a.count > 1)),
        "no aggregate record"
    );
}

/// The bound on keys in the test below.
const KEYS: u64 = 4;

/// Source addresses in the test below: ten times the bound.
const MANY: u8 = 40;

/// Refusals per source in the test below.
const EACH: u64 = 3;

/// More sources than `audit.refusal_keys`: the ones past the bound are recorded per reason
/// only ("other sources", no address), the records stay within `2 x (keys + reasons)` per
/// interval, and the counts still add up. One long interval, so that every aggregate is the
/// one recorded at shutdown.
#[test]
fn sources_past_the_key_bound_are_recorded_per_reason_and_still_add_up() {
    kms_tests::softhsm::run(
        concat!(
            module_path!(),
            "::sources_past_the_key_bound_are_recorded_per_reason_and_still_add_up"
        ),
        |env| kms_tests::testbed::runtime().block_on(many_sources(env)),
    );
}

async fn many_sources(env: &kms_tests::softhsm::Env) {
    let keys = KEYS.to_string();
    let server = kms_tests::testbed::TestServer::start_with(
        env,
        &[
            ("KMSD_AUDIT__REFUSAL_KEYS", keys.as_str()),
            ("KMSD_AUDIT__REFUSAL_INTERVAL_SECS", "3600"),
        ],
    )
    .await
    .expect("the test server starts");
    let audit_dir = server.kms().audit().dir().to_owned();
    let before = audit_records(&audit_dir).len();
    let mut tasks = Vec::new();
    for last in 1..=MANY {
        let addr = server.addr();
        tasks.push(tokio::spawn(async move {
            for _ in 0..EACH {
                let mut tcp = connect_from(addr, Ipv4Addr::new(127, 0, 1, last)).await;
                let _ = tcp.write_all(b"not TLS").await;
                until_closed(&mut tcp).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("a source's task");
    }
    let refused = u64::from(MANY) * EACH;
    let metric = |server: &kms_tests::testbed::TestServer| -> u64 {
        let text = server
            .kms()
            .metrics()
            .render(0, None, None)
            .expect("metrics");
        text.lines()
            .filter_map(|l| l.strip_prefix("kms_kmip_connections_refused_total{"))
            .filter_map(|l| l.rsplit_once(' '))
            .map(|(_, n)| n.parse::<u64>().expect("a count"))
            .sum()
    };
    for _ in 0..100 {
        if metric(&server) >= refused {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(metric(&server), refused, "every refusal is counted");
    server.shutdown().await;

    let records = audit_records(&audit_dir);
    let refusals: Vec<&AuditRecord> = records[before..]
        .iter()
        .filter(|r| r.event.kind == Kind::Connection)
        .collect();
    // Recorded at once: the first refusal of each of the KEYS known keys, and the first of
    // the "other sources" of the reason; at shutdown: one aggregate for each of those.
    let bound = 2 * (KEYS + REASONS);
    assert!(
        refusals.len() as u64 <= bound,
        "{} records for {refused} refusals from {MANY} sources (bound {bound})",
        refusals.len()
    );
    let total: u64 = refusals
        .iter()
        .map(|r| r.aggregate.map_or(1, |a| a.count))
        .sum();
    assert_eq!(total, refused, "the counts add up");
    let others: Vec<_> = refusals
        .iter()
        .filter(|r| r.event.client_addr.is_none())
        .collect();
    let [other] = others.as_slice() else {
        panic!("one record of other sources expected: {refusals:#?}");
    };
    let count = other.aggregate.expect("an aggregate").count;
    assert!(
        count >= refused - (KEYS * EACH) - 1,
        "other sources counted {count} of {refused}"
    );
    let named: std::collections::BTreeSet<_> = refusals
        .iter()
        .filter(|r| r.aggregate.is_some())
        .filter_map(|r| r.event.client_addr.clone())
        .collect();
    assert!(named.len() as u64 <= KEYS, "{named:?}");
    assert!(
        named.iter().all(|a| a.parse::<IpAddr>().is_ok()),
        "an aggregate names its source address, without a port: {named:?}"
    );
}
