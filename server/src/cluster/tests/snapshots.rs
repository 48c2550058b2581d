//! Snapshots: a round trip reproduces every table, another incarnation or a damaged file is
//! refused without touching the state, every store table is carried.

use std::io::{Read, Seek, SeekFrom, Write};

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};

use super::fixture::{self, apply, command, normal, populate};
use crate::cluster::error::SnapshotDefect;
use crate::cluster::{ClusterStoreError, Incarnation, Op, SnapshotData, StateMachine};

/// A state machine stamped with `incarnation` (if any) holding tenant `t`'s records.
async fn node(dir: &std::path::Path, incarnation: Option<Incarnation>, t: &str) -> StateMachine {
    let (_log, mut sm) = fixture::open(dir);
    let mut entries = Vec::new();
    if let Some(i) = incarnation {
        entries.push(normal(1, 1, Op::Incarnation(i)));
    }
    for (n, c) in populate(t).into_iter().enumerate() {
        entries.push(command(1, 2 + n as u64, c));
    }
    apply(&mut sm, entries).await;
    sm
}

fn refusal(e: &std::io::Error) -> &ClusterStoreError {
    ClusterStoreError::from_io(e).expect("typed error")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_round_trip_reproduces_every_table() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = node(a_dir.path(), Some(Incarnation::random()), "acme").await;
    // B holds older, different state of the same cluster: all of it must be replaced.
    let mut b = {
        let (_log, mut sm) = fixture::open(b_dir.path());
        apply(&mut sm, vec![command(1, 1, populate("stale").remove(0))]).await;
        sm
    };
    let (a_digest, counts) = fixture::digest(a.store());
    assert!(
        counts.iter().all(|(_, n)| *n > 0),
        "every table has records: {counts:?}"
    );
    assert_ne!(fixture::digest(b.store()).0, a_digest);

    let snap = a
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    assert_eq!(snap.meta.last_log_id, a.applied().unwrap().0);
    b.install_snapshot(&snap.meta, snap.snapshot).await.unwrap();

    assert_eq!(fixture::digest(b.store()).0, a_digest);
    assert_eq!(b.applied().unwrap(), a.applied().unwrap());
    assert_eq!(b.incarnation().unwrap(), a.incarnation().unwrap());
    assert!(b.store().tenant("stale").unwrap().is_none());
    assert!(
        b.store()
            .client_by_fingerprint("acme-fp")
            .unwrap()
            .is_some()
    );
    assert_eq!(
        b.store().object_named("acme", "vm-2").unwrap().as_deref(),
        Some("acme-2")
    );
    let current = b.get_current_snapshot().await.unwrap().expect("kept");
    assert_eq!(current.meta, snap.meta);

    // The kept snapshot survives a reopen and still installs the same state elsewhere.
    drop(b);
    let (_log, mut b) = fixture::open(b_dir.path());
    let kept = b
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("kept after reopen");
    let c_dir = tempfile::tempdir().unwrap();
    let (_log, mut c) = fixture::open(c_dir.path());
    c.install_snapshot(&kept.meta, kept.snapshot).await.unwrap();
    assert_eq!(fixture::digest(c.store()).0, a_digest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_another_incarnation_is_refused() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (x, y) = (Incarnation::random(), Incarnation::random());
    let mut a = node(a_dir.path(), Some(x), "acme").await;
    let mut b = node(b_dir.path(), Some(y), "other").await;
    let before = (fixture::digest(b.store()).0, b.applied().unwrap());

    let snap = a
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    let e = b
        .install_snapshot(&snap.meta, snap.snapshot)
        .await
        .unwrap_err();
    assert!(
        matches!(refusal(&e), ClusterStoreError::IncarnationMismatch { local, found } if *local == y && *found == x),
        "{e}"
    );
    assert_eq!((fixture::digest(b.store()).0, b.applied().unwrap()), before);
    assert_eq!(b.incarnation().unwrap(), Some(y));

    // A snapshot from before any stamp is refused by a stamped node too.
    let n_dir = tempfile::tempdir().unwrap();
    let mut unstamped = node(n_dir.path(), None, "acme").await;
    let snap = unstamped
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    let e = b
        .install_snapshot(&snap.meta, snap.snapshot)
        .await
        .unwrap_err();
    assert!(matches!(refusal(&e), ClusterStoreError::IncarnationMissing { local } if *local == y));
    assert_eq!((fixture::digest(b.store()).0, b.applied().unwrap()), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_snapshot_is_refused() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = node(a_dir.path(), Some(Incarnation::random()), "acme").await;
    let mut b = node(b_dir.path(), None, "other").await;
    let before = fixture::digest(b.store()).0;
    let snap = a
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();

    let mut bytes = Vec::new();
    snap.snapshot
        .into_file()
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    let cases: [(Vec<u8>, SnapshotDefect); 3] = [
        {
            let mut flipped = bytes.clone();
            let mid = flipped.len() / 2;
            flipped[mid] ^= 0x01;
            (flipped, SnapshotDefect::Digest)
        },
        (bytes[..20].to_vec(), SnapshotDefect::Truncated),
        (bytes[..bytes.len() - 1].to_vec(), SnapshotDefect::Digest),
    ];
    for (damaged, want) in cases {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&damaged).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let e = b
            .install_snapshot(&snap.meta, SnapshotData::new(file))
            .await
            .unwrap_err();
        assert!(
            matches!(refusal(&e), ClusterStoreError::SnapshotMalformed(d) if *d == want),
            "{e}"
        );
        assert_eq!(fixture::digest(b.store()).0, before);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_table_is_carried_by_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let sm = node(dir.path(), Some(Incarnation::random()), "acme").await;
    assert_eq!(
        sm.store().tables_missing_from_snapshots().unwrap(),
        Vec::<String>::new()
    );
}

/// `body` (a snapshot without its digest) with a fresh SHA-256 digest, as an open file: a
/// snapshot another binary could have written.
fn resealed(body: &[u8]) -> SnapshotData {
    use sha2::{Digest, Sha256};
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(body).unwrap();
    file.write_all(&Sha256::digest(body)).unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    SnapshotData::new(file)
}

/// Offset of the schema version in a format 2 snapshot: after the magic and the format.
const SCHEMA_AT: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_a_newer_schema_is_refused_and_an_unversioned_one_installs() {
    use crate::store::schema::SCHEMA_VERSION;
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = node(a_dir.path(), Some(Incarnation::random()), "acme").await;
    let mut b = node(b_dir.path(), None, "other").await;
    let before = fixture::digest(b.store()).0;
    let snap = a
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    let mut bytes = Vec::new();
    snap.snapshot
        .into_file()
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    let body = &bytes[..bytes.len() - 32];
    assert_eq!(&body[8..12], &2u32.to_le_bytes(), "format 2 is written");
    assert_eq!(
        &body[SCHEMA_AT..SCHEMA_AT + 4],
        &SCHEMA_VERSION.to_le_bytes(),
        "the current schema is written"
    );

    // The same snapshot, as a newer binary would stamp it: refused, the state untouched.
    let mut newer = body.to_vec();
    newer[SCHEMA_AT..SCHEMA_AT + 4].copy_from_slice(&(SCHEMA_VERSION + 1).to_le_bytes());
    let e = b
        .install_snapshot(&snap.meta, resealed(&newer))
        .await
        .unwrap_err();
    assert!(
        matches!(refusal(&e), ClusterStoreError::SnapshotSchemaTooNew(s)
            if s.found == SCHEMA_VERSION + 1 && s.supported == SCHEMA_VERSION),
        "{e}"
    );
    let text = refusal(&e).to_string();
    assert!(
        text.contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
        "{text}"
    );
    assert_eq!(fixture::digest(b.store()).0, before);

    // As a binary from before schema versions wrote it (format 1, no schema field): installs.
    let mut old = body[..8].to_vec();
    old.extend_from_slice(&1u32.to_le_bytes());
    old.extend_from_slice(&body[SCHEMA_AT + 4..]);
    b.install_snapshot(&snap.meta, resealed(&old))
        .await
        .unwrap();
    assert_eq!(fixture::digest(b.store()).0, fixture::digest(a.store()).0);
}
