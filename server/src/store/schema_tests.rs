//! The store file's schema version: recorded at creation, an unversioned store (written
//! before versions existed) migrated with its records intact, a newer one refused untouched.

use super::records::TenantRecord;
use super::schema::{self, SCHEMA_VERSION};
use super::{Command, Store, StoreError};

fn tenant(id: &str) -> TenantRecord {
    TenantRecord {
        id: id.into(),
        suspended: false,
        created_at: 1,
        domain_keys: Vec::new(),
    }
}

/// A store at `path` holding tenant `a`, closed again.
async fn store_with_a_tenant(path: &std::path::Path) {
    let store = Store::open(path).unwrap();
    let c = store.committer(()).unwrap();
    c.apply(Command::CreateTenant(tenant("a")))
        .await
        .unwrap()
        .outcome
        .unwrap();
    c.shutdown().await;
}

#[tokio::test]
async fn a_new_store_records_the_current_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    drop(Store::open(&path).unwrap());
    assert_eq!(
        schema::read_store_version(&path).unwrap(),
        Some(SCHEMA_VERSION)
    );
}

#[tokio::test]
async fn an_unversioned_store_is_migrated_and_keeps_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    store_with_a_tenant(&path).await;
    // As a binary from before schema versions left it.
    schema::overwrite_store_version(&path, None).unwrap();
    assert_eq!(schema::read_store_version(&path).unwrap(), None);

    let store = Store::open(&path).unwrap();
    assert!(store.tenant("a").unwrap().is_some(), "records kept");
    drop(store);
    assert_eq!(
        schema::read_store_version(&path).unwrap(),
        Some(SCHEMA_VERSION)
    );
}

#[tokio::test]
async fn a_store_of_a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    store_with_a_tenant(&path).await;
    let newer = SCHEMA_VERSION + 1;
    schema::overwrite_store_version(&path, Some(newer)).unwrap();

    let e = Store::open(&path).unwrap_err();
    assert!(
        matches!(e, StoreError::SchemaTooNew(s) if s.found == newer && s.supported == SCHEMA_VERSION),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains(&format!("schema version {newer}"))
            && text.contains(&format!("schema version {SCHEMA_VERSION}")),
        "{text}"
    );
    // Refused before anything was written: the version is still the newer one.
    assert_eq!(schema::read_store_version(&path).unwrap(), Some(newer));
}
