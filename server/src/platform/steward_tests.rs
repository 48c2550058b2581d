//! What the steward finds due, read from a real store: erasures once their grace ended,
//! expired holds once, in-service keys past the tenant's maximum age once, and the per-tenant
//! count the gauge shows; applying what it found leaves nothing due.

use kmip_codec::enums::State;

use super::steward::due;
use crate::store::pending::PendingDestroy;
use crate::store::platform::{HoldRecord, PolicyChange};
use crate::store::records::{ObjectRecord, SealedMaterial, StoredAttributes};
use crate::store::tests::tenant;
use crate::store::{Command, Store};

const DAY: i64 = 86_400;

/// A key of `tenant` made on day `day`, in `state`, with material.
fn key(uid: &str, tenant: &str, state: State, day: i64) -> Command {
    let mut sealed = vec![hsm::SEAL_FORMAT];
    sealed.extend_from_slice(&1u32.to_be_bytes());
    sealed.extend_from_slice(&[0u8; 12 + 16 + 32]);
    Command::PutObject {
        expected_revision: None,
        record: Box::new(ObjectRecord {
            uid: uid.into(),
            tenant: tenant.into(),
            revision: 1,
            object_type: 2,
            state: state.0,
            material: Some(SealedMaterial {
                sealed: hsm::SealedBlob::from_bytes(&sealed).expect("blob"),
                key_format: 1,
                data_type: None,
            }),
            attributes: StoredAttributes {
                initial_date: day * DAY,
                ..StoredAttributes::default()
            },
        }),
    }
}

fn kinds(commands: &[(String, Command)]) -> Vec<String> {
    commands
        .iter()
        .map(|(t, c)| match c {
            Command::EraseMaterial { uid, .. } => format!("{t} erase {uid}"),
            Command::Notice { notice, .. } => format!("{t} notice {}", notice.subject()),
            other => format!("{t} {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn the_steward_finds_what_the_clock_made_due_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let committer = store.committer(()).unwrap();
    let setup = [
        Command::CreateTenant(tenant("a")),
        Command::CreateTenant(tenant("b")),
        key("old", "a", State::ACTIVE, 0),
        key("young", "a", State::ACTIVE, 9),
        key("retired", "a", State::DEACTIVATED, 0),
        key("pending", "a", State::DESTROYED, 0),
        key("b-old", "b", State::ACTIVE, 0),
        Command::MarkPendingDestroy(Box::new(PendingDestroy {
            tenant: "a".into(),
            uid: "pending".into(),
            previous_state: State::DEACTIVATED.0,
            requested_at: 10 * DAY,
            erase_at: 10 * DAY + 60,
        })),
        Command::PlaceHold(Box::new(HoldRecord {
            tenant: "a".into(),
            backup_set: "bs-1".into(),
            keys: vec!["young".into()],
            retention_until: 10 * DAY + 30,
            placed_at: 1,
            placed_by: "platform-service/backup".into(),
        })),
        Command::SetPlatformPolicy {
            tenant: "a".into(),
            change: PolicyChange::MaxKekAge(Some(5)),
            at: 1,
        },
    ];
    for command in setup {
        assert_eq!(committer.apply(command).await.unwrap().outcome, Ok(()));
    }
    let now = 10 * DAY;
    // Nothing due yet but the old Active key of a (the deactivated one is out of service;
    // b sets no maximum).
    let found = due(&store, now, true).unwrap();
    assert_eq!(kinds(&found.commands), ["a notice old"]);
    assert_eq!(
        found.past_max_age,
        [("a".to_owned(), 1), ("b".to_owned(), 0)]
    );
    // Without the age pass, only the cheap ones.
    assert!(due(&store, now, false).unwrap().commands.is_empty());
    let later = now + 60;
    let found = due(&store, later, true).unwrap();
    assert_eq!(
        kinds(&found.commands),
        ["a erase pending", "a notice bs-1", "a notice old"]
    );
    for (_, command) in found.commands {
        assert_eq!(committer.apply(command).await.unwrap().outcome, Ok(()));
    }
    let found = due(&store, later + 1, true).unwrap();
    assert!(found.commands.is_empty(), "{:?}", kinds(&found.commands));
    assert_eq!(
        found.past_max_age[0],
        ("a".to_owned(), 1),
        "still past: still counted"
    );
    assert!(store.object("pending").unwrap().unwrap().material.is_none());
}
