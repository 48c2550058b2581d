//! Exactly once across retries: a Create taken by a follower F is forwarded to the leader L,
//! which appends it, commits and applies it, and whose reply is lost on the way back. F
//! proposes it again under the same request ID, the state machine's request window applies
//! nothing the second time, and the client gets Success once, with exactly one key.
//!
//! The faults are real, made with the fault proxies: the third node G is frozen (SIGSTOP), so
//! L commits only with F; L's link to F is cut, so the write F forwards is appended on L and
//! held uncommitted (seen in L's `/v1/cluster`: last log past committed); L's Raft listener
//! then turns silent (a black hole: the forward's reply will be lost) and the link to F comes
//! back, so L commits and applies the write and F applies it too; last the black hole ends,
//! which closes F's silent connection: the forward got no reply. Every node then counts the
//! copy in `kms_raft_repeated_requests_total`.

use std::time::Duration;

use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask, NameType};
use kmip_codec::model::{Attribute, AttributeValue, Attributes, Name};
use kmip_codec::tags::Tag;
use kms_tests::cluster::{Cluster, ClusterOptions, NODES};
use tokio::time::{Instant, sleep};

use super::{cluster_test, connect};

/// The Name of the key created through the follower.
const KEY_NAME: &str = "exactly-once";

/// Longest wait for each step the test observes on a node.
const STEP_TIMEOUT: Duration = Duration::from_secs(3);

/// What the leader logs when the request window answers a copy (`cluster/state_machine.rs`).
const REPEAT_LOGGED: &str = "a request applied before is in the log again";

/// What the follower logs when it proposes a write again (`cluster/raft_node.rs`).
const RETRY_LOGGED: &str = "proposing it again under the same request ID";

fn named(value: &str) -> Attribute {
    Attribute::new(
        Tag::NAME,
        AttributeValue::Name(Name {
            value: value.to_owned(),
            name_type: NameType::UNINTERPRETED_TEXT_STRING,
        }),
    )
}

/// The value of `kms_raft_repeated_requests_total` in a `/metrics` text.
fn repeated_requests(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("kms_raft_repeated_requests_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no kms_raft_repeated_requests_total in /metrics"))
}

/// Polls node `id`'s `/v1/cluster` until `done` holds, for at most [`STEP_TIMEOUT`].
async fn until(
    c: &Cluster,
    id: u64,
    what: &str,
    done: impl Fn(&client::admin::ClusterStatus) -> bool,
) -> client::admin::ClusterStatus {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        if let Ok(s) = c.status(id).await
            && done(&s)
        {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not seen on node {id} within {STEP_TIMEOUT:?}"
        );
        sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn a_forwarded_write_whose_reply_is_lost_is_applied_once_and_acknowledged() {
    let name = "a_forwarded_write_whose_reply_is_lost_is_applied_once_and_acknowledged";
    cluster_test(name, &ClusterOptions::default(), async |c| {
        c.bootstrap().await.expect("bootstrap");
        let leader = c.leader().await.expect("leader");
        c.add_tenant(leader).await.expect("tenant and client");
        let mut followers = (1..=NODES).filter(|id| *id != leader);
        let (f, g) = (followers.next().unwrap(), followers.next().unwrap());
        c.wait_converged().await.expect("converged");
        let mut conn = connect(c, f).await;
        let before = c
            .status(leader)
            .await
            .expect("status")
            .last_log
            .unwrap_or(0);

        c.pause(g).expect("SIGSTOP G");
        c.cut_link(leader, f);
        let create = tokio::spawn(async move {
            conn.create_symmetric_key(
                CryptographicAlgorithm::AES,
                256,
                CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
                Attributes(vec![named(KEY_NAME)]),
            )
            .await
            .map(|uid| (uid, conn))
        });
        let held = until(c, leader, "the write appended, not committed", |s| {
            s.last_log.unwrap_or(0) > before && s.committed < s.last_log
        })
        .await;
        let index = held.last_log.expect("last log");

        c.silence(leader);
        c.restore_link(leader, f);
        until(c, leader, "the write applied on the leader", |s| {
            s.applied >= Some(index)
        })
        .await;
        until(c, f, "the write applied on the follower", |s| {
            s.applied >= Some(index)
        })
        .await;
        assert!(
            !create.is_finished(),
            "the client was answered while the reply was lost"
        );
        c.unsilence(leader);

        let (uid, mut conn) = create
            .await
            .expect("create task")
            .expect("the client gets Success, not \"outcome unknown\" nor a refusal");
        c.resume(g).expect("SIGCONT G");
        let found = conn
            .locate(Attributes(vec![named(KEY_NAME)]), None, None)
            .await
            .expect("locate by name")
            .unique_identifiers;
        assert_eq!(found, vec![uid.clone()], "exactly one key named {KEY_NAME}");
        assert!(
            c.log_since_start(f).contains(RETRY_LOGGED),
            "the follower did not propose the write again"
        );
        assert!(
            c.log_since_start(leader).contains(REPEAT_LOGGED),
            "the leader applied no copy of the write as a repeat"
        );
        // Every node, G included once it caught up, holds the same state (the window too)
        // and answered the same copies from its window.
        c.wait_converged().await.expect("converged");
        let mut repeats = Vec::new();
        for id in 1..=NODES {
            let metrics = c
                .admin(id)
                .expect("admin client")
                .metrics()
                .await
                .expect("/metrics");
            repeats.push(repeated_requests(&metrics));
        }
        assert!(
            repeats[0] >= 1 && repeats.iter().all(|r| *r == repeats[0]),
            "kms_raft_repeated_requests_total per node: {repeats:?}"
        );
        let mut on_g = connect(c, g).await;
        let found = on_g
            .locate(Attributes(vec![named(KEY_NAME)]), None, None)
            .await
            .expect("locate by name on G")
            .unique_identifiers;
        assert_eq!(found, vec![uid], "exactly one key on G");
    });
}
