//! Forwarding the audit trail to a SIEM (issue 20): syslog (RFC 5424) over TLS with octet
//! counting (RFC 5425), at least once, with a persisted cursor. The SIEM here is a real TLS
//! listener with its own CA. The test reads every message, checks the RFC 5424 header and that
//! the JSON payloads are the trail's records in order, unbroken (each `prev` is the hash of
//! the record before), then takes the SIEM away: requests are still answered, the metrics
//! show the outage and the backlog, and when the SIEM is back the backlog arrives and the
//! lag returns to 0.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit_log::AuditRecord;
use kms_tests::testbed::TestServer;
use rcgen::{CertificateParams, IsCa, Issuer, KeyPair, SanType};
use server::store::records::Role;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::admin::Api;

/// Messages the SIEM received, by record sequence number (repeats collapse: at least once).
type Received = Arc<Mutex<BTreeMap<u64, String>>>;

/// Writes a CA and a `localhost` certificate it issues; returns the CA file and a TLS
/// acceptor for the SIEM.
fn siem_pki(dir: &Path) -> (std::path::PathBuf, tokio_rustls::TlsAcceptor) {
    std::fs::create_dir_all(dir).expect("siem dir");
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let ca_file = dir.join("siem-ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).expect("ca file");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
    let cert = params.signed_by(&key, &issuer).expect("issued");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .expect("server config");
    (ca_file, tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// A syslog-over-TLS receiver: reads octet-counted frames and files each message under the
/// sequence number its structured data names. Aborting the task closes its connections.
fn siem(listener: TcpListener, tls: tokio_rustls::TlsAcceptor, got: Received) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Connections live in this task's set: aborting the SIEM closes them too.
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let tls = tls.clone();
            let got = got.clone();
            connections.spawn(async move {
                let Ok(stream) = tls.accept(tcp).await else {
                    return;
                };
                let mut stream = BufReader::new(stream);
                loop {
                    let mut len = Vec::new();
                    match stream.read_until(b' ', &mut len).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let len: usize = std::str::from_utf8(&len[..len.len() - 1])
                        .expect("frame length is ASCII")
                        .parse()
                        .expect("frame length is a number");
                    let mut msg = vec![0; len];
                    if stream.read_exact(&mut msg).await.is_err() {
                        return;
                    }
                    let msg = String::from_utf8(msg).expect("message is UTF-8");
                    let seq = msg
                        .split_once(" seq=\"")
                        .and_then(|(_, rest)| rest.split_once('"'))
                        .and_then(|(n, _)| n.parse::<u64>().ok())
                        .expect("the message names its sequence number");
                    got.lock().expect("lock").insert(seq, msg);
                }
            });
        }
    })
}

/// The value of a metric line `name value`, if present.
fn metric(text: &str, name: &str) -> Option<i64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn metrics(ops: &Api) -> String {
    let (status, text) = ops.get("/metrics").await;
    assert_eq!(status, 200);
    text.as_str().expect("metrics text").to_owned()
}

/// Records in the trail now (the server started with an empty one).
async fn records(ops: &Api) -> i64 {
    let text = metrics(ops).await;
    metric(&text, "kms_audit_records_total").expect("records metric")
}

/// Waits (up to 30 s) until `check` holds on the metrics.
async fn until_metrics(ops: &Api, what: &str, check: impl Fn(&str) -> bool) -> String {
    for _ in 0..120 {
        let text = metrics(ops).await;
        if check(&text) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("timed out waiting for {what}:\n{}", metrics(ops).await);
}

async fn create_key(server: &TestServer) {
    let mut acme = server
        .client("acme")
        .expect("client")
        .connect()
        .await
        .expect("connect");
    kms_tests::testbed::create_aes_key(&mut acme)
        .await
        .expect("create answered while forwarding");
}

/// Checks every received message from 1 to its highest: RFC 5424 header, the JSON payload is
/// a record whose `seq` matches and whose `prev` is the hash of the one before.
fn check_unbroken(got: &Received) -> u64 {
    let got = got.lock().expect("lock").clone();
    let seqs: Vec<u64> = got.keys().copied().collect();
    let mut prev: Option<AuditRecord> = None;
    for (i, (seq, msg)) in got.iter().enumerate() {
        assert_eq!(*seq, i as u64 + 1, "records arrive without a gap: {seqs:?}");
        assert!(
            msg.starts_with('<') && msg.contains(">1 ") && msg.contains(" kmsd - "),
            "RFC 5424 header: {msg}"
        );
        let json = msg
            .split_once("] ")
            .expect("structured data then message")
            .1;
        let record: AuditRecord = serde_json::from_str(json).expect("the payload is a record");
        assert_eq!(record.seq, *seq);
        assert!(
            msg.contains(&format!("hash=\"{}\"", record.hash())),
            "the structured data names the record's hash: {msg}"
        );
        if let Some(p) = &prev {
            assert_eq!(
                record.prev,
                p.hash(),
                "record {seq} chains to record {}",
                p.seq
            );
        }
        prev = Some(record);
    }
    got.len() as u64
}

#[test]
fn the_trail_reaches_a_tls_syslog_siem_at_least_once_and_catches_up_after_an_outage() {
    kms_tests::softhsm::run(
        concat!(
            module_path!(),
            "::",
            "the_trail_reaches_a_tls_syslog_siem_at_least_once_and_catches_up_after_an_outage"
        ),
        |env| {
            kms_tests::testbed::runtime().block_on(async {
                let (ca_file, tls) = siem_pki(&env.dir().join("siem"));
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let addr: SocketAddr = listener.local_addr().expect("addr");
                let got: Received = Arc::default();
                let receiver = siem(listener, tls.clone(), got.clone());
                let address = addr.to_string();
                let ca = ca_file.display().to_string();
                let server = TestServer::start_with(
                    env,
                    &[
                        ("KMSD_AUDIT__FORWARD__ADDRESS", &address),
                        ("KMSD_AUDIT__FORWARD__SERVER_NAME", "localhost"),
                        ("KMSD_AUDIT__FORWARD__CA_FILE", &ca),
                        ("KMSD_AUDIT__FORWARD__FORMAT", "json"),
                        ("KMSD_AUDIT__FORWARD__MAX_BACKOFF_SECS", "1"),
                    ],
                )
                .await
                .expect("server starts with forwarding");
                let files = server
                    .admin_identity(Role::Operator, None, "ops")
                    .await
                    .expect("operator");
                let ops = Api::new(&server, &files);
                create_key(&server).await;
                // Every metrics read is an audited admin call, so the trail grows while the
                // test watches it: wait for the records that existed at a point in time.
                let written = records(&ops).await;
                let text = until_metrics(&ops, "the SIEM to catch up", |t| {
                    metric(t, "kms_audit_forward_seq").is_some_and(|s| s >= written)
                })
                .await;
                assert_eq!(metric(&text, "kms_audit_forward_up"), Some(1), "{text}");
                let sent = check_unbroken(&got);
                assert!(
                    got.lock()
                        .expect("lock")
                        .values()
                        .any(|m| m.contains("\"operation\":\"Create\"")),
                    "the Create's record was forwarded"
                );
                let cursor = env.dir().join("data/audit/forward.cursor");
                let cursor = std::fs::read_to_string(&cursor)
                    .unwrap_or_else(|e| panic!("cursor {}: {e}", cursor.display()));
                assert!(
                    cursor.trim().parse::<i64>().expect("cursor") >= written,
                    "{cursor}"
                );
                assert!(sent as i64 >= written);

                // The SIEM goes away: requests are still answered; the outage and the backlog
                // show in the metrics.
                receiver.abort();
                let _ = receiver.await;
                for _ in 0..3 {
                    create_key(&server).await;
                }
                let text = until_metrics(&ops, "the outage to show", |t| {
                    metric(t, "kms_audit_forward_up") == Some(0)
                        && metric(t, "kms_audit_forward_lag_records").is_some_and(|l| l > 0)
                })
                .await;
                assert!(
                    metric(&text, "kms_audit_forward_failures_total").is_some_and(|f| f > 0),
                    "{text}"
                );

                // Back on the same port: the backlog arrives, unbroken, and the lag is 0.
                let listener = TcpListener::bind(addr).await.expect("rebind");
                let receiver = siem(listener, tls, got.clone());
                let written = records(&ops).await;
                until_metrics(&ops, "the backlog to be sent", |t| {
                    metric(t, "kms_audit_forward_seq").is_some_and(|s| s >= written)
                        && metric(t, "kms_audit_forward_up") == Some(1)
                })
                .await;
                let after = check_unbroken(&got);
                assert!(
                    after >= sent + 3,
                    "{after} records after the outage, {sent} before"
                );
                let creates = got
                    .lock()
                    .expect("lock")
                    .values()
                    .filter(|m| m.contains("\"operation\":\"Create\""))
                    .count();
                assert_eq!(creates, 4, "every Create's record reached the SIEM");
                receiver.abort();
                server.shutdown().await;
            });
        },
    );
}
