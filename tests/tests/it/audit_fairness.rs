//! Fairness between tenants on a real server (real TLS, SoftHSM2): one tenant's auditor running
//! many large audit scans at once does not slow another tenant's KMIP Creates much, because
//! audit queries run on a bounded pool, one at a time per tenant (`docs/SECURITY.md`, "Fairness
//! between tenants").

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use audit_log::{AuditEvent, Kind, Status};
use kms_tests::testbed::{TestServer, create_aes_key};
use server::store::records::Role;

use crate::admin::Api;

/// Records in the log before the scans start: what every scan of acme's auditor reads through
/// (acme has few records of its own, so a page reads the whole log looking for them).
const FILLER: usize = 120_000;
/// Concurrent scans by acme's auditor.
const SCANNERS: usize = 8;
/// Creates timed, quiet and under the scans.
const CREATES: usize = 40;
/// How much slower globex's median Create may be while acme's auditor scans. Measured before
/// the fix on the shared 2-core test machine: 9x to 15x slower (see the commit message).
const MAX_SLOWDOWN: f64 = 3.0;
/// Rounds of Creates under the scans, the best of which is judged.
const BUSY_ROUNDS: usize = 3;

/// Appends `n` records of refused connections (the records a connection flood leaves).
async fn fill(server: &TestServer, n: usize) {
    let audit = server.kms().audit();
    let node = server.kms().log_name().to_owned();
    let receipts: Vec<_> = (0..n)
        .map(|i| {
            audit.submit(AuditEvent {
                time: time::OffsetDateTime::now_utc(),
                node: node.clone(),
                tenant: None,
                principal: None,
                client_addr: Some(format!("192.0.2.{}:{}", i % 250, 40_000 + i % 20_000)),
                kind: Kind::Connection,
                operation: "connect".to_owned(),
                object: None,
                status: Status::Denied,
                reason: Some("handshake failed".to_owned()),
                request_id: None,
                change: None,
            })
        })
        .collect();
    for r in receipts {
        r.await.expect("writer").expect("durable");
    }
}

/// The median time of `n` Creates, one after the other.
async fn median_create(conn: &mut client::Connection, n: usize) -> Duration {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        create_aes_key(conn).await.expect("create");
        times.push(start.elapsed());
    }
    times.sort();
    times[n / 2]
}

kms_tests::server_test! {
    async fn one_tenants_audit_scans_do_not_slow_another_tenants_creates(server) {
        fill(server, FILLER).await;
        let auditor = server
            .admin_identity(Role::Auditor, Some("acme"), "carol")
            .await
            .unwrap();
        let mut globex = server.client("globex").unwrap().connect().await.unwrap();
        median_create(&mut globex, 5).await; // warm up
        let quiet = median_create(&mut globex, CREATES).await;

        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let scanners: Vec<_> = (0..SCANNERS)
            .map(|_| {
                let api = Api::new(server, &auditor);
                let (stop, answered) = (stop.clone(), answered.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let page = api.get("/v1/audit/records?after=0&limit=10000");
                        if let Ok((200, _)) =
                            tokio::time::timeout(Duration::from_secs(25), page).await
                        {
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        // let every scan get going
        tokio::time::sleep(Duration::from_secs(2)).await;
        // The best of a few rounds under the scans: other load on a shared machine (builds,
        // the suite's cluster tests) slows single rounds, while scans that starved globex
        // would slow every round (before the fix: 9x to 15x each time).
        let mut busy = Duration::MAX;
        for _ in 0..BUSY_ROUNDS {
            busy = busy.min(median_create(&mut globex, CREATES).await);
            if busy.as_secs_f64() <= MAX_SLOWDOWN * quiet.as_secs_f64() {
                break;
            }
        }
        let slowdown = busy.as_secs_f64() / quiet.as_secs_f64();
        // the scans are served meanwhile, not refused or starved
        for _ in 0..120 {
            if answered.load(Ordering::SeqCst) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        stop.store(true, Ordering::SeqCst);
        for s in &scanners {
            s.abort();
        }
        let pages = answered.load(Ordering::SeqCst);
        eprintln!(
            "median Create: {quiet:?} quiet, {busy:?} under {SCANNERS} scans ({slowdown:.1}x); \
             {pages} scan pages answered"
        );
        assert!(
            slowdown <= MAX_SLOWDOWN,
            "acme's audit scans slowed globex's Creates {slowdown:.1}x ({quiet:?} -> {busy:?})"
        );
        assert!(pages > 0, "no scan was answered: the scans did not run");
        // the auditor still reads its trail once the scans it left behind are done
        let api = Api::new(server, &auditor);
        let mut read = None;
        for _ in 0..20 {
            let (status, body) = api.get("/v1/audit/records?limit=10").await;
            if status == 200 {
                read = Some(body);
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert!(read.is_some(), "the auditor's own reads are refused for good");
    }
}
