//! Response amplification (issue 14, H1): a 12 KB request of 256 Locates with Maximum Items
//! 100 000, on a tenant with thousands of keys, asked for an answer of tens of megabytes. The
//! server now bounds every answer by its own Maximum Response Size (and the client's, when
//! smaller) while it builds it, caps Locate's Maximum Items, and answers what does not fit
//! Response Too Large. Several such requests in flight leave the process's memory bounded,
//! and another tenant keeps being answered promptly.
//!
//! The server runs in this test's process, so `/proc/self/status` is the server's memory
//! (plus this test's clients, which stream the answers away instead of holding them). The
//! resident size is sampled by a plain thread, so a blocked async runtime cannot hide a peak.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use kmip_codec::enums::{
    BatchErrorContinuationOption, CryptographicAlgorithm, CryptographicUsageMask, ObjectType,
    Operation, ResultReason, ResultStatus,
};
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    AttributeValue, Attributes, CreateRequest, LocateRequest, RequestBatchItem, RequestMessage,
    ResponsePayload, decode_response, encode_request,
};
use kmip_codec::tags::Tag;
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::{TestServer, create_aes_key};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, sleep, timeout};
use tokio_rustls::client::TlsStream;

/// Keys of the tenant the Locates search: each Locate of them all answers ~96 KB, a request
/// of 256 of them ~25 MB.
const KEYS: usize = 2000;

/// Connections creating the keys (their commits share fsyncs).
const POPULATE_CONNECTIONS: usize = 16;

/// Locates in one request: the most a batch may hold.
const LOCATES: usize = 256;

/// Amplifying requests in flight at once, and how many each connection sends.
const ATTACKERS: usize = 4;
const ROUNDS: usize = 1;

/// The server's default Maximum Response Size.
const SERVER_MAX_RESPONSE: usize = 4 << 20;

/// How much the process may grow while the amplifying requests run. Without a bound, each
/// request builds ~25 MB of encoded answer plus its typed and tree forms (hundreds of MB with
/// four in flight); bounded, four answers of at most 4 MiB and their transient forms stay
/// far below this.
const RSS_GROWTH_BOUND_KIB: u64 = 160 * 1024;

/// The longest another tenant's Get may take meanwhile: generous for a loaded 2-core
/// machine, far below the seconds an unbounded answer holds the runtime.
const PROMPT: Duration = Duration::from_secs(2);

fn usage() -> CryptographicUsageMask {
    CryptographicUsageMask(CryptographicUsageMask::ENCRYPT.0 | CryptographicUsageMask::DECRYPT.0)
}

fn create_item() -> RequestBatchItem {
    RequestBatchItem::new(CreateRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        attributes: Attributes::new()
            .with(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                AttributeValue::Enumeration(CryptographicAlgorithm::AES.0),
            )
            .with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(256))
            .with(
                Tag::CRYPTOGRAPHIC_USAGE_MASK,
                AttributeValue::Integer(i32::from_be_bytes(usage().0.to_be_bytes())),
            ),
        template_names: Vec::new(),
        protection_storage_masks: None,
    })
}

/// Creates `count` keys for `tenant` over several connections, in batches.
async fn populate(server: &TestServer, tenant: &str, count: usize) {
    let per_connection = count.div_ceil(POPULATE_CONNECTIONS);
    let mut tasks = Vec::new();
    for _ in 0..POPULATE_CONNECTIONS {
        let connector = server.client(tenant).expect("connector");
        tasks.push(tokio::spawn(async move {
            let mut conn = connector.connect().await.expect("connect");
            let mut left = per_connection;
            while left > 0 {
                let n = left.min(50);
                let items = (0..n).map(|_| create_item()).collect();
                let answers = conn.batch(items).await.expect("create batch");
                assert!(
                    answers
                        .iter()
                        .all(|a| a.result_status == ResultStatus::SUCCESS),
                    "a Create failed: {:?}",
                    answers
                        .iter()
                        .find(|a| a.result_status != ResultStatus::SUCCESS)
                );
                left -= n;
            }
        }));
    }
    for t in tasks {
        t.await.expect("populate task");
    }
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Samples the resident size every 5 ms on its own thread until stopped; keeps the peak.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl RssSampler {
    fn start() -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib()));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        RssSampler { stop, peak, thread }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("sampler thread");
        self.peak.load(Ordering::Relaxed)
    }
}

/// Another tenant's client asking Get every 50 ms until stopped; returns every latency and
/// every failure.
struct Canary {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<(Vec<Duration>, Vec<String>)>,
}

impl Canary {
    async fn start(server: &TestServer) -> Canary {
        let mut conn = server
            .client("globex")
            .expect("connector")
            .connect()
            .await
            .expect("the canary connects");
        let uid = create_aes_key(&mut conn).await.expect("the canary's key");
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let (mut took, mut failures) = (Vec::new(), Vec::new());
            while !*stopped.borrow() {
                let start = Instant::now();
                match timeout(Duration::from_secs(60), conn.get(&uid, None)).await {
                    Ok(Ok(_)) => took.push(start.elapsed()),
                    Ok(Err(e)) => failures.push(e.to_string()),
                    Err(_) => failures.push("no answer within 60 s".to_owned()),
                }
                sleep(Duration::from_millis(50)).await;
            }
            (took, failures)
        });
        Canary { stop, task }
    }

    async fn finish(self) -> (Vec<Duration>, Vec<String>) {
        let _ = self.stop.send(true);
        self.task.await.expect("canary task")
    }
}

/// A mutually authenticated TLS stream of `tenant`'s client, to write raw requests on.
async fn raw_tls(server: &TestServer, tenant: &str) -> TlsStream<TcpStream> {
    let config = server
        .client_config(tenant)
        .expect("config")
        .tls_config()
        .expect("TLS config");
    let tcp = TcpStream::connect(server.addr()).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1".to_owned()).expect("server name");
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

/// `LOCATES` Locates of every object, Maximum Items 100 000 each, going on past failures.
fn amplifying_request(maximum_response_size: Option<i32>) -> Vec<u8> {
    let items = (0..LOCATES)
        .map(|_| {
            RequestBatchItem::new(LocateRequest {
                maximum_items: Some(100_000),
                ..LocateRequest::default()
            })
        })
        .collect();
    let mut request = RequestMessage::new(ProtocolVersion::V1_4, items);
    request.header.batch_error_continuation_option = Some(BatchErrorContinuationOption::CONTINUE);
    request.header.maximum_response_size = maximum_response_size;
    encode_request(&request)
}

/// Sends `request` and reads the answer, keeping it only when it is small enough to decode
/// here (the point is not to hold what an unbounded server sends). Returns its length, or
/// what went wrong.
async fn exchange(
    stream: &mut TlsStream<TcpStream>,
    request: &[u8],
) -> Result<(usize, Option<Vec<u8>>), String> {
    stream
        .write_all(request)
        .await
        .map_err(|e| format!("write: {e}"))?;
    stream.flush().await.map_err(|e| format!("flush: {e}"))?;
    let mut header = [0u8; 8];
    stream
        .read_exact(&mut header)
        .await
        .map_err(|e| format!("answer header: {e}"))?;
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let total = 8 + len;
    if total <= 2 * SERVER_MAX_RESPONSE {
        let mut message = header.to_vec();
        message.resize(total, 0);
        stream
            .read_exact(&mut message[8..])
            .await
            .map_err(|e| format!("answer of {total} bytes: {e}"))?;
        return Ok((total, Some(message)));
    }
    let mut left = len;
    let mut sink = vec![0u8; 64 * 1024];
    while left > 0 {
        let n = left.min(sink.len());
        stream
            .read_exact(&mut sink[..n])
            .await
            .map_err(|e| format!("answer of {total} bytes, {left} left: {e}"))?;
        left -= n;
    }
    Ok((total, None))
}

/// Checks an amplifying request's answer: within `limit`, every item a Locate, each either a
/// success of at most the server's Maximum Items cap or Response Too Large; at least one
/// success, and Response Too Large for what did not fit.
fn check_answer(total: usize, bytes: Option<&[u8]>, limit: usize) {
    assert!(
        total <= limit,
        "an answer of {total} bytes, above the {limit}-byte maximum response size"
    );
    let bytes = bytes.expect("a bounded answer is kept");
    let limits = Limits::DEFAULT.with_max_message_size(limit);
    let response = decode_response(bytes, &limits).expect("a Response Message");
    assert_eq!(response.batch_items.len(), LOCATES, "every item answered");
    let (mut located, mut too_large) = (0, 0);
    for item in &response.batch_items {
        assert_eq!(item.operation, Some(Operation::LOCATE));
        match (item.result_status, item.result_reason, &item.payload) {
            (ResultStatus::SUCCESS, None, Some(ResponsePayload::Locate(l))) => {
                assert!(
                    l.unique_identifiers.len() <= 1000,
                    "{} identifiers: the server's cap on Maximum Items is 1000",
                    l.unique_identifiers.len()
                );
                located += 1;
            }
            (ResultStatus::OPERATION_FAILED, Some(ResultReason::RESPONSE_TOO_LARGE), None) => {
                too_large += 1;
            }
            other => panic!("unexpected item {other:?}"),
        }
    }
    assert!(located > 0, "nothing fitted");
    assert!(
        too_large > 0,
        "all {LOCATES} full Locates fitted in {limit} bytes?"
    );
}

kms_tests::server_test! {
    async fn amplifying_locates_are_bounded_and_other_tenants_stay_served(server) {
        let started = Instant::now();
        populate(server, "acme", KEYS).await;
        eprintln!("{KEYS} keys made in {:?}", started.elapsed());
        // Warm up: one full Locate (bounded either way) so that first-use allocations are
        // not counted as growth.
        let mut warm = server.client("acme").expect("connector").connect().await.expect("connect");
        warm.locate(Attributes::new(), Some(10), None).await.expect("locate");

        let canary = Canary::start(server).await;
        let baseline = rss_kib();
        let sampler = RssSampler::start();
        let started = Instant::now();
        let mut attackers = Vec::new();
        for _ in 0..ATTACKERS {
            let mut stream = raw_tls(server, "acme").await;
            attackers.push(tokio::spawn(async move {
                let request = amplifying_request(None);
                let mut answers = Vec::new();
                for _ in 0..ROUNDS {
                    let answer = exchange(&mut stream, &request).await;
                    let failed = answer.is_err();
                    answers.push(answer);
                    if failed {
                        break;
                    }
                }
                answers
            }));
        }
        let mut answers = Vec::new();
        for a in attackers {
            match timeout(Duration::from_secs(300), a).await {
                Ok(done) => answers.extend(done.expect("attacker task")),
                Err(_) => answers.push(Err("no answer within 300 s".to_owned())),
            }
        }
        let attack = started.elapsed();
        let peak = sampler.finish();
        let (took, failures) = canary.finish().await;
        let slowest = took.iter().max().copied().unwrap_or_default();
        eprintln!(
            "attack {attack:?}; answers {:?}; RSS {baseline} KiB, peak {peak} KiB (+{} KiB); \
             canary: {} answers, slowest {slowest:?}",
            answers
                .iter()
                .map(|a| a.as_ref().map(|(n, _)| *n))
                .collect::<Vec<_>>(),
            peak.saturating_sub(baseline),
            took.len(),
        );
        let grown = peak.saturating_sub(baseline);
        assert!(
            grown < RSS_GROWTH_BOUND_KIB,
            "the process grew by {grown} KiB while the amplifying requests ran"
        );
        assert!(failures.is_empty(), "the other tenant was failed: {failures:?}");
        assert!(!took.is_empty(), "the other tenant was never answered");
        assert!(
            slowest < PROMPT,
            "the other tenant waited {slowest:?} for a Get (bound {PROMPT:?})"
        );
        assert_eq!(answers.len(), ATTACKERS * ROUNDS, "every request answered");
        for answer in &answers {
            let (total, bytes) = answer.as_ref().expect("a whole answer");
            check_answer(*total, bytes.as_deref(), SERVER_MAX_RESPONSE);
        }

        // A client's own, smaller Maximum Response Size bounds its answer the same way.
        let mut stream = raw_tls(server, "acme").await;
        let small = 256 * 1024;
        let (total, bytes) = exchange(
            &mut stream,
            &amplifying_request(Some(i32::try_from(small).expect("fits"))),
        )
        .await
        .expect("an answer");
        check_answer(total, bytes.as_deref(), small);

        // The cap on Maximum Items also holds for a Locate that names none.
        let mut conn = server.client("acme").expect("connector").connect().await.expect("connect");
        let all = conn.locate(Attributes::new(), None, None).await.expect("locate");
        assert_eq!(all.unique_identifiers.len(), 1000, "the server's cap when none is asked");
    }
}
