//! The platform event feed's store (`docs/PLATFORM.md`, Events): what an audited state change
//! did that a platform service wants to learn of (a key revoked, destroyed or rekeyed, a hold
//! placed or released, a platform policy changed), kept per tenant under the change's
//! sequence number, which is the same on every node, so a feed's cursor is valid on any node.
//! Found in the apply step, deterministically, by comparing each object a command writes with
//! its stored record; at most [`MAX_EVENTS_PER_TENANT`] are kept per tenant, the oldest
//! dropped first.

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::command::Command;
use super::pending::Notice;
use super::records::ObjectRecord;
use super::{StoreError, decode, encode, tables};

/// Events kept per tenant; older ones are dropped as new ones come.
pub const MAX_EVENTS_PER_TENANT: u64 = 10_000;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// A key was revoked (its Revocation Reason set).
    KeyRevoked,
    /// A key was destroyed (a Destroyed state).
    KeyDestroyed,
    /// A key was replaced by a new one (Re-key): `object` the old key, `detail` the new.
    KeyRekeyed,
    /// A backup hold was placed (`object`: the backup set).
    HoldPlaced,
    /// A backup hold was released (`object`: the backup set).
    HoldReleased,
    /// The tenant's platform policy changed.
    PolicyChanged,
    /// A key was destroyed while its tenant has a destroy grace: Destroyed for KMIP, its
    /// material kept until `detail` (RFC 3339), cancellable until then.
    KeyDestroyPending,
    /// A pending destruction was cancelled: the key is back in its state before it.
    KeyDestroyCancelled,
    /// The material of a key pending destruction was erased (its grace ended).
    KeyErased,
    /// A backup hold's retention ended (`object`: the backup set).
    HoldExpired,
    /// A key reached the tenant's maximum KEK age (once per key).
    KekPastMaxAge,
}

impl EventKind {
    /// The kind's name in the feed.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::KeyRevoked => "key_revoked",
            EventKind::KeyDestroyed => "key_destroyed",
            EventKind::KeyRekeyed => "key_rekeyed",
            EventKind::HoldPlaced => "hold_placed",
            EventKind::HoldReleased => "hold_released",
            EventKind::PolicyChanged => "policy_changed",
            EventKind::KeyDestroyPending => "key_destroy_pending",
            EventKind::KeyDestroyCancelled => "key_destroy_cancelled",
            EventKind::KeyErased => "key_erased",
            EventKind::HoldExpired => "hold_expired",
            EventKind::KekPastMaxAge => "kek_past_max_age",
        }
    }
}

/// One event of a tenant's feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The state change's sequence number (the feed's cursor).
    pub change: u64,
    /// When the change was made (its audit record's time), Unix seconds.
    pub time: i64,
    /// What happened.
    pub kind: EventKind,
    /// The key UID or backup set it is about.
    pub object: Option<String>,
    /// More: the new key of a re-key.
    pub detail: Option<String>,
}

/// An event found before its change is numbered.
#[derive(Clone, Debug)]
pub(super) struct Found {
    tenant: String,
    kind: EventKind,
    object: Option<String>,
    detail: Option<String>,
}

/// The events `command` makes, judged against the state before it is applied.
pub(super) fn found_in(
    txn: &WriteTransaction,
    command: &Command,
) -> Result<Vec<Found>, StoreError> {
    let mut out = Vec::new();
    let mut created: Vec<&ObjectRecord> = Vec::new();
    let mut updated: Vec<String> = Vec::new();
    walk(txn, command, &mut out, &mut created, &mut updated)?;
    // A command that makes a key and changes another of its tenant is a re-key.
    if let ([new], [old]) = (created.as_slice(), updated.as_slice()) {
        out.push(Found {
            tenant: new.tenant.clone(),
            kind: EventKind::KeyRekeyed,
            object: Some(old.clone()),
            detail: Some(new.uid.clone()),
        });
    }
    // A destroy that goes pending is told as pending, not as destroyed.
    let pending: Vec<String> = out
        .iter()
        .filter(|f| f.kind == EventKind::KeyDestroyPending)
        .filter_map(|f| f.object.clone())
        .collect();
    out.retain(|f| {
        f.kind != EventKind::KeyDestroyed || !f.object.as_ref().is_some_and(|o| pending.contains(o))
    });
    Ok(out)
}

fn walk<'c>(
    txn: &WriteTransaction,
    command: &'c Command,
    out: &mut Vec<Found>,
    created: &mut Vec<&'c ObjectRecord>,
    updated: &mut Vec<String>,
) -> Result<(), StoreError> {
    match command {
        Command::PutObject {
            expected_revision: None,
            record,
        } => created.push(record),
        Command::PutObject { record, .. } => {
            let objects = txn.open_table(tables::OBJECTS)?;
            let Some(current) = objects
                .get(record.uid.as_str())?
                .map(|v| decode::<ObjectRecord>(v.value()))
                .transpose()?
            else {
                return Ok(());
            };
            updated.push(record.uid.clone());
            let event = |kind| Found {
                tenant: record.tenant.clone(),
                kind,
                object: Some(record.uid.clone()),
                detail: None,
            };
            if current.attributes.revocation_reason.is_none()
                && record.attributes.revocation_reason.is_some()
            {
                out.push(event(EventKind::KeyRevoked));
            }
            if !super::platform::is_destroyed(&current) && super::platform::is_destroyed(record) {
                out.push(event(EventKind::KeyDestroyed));
            }
        }
        Command::PlaceHold(hold) => out.push(Found {
            tenant: hold.tenant.clone(),
            kind: EventKind::HoldPlaced,
            object: Some(hold.backup_set.clone()),
            detail: None,
        }),
        Command::ReleaseHold { tenant, backup_set } => out.push(Found {
            tenant: tenant.clone(),
            kind: EventKind::HoldReleased,
            object: Some(backup_set.clone()),
            detail: None,
        }),
        Command::SetPlatformPolicy { tenant, .. } => out.push(Found {
            tenant: tenant.clone(),
            kind: EventKind::PolicyChanged,
            object: None,
            detail: None,
        }),
        Command::MarkPendingDestroy(p) => out.push(Found {
            tenant: p.tenant.clone(),
            kind: EventKind::KeyDestroyPending,
            object: Some(p.uid.clone()),
            detail: rfc3339(p.erase_at),
        }),
        Command::CancelDestroy { tenant, uid, .. } => out.push(Found {
            tenant: tenant.clone(),
            kind: EventKind::KeyDestroyCancelled,
            object: Some(uid.clone()),
            detail: None,
        }),
        Command::EraseMaterial { tenant, uid, .. } => out.push(Found {
            tenant: tenant.clone(),
            kind: EventKind::KeyErased,
            object: Some(uid.clone()),
            detail: None,
        }),
        Command::Notice { tenant, notice, .. } => out.push(Found {
            tenant: tenant.clone(),
            kind: match notice {
                Notice::HoldExpired { .. } => EventKind::HoldExpired,
                Notice::KekPastMaxAge { .. } => EventKind::KekPastMaxAge,
            },
            object: Some(notice.subject().to_owned()),
            detail: None,
        }),
        Command::Batch(commands) => {
            for c in commands {
                walk(txn, c, out, created, updated)?;
            }
        }
        Command::Audited { command, .. } | Command::ObjectQuota { command, .. } => {
            walk(txn, command, out, created, updated)?;
        }
        Command::CreateTenant(_)
        | Command::SetTenantSuspended { .. }
        | Command::AddDomainKey { .. }
        | Command::RetireDomainKeys { .. }
        | Command::PutClient(_)
        | Command::AuditCheckpoint(_)
        | Command::BindPin { .. }
        | Command::StartRotation(_)
        | Command::UpdateRotation { .. }
        | Command::RequestExport(_)
        | Command::ExportStep { .. } => {}
    }
    Ok(())
}

/// `secs` as RFC 3339 UTC, for an event's detail.
fn rfc3339(secs: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// Keeps the events of an applied change numbered `change`, made at `time`.
pub(super) fn keep(
    txn: &WriteTransaction,
    change: u64,
    time: i64,
    found: Vec<Found>,
) -> Result<(), StoreError> {
    for f in found {
        let record = EventRecord {
            change,
            time,
            kind: f.kind,
            object: f.object,
            detail: f.detail,
        };
        let mut events = txn.open_table(tables::EVENTS)?;
        // Several events of one change: the later ones follow at the same number, by kind.
        events.insert(
            (f.tenant.as_str(), change, f.kind as u8),
            encode(&record)?.as_slice(),
        )?;
        let counter = tables::event_counter(&f.tenant);
        let mut counters = txn.open_table(tables::COUNTERS)?;
        let kept = counters
            .get(counter.as_str())?
            .map_or(0, |v| v.value())
            .saturating_add(1);
        if kept > MAX_EVENTS_PER_TENANT {
            let oldest = events
                .range((f.tenant.as_str(), 0, 0)..)?
                .next()
                .transpose()?
                .map(|(k, _)| {
                    let (t, c, kind) = k.value();
                    (t == f.tenant, c, kind)
                });
            if let Some((true, c, kind)) = oldest {
                events.remove((f.tenant.as_str(), c, kind))?;
            }
            counters.insert(counter.as_str(), MAX_EVENTS_PER_TENANT)?;
        } else {
            counters.insert(counter.as_str(), kept)?;
        }
    }
    Ok(())
}
