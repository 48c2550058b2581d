//! Store behaviour: deterministic rejections, batch atomicity, durability across reopen.

use super::records::*;
use super::*;

/// The committer as these tests look at it: each command's outcome.
#[derive(Clone)]
pub(super) struct Outcomes(pub(super) Committer);

impl Outcomes {
    pub(super) async fn apply(
        &self,
        command: Command,
    ) -> Result<Result<(), Rejection>, StoreError> {
        self.0.apply(command).await.map(|a| a.outcome)
    }

    async fn shutdown(&self) {
        self.0.shutdown().await;
    }
}

/// A tenant record with one (fake) Domain Key version, for tests of the store and its users.
pub(crate) fn tenant(id: &str) -> TenantRecord {
    TenantRecord {
        id: id.into(),
        suspended: false,
        created_at: 1,
        domain_keys: vec![DomainKeyVersion {
            version: 1,
            wrapped: hsm::WrappedDomainKey {
                format: hsm::DOMAIN_KEY_FORMAT,
                version: 1,
                root_kcv: hsm::Kcv([1, 2, 3]),
                mechanism: hsm::KeyWrapMechanism::AesKeyWrapPad,
                wrapped: vec![7; 40],
            },
            created_at: 1,
        }],
    }
}

pub(super) fn object(uid: &str, tenant: &str, revision: u64) -> ObjectRecord {
    ObjectRecord {
        uid: uid.into(),
        tenant: tenant.into(),
        revision,
        object_type: 2,
        state: 1,
        material: None,
        attributes: StoredAttributes::default(),
    }
}

pub(super) fn put(expected: Option<u64>, record: ObjectRecord) -> Command {
    Command::PutObject {
        expected_revision: expected,
        record: Box::new(record),
    }
}

#[tokio::test]
async fn writes_are_checked_against_the_current_revision() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let c = Outcomes(store.committer(()).unwrap());
    assert_eq!(
        c.apply(Command::CreateTenant(tenant("a"))).await.unwrap(),
        Ok(())
    );
    assert_eq!(
        c.apply(Command::CreateTenant(tenant("a"))).await.unwrap(),
        Err(Rejection::TenantExists)
    );
    // An object for a tenant that does not exist is refused.
    assert_eq!(
        c.apply(put(None, object("u1", "nobody", 1))).await.unwrap(),
        Err(Rejection::NoSuchTenant)
    );
    assert_eq!(
        c.apply(put(None, object("u1", "a", 1))).await.unwrap(),
        Ok(())
    );
    assert_eq!(
        c.apply(put(None, object("u1", "a", 1))).await.unwrap(),
        Err(Rejection::ObjectExists)
    );
    // Stale writer: computed from revision 0, the object is at 1.
    assert_eq!(
        c.apply(put(Some(0), object("u1", "a", 1))).await.unwrap(),
        Err(Rejection::StaleRevision)
    );
    // Revision must advance by exactly one.
    assert_eq!(
        c.apply(put(Some(1), object("u1", "a", 3))).await.unwrap(),
        Err(Rejection::BadRevision)
    );
    assert_eq!(
        c.apply(put(Some(1), object("u1", "a", 2))).await.unwrap(),
        Ok(())
    );
    assert_eq!(store.object("u1").unwrap().unwrap().revision, 2);
}

#[tokio::test]
async fn an_object_cannot_move_to_another_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let c = Outcomes(store.committer(()).unwrap());
    for t in ["a", "b"] {
        c.apply(Command::CreateTenant(tenant(t)))
            .await
            .unwrap()
            .unwrap();
    }
    c.apply(put(None, object("u1", "a", 1)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.apply(put(Some(1), object("u1", "b", 2))).await.unwrap(),
        Err(Rejection::TenantMismatch)
    );
    let mut seen = Vec::new();
    store
        .for_each_object_of("b", |o| {
            seen.push(o.uid);
            true
        })
        .unwrap();
    assert!(seen.is_empty(), "tenant b must not see tenant a's object");
}

#[tokio::test]
async fn a_rejected_batch_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let c = Outcomes(store.committer(()).unwrap());
    c.apply(Command::CreateTenant(tenant("a")))
        .await
        .unwrap()
        .unwrap();
    c.apply(put(None, object("u1", "a", 1)))
        .await
        .unwrap()
        .unwrap();
    let batch = Command::Batch(vec![
        put(None, object("u2", "a", 1)),
        put(None, object("u1", "a", 1)), // rejected: exists
    ]);
    assert_eq!(c.apply(batch).await.unwrap(), Err(Rejection::ObjectExists));
    assert!(store.object("u2").unwrap().is_none());
    // A batch whose later step depends on an earlier one is applied in order.
    let batch = Command::Batch(vec![
        Command::CreateTenant(tenant("b")),
        put(None, object("u3", "b", 1)),
    ]);
    assert_eq!(c.apply(batch).await.unwrap(), Ok(()));
    assert_eq!(store.object("u3").unwrap().unwrap().tenant, "b");
}

#[tokio::test]
async fn pinned_fingerprints_are_unique_and_follow_re_enrollment() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let c = Outcomes(store.committer(()).unwrap());
    c.apply(Command::CreateTenant(tenant("a")))
        .await
        .unwrap()
        .unwrap();
    let client = |name: &str, fp: &str| ClientRecord {
        tenant: Some("a".into()),
        name: name.into(),
        role: Role::KmipClient,
        identity: ClientIdentity::Pinned {
            fingerprint: fp.into(),
        },
        enabled: true,
        password_hash: None,
        created_at: 1,
    };
    c.apply(Command::PutClient(client("vc1", "aa")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.apply(Command::PutClient(client("vc2", "aa")))
            .await
            .unwrap(),
        Err(Rejection::FingerprintTaken)
    );
    // Re-enrolling vc1 with a new certificate frees the old fingerprint.
    c.apply(Command::PutClient(client("vc1", "bb")))
        .await
        .unwrap()
        .unwrap();
    assert!(store.client_by_fingerprint("aa").unwrap().is_none());
    assert_eq!(
        store.client_by_fingerprint("bb").unwrap().unwrap().name,
        "vc1"
    );
}

#[tokio::test]
async fn acknowledged_writes_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let store = Store::open(&path).unwrap();
        let c = Outcomes(store.committer(()).unwrap());
        c.apply(Command::CreateTenant(tenant("a")))
            .await
            .unwrap()
            .unwrap();
        let mut pending = Vec::new();
        for i in 0..200 {
            let c = c.clone();
            pending.push(tokio::spawn(async move {
                c.apply(put(None, object(&format!("u{i:03}"), "a", 1)))
                    .await
            }));
        }
        for p in pending {
            p.await.unwrap().unwrap().unwrap();
        }
        c.shutdown().await;
    }
    let store = Store::open(&path).unwrap();
    let mut n = 0;
    store
        .for_each_object_of("a", |_| {
            n += 1;
            true
        })
        .unwrap();
    assert_eq!(n, 200);
}

/// A syntactically valid sealed blob claiming Domain Key version `dk` (never unsealed here).
fn blob(dk: u32) -> hsm::SealedBlob {
    let mut bytes = vec![hsm::SEAL_FORMAT];
    bytes.extend_from_slice(&dk.to_be_bytes());
    bytes.extend_from_slice(&[0u8; 12 + 16 + 32]);
    hsm::SealedBlob::from_bytes(&bytes).expect("blob")
}

pub(super) fn with_material(uid: &str, tenant: &str, revision: u64, dk: u32) -> ObjectRecord {
    ObjectRecord {
        material: Some(SealedMaterial {
            sealed: blob(dk),
            key_format: 1,
            data_type: None,
        }),
        ..object(uid, tenant, revision)
    }
}

fn dk(version: u32) -> DomainKeyVersion {
    DomainKeyVersion {
        version,
        ..tenant("x").domain_keys[0].clone()
    }
}

#[tokio::test]
async fn domain_key_rotation_can_never_strand_material() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let c = Outcomes(store.committer(()).unwrap());
    c.apply(Command::CreateTenant(tenant("a")))
        .await
        .unwrap()
        .unwrap();
    c.apply(put(None, with_material("u1", "a", 1, 1)))
        .await
        .unwrap()
        .unwrap();
    // Versions must follow one another: of two concurrent rotations, one loses.
    let add = |v| Command::AddDomainKey {
        tenant: "a".into(),
        key: dk(v),
    };
    assert_eq!(
        c.apply(add(3)).await.unwrap(),
        Err(Rejection::DomainKeyVersion)
    );
    assert_eq!(c.apply(add(2)).await.unwrap(), Ok(()));
    assert_eq!(
        c.apply(add(2)).await.unwrap(),
        Err(Rejection::DomainKeyVersion)
    );
    // Suspension changes only its field: version 2 survives it.
    c.apply(Command::SetTenantSuspended {
        tenant: "a".into(),
        suspended: true,
    })
    .await
    .unwrap()
    .unwrap();
    let t = store.tenant("a").unwrap().unwrap();
    assert!(t.suspended);
    assert_eq!(t.domain_keys.len(), 2);
    // u1 is still sealed under version 1: retiring it is refused.
    let retire = Command::RetireDomainKeys {
        tenant: "a".into(),
        keep_from: 2,
    };
    assert_eq!(
        c.apply(retire.clone()).await.unwrap(),
        Err(Rejection::DomainKeyInUse)
    );
    c.apply(put(Some(1), with_material("u1", "a", 2, 2)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.apply(retire).await.unwrap(), Ok(()));
    assert_eq!(store.tenant("a").unwrap().unwrap().domain_keys.len(), 1);
    // Material sealed under the retired version (a create racing the rotation) is refused.
    assert_eq!(
        c.apply(put(None, with_material("u2", "a", 1, 1)))
            .await
            .unwrap(),
        Err(Rejection::UnknownDomainKey)
    );
}

pub(super) fn audit_event(operation: &str) -> audit_log::AuditEvent {
    audit_log::AuditEvent {
        time: time::OffsetDateTime::UNIX_EPOCH,
        node: "node-1".into(),
        tenant: Some("a".into()),
        principal: None,
        client_addr: None,
        kind: audit_log::Kind::Kmip,
        operation: operation.into(),
        object: None,
        status: audit_log::Status::Success,
        reason: None,
        request_id: None,
        change: None,
    }
}

#[tokio::test]
async fn batches_queued_behind_other_writes_apply_in_the_same_group() {
    // redb takes a savepoint only in an untouched transaction: a batch that follows other
    // writes of its group must still apply (or be rejected) on its own terms.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let c = Outcomes(store.committer(()).unwrap());
    c.apply(Command::CreateTenant(tenant("a")))
        .await
        .unwrap()
        .unwrap();
    let mut pending = Vec::new();
    for i in 0..20 {
        let c = c.clone();
        let batch = if i % 2 == 0 {
            Command::Batch(vec![
                put(None, object(&format!("b{i}"), "a", 1)),
                put(None, object(&format!("c{i}"), "a", 1)),
            ])
        } else {
            // rejected as a whole: the second object names no tenant
            Command::Batch(vec![
                put(None, object(&format!("b{i}"), "a", 1)),
                put(None, object(&format!("c{i}"), "nobody", 1)),
            ])
        };
        pending.push(tokio::spawn(async move {
            c.apply(put(None, object(&format!("p{i}"), "a", 1)))
                .await?
                .expect("plain write");
            c.apply(batch).await
        }));
    }
    for (i, task) in pending.into_iter().enumerate() {
        let outcome = task.await.unwrap().expect("no storage failure");
        assert_eq!(outcome.is_ok(), i % 2 == 0, "batch {i}");
        assert_eq!(
            store.object(&format!("b{i}")).unwrap().is_some(),
            i % 2 == 0
        );
        assert!(store.object(&format!("p{i}")).unwrap().is_some());
    }
}

#[tokio::test]
async fn audited_changes_are_numbered_in_order_and_kept_until_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let c = Outcomes(store.committer(()).unwrap());
    c.apply(Command::CreateTenant(tenant("a")))
        .await
        .unwrap()
        .unwrap();
    let audited = |uid: &str, t: &str| Command::Audited {
        event: Box::new(audit_event("Create")),
        command: Box::new(put(None, object(uid, t, 1))),
    };
    c.apply(audited("x", "a")).await.unwrap().unwrap();
    // a rejected change takes no number and leaves no record
    assert!(c.apply(audited("y", "nobody")).await.unwrap().is_err());
    // inside a rejected batch, neither
    let batch = Command::Batch(vec![audited("z", "a"), put(None, object("w", "nobody", 1))]);
    assert!(c.apply(batch).await.unwrap().is_err());
    c.apply(audited("v", "a")).await.unwrap().unwrap();
    assert_eq!(store.last_change().unwrap(), 2);
    let outbox = store.audit_outbox(0, 10).unwrap();
    let numbers: Vec<_> = outbox.iter().map(|e| e.change).collect();
    assert_eq!(numbers, [Some(1), Some(2)]);
    assert_eq!(store.audit_outbox_first().unwrap(), Some(1));
    // the commands that carry records survive the encoding a replicated log uses
    let command = audited("u", "a");
    let bytes = postcard::to_allocvec(&command).unwrap();
    assert_eq!(postcard::from_bytes::<Command>(&bytes).unwrap(), command);
}

/// Every principal a record can name survives the binary encoding of replicated commands and
/// the outbox, including one named without its certificate (an operator in a tenant's chain),
/// whose empty certificate fields the JSON lines leave out.
#[test]
fn records_naming_principals_survive_the_replicated_encoding() {
    let certified = audit_log::Principal {
        fingerprint: "ab".repeat(32),
        subject: "CN=vc".into(),
        issuer: "CN=ca".into(),
        client: Some("vcenter".into()),
    };
    for principal in [certified, audit_log::Principal::named("operator", "alice")] {
        let mut event = audit_event("Destroy");
        event.principal = Some(principal);
        event.object = Some("uid".into());
        let command = Command::Audited {
            event: Box::new(event.clone()),
            command: Box::new(Command::SetTenantSuspended {
                tenant: "a".into(),
                suspended: true,
            }),
        };
        let bytes = postcard::to_allocvec(&command).unwrap();
        assert_eq!(postcard::from_bytes::<Command>(&bytes).unwrap(), command);
        let bytes = postcard::to_allocvec(&event).unwrap();
        assert_eq!(
            postcard::from_bytes::<audit_log::AuditEvent>(&bytes).unwrap(),
            event
        );
    }
}

#[tokio::test]
async fn pin_claims_overlap_and_bind_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let c = Outcomes(store.committer(()).unwrap());
    for t in ["a", "b"] {
        c.apply(Command::CreateTenant(tenant(t)))
            .await
            .unwrap()
            .unwrap();
    }
    let claim = |t: &str, digest: u8| ClientRecord {
        tenant: Some(t.into()),
        name: "vc".into(),
        role: Role::KmipClient,
        identity: ClientIdentity::PendingPin {
            fingerprint: "aa".into(),
            token_digest: [digest; 32],
            expires_at: 100,
        },
        enabled: true,
        password_hash: None,
        created_at: 1,
    };
    let bind = |t: &str, digest: Option<u8>| Command::BindPin {
        client: client_key(Some(t), "vc"),
        fingerprint: "aa".into(),
        token_digest: digest.map(|d| [d; 32]),
    };
    // Two tenants claim the same certificate: neither claim is refused, neither identifies.
    for (t, d) in [("a", 1), ("b", 2)] {
        c.apply(Command::PutClient(claim(t, d)))
            .await
            .unwrap()
            .unwrap();
    }
    assert!(store.is_claimed("aa").unwrap());
    assert!(!store.is_claimed("ab").unwrap());
    assert!(store.client_by_fingerprint("aa").unwrap().is_none());
    let claims = store.pin_claims("aa", "vc").unwrap();
    assert_eq!(claims.len(), 2);
    assert!(store.pin_claims("aa", "other").unwrap().is_empty());

    // A's claim binds only with its own token digest; then B's cannot bind.
    assert_eq!(
        c.apply(bind("a", Some(2))).await.unwrap(),
        Err(Rejection::ClaimChanged)
    );
    assert_eq!(c.apply(bind("a", Some(1))).await.unwrap(), Ok(()));
    let bound = store.client_by_fingerprint("aa").unwrap().unwrap();
    assert_eq!(bound.tenant.as_deref(), Some("a"));
    assert_eq!(
        bound.identity,
        ClientIdentity::Pinned {
            fingerprint: "aa".into()
        }
    );
    assert_eq!(store.pin_claims("aa", "vc").unwrap().len(), 1);
    assert_eq!(
        c.apply(bind("b", None)).await.unwrap(),
        Err(Rejection::FingerprintTaken)
    );
    // A bound pin is not a claim any more.
    assert_eq!(
        c.apply(bind("a", None)).await.unwrap(),
        Err(Rejection::ClaimChanged)
    );
}

#[tokio::test]
async fn a_tenant_object_quota_is_exact_under_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let c = Outcomes(store.committer(()).unwrap());
    c.apply(Command::CreateTenant(tenant("a")))
        .await
        .unwrap()
        .unwrap();
    c.apply(Command::CreateTenant(tenant("b")))
        .await
        .unwrap()
        .unwrap();
    let within = |max: u64, command: Command| Command::ObjectQuota {
        max_objects: max,
        command: Box::new(command),
    };
    // Twelve creates queued at once (folded into the same groups): exactly three applied.
    let attempts: Vec<_> = (0..12)
        .map(|i| {
            let c = c.clone();
            let command = within(3, put(None, object(&format!("a{i}"), "a", 1)));
            tokio::spawn(async move { c.apply(command).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for a in attempts {
        outcomes.push(a.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 3);
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(()) | Err(Rejection::ObjectQuota)))
    );
    // Another tenant counts its own.
    c.apply(within(3, put(None, object("b0", "b", 1))))
        .await
        .unwrap()
        .unwrap();
    // Changing an object makes none: the quota does not stand in the way.
    let mut applied = 0;
    for i in 0..12 {
        if store.object(&format!("a{i}")).unwrap().is_some() {
            applied += 1;
            let update = within(3, put(Some(1), object(&format!("a{i}"), "a", 2)));
            assert_eq!(c.apply(update).await.unwrap(), Ok(()));
            break;
        }
    }
    assert_eq!(applied, 1);
    // A batch making two objects with one left is refused whole.
    let batch = Command::Batch(vec![
        put(None, object("b1", "b", 1)),
        put(None, object("b2", "b", 1)),
    ]);
    assert_eq!(
        c.apply(within(2, batch)).await.unwrap(),
        Err(Rejection::ObjectQuota)
    );
    assert!(
        store.object("b1").unwrap().is_none(),
        "nothing of it written"
    );
    // Within the quota, a batch (Re-key: the old key changed, a new one made) applies whole,
    // carrying its audit record, and is rolled back whole when a step is rejected.
    let rekey = |new: &str, old_revision: u64| Command::Audited {
        event: Box::new(audit_event("ReKey")),
        command: Box::new(within(
            3,
            Command::Batch(vec![
                put(Some(old_revision), object("b0", "b", old_revision + 1)),
                put(None, object(new, "b", 1)),
            ]),
        )),
    };
    assert_eq!(c.apply(rekey("b1", 1)).await.unwrap(), Ok(()));
    assert!(store.object("b1").unwrap().is_some());
    assert_eq!(
        c.apply(rekey("b2", 1)).await.unwrap(),
        Err(Rejection::StaleRevision)
    );
    assert!(
        store.object("b2").unwrap().is_none(),
        "the new key of a rejected batch"
    );
    assert_eq!(c.apply(rekey("b2", 2)).await.unwrap(), Ok(()));
    assert_eq!(
        c.apply(rekey("b3", 3)).await.unwrap(),
        Err(Rejection::ObjectQuota),
        "b0, b1, b2: the quota of 3 is reached"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn a_store_without_object_counters_counts_from_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let c = Outcomes(store.committer(()).unwrap());
    c.apply(Command::CreateTenant(tenant("a")))
        .await
        .unwrap()
        .unwrap();
    for i in 0..3 {
        c.apply(put(None, object(&format!("u{i}"), "a", 1)))
            .await
            .unwrap()
            .unwrap();
    }
    // As a store written before the counters existed (or a snapshot from such a node).
    let txn = store.db.begin_write().unwrap();
    txn.open_table(tables::COUNTERS)
        .unwrap()
        .remove(tables::object_counter("a").as_str())
        .unwrap();
    txn.commit().unwrap();
    let quota = |max: u64, uid: &str| Command::ObjectQuota {
        max_objects: max,
        command: Box::new(put(None, object(uid, "a", 1))),
    };
    assert_eq!(
        c.apply(quota(3, "u3")).await.unwrap(),
        Err(Rejection::ObjectQuota)
    );
    assert_eq!(c.apply(quota(4, "u3")).await.unwrap(), Ok(()));
    // The counter is back, and counts on.
    assert_eq!(
        c.apply(quota(4, "u4")).await.unwrap(),
        Err(Rejection::ObjectQuota)
    );
    let txn = store.db.begin_read().unwrap();
    let counters = txn.open_table(tables::COUNTERS).unwrap();
    let count = counters
        .get(tables::object_counter("a").as_str())
        .unwrap()
        .map(|v| v.value());
    assert_eq!(count, Some(4));
    drop((counters, txn));
    c.shutdown().await;
}

/// Backup holds, decided in the apply step: a held key is not destroyed, a destroyed or
/// another tenant's key is not held, and a hold past its retention no longer holds.
mod holds {
    use super::*;
    use crate::store::platform::HoldRecord;

    fn hold(tenant: &str, set: &str, keys: &[&str], until: i64) -> Command {
        Command::PlaceHold(Box::new(HoldRecord {
            tenant: tenant.into(),
            backup_set: set.into(),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            retention_until: until,
            placed_at: 1,
            placed_by: "platform-service/backup".into(),
        }))
    }

    /// `record` at revision `revision` destroyed at time `at` (Destroyed, no material).
    fn destroyed(uid: &str, tenant: &str, revision: u64, at: i64) -> ObjectRecord {
        let mut o = object(uid, tenant, revision);
        o.state = kmip_codec::enums::State::DESTROYED.0;
        o.attributes.last_change_date = at;
        o
    }

    #[tokio::test]
    async fn a_held_key_is_not_destroyed_until_the_hold_is_released_or_expires() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let c = Outcomes(store.committer(()).unwrap());
        for command in [
            Command::CreateTenant(tenant("a")),
            Command::CreateTenant(tenant("b")),
            put(None, object("k1", "a", 1)),
            put(None, object("k2", "a", 1)),
            put(None, object("kb", "b", 1)),
        ] {
            assert_eq!(c.apply(command).await.unwrap(), Ok(()));
        }
        // Another tenant's key, a missing key: refused alike, nothing written.
        assert_eq!(
            c.apply(hold("a", "s0", &["k1", "kb"], 100)).await.unwrap(),
            Err(Rejection::NoSuchObject)
        );
        assert_eq!(
            c.apply(hold("a", "s0", &["nope"], 100)).await.unwrap(),
            Err(Rejection::NoSuchObject)
        );
        assert!(store.holds_on("k1").unwrap().is_empty());
        assert_eq!(
            c.apply(hold("a", "s1", &["k1"], 100)).await.unwrap(),
            Ok(())
        );
        assert_eq!(
            c.apply(hold("a", "s1", &["k2"], 100)).await.unwrap(),
            Err(Rejection::HoldExists)
        );
        assert_eq!(
            c.apply(hold("a", "s2", &["k1", "k2"], 50)).await.unwrap(),
            Ok(())
        );
        assert_eq!(store.holds_on("k1").unwrap().len(), 2);
        assert_eq!(store.holds_of("a").unwrap().len(), 2);
        assert!(store.holds_of("b").unwrap().is_empty());

        // Held: the destroy is refused, the key unchanged.
        assert_eq!(
            c.apply(put(Some(1), destroyed("k1", "a", 2, 10)))
                .await
                .unwrap(),
            Err(Rejection::Held)
        );
        assert_eq!(store.object("k1").unwrap().unwrap().revision, 1);
        // Any other change (a revoke) goes through.
        let mut revoked = object("k1", "a", 2);
        revoked.state = kmip_codec::enums::State::COMPROMISED.0;
        assert_eq!(c.apply(put(Some(1), revoked)).await.unwrap(), Ok(()));
        // Released s1, still held by s2 until 50.
        assert_eq!(
            c.apply(Command::ReleaseHold {
                tenant: "a".into(),
                backup_set: "s1".into()
            })
            .await
            .unwrap(),
            Ok(())
        );
        assert_eq!(
            c.apply(Command::ReleaseHold {
                tenant: "a".into(),
                backup_set: "s1".into()
            })
            .await
            .unwrap(),
            Err(Rejection::NoSuchHold)
        );
        assert_eq!(
            c.apply(put(Some(2), destroyed("k1", "a", 3, 49)))
                .await
                .unwrap(),
            Err(Rejection::Held)
        );
        // A destroy made once s2's retention ended goes through; a destroyed key cannot be held.
        assert_eq!(
            c.apply(put(Some(2), destroyed("k1", "a", 3, 50)))
                .await
                .unwrap(),
            Ok(())
        );
        assert_eq!(
            c.apply(hold("a", "s3", &["k1"], 100)).await.unwrap(),
            Err(Rejection::ObjectDestroyed)
        );
    }
}

/// The event feed: revoked, destroyed and re-keyed keys and hold changes are kept per tenant
/// under their change number; creates and other writes make none.
mod events {
    use super::*;
    use crate::store::events::EventKind;

    fn audited(command: Command) -> Command {
        Command::Audited {
            event: Box::new(audit_event("op")),
            command: Box::new(command),
        }
    }

    #[tokio::test]
    async fn changes_a_platform_service_cares_about_are_kept_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let c = Outcomes(store.committer(()).unwrap());
        assert_eq!(
            c.apply(Command::CreateTenant(tenant("a"))).await.unwrap(),
            Ok(())
        );
        assert_eq!(
            c.apply(audited(put(None, object("k1", "a", 1))))
                .await
                .unwrap(),
            Ok(())
        );
        assert!(
            store.events_after("a", 0, 10).unwrap().is_empty(),
            "a create is no event"
        );
        let mut revoked = object("k1", "a", 2);
        revoked.attributes.revocation_reason = Some((5, None));
        assert_eq!(
            c.apply(audited(put(Some(1), revoked.clone())))
                .await
                .unwrap(),
            Ok(())
        );
        // A re-key: the old key changed and a new one made, in one command.
        let mut old = revoked.clone();
        old.revision = 3;
        let rekey = Command::Batch(vec![put(Some(2), old), put(None, object("k2", "a", 1))]);
        assert_eq!(c.apply(audited(rekey)).await.unwrap(), Ok(()));
        let mut gone = object("k1", "a", 4);
        gone.state = kmip_codec::enums::State::DESTROYED.0;
        gone.attributes.revocation_reason = Some((5, None));
        assert_eq!(c.apply(audited(put(Some(3), gone))).await.unwrap(), Ok(()));
        // A rejected change makes no event.
        assert_eq!(
            c.apply(audited(put(Some(5), object("k2", "a", 6))))
                .await
                .unwrap(),
            Err(Rejection::StaleRevision)
        );
        let events = store.events_after("a", 0, 10).unwrap();
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::KeyRevoked,
                EventKind::KeyRekeyed,
                EventKind::KeyDestroyed
            ]
        );
        assert_eq!(events[1].detail.as_deref(), Some("k2"));
        assert!(events.windows(2).all(|w| w[0].change < w[1].change));
        // The cursor: after the first, the other two.
        assert_eq!(
            store.events_after("a", events[0].change, 10).unwrap().len(),
            2
        );
        assert!(store.events_after("b", 0, 10).unwrap().is_empty());
    }
}
