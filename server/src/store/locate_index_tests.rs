//! The Locate index as derived state: built when a store of schema version 2 is migrated, and
//! rebuilt from the objects a snapshot installs (the node's own entries replaced, none left
//! behind), so every node answers the same.

use std::ops::ControlFlow;

use kmip_codec::enums::NameType;
use kmip_codec::model::{Attribute, AttributeValue, Name};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::encode::encode;

use crate::store::records::{ObjectRecord, OtherAttribute, StoredAttributes, TenantRecord};
use crate::store::replica::{REPLICATED, RecordSink};
use crate::store::{Command, Store, locate_index, schema, tables};

fn tenant(id: &str) -> TenantRecord {
    TenantRecord {
        id: id.into(),
        suspended: false,
        created_at: 1,
        domain_keys: Vec::new(),
    }
}

fn name(v: &str) -> Attribute {
    Attribute::new(
        Tag::NAME,
        AttributeValue::Name(Name {
            value: v.into(),
            name_type: NameType::UNINTERPRETED_TEXT_STRING,
        }),
    )
}

fn note(v: &str) -> Attribute {
    Attribute::custom("x-note", AttributeValue::TextString(v.into()))
}

/// An object of tenant `t` carrying `attributes`.
fn object(uid: &str, t: &str, attributes: &[Attribute]) -> ObjectRecord {
    ObjectRecord {
        uid: uid.into(),
        tenant: t.into(),
        revision: 1,
        object_type: 2,
        state: 1,
        material: None,
        attributes: StoredAttributes {
            other: attributes
                .iter()
                .map(|a| OtherAttribute(encode(&a.to_ttlv_1x().unwrap())))
                .collect(),
            ..StoredAttributes::default()
        },
    }
}

/// A store holding tenant `t` and `objects`.
async fn store_with(path: &std::path::Path, t: &str, objects: Vec<ObjectRecord>) -> Store {
    let store = Store::open(path).unwrap();
    let c = store.committer(()).unwrap();
    c.apply(Command::CreateTenant(tenant(t)))
        .await
        .unwrap()
        .outcome
        .unwrap();
    for o in objects {
        c.apply(Command::PutObject {
            expected_revision: None,
            record: Box::new(o),
        })
        .await
        .unwrap()
        .outcome
        .unwrap();
    }
    c.shutdown().await;
    store
}

/// The UIDs the index gives for `filters` in `t`.
fn located(store: &Store, t: &str, filters: &[Attribute]) -> Vec<String> {
    let terms: Vec<Vec<u8>> = filters.iter().filter_map(locate_index::term).collect();
    assert_eq!(terms.len(), filters.len(), "every filter here is indexed");
    let mut out = Vec::new();
    store
        .locate(t, &terms, |o| {
            out.push(o.uid);
            true
        })
        .unwrap();
    out
}

#[tokio::test]
async fn a_store_of_schema_version_2_gets_its_index_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    drop(
        store_with(
            &path,
            "a",
            vec![
                object("u1", "a", &[name("k1"), note("blue")]),
                object("u2", "a", &[name("k2"), note("blue")]),
            ],
        )
        .await,
    );
    // As schema version 2 left it: no Locate index at all.
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        assert!(txn.delete_table(tables::LOCATE_INDEX).unwrap());
        txn.commit().unwrap();
    }
    schema::overwrite_store_version(&path, Some(2)).unwrap();

    let store = Store::open(&path).unwrap();
    assert_eq!(located(&store, "a", &[name("k2")]), ["u2"]);
    assert_eq!(located(&store, "a", &[note("blue")]).len(), 2);
    assert_eq!(located(&store, "a", &[]).len(), 2, "every object");
    drop(store);
    assert_eq!(
        schema::read_store_version(&path).unwrap(),
        Some(schema::SCHEMA_VERSION)
    );
}

/// Copies every replicated table of `from` into `to` as a snapshot install does.
fn install(from: &Store, to: &Store) {
    struct Records(Vec<(Vec<u8>, Vec<u8>)>);
    impl RecordSink for Records {
        fn record(&mut self, key: &[u8], value: &[u8]) -> ControlFlow<()> {
            self.0.push((key.to_vec(), value.to_vec()));
            ControlFlow::Continue(())
        }
    }
    let read = from.replica_read().unwrap();
    let mut w = to.replica_write().unwrap();
    w.clear_replicated().unwrap();
    for table in REPLICATED {
        let mut records = Records(Vec::new());
        read.visit(*table, &mut records).unwrap();
        for (k, v) in records.0 {
            assert!(w.insert_raw(*table, &k, &v).unwrap());
        }
    }
    w.commit().unwrap();
}

#[tokio::test]
async fn a_snapshot_install_rebuilds_the_index_from_the_installed_objects() {
    let dir = tempfile::tempdir().unwrap();
    let leader = store_with(
        &dir.path().join("leader"),
        "a",
        vec![object("u1", "a", &[name("k1"), note("green")])],
    )
    .await;
    // The lagging node holds other objects, which the snapshot replaces.
    let follower = store_with(
        &dir.path().join("follower"),
        "a",
        vec![object("old", "a", &[name("stale"), note("green")])],
    )
    .await;
    assert_eq!(located(&follower, "a", &[note("green")]), ["old"]);

    install(&leader, &follower);
    assert_eq!(located(&follower, "a", &[name("k1")]), ["u1"]);
    assert_eq!(located(&follower, "a", &[note("green")]), ["u1"]);
    assert!(located(&follower, "a", &[name("stale")]).is_empty());
    assert_eq!(located(&follower, "a", &[]), ["u1"]);
}
