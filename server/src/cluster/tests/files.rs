//! The replication storage's files are the node's own: the Raft log and the store 0600, the
//! snapshot directory 0700 and every snapshot in it 0600, built here or installed from a
//! leader (see `crate::permissions`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};

use super::fixture::{self, apply, command, populate};
use crate::cluster::{RAFT_LOG_FILE, SNAPSHOT_DIR};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Every entry of `dir` (one level) and the modes of the directory and the files.
fn assert_private(dir: &Path) {
    assert_eq!(mode(&dir.join(RAFT_LOG_FILE)), 0o600, "Raft log");
    assert_eq!(mode(&dir.join("store.redb")), 0o600, "store");
    let snapshots = dir.join(SNAPSHOT_DIR);
    assert_eq!(mode(&snapshots), 0o700, "snapshot directory");
    let mut files = 0;
    for entry in std::fs::read_dir(&snapshots).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        files += 1;
    }
    assert!(files > 0, "no snapshot in {}", snapshots.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_log_store_and_snapshots_are_created_private() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_log, mut a) = fixture::open(a_dir.path());
    let entries = populate("acme")
        .into_iter()
        .enumerate()
        .map(|(n, c)| command(1, 1 + n as u64, c))
        .collect();
    apply(&mut a, entries).await;
    let snap = a
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    let (_log, mut b) = fixture::open(b_dir.path());
    b.install_snapshot(&snap.meta, snap.snapshot).await.unwrap();
    assert_private(a_dir.path());
    assert_private(b_dir.path());
}
