//! The request window (`cluster/requests.rs`): a request in the log twice is applied once and
//! both copies answer the first outcome; the window is trimmed the same way on every node
//! whatever the batching of entries; a snapshot carries it, and one of schema 5 (without it)
//! installs with an empty window.

use std::io::{Seek, SeekFrom, Write};
use std::ops::ControlFlow;

use openraft::EntryPayload;
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::fixture::{self, Entry, log_id, object, tenant};
use crate::cluster::requests::REQUEST_WINDOW;
use crate::cluster::snapshot::{SnapshotHeader, SnapshotWriter};
use crate::cluster::state_machine::apply_entries;
use crate::cluster::{Op, Request, Response, SnapshotData};
use crate::store::replica::{REPLICATED, RecordSink};
use crate::store::{Command, Rejection, Store};

/// The entry at `index` carrying `command` under request ID `id`.
fn request(index: u64, id: Uuid, command: Command) -> Entry {
    Entry {
        log_id: log_id(1, index),
        payload: EntryPayload::Normal(Request {
            id,
            op: Op::Store(command),
        }),
    }
}

fn put(uid: &str, name: &str) -> Command {
    Command::PutObject {
        expected_revision: None,
        record: Box::new(object(uid, "acme", name)),
    }
}

/// The UIDs of tenant acme's objects.
fn uids(store: &Store) -> Vec<String> {
    let mut uids = Vec::new();
    store
        .for_each_object_of("acme", |o| {
            uids.push(o.uid);
            true
        })
        .expect("objects");
    uids
}

fn apply(store: &Store, entries: &[Entry]) -> (Vec<Response>, u64) {
    apply_with(store, entries, true)
}

/// As [`apply`]; `durable: false` commits without fsync, as most apply calls do.
fn apply_with(store: &Store, entries: &[Entry], durable: bool) -> (Vec<Response>, u64) {
    let applied = apply_entries(store, entries, 0, durable).expect("apply");
    (applied.responses, applied.repeats)
}

/// Record count of each request window table.
fn window_sizes(store: &Store) -> (usize, usize) {
    let (_, counts) = fixture::digest(store);
    let count = |name: &str| {
        counts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| *c)
            .unwrap_or_else(|| panic!("table {name} is replicated"))
    };
    (count("requests"), count("request_order"))
}

#[test]
fn a_request_in_the_log_twice_makes_one_object_and_both_answer_the_first_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, sm) = fixture::open(dir.path());
    let store = sm.store();
    let create = Uuid::new_v4();
    // The copies land in separate apply calls (a retry after a lost reply) and in the same
    // one; the first call commits without fsync, as most do.
    let (first, _) = apply_with(
        store,
        &[
            request(1, Uuid::new_v4(), Command::CreateTenant(tenant("acme"))),
            request(2, create, put("k-1", "vm-1")),
        ],
        false,
    );
    assert_eq!(first, vec![Ok(()), Ok(())]);
    let (later, repeats) = apply(
        store,
        &[
            request(3, create, put("k-1", "vm-1")),
            request(4, create, put("k-1", "vm-1")),
        ],
    );
    // Applied afresh, the copy would be refused: the UID exists.
    assert_eq!(
        later,
        vec![Ok(()), Ok(())],
        "the first outcome, not a refusal"
    );
    assert_eq!(repeats, 2);
    // The same command under a new ID is a new request: applied, and refused.
    let (fresh, repeats) = apply(store, &[request(5, Uuid::new_v4(), put("k-1", "vm-1"))]);
    assert_eq!(fresh, vec![Err(Rejection::ObjectExists)]);
    assert_eq!(repeats, 0);
    assert_eq!(uids(store), vec!["k-1".to_owned()], "one object");
    assert_eq!(sm.applied().unwrap().0, Some(log_id(1, 5)));
}

#[test]
fn a_repeated_refusal_answers_the_refusal_even_once_the_state_would_allow_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, sm) = fixture::open(dir.path());
    let store = sm.store();
    let suspend = Uuid::new_v4();
    let command = Command::SetTenantSuspended {
        tenant: "acme".into(),
        suspended: true,
    };
    let (out, _) = apply(store, &[request(1, suspend, command.clone())]);
    assert_eq!(out, vec![Err(Rejection::NoSuchTenant)]);
    let (out, repeats) = apply(
        store,
        &[
            request(2, Uuid::new_v4(), Command::CreateTenant(tenant("acme"))),
            request(3, suspend, command),
        ],
    );
    assert_eq!(out, vec![Ok(()), Err(Rejection::NoSuchTenant)]);
    assert_eq!(repeats, 1);
    assert!(!store.tenant("acme").unwrap().expect("tenant").suspended);
}

/// A log that reaches past the window: the copy of `a` exactly [`REQUEST_WINDOW`] after it is
/// a repeat; the copy of `b` one index further is not (applied afresh); a batch in the middle
/// makes the state machine commit part-way.
fn long_log(a: Uuid, b: Uuid) -> Vec<Entry> {
    let w = REQUEST_WINDOW;
    vec![
        request(1, Uuid::new_v4(), Command::CreateTenant(tenant("acme"))),
        request(2, a, put("a", "vm-a")),
        request(3, b, put("b", "vm-b")),
        request(4, Uuid::new_v4(), put("c", "vm-c")),
        request(
            5,
            Uuid::new_v4(),
            Command::Batch(vec![put("d", "vm-d"), put("e", "vm-e")]),
        ),
        request(2 + w, a, put("a", "vm-a")),
        request(3 + w + 1, b, put("b", "vm-b")),
        request(4 + w + 2, Uuid::new_v4(), put("f", "vm-f")),
    ]
}

#[test]
fn the_window_is_trimmed_the_same_on_every_node_whatever_the_batching() {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let log = long_log(a, b);
    let mut digests = Vec::new();
    // One node applies the log in one call, one entry by entry, one in uneven chunks.
    for chunks in [vec![log.len()], vec![1; log.len()], vec![3, 1, 2, 2]] {
        let dir = tempfile::tempdir().unwrap();
        let (_log, sm) = fixture::open(dir.path());
        let mut responses = Vec::new();
        let mut repeats = 0;
        let mut at = 0;
        for n in chunks {
            let (r, k) = apply(sm.store(), &log[at..at + n]);
            responses.extend(r);
            repeats += k;
            at += n;
        }
        assert_eq!(at, log.len());
        assert_eq!(repeats, 1, "only the copy of a is a repeat");
        assert_eq!(
            responses[5..],
            [Ok(()), Err(Rejection::ObjectExists), Ok(())],
            "a's copy answers its first outcome, b's is applied afresh"
        );
        // Applied up to 6 + W: kept, the requests first applied after index 6; b's newer
        // record (its afresh application at 4 + W) and f.
        assert_eq!(window_sizes(sm.store()), (2, 2));
        digests.push(fixture::digest(sm.store()).0);
    }
    assert!(
        digests.windows(2).all(|p| p[0] == p[1]),
        "same state on every node"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_carries_the_window() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_a_log, mut a) = fixture::open(a_dir.path());
    let (_b_log, mut b) = fixture::open(b_dir.path());
    let create = Uuid::new_v4();
    apply(
        a.store(),
        &[
            request(1, Uuid::new_v4(), Command::CreateTenant(tenant("acme"))),
            request(2, create, put("k-1", "vm-1")),
        ],
    );
    let snap = a
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    b.install_snapshot(&snap.meta, snap.snapshot).await.unwrap();
    assert_eq!(window_sizes(b.store()), (2, 2));
    assert_eq!(fixture::digest(b.store()).0, fixture::digest(a.store()).0);
    // The copy reaches B after the snapshot: the first outcome, nothing applied again.
    let (out, repeats) = apply(b.store(), &[request(3, create, put("k-1", "vm-1"))]);
    assert_eq!(out, vec![Ok(())]);
    assert_eq!(repeats, 1);
    assert_eq!(uids(b.store()), vec!["k-1".to_owned()]);
}

/// Copies records into a snapshot writer.
struct Copy<'a>(&'a mut SnapshotWriter);

impl RecordSink for Copy<'_> {
    fn record(&mut self, key: &[u8], value: &[u8]) -> ControlFlow<()> {
        self.0.record(key, value).expect("record written");
        ControlFlow::Continue(())
    }
}

/// A snapshot as a kmsd of schema 5 wrote it (no request window tables) installs with an
/// empty window, and the entries after it apply and fill the window as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_5_snapshot_without_the_window_installs_with_an_empty_one() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_a_log, mut a) = fixture::open(a_dir.path());
    let (_b_log, mut b) = fixture::open(b_dir.path());
    apply(
        a.store(),
        &[
            request(1, Uuid::new_v4(), Command::CreateTenant(tenant("acme"))),
            request(2, Uuid::new_v4(), put("k-1", "vm-1")),
        ],
    );
    let meta = a
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap()
        .meta;
    let header = SnapshotHeader {
        incarnation: None,
        meta: meta.clone(),
    };
    let path = a_dir.path().join("schema-5.snap");
    let mut writer = SnapshotWriter::create(&path, &header).unwrap();
    let view = a.store().replica_read().unwrap();
    for table in REPLICATED
        .iter()
        .filter(|t| !["requests", "request_order"].contains(&t.name()))
    {
        writer.table(table.name()).unwrap();
        view.visit(*table, &mut Copy(&mut writer)).unwrap();
    }
    drop(writer.finish().unwrap());
    let bytes = std::fs::read(&path).unwrap();
    // The schema version follows the magic and the format version; the digest ends the file.
    let mut body = bytes[..bytes.len() - 32].to_vec();
    body[12..16].copy_from_slice(&5u32.to_le_bytes());
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&body).unwrap();
    file.write_all(&Sha256::digest(&body)).unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();

    // B's own window from before is replaced with the snapshot's state: none.
    apply(
        b.store(),
        &[request(
            1,
            Uuid::new_v4(),
            Command::CreateTenant(tenant("old")),
        )],
    );
    assert_eq!(window_sizes(b.store()), (1, 1));
    b.install_snapshot(&meta, SnapshotData::new(file))
        .await
        .unwrap();
    assert_eq!(window_sizes(b.store()), (0, 0));
    assert_eq!(uids(b.store()), vec!["k-1".to_owned()]);
    let (out, repeats) = apply(b.store(), &[request(3, Uuid::new_v4(), put("k-2", "vm-2"))]);
    assert_eq!(out, vec![Ok(())]);
    assert_eq!(repeats, 0);
    assert_eq!(window_sizes(b.store()), (1, 1));
}
