//! Leader failover under load: writers create keys through every live node while the leader
//! is killed with SIGKILL ten times; every acknowledged key must exist on every node after.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client::{Connection, Connector};
use kmip_codec::model::Attributes;
use kms_tests::cluster::{Cluster, ClusterOptions, NODES};

use super::{cluster_test, connect, create_key, get_key};

/// Kill-restart cycles.
const CYCLES: usize = 10;

/// Request timeout of the writers: past it the outcome of a Create is unknown.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Time allowed from a kill to the first acknowledged write started after it.
const FAILOVER_LIMIT: Duration = Duration::from_secs(30);

/// Page size of the Locate sweep (the server's default cap).
const LOCATE_PAGE: i32 = 1000;

/// What happened to one Create.
#[derive(Debug, Clone)]
struct Outcome {
    started: Instant,
    finished: Instant,
    /// Whether the request may have reached the server (a refused connection did not).
    sent: bool,
    /// The UID of an acknowledged Create.
    uid: Option<String>,
    /// Why a Create was not acknowledged.
    error: Option<String>,
}

type History = Arc<Mutex<Vec<Outcome>>>;

/// Creates keys through `connector` until `stop`, one at a time, recording each outcome.
async fn writer(connector: Connector, stop: Arc<AtomicBool>, history: History) {
    let mut conn: Option<Connection> = None;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let mut error = None;
        if conn.is_none() {
            conn = connector
                .connect()
                .await
                .map_err(|e| error = Some(format!("connect: {e}")))
                .ok();
        }
        let sent = conn.is_some();
        let uid = match conn.as_mut() {
            Some(c) => create_key(c)
                .await
                .map_err(|e| error = Some(e.to_string()))
                .ok(),
            None => None,
        };
        if uid.is_none() {
            conn = None;
        }
        let failed = uid.is_none();
        history.lock().expect("history lock").push(Outcome {
            started,
            finished: Instant::now(),
            sent,
            uid,
            error,
        });
        if failed {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Waits for the first acknowledged Create that started after `since`; returns when it was
/// acknowledged.
async fn first_ack_after(history: &History, since: Instant) -> Option<Instant> {
    let deadline = since + FAILOVER_LIMIT;
    while Instant::now() < deadline {
        let first = history
            .lock()
            .expect("history lock")
            .iter()
            .filter(|o| o.uid.is_some() && o.started >= since)
            .map(|o| o.finished)
            .min();
        if first.is_some() {
            return first;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Every UID the tenant's Locate finds on node `id`, page by page.
async fn located(cluster: &Cluster, id: u64) -> HashSet<String> {
    let mut conn = connect(cluster, id).await;
    let mut all = HashSet::new();
    let mut offset = 0;
    loop {
        let page = conn
            .locate(Attributes::new(), Some(LOCATE_PAGE), Some(offset))
            .await
            .unwrap_or_else(|e| panic!("locate on node {id}: {e}"));
        let n = page.unique_identifiers.len();
        all.extend(page.unique_identifiers);
        if n < usize::try_from(LOCATE_PAGE).expect("page size") {
            return all;
        }
        offset += LOCATE_PAGE;
    }
}

/// Prints how many Creates failed for each reason (sent ones and refused connections).
fn print_errors(outcomes: &[Outcome]) {
    let mut counts: BTreeMap<(bool, String), usize> = BTreeMap::new();
    for o in outcomes {
        if let Some(e) = &o.error {
            let short: String = e.chars().take(100).collect();
            *counts.entry((o.sent, short)).or_default() += 1;
        }
    }
    for ((sent, error), n) in counts {
        let what = if sent { "sent" } else { "not sent" };
        println!("  {n:5} x ({what}) {error}");
    }
}

#[test]
fn kill_leader_during_creates_loses_nothing() {
    let name = "kill_leader_during_creates_loses_nothing";
    cluster_test(name, &ClusterOptions::default(), async |c| {
        c.bootstrap().await.expect("bootstrap");
        let leader = c.leader().await.expect("leader");
        c.add_tenant(leader).await.expect("tenant and client");

        let stop = Arc::new(AtomicBool::new(false));
        let history: History = Arc::default();
        let mut writers = Vec::new();
        for id in 1..=NODES {
            let connector = c.connector_with_timeout(id, WRITE_TIMEOUT).unwrap();
            writers.push(tokio::spawn(writer(
                connector,
                stop.clone(),
                history.clone(),
            )));
        }

        let mut failovers = Vec::new();
        for cycle in 1..=CYCLES {
            let leader = c.leader().await.expect("leader before the kill");
            let killed_at = Instant::now();
            c.kill9(leader).await.expect("kill -9 the leader");
            let new = c.new_leader(leader).await.expect("a new leader");
            let elected = killed_at.elapsed();
            let ack = first_ack_after(&history, killed_at)
                .await
                .unwrap_or_else(|| panic!("cycle {cycle}: no write acknowledged within {FAILOVER_LIMIT:?} of killing leader {leader}"));
            let failover = ack - killed_at;
            failovers.push(failover);
            c.start_node(leader).await.expect("restart the killed node");
            c.wait_rejoined(leader)
                .await
                .expect("the killed node rejoins");
            println!(
                "cycle {cycle}: killed leader {leader}, new leader {new} seen after {:.0} ms, first acknowledged write {:.0} ms after the kill, node {leader} back at {:.1} s",
                elected.as_secs_f64() * 1000.0,
                failover.as_secs_f64() * 1000.0,
                (Instant::now() - killed_at).as_secs_f64()
            );
        }

        stop.store(true, Ordering::Relaxed);
        for w in writers {
            tokio::time::timeout(WRITE_TIMEOUT * 3, w)
                .await
                .expect("writers stop in time")
                .expect("writer task");
        }
        let outcomes = history.lock().expect("history lock").clone();
        let acked: HashSet<String> = outcomes.iter().filter_map(|o| o.uid.clone()).collect();
        let unknown = outcomes
            .iter()
            .filter(|o| o.sent && o.uid.is_none())
            .count();
        assert_eq!(
            acked.len(),
            outcomes.iter().filter(|o| o.uid.is_some()).count(),
            "two acknowledged Creates named the same UID"
        );
        println!(
            "{} acknowledged creates, {unknown} sent without an answer or with an error; failover (kill to first acknowledged write) per cycle: {:?} ms",
            acked.len(),
            failovers
                .iter()
                .map(Duration::as_millis)
                .collect::<Vec<_>>()
        );

        print_errors(&outcomes);

        let digest = c.wait_converged().await.expect("every node converges");
        println!("converged at applied index {:?}", digest.applied);
        for id in 1..=NODES {
            let found = located(c, id).await;
            let mut lost = Vec::new();
            let mut conn = connect(c, id).await;
            for uid in acked.difference(&found) {
                if get_key(&mut conn, uid).await.is_err() {
                    lost.push(uid.clone());
                }
            }
            assert!(
                lost.is_empty(),
                "node {id} lost {} of {} acknowledged keys: {lost:?}",
                lost.len(),
                acked.len()
            );
            assert!(
                found.len() <= acked.len() + unknown,
                "node {id} holds {} keys, more than the {} acknowledged plus {unknown} unknown Creates (a Create applied twice?)",
                found.len(),
                acked.len()
            );
        }
    });
}
