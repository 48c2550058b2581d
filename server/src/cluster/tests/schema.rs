//! The Raft log file's schema version: recorded at creation, an unversioned log (written
//! before versions existed) migrated with its entries intact, a newer one refused untouched.

use openraft::storage::{RaftLogReader, RaftLogStorage, RaftLogStorageExt};

use super::fixture::{self, blank};
use crate::cluster::log_store::{overwrite_schema, read_schema};
use crate::cluster::{ClusterStoreError, LogStore, RAFT_LOG_FILE};
use crate::store::schema::SCHEMA_VERSION;

/// A log in `dir` holding entries 1..=3, closed again.
async fn log_with_entries(dir: &std::path::Path) {
    let (mut log, _sm) = fixture::open(dir);
    log.blocking_append((1..=3).map(|i| blank(1, i)))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_log_records_the_current_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    drop(fixture::open(dir.path()));
    assert_eq!(
        read_schema(&dir.path().join(RAFT_LOG_FILE)).unwrap(),
        Some(SCHEMA_VERSION)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unversioned_log_is_migrated_and_keeps_its_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(RAFT_LOG_FILE);
    log_with_entries(dir.path()).await;
    overwrite_schema(&path, None).unwrap();
    assert_eq!(read_schema(&path).unwrap(), None);

    let mut log = LogStore::open(&path).unwrap();
    let entries = log
        .get_log_reader()
        .await
        .try_get_log_entries(1..4)
        .await
        .unwrap();
    assert_eq!(entries.len(), 3, "entries kept");
    drop(log);
    assert_eq!(read_schema(&path).unwrap(), Some(SCHEMA_VERSION));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_of_a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(RAFT_LOG_FILE);
    log_with_entries(dir.path()).await;
    let newer = SCHEMA_VERSION + 1;
    overwrite_schema(&path, Some(newer)).unwrap();

    let e = LogStore::open(&path).unwrap_err();
    assert!(
        matches!(e, ClusterStoreError::SchemaTooNew(s) if s.found == newer && s.supported == SCHEMA_VERSION),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.starts_with("the Raft log file") && text.contains(&format!("schema version {newer}")),
        "{text}"
    );
    assert_eq!(read_schema(&path).unwrap(), Some(newer));
}
