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
//! which closes F's silent connection: the forward got no reply (or L is killed with SIGKILL
//! instead, and F proposes the write to the new leader). Every node then counts the copy in
//! `kms_raft_repeated_requests_total`.

use std::time::Duration;

use client::Connection;
use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask, NameType};
use kmip_codec::model::{Attribute, AttributeValue, Attributes, Name};
use kmip_codec::tags::Tag;
use kms_tests::cluster::{Cluster, ClusterOptions, NODES};
use tokio::task::JoinHandle;
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

/// What a Create through the follower ends with: its UID and the connection.
type Created = Result<(String, Connection), client::ClientError>;

/// A Create through follower `f` appended, committed and applied by `leader` and `f`, whose
/// reply is lost in the leader's silent Raft listener; `g` is frozen; the client not yet
/// answered.
struct ReplyLost {
    leader: u64,
    f: u64,
    g: u64,
    create: JoinHandle<Created>,
}

/// Brings the cluster to [`ReplyLost`] (see the module documentation).
async fn reply_lost(c: &mut Cluster) -> ReplyLost {
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
    ReplyLost {
        leader,
        f,
        g,
        create,
    }
}

/// The client's answer: Success, with the UID.
async fn acknowledged(create: JoinHandle<Created>) -> String {
    let (uid, _) = create
        .await
        .expect("create task")
        .expect("the client gets Success, not \"outcome unknown\" nor a refusal");
    uid
}

/// Locate by [`KEY_NAME`] on node `id` finds `uid` alone; the node counts as many copies
/// answered from its window as the others in `repeats`.
async fn one_key_on(c: &Cluster, id: u64, uid: &str, repeats: &mut Vec<u64>) {
    let found = connect(c, id)
        .await
        .locate(Attributes(vec![named(KEY_NAME)]), None, None)
        .await
        .unwrap_or_else(|e| panic!("locate by name on node {id}: {e}"))
        .unique_identifiers;
    assert_eq!(
        found,
        vec![uid.to_owned()],
        "exactly one key named {KEY_NAME} on node {id}"
    );
    let metrics = c
        .admin(id)
        .expect("admin client")
        .metrics()
        .await
        .expect("/metrics");
    repeats.push(repeated_requests(&metrics));
    assert!(
        repeats[0] >= 1 && repeats.iter().all(|r| *r == repeats[0]),
        "kms_raft_repeated_requests_total per node: {repeats:?}"
    );
}

/// The leader stays; its listener speaks again, which closes the follower's silent call: the
/// follower sends the write again to the same leader.
#[test]
fn a_forwarded_write_whose_reply_is_lost_is_applied_once_and_acknowledged() {
    let name = "a_forwarded_write_whose_reply_is_lost_is_applied_once_and_acknowledged";
    cluster_test(name, &ClusterOptions::default(), async |c| {
        let ReplyLost {
            leader,
            f,
            g,
            create,
        } = reply_lost(c).await;
        c.unsilence(leader);
        let uid = acknowledged(create).await;
        c.resume(g).expect("SIGCONT G");
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
        for id in [leader, f, g] {
            one_key_on(c, id, &uid, &mut repeats).await;
        }
    });
}

/// The leader is killed between its append (and commit) and its answer: the follower, once it
/// sees the leader gone, proposes the write again to the new leader (itself: G, frozen through
/// the write, lacks it), which answers the first outcome.
#[test]
fn a_forwarded_write_whose_leader_is_killed_before_answering_is_applied_once() {
    let name = "a_forwarded_write_whose_leader_is_killed_before_answering_is_applied_once";
    cluster_test(name, &ClusterOptions::default(), async |c| {
        let ReplyLost {
            leader,
            f,
            g,
            create,
        } = reply_lost(c).await;
        c.lose_zone(leader).await.expect("kill -9 the leader");
        c.resume(g).expect("SIGCONT G");
        let uid = acknowledged(create).await;
        assert!(
            c.log_since_start(f).contains(RETRY_LOGGED),
            "the follower did not propose the write again"
        );
        let mut repeats = Vec::new();
        for id in [f, g] {
            c.wait_rejoined(id)
                .await
                .expect("survivors follow a leader");
            one_key_on(c, id, &uid, &mut repeats).await;
        }
        assert!(
            c.log_since_start(f).contains(REPEAT_LOGGED),
            "no copy of the write was answered from the window"
        );
        // The killed leader comes back to the same state, one key.
        c.start_node(leader)
            .await
            .expect("restart the killed leader");
        c.wait_rejoined(leader)
            .await
            .expect("the old leader rejoins");
        c.wait_converged().await.expect("converged");
        let found = connect(c, leader)
            .await
            .locate(Attributes(vec![named(KEY_NAME)]), None, None)
            .await
            .expect("locate by name on the old leader")
            .unique_identifiers;
        assert_eq!(found, vec![uid], "exactly one key on the old leader");
    });
}
