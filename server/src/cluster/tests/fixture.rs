//! Builders shared by the replication storage tests: real redb files in a temp directory.

use std::ops::ControlFlow;
use std::path::Path;

use futures_util::stream;
use openraft::storage::RaftStateMachine;
use openraft::type_config::alias::{EntryOf, LogIdOf};
use openraft::vote::RaftLeaderIdExt;
use openraft::{EntryPayload, RaftTypeConfig};
use sha2::{Digest, Sha256};

use crate::cluster::{LogStore, Op, Request, StateMachine, TypeConfig, open_storage};
use crate::store::Command;
use crate::store::Store;
use crate::store::records::{
    ClientIdentity, ClientRecord, DomainKeyVersion, ObjectRecord, Role, StoredAttributes,
};
use crate::store::replica::{REPLICATED, RecordSink};

pub(super) type Entry = EntryOf<TypeConfig>;
pub(super) type LogId = LogIdOf<TypeConfig>;

/// Opens (or reopens) a node's stores in `dir`.
pub(super) fn open(dir: &Path) -> (LogStore, StateMachine) {
    let store = Store::open(&dir.join("store.redb")).expect("store opens");
    open_storage(dir, store).expect("replication storage opens")
}

pub(super) fn log_id(term: u64, index: u64) -> LogId {
    LogId::new(
        <TypeConfig as RaftTypeConfig>::LeaderId::new_committed(term, 1),
        index,
    )
}

pub(super) fn blank(term: u64, index: u64) -> Entry {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Blank,
    }
}

pub(super) fn normal(term: u64, index: u64, op: Op) -> Entry {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(Request {
            id: uuid::Uuid::new_v4(),
            op,
        }),
    }
}

pub(super) fn command(term: u64, index: u64, command: Command) -> Entry {
    normal(term, index, Op::Store(command))
}

pub(super) use crate::store::tests::tenant;

pub(super) fn object(uid: &str, tenant: &str, name: &str) -> ObjectRecord {
    ObjectRecord {
        uid: uid.into(),
        tenant: tenant.into(),
        revision: 1,
        object_type: 2,
        state: 1,
        material: None,
        attributes: StoredAttributes {
            names: vec![name.into()],
            ..StoredAttributes::default()
        },
    }
}

pub(super) fn pinned_client(tenant: &str, name: &str, fingerprint: &str) -> ClientRecord {
    ClientRecord {
        tenant: Some(tenant.into()),
        name: name.into(),
        role: Role::KmipClient,
        identity: ClientIdentity::Pinned {
            fingerprint: fingerprint.into(),
        },
        enabled: true,
        password_hash: None,
        created_at: 1,
    }
}

/// A key destroyed with its material kept (pending destruction).
fn pending_key(uid: &str, tenant: &str) -> ObjectRecord {
    let mut sealed = vec![hsm::SEAL_FORMAT];
    sealed.extend_from_slice(&1u32.to_be_bytes());
    sealed.extend_from_slice(&[0u8; 12 + 16 + 32]);
    ObjectRecord {
        state: kmip_codec::enums::State::DESTROYED.0,
        material: Some(crate::store::records::SealedMaterial {
            sealed: hsm::SealedBlob::from_bytes(&sealed).expect("blob"),
            key_format: 1,
            data_type: None,
        }),
        ..object(uid, tenant, "pending")
    }
}

/// Commands that put records into every replicated table, for tenant `t`.
pub(super) fn populate(t: &str) -> Vec<Command> {
    vec![
        Command::CreateTenant(tenant(t)),
        Command::PutClient(pinned_client(t, "vcenter", &format!("{t}-fp"))),
        Command::PutClient(ClientRecord {
            name: "vcenter-2".into(),
            identity: ClientIdentity::PendingPin {
                fingerprint: format!("{t}-claimed"),
                token_digest: [9; 32],
                expires_at: 2,
            },
            ..pinned_client(t, "vcenter-2", "")
        }),
        Command::PutObject {
            expected_revision: None,
            record: Box::new(object(&format!("{t}-1"), t, "vm-1")),
        },
        Command::Audited {
            event: Box::new(audit_event(t)),
            command: Box::new(Command::PutObject {
                expected_revision: None,
                record: Box::new(object(&format!("{t}-2"), t, "vm-2")),
            }),
        },
        Command::Audited {
            event: Box::new(audit_event(t)),
            command: Box::new(Command::SetPlatformPolicy {
                tenant: t.into(),
                change: crate::store::platform::PolicyChange::Subscription(true),
                at: 1,
            }),
        },
        Command::PlaceHold(Box::new(crate::store::platform::HoldRecord {
            tenant: t.into(),
            backup_set: "nightly".into(),
            keys: vec![format!("{t}-1")],
            retention_until: 2,
            placed_at: 1,
            placed_by: "platform-service/backup".into(),
        })),
        Command::SetPlatformPolicy {
            tenant: t.into(),
            change: crate::store::platform::PolicyChange::DestroyGrace(60),
            at: 1,
        },
        Command::SetPlatformPolicy {
            tenant: t.into(),
            change: crate::store::platform::PolicyChange::DomainKeyRotation(Some(90)),
            at: 1,
        },
        Command::Notice {
            tenant: t.into(),
            notice: crate::store::pending::Notice::HoldExpired {
                backup_set: "nightly".into(),
            },
            at: 2,
        },
        Command::Batch(vec![
            Command::PutObject {
                expected_revision: None,
                record: Box::new(pending_key(&format!("{t}-3"), t)),
            },
            Command::MarkPendingDestroy(Box::new(crate::store::pending::PendingDestroy {
                tenant: t.into(),
                uid: format!("{t}-3"),
                previous_state: kmip_codec::enums::State::DEACTIVATED.0,
                requested_at: 1,
                erase_at: 61,
            })),
        ]),
        Command::Batch(vec![
            Command::AddDomainKey {
                tenant: t.into(),
                key: DomainKeyVersion {
                    version: 2,
                    ..tenant(t).domain_keys[0].clone()
                },
            },
            Command::StartRotation(Box::new(crate::store::jobs::RotationJob {
                id: format!("{t}-job"),
                tenant: t.into(),
                to_version: 2,
                phase: crate::store::jobs::JobPhase::Running,
                total: 3,
                resealed: 1,
                started_at: 1,
                updated_at: 1,
                finished_at: None,
                error: None,
                started_by: "operator/ops".into(),
            })),
        ]),
        Command::RequestExport(Box::new(crate::store::exports::ExportJob {
            id: format!("{t}-export"),
            tenant: t.into(),
            recipient: crate::store::exports::Recipient::TransferKey(format!("{t}-1")),
            requested_by: "tenant-admin/alice".into(),
            requested_at: 1,
            needs_approval: true,
            approved_by: None,
            approved_at: None,
            taken_at: None,
        })),
        Command::AuditCheckpoint(Box::new(
            audit_log::CheckpointDraft::new(
                &audit_log::ChainState::genesis(format!("node-{t}")),
                time::OffsetDateTime::UNIX_EPOCH,
            )
            .finish(&[7; audit_log::SIGNATURE_LEN])
            .expect("a 64-byte signature"),
        )),
    ]
}

/// The record a KMIP Create of tenant `t` carries.
fn audit_event(t: &str) -> audit_log::AuditEvent {
    audit_log::AuditEvent {
        time: time::OffsetDateTime::UNIX_EPOCH,
        node: "node-1".into(),
        tenant: Some(t.into()),
        principal: None,
        client_addr: None,
        kind: audit_log::Kind::Kmip,
        operation: "Create".into(),
        object: Some(format!("{t}-2")),
        status: audit_log::Status::Success,
        reason: None,
        request_id: None,
        change: None,
    }
}

/// Applies entries through openraft's state machine API (no responders).
pub(super) async fn apply(sm: &mut StateMachine, entries: Vec<Entry>) {
    let items = entries.into_iter().map(|e| Ok((e, None)));
    sm.apply(stream::iter(items)).await.expect("apply");
}

struct Hashing<'a> {
    hasher: &'a mut Sha256,
    records: &'a mut usize,
}

impl RecordSink for Hashing<'_> {
    fn record(&mut self, key: &[u8], value: &[u8]) -> ControlFlow<()> {
        for part in [key, value] {
            self.hasher.update((part.len() as u64).to_le_bytes());
            self.hasher.update(part);
        }
        *self.records += 1;
        ControlFlow::Continue(())
    }
}

/// SHA-256 over every replicated table's name and records, and the record count per table.
pub(super) fn digest(store: &Store) -> ([u8; 32], Vec<(String, usize)>) {
    let view = store.replica_read().expect("read view");
    let mut hasher = Sha256::new();
    let mut counts = Vec::new();
    for table in REPLICATED {
        hasher.update(table.name().as_bytes());
        let mut records = 0;
        view.visit(
            *table,
            &mut Hashing {
                hasher: &mut hasher,
                records: &mut records,
            },
        )
        .expect("visit");
        counts.push((table.name().to_owned(), records));
    }
    (hasher.finalize().into(), counts)
}
