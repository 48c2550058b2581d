//! What is written is there after reopening the files; stored damage is a typed error.

use openraft::Vote;
use openraft::storage::{
    LogState, RaftLogReader, RaftLogStorage, RaftLogStorageExt, RaftStateMachine,
};
use openraft::{EntryPayload, Membership, StoredMembership};

use super::fixture::{self, apply, blank, command, log_id, normal, populate, tenant};
use crate::cluster::error::LogRecord;
use crate::cluster::log_store::LOG;
use crate::cluster::state_machine::apply_entries;
use crate::cluster::{ClusterNode, ClusterStoreError, Incarnation, Op, RAFT_LOG_FILE};
use crate::store::{Command, Rejection};

fn membership_entry(term: u64, index: u64) -> fixture::Entry {
    let nodes = [1u64, 2, 3].map(|id| {
        (
            id,
            ClusterNode {
                kmip_addr: format!("10.0.0.{id}:5696"),
                raft_addr: format!("10.0.0.{id}:5697"),
            },
        )
    });
    fixture::Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Membership(
            Membership::new(
                vec![[1u64, 2, 3].into()],
                nodes
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>(),
            )
            .expect("membership"),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vote_log_and_applied_state_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let incarnation = Incarnation::random();
    let mut entries = vec![
        blank(3, 1),
        membership_entry(3, 2),
        normal(3, 3, Op::Incarnation(incarnation)),
    ];
    let mut index = 4;
    for c in populate("acme") {
        entries.push(command(3, index, c));
        index += 1;
    }
    let last = index - 1;
    let vote = Vote::new_committed(3, 2);
    {
        let (mut log, mut sm) = fixture::open(dir.path());
        log.save_vote(&vote).await.unwrap();
        log.blocking_append(entries.clone()).await.unwrap();
        log.save_committed(Some(log_id(3, last - 1))).await.unwrap();
        log.purge(log_id(3, 1)).await.unwrap();
        apply(&mut sm, entries[..entries.len() - 1].to_vec()).await;
    }
    let (mut log, mut sm) = fixture::open(dir.path());
    let mut reader = log.get_log_reader().await;
    assert_eq!(reader.read_vote().await.unwrap(), Some(vote));
    assert_eq!(
        log.get_log_state().await.unwrap(),
        LogState {
            last_purged_log_id: Some(log_id(3, 1)),
            last_log_id: Some(log_id(3, last)),
        }
    );
    assert_eq!(
        log.read_committed().await.unwrap(),
        Some(log_id(3, last - 1))
    );
    assert_eq!(
        reader.try_get_log_entries(1..=last).await.unwrap(),
        entries[1..].to_vec()
    );
    let (applied, membership) = sm.applied_state().await.unwrap();
    assert_eq!(applied, Some(log_id(3, last - 1)));
    let EntryPayload::Membership(m) = &entries[1].payload else {
        unreachable!("entry 2 is the membership")
    };
    assert_eq!(
        membership,
        StoredMembership::new(Some(log_id(3, 2)), m.clone())
    );
    assert_eq!(sm.incarnation().unwrap(), Some(incarnation));
    // The last command (an audit checkpoint) was appended but not applied: it is absent, the
    // earlier ones are there.
    assert!(sm.store().object("acme-1").unwrap().is_some());
    assert!(sm.store().object("acme-2").unwrap().is_some());
    assert!(sm.store().audit_checkpoints().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_and_purge_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, _sm) = fixture::open(dir.path());
        log.blocking_append((1..=10).map(|i| blank(1, i)))
            .await
            .unwrap();
        log.truncate_after(Some(log_id(1, 6))).await.unwrap();
        log.purge(log_id(1, 2)).await.unwrap();
    }
    let (mut log, _sm) = fixture::open(dir.path());
    assert_eq!(
        log.get_log_state().await.unwrap(),
        LogState {
            last_purged_log_id: Some(log_id(1, 2)),
            last_log_id: Some(log_id(1, 6)),
        }
    );
    let got = log
        .get_log_reader()
        .await
        .try_get_log_entries(0..100)
        .await
        .unwrap();
    assert_eq!(got, (3..=6).map(|i| blank(1, i)).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejections_are_outcomes_and_the_applied_index_advances() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, sm) = fixture::open(dir.path());
    let entries = vec![
        command(1, 1, Command::CreateTenant(tenant("a"))),
        command(1, 2, Command::CreateTenant(tenant("a"))),
        command(
            1,
            3,
            Command::SetTenantSuspended {
                tenant: "nobody".into(),
                suspended: true,
            },
        ),
    ];
    let store = sm.store().clone();
    let out = tokio::task::spawn_blocking(move || {
        apply_entries(&store, &entries, 0, true).map(|a| a.responses)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        out,
        vec![
            Ok(()),
            Err(Rejection::TenantExists),
            Err(Rejection::NoSuchTenant)
        ]
    );
    assert_eq!(sm.applied().unwrap().0, Some(log_id(1, 3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_incarnation_stamp_wins() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, mut sm) = fixture::open(dir.path());
    let (first, second) = (Incarnation::random(), Incarnation::random());
    apply(
        &mut sm,
        vec![
            normal(1, 1, Op::Incarnation(first)),
            normal(1, 2, Op::Incarnation(second)),
        ],
    )
    .await;
    assert_eq!(sm.incarnation().unwrap(), Some(first));
}

/// Overwrites the stored bytes of log entry `index` in the closed log file.
fn damage_entry(dir: &std::path::Path, index: u64, bytes: &[u8]) {
    let db = redb::Database::open(dir.join(RAFT_LOG_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(LOG).unwrap().insert(index, bytes).unwrap();
    txn.commit().unwrap();
}

fn corrupt_index(e: &std::io::Error) -> Option<u64> {
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    match ClusterStoreError::from_io(e) {
        Some(ClusterStoreError::Corrupt {
            what: LogRecord::Entry(i),
            ..
        }) => Some(*i),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_log_entry_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, _sm) = fixture::open(dir.path());
        log.blocking_append((1..=3).map(|i| blank(1, i)))
            .await
            .unwrap();
    }
    // Garbage at 2; at 3 a well-formed entry that claims another index.
    damage_entry(dir.path(), 2, &[0xff; 5]);
    let misplaced = postcard::to_allocvec(&blank(1, 9)).unwrap();
    damage_entry(dir.path(), 3, &misplaced);

    let (mut log, _sm) = fixture::open(dir.path());
    let mut reader = log.get_log_reader().await;
    assert_eq!(
        reader.try_get_log_entries(1..2).await.unwrap(),
        vec![blank(1, 1)]
    );
    let e = reader.try_get_log_entries(1..=3).await.unwrap_err();
    assert_eq!(corrupt_index(&e), Some(2));
    let e = reader.try_get_log_entries(3..=3).await.unwrap_err();
    assert_eq!(corrupt_index(&e), Some(3));
    let e = log.get_log_state().await.unwrap_err();
    assert_eq!(corrupt_index(&e), Some(3));
}

/// Where the crashing child process writes (set only for the child).
const CRASH_DIR: &str = "KMS_TEST_RAFT_CRASH_DIR";

/// The entries the crashing child writes: fixed request IDs, so the parent can compare.
fn crash_entries() -> Vec<fixture::Entry> {
    let mut entries = vec![blank(2, 1), membership_entry(2, 2)];
    for (n, c) in populate("crash").into_iter().enumerate() {
        let index = 3 + n as u64;
        let mut e = command(2, index, c);
        if let EntryPayload::Normal(r) = &mut e.payload {
            r.id = uuid::Uuid::from_u128(u128::from(index));
        }
        entries.push(e);
    }
    entries
}

/// Child process of `state_survives_a_process_crash`: writes, then aborts without running
/// any destructor. Does nothing unless started by that test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of state_survives_a_process_crash"]
async fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_DIR) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let (mut log, mut sm) = fixture::open(&dir);
    let entries = crash_entries();
    log.save_vote(&Vote::new_committed(2, 1)).await.unwrap();
    log.blocking_append(entries.clone()).await.unwrap();
    log.save_committed(Some(log_id(2, 5))).await.unwrap();
    apply(&mut sm, entries[..5].to_vec()).await;
    std::process::abort();
}

#[test]
fn state_survives_a_process_crash() {
    use std::os::unix::process::ExitStatusExt;

    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "cluster::tests::durability::crash_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CRASH_DIR, dir.path())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    // Killed by SIGABRT after its writes (a panic would exit with 101 instead).
    assert_eq!(status.signal(), Some(6), "child: {status}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (mut log, mut sm) = fixture::open(dir.path());
        let entries = crash_entries();
        let mut reader = log.get_log_reader().await;
        assert_eq!(
            reader.read_vote().await.unwrap(),
            Some(Vote::new_committed(2, 1))
        );
        assert_eq!(reader.try_get_log_entries(..).await.unwrap(), entries);
        // The committed log id is written behind the appends and not waited for: it may lag
        // (every read is linearized through the leader, so a lagging one is never served).
        let committed = log.read_committed().await.unwrap();
        assert!(committed <= Some(log_id(2, 5)), "{committed:?}");
        // Applied entries are committed durably only now and then (the fsync'd log is what
        // makes them durable): the store may be behind, but never ahead of its last applied
        // index, and applying the rest from the log brings it level.
        let applied = sm.applied_state().await.unwrap().0;
        assert!(applied <= Some(log_id(2, 5)), "{applied:?}");
        let applied_index = applied.map_or(0, |l| l.index);
        assert_eq!(
            sm.store().tenant("crash").unwrap().is_some(),
            applied_index >= 3,
            "store does not match its applied index {applied_index}"
        );
        let rest: Vec<_> = entries[..5]
            .iter()
            .filter(|e| e.log_id.index > applied_index)
            .cloned()
            .collect();
        apply(&mut sm, rest).await;
        assert_eq!(sm.applied_state().await.unwrap().0, Some(log_id(2, 5)));
        assert!(sm.store().tenant("crash").unwrap().is_some());
        assert!(
            sm.store().object("crash-2").unwrap().is_none(),
            "entry 6 was not applied"
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_after_other_entries_apply_atomically() {
    // redb takes a savepoint only in an untouched transaction: a batch entry behind others
    // starts its own, and a rejected batch still leaves no trace.
    let dir = tempfile::tempdir().unwrap();
    let (_log, sm) = fixture::open(dir.path());
    let put = |uid: &str, t: &str| Command::PutObject {
        expected_revision: None,
        record: Box::new(fixture::object(uid, t, uid)),
    };
    let entries = vec![
        command(1, 1, Command::CreateTenant(tenant("a"))),
        command(1, 2, Command::Batch(vec![put("x", "a"), put("y", "a")])),
        command(1, 3, put("z", "a")),
        command(
            1,
            4,
            Command::Batch(vec![put("v", "a"), put("w", "nobody")]),
        ),
    ];
    let store = sm.store().clone();
    let out = tokio::task::spawn_blocking(move || {
        apply_entries(&store, &entries, 0, true).map(|a| a.responses)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        out,
        vec![Ok(()), Ok(()), Ok(()), Err(Rejection::NoSuchTenant)]
    );
    for (uid, present) in [("x", true), ("y", true), ("z", true), ("v", false)] {
        assert_eq!(sm.store().object(uid).unwrap().is_some(), present, "{uid}");
    }
    assert_eq!(sm.applied().unwrap().0, Some(log_id(1, 4)));
}
