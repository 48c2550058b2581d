//! Two-stage destroy and notices in the store: a destroy with a grace keeps the material until
//! the erase, a cancel gives the key back, the erase waits for its time and happens once, and a
//! notice is made once and only when true; each with its event.

use kmip_codec::enums::State;

use super::Command;
use super::command::Rejection;
use super::events::EventKind;
use super::pending::{Notice, PendingDestroy};
use super::platform::{HoldRecord, PolicyChange};
use super::records::ObjectRecord;
use super::tests::{Outcomes, audit_event, put, tenant, with_material};
use super::{Store, StoreError};

fn audited(command: Command) -> Command {
    Command::Audited {
        event: Box::new(audit_event("op")),
        command: Box::new(command),
    }
}

/// `record` destroyed at `at` with its material kept, and its pending mark (grace `grace`).
fn destroy_pending(current: &ObjectRecord, at: i64, grace: i64) -> Command {
    let mut next = current.clone();
    next.revision += 1;
    next.state = State::DESTROYED.0;
    next.attributes.destroy_date = Some(at);
    next.attributes.last_change_date = at;
    Command::Batch(vec![
        put(Some(current.revision), next),
        Command::MarkPendingDestroy(Box::new(PendingDestroy {
            tenant: current.tenant.clone(),
            uid: current.uid.clone(),
            previous_state: current.state,
            requested_at: at,
            erase_at: at + grace,
        })),
    ])
}

fn cancel(tenant: &str, uid: &str, at: i64) -> Command {
    Command::CancelDestroy {
        tenant: tenant.into(),
        uid: uid.into(),
        at,
    }
}

fn erase(tenant: &str, uid: &str, at: i64) -> Command {
    Command::EraseMaterial {
        tenant: tenant.into(),
        uid: uid.into(),
        at,
    }
}

fn kinds(store: &Store, tenant: &str) -> Result<Vec<(EventKind, Option<String>)>, StoreError> {
    Ok(store
        .events_after(tenant, 0, 100)?
        .into_iter()
        .map(|e| (e.kind, e.object))
        .collect())
}

async fn setup() -> (tempfile::TempDir, Store, Outcomes) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let c = Outcomes(store.committer(()).unwrap());
    let mut deactivated = with_material("k1", "a", 1, 1);
    deactivated.state = State::DEACTIVATED.0;
    for command in [
        Command::CreateTenant(tenant("a")),
        Command::CreateTenant(tenant("b")),
        put(None, deactivated),
        put(None, with_material("kb", "b", 1, 1)),
    ] {
        assert_eq!(c.apply(command).await.unwrap(), Ok(()));
    }
    (dir, store, c)
}

#[tokio::test]
async fn a_pending_destroy_keeps_the_material_until_erased_after_its_grace() {
    let (_dir, store, c) = setup().await;
    let k1 = ObjectRecord::clone(&store.object("k1").unwrap().unwrap());
    assert_eq!(
        c.apply(audited(destroy_pending(&k1, 100, 10)))
            .await
            .unwrap(),
        Ok(())
    );
    let pending = store.object("k1").unwrap().unwrap();
    assert_eq!(pending.state, State::DESTROYED.0);
    assert!(pending.material.is_some(), "material kept while pending");
    assert_eq!(store.pending_destroy("k1").unwrap().unwrap().erase_at, 110);
    // A second mark, or a mark of a key that is not destroyed, is refused.
    let again = ObjectRecord::clone(&pending);
    assert_eq!(
        c.apply(destroy_pending(&again, 101, 10)).await.unwrap(),
        Err(Rejection::NotPendingDestruction)
    );
    // Before the grace ends: not due; another tenant: answered as missing.
    assert_eq!(
        c.apply(audited(erase("a", "k1", 109))).await.unwrap(),
        Err(Rejection::NotDue)
    );
    assert_eq!(
        c.apply(erase("b", "k1", 200)).await.unwrap(),
        Err(Rejection::NoSuchObject)
    );
    assert!(store.object("k1").unwrap().unwrap().material.is_some());
    assert_eq!(
        c.apply(audited(erase("a", "k1", 110))).await.unwrap(),
        Ok(())
    );
    let erased = store.object("k1").unwrap().unwrap();
    assert!(erased.material.is_none());
    assert_eq!(erased.state, State::DESTROYED.0);
    assert_eq!(erased.revision, pending.revision + 1);
    assert!(store.pending_destroy("k1").unwrap().is_none());
    // Once erased: a repeat (a new leader proposing it again) and a cancel change nothing.
    assert_eq!(
        c.apply(audited(erase("a", "k1", 111))).await.unwrap(),
        Err(Rejection::NotPendingDestruction)
    );
    assert_eq!(
        c.apply(audited(cancel("a", "k1", 111))).await.unwrap(),
        Err(Rejection::NotPendingDestruction)
    );
    assert_eq!(
        kinds(&store, "a").unwrap(),
        [
            (EventKind::KeyDestroyPending, Some("k1".into())),
            (EventKind::KeyErased, Some("k1".into())),
        ],
        "pending, then erased; no plain destroyed event, nothing for the refused commands"
    );
}

#[tokio::test]
async fn a_cancel_gives_the_key_back_in_its_state_before_the_destroy() {
    let (_dir, store, c) = setup().await;
    // Not pending (never destroyed), a missing key, another tenant's key.
    assert_eq!(
        c.apply(cancel("a", "k1", 100)).await.unwrap(),
        Err(Rejection::NotPendingDestruction)
    );
    assert_eq!(
        c.apply(cancel("a", "nope", 100)).await.unwrap(),
        Err(Rejection::NoSuchObject)
    );
    let k1 = ObjectRecord::clone(&store.object("k1").unwrap().unwrap());
    assert_eq!(
        c.apply(destroy_pending(&k1, 100, 10)).await.unwrap(),
        Ok(())
    );
    assert_eq!(
        c.apply(cancel("b", "k1", 101)).await.unwrap(),
        Err(Rejection::NoSuchObject)
    );
    assert_eq!(
        c.apply(audited(cancel("a", "k1", 105))).await.unwrap(),
        Ok(())
    );
    let back = store.object("k1").unwrap().unwrap();
    assert_eq!(back.state, State::DEACTIVATED.0);
    assert_eq!(back.attributes.destroy_date, None);
    assert_eq!(back.attributes.last_change_date, 105);
    assert!(back.material.is_some());
    assert!(store.pending_destroy("k1").unwrap().is_none());
    // Nothing left to erase or cancel.
    assert_eq!(
        c.apply(erase("a", "k1", 200)).await.unwrap(),
        Err(Rejection::NotPendingDestruction)
    );
    assert_eq!(
        c.apply(cancel("a", "k1", 200)).await.unwrap(),
        Err(Rejection::NotPendingDestruction)
    );
    assert_eq!(
        kinds(&store, "a").unwrap(),
        [(EventKind::KeyDestroyCancelled, Some("k1".into()))]
    );
    // A key compromised while pending comes back Compromised, not as it was before.
    let again = ObjectRecord::clone(&back);
    assert_eq!(
        c.apply(destroy_pending(&again, 300, 10)).await.unwrap(),
        Ok(())
    );
    let mut compromised = ObjectRecord::clone(&store.object("k1").unwrap().unwrap());
    let expected = compromised.revision;
    compromised.revision += 1;
    compromised.state = State::DESTROYED_COMPROMISED.0;
    assert_eq!(
        c.apply(put(Some(expected), compromised)).await.unwrap(),
        Ok(())
    );
    assert_eq!(c.apply(cancel("a", "k1", 305)).await.unwrap(), Ok(()));
    assert_eq!(
        store.object("k1").unwrap().unwrap().state,
        State::COMPROMISED.0
    );
}

#[tokio::test]
async fn a_held_key_is_not_made_pending_and_a_write_back_ends_the_pending_state() {
    let (_dir, store, c) = setup().await;
    let hold = HoldRecord {
        tenant: "a".into(),
        backup_set: "s1".into(),
        keys: vec!["k1".into()],
        retention_until: 1000,
        placed_at: 1,
        placed_by: "platform-service/backup".into(),
    };
    assert_eq!(
        c.apply(Command::PlaceHold(Box::new(hold))).await.unwrap(),
        Ok(())
    );
    let k1 = ObjectRecord::clone(&store.object("k1").unwrap().unwrap());
    assert_eq!(
        c.apply(destroy_pending(&k1, 100, 10)).await.unwrap(),
        Err(Rejection::Held)
    );
    assert!(store.pending_destroy("k1").unwrap().is_none());
    // After the retention: pending; a write that puts it back out of Destroyed (a Batch Undo)
    // ends the pending state, so nothing erases a live key.
    assert_eq!(
        c.apply(destroy_pending(&k1, 1000, 10)).await.unwrap(),
        Ok(())
    );
    let mut restored = k1.clone();
    restored.revision = k1.revision + 2;
    assert_eq!(
        c.apply(put(Some(k1.revision + 1), restored)).await.unwrap(),
        Ok(())
    );
    assert!(store.pending_destroy("k1").unwrap().is_none());
    assert_eq!(
        c.apply(erase("a", "k1", 2000)).await.unwrap(),
        Err(Rejection::NotPendingDestruction)
    );
}

#[tokio::test]
async fn notices_are_made_once_and_only_when_true() {
    let (_dir, store, c) = setup().await;
    let hold = |set: &str| HoldRecord {
        tenant: "a".into(),
        backup_set: set.into(),
        keys: vec!["k1".into()],
        retention_until: 100,
        placed_at: 1,
        placed_by: "platform-service/backup".into(),
    };
    assert_eq!(
        c.apply(Command::PlaceHold(Box::new(hold("s1"))))
            .await
            .unwrap(),
        Ok(())
    );
    let expired = |at| Command::Notice {
        tenant: "a".into(),
        notice: Notice::HoldExpired {
            backup_set: "s1".into(),
        },
        at,
    };
    assert_eq!(
        c.apply(audited(expired(99))).await.unwrap(),
        Err(Rejection::NotDue)
    );
    assert_eq!(c.apply(audited(expired(100))).await.unwrap(), Ok(()));
    assert_eq!(
        c.apply(audited(expired(101))).await.unwrap(),
        Err(Rejection::Noticed)
    );
    // Released then placed again: the new hold may expire again.
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
        c.apply(expired(200)).await.unwrap(),
        Err(Rejection::NoSuchHold)
    );
    assert_eq!(
        c.apply(Command::PlaceHold(Box::new(hold("s1"))))
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(c.apply(expired(200)).await.unwrap(), Ok(()));

    // Past the maximum KEK age: only with a maximum set, only once it is reached.
    let past = |at| Command::Notice {
        tenant: "a".into(),
        notice: Notice::KekPastMaxAge { uid: "k1".into() },
        at,
    };
    let day = 86_400;
    assert_eq!(
        c.apply(past(10 * day)).await.unwrap(),
        Err(Rejection::NotDue)
    );
    assert_eq!(
        c.apply(Command::SetPlatformPolicy {
            tenant: "a".into(),
            change: PolicyChange::MaxKekAge(Some(2)),
            at: 1,
        })
        .await
        .unwrap(),
        Ok(())
    );
    assert_eq!(
        c.apply(past(2 * day - 1)).await.unwrap(),
        Err(Rejection::NotDue)
    );
    assert_eq!(c.apply(audited(past(2 * day))).await.unwrap(), Ok(()));
    assert_eq!(
        c.apply(past(3 * day)).await.unwrap(),
        Err(Rejection::Noticed)
    );
    // Another tenant's key is answered as missing.
    let theirs = Command::Notice {
        tenant: "a".into(),
        notice: Notice::KekPastMaxAge { uid: "kb".into() },
        at: 3 * day,
    };
    assert_eq!(c.apply(theirs).await.unwrap(), Err(Rejection::NoSuchObject));
    let events: Vec<EventKind> = store
        .events_after("a", 0, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(events, [EventKind::HoldExpired, EventKind::KekPastMaxAge]);
}

#[tokio::test]
async fn the_destroy_grace_is_a_policy_change_kept_apart_from_the_policy_record() {
    let (_dir, store, c) = setup().await;
    assert_eq!(store.destroy_grace("a").unwrap(), 0);
    let grace = |secs| Command::SetPlatformPolicy {
        tenant: "a".into(),
        change: PolicyChange::DestroyGrace(secs),
        at: 5,
    };
    assert_eq!(c.apply(grace(30)).await.unwrap(), Ok(()));
    assert_eq!(store.destroy_grace("a").unwrap(), 30);
    assert_eq!(store.destroy_grace("b").unwrap(), 0);
    assert_eq!(store.platform_policy("a").unwrap().changed_at, 5);
    assert_eq!(c.apply(grace(0)).await.unwrap(), Ok(()));
    assert_eq!(store.destroy_grace("a").unwrap(), 0);
}
