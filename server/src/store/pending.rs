//! Two-stage destroy and the time-driven notices (`docs/PLATFORM.md`, Destroy in two stages,
//! Time-driven work). A tenant with a destroy grace has a destroyed key kept "pending
//! destruction": KMIP sees it Destroyed, but its sealed material stays in the object record
//! until the grace ends ([`Command::EraseMaterial`]) or the tenant admin cancels
//! ([`Command::CancelDestroy`]). A notice is a fact the cluster's clock made true (a hold's
//! retention ended, a KEK passed the tenant's maximum age), kept once so its event is made once.
//!
//! These live in tables of their own (`destroy_grace`, `pending_destroy`, `notices`) rather
//! than in new fields of existing records: records are postcard-encoded, so a new field would
//! make every stored record undecodable (`schema.rs`). Every time a decision depends on travels
//! in its command, so apply stays deterministic.

use kmip_codec::enums::State;
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::command::{Command, Rejection};
use super::records::ObjectRecord;
use super::{Store, StoreError, decode, encode, platform, tables};

/// Seconds in a day (maximum KEK age is set in days).
const DAY: i64 = 86_400;

/// A key destroyed while its tenant has a destroy grace: kept, material and all, until
/// `erase_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDestroy {
    /// The key's tenant.
    pub tenant: String,
    /// The key's UID.
    pub uid: String,
    /// Its KMIP State before the destroy (what a cancel gives back).
    pub previous_state: u32,
    /// When it was destroyed, Unix seconds.
    pub requested_at: i64,
    /// When its material may be erased, Unix seconds.
    pub erase_at: i64,
}

/// A fact the clock made true, noticed once (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notice {
    /// A backup hold's retention ended (the hold no longer keeps its keys).
    HoldExpired {
        /// The backup set.
        backup_set: String,
    },
    /// A key is at least as old as the tenant's maximum KEK age.
    KekPastMaxAge {
        /// The key's UID.
        uid: String,
    },
}

impl Notice {
    /// The notice's kind and subject, its key in the `notices` table.
    fn key(&self) -> (u8, &str) {
        match self {
            Notice::HoldExpired { backup_set } => (0, backup_set),
            Notice::KekPastMaxAge { uid } => (1, uid),
        }
    }

    /// What the notice is about: the backup set or the key.
    pub fn subject(&self) -> &str {
        self.key().1
    }
}

/// Applies [`Command::MarkPendingDestroy`]: the key (written destroyed, material kept, by the
/// same batch) becomes pending destruction.
pub(super) fn mark(
    txn: &WriteTransaction,
    pending: &PendingDestroy,
) -> Result<Result<(), Rejection>, StoreError> {
    let Some(object) = object(txn, &pending.uid)? else {
        return Ok(Err(Rejection::NoSuchObject));
    };
    if object.tenant != pending.tenant {
        return Ok(Err(Rejection::NoSuchObject));
    }
    if !platform::is_destroyed(&object) || object.material.is_none() {
        return Ok(Err(Rejection::NotPendingDestruction));
    }
    let mut table = txn.open_table(tables::PENDING_DESTROY)?;
    if table.get(pending.uid.as_str())?.is_some() {
        return Ok(Err(Rejection::NotPendingDestruction));
    }
    table.insert(pending.uid.as_str(), encode(pending)?.as_slice())?;
    Ok(Ok(()))
}

/// The write [`Command::CancelDestroy`] makes (the key back in its state before the destroy,
/// a compromise noted meanwhile kept; then [`settled`]); a rejection when the
/// key is not pending destruction (or is another tenant's: answered like a missing key).
pub(super) fn cancel(
    txn: &WriteTransaction,
    tenant: &str,
    uid: &str,
    at: i64,
) -> Result<Result<Command, Rejection>, StoreError> {
    let (pending, object) = match find(txn, tenant, uid)? {
        Ok(found) => found,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let mut next = object.clone();
    next.state = if object.state == State::DESTROYED_COMPROMISED.0 {
        State::COMPROMISED.0
    } else {
        pending.previous_state
    };
    next.attributes.destroy_date = None;
    next.attributes.last_change_date = at;
    next.revision = object.revision.saturating_add(1);
    Ok(Ok(Command::PutObject {
        expected_revision: Some(object.revision),
        record: Box::new(next),
    }))
}

/// The write [`Command::EraseMaterial`] makes (the material dropped; then [`settled`]); refused before the grace ends ([`Rejection::NotDue`]) or when the key is not
/// pending destruction (erased already: the command is idempotent).
pub(super) fn erase(
    txn: &WriteTransaction,
    tenant: &str,
    uid: &str,
    at: i64,
) -> Result<Result<Command, Rejection>, StoreError> {
    let (pending, object) = match find(txn, tenant, uid)? {
        Ok(found) => found,
        Err(rejection) => return Ok(Err(rejection)),
    };
    if pending.erase_at > at {
        return Ok(Err(Rejection::NotDue));
    }
    let mut next = object.clone();
    next.material = None;
    next.attributes.last_change_date = at;
    next.revision = object.revision.saturating_add(1);
    Ok(Ok(Command::PutObject {
        expected_revision: Some(object.revision),
        record: Box::new(next),
    }))
}

/// `uid`'s pending entry with the key; a rejection when there is none for `tenant`.
fn find(
    txn: &WriteTransaction,
    tenant: &str,
    uid: &str,
) -> Result<Result<(PendingDestroy, ObjectRecord), Rejection>, StoreError> {
    let Some(object) = object(txn, uid)?.filter(|o| o.tenant == tenant) else {
        return Ok(Err(Rejection::NoSuchObject));
    };
    match pending_of(txn, uid)? {
        Some(p) if p.tenant == tenant => Ok(Ok((p, object))),
        _ => Ok(Err(Rejection::NotPendingDestruction)),
    }
}

/// Drops `uid`'s pending entry, once the write [`cancel`] or [`erase`] made is applied.
pub(super) fn settled(txn: &WriteTransaction, uid: &str) -> Result<(), StoreError> {
    txn.open_table(tables::PENDING_DESTROY)?.remove(uid)?;
    Ok(())
}

/// The pending entry of `uid`, for the event a command makes.
pub(super) fn pending_of(
    txn: &WriteTransaction,
    uid: &str,
) -> Result<Option<PendingDestroy>, StoreError> {
    txn.open_table(tables::PENDING_DESTROY)?
        .get(uid)?
        .map(|v| decode(v.value()))
        .transpose()
}

/// Applies [`Command::Notice`]: refused if it was noticed already ([`Rejection::Noticed`])
/// or is not true at `at` ([`Rejection::NotDue`]).
pub(super) fn notice(
    txn: &WriteTransaction,
    tenant: &str,
    notice: &Notice,
    at: i64,
) -> Result<Result<(), Rejection>, StoreError> {
    let (kind, subject) = notice.key();
    let mut notices = txn.open_table(tables::NOTICES)?;
    if notices.get((tenant, kind, subject))?.is_some() {
        return Ok(Err(Rejection::Noticed));
    }
    let true_now = match notice {
        Notice::HoldExpired { backup_set } => {
            let holds = txn.open_table(tables::HOLDS)?;
            let hold: Option<platform::HoldRecord> = holds
                .get((tenant, backup_set.as_str()))?
                .map(|v| decode(v.value()))
                .transpose()?;
            match hold {
                Some(h) => h.retention_until <= at,
                None => return Ok(Err(Rejection::NoSuchHold)),
            }
        }
        Notice::KekPastMaxAge { uid } => {
            let Some(o) = object(txn, uid)?.filter(|o| o.tenant == tenant) else {
                return Ok(Err(Rejection::NoSuchObject));
            };
            let policy = platform::policy_of(&txn.open_table(tables::TENANT_PLATFORM)?, tenant)?;
            !platform::is_destroyed(&o) && past_max_age(&o, policy.max_kek_age_days, at)
        }
    };
    if !true_now {
        return Ok(Err(Rejection::NotDue));
    }
    notices.insert((tenant, kind, subject), at)?;
    Ok(Ok(()))
}

/// Forgets that a hold's expiry was noticed (the hold is released: a new hold of the same
/// backup set may expire again).
pub(super) fn forget_hold(
    txn: &WriteTransaction,
    tenant: &str,
    backup_set: &str,
) -> Result<(), StoreError> {
    let (kind, _) = Notice::HoldExpired {
        backup_set: String::new(),
    }
    .key();
    txn.open_table(tables::NOTICES)?
        .remove((tenant, kind, backup_set))?;
    Ok(())
}

/// Whether `o` is at least `max_days` old at `at` (`None`: no limit).
pub fn past_max_age(o: &ObjectRecord, max_days: Option<u32>, at: i64) -> bool {
    max_days.is_some_and(|d| {
        o.attributes
            .initial_date
            .saturating_add(i64::from(d).saturating_mul(DAY))
            <= at
    })
}

/// Sets a tenant's destroy grace (`0` removes it: erase at once).
pub(super) fn set_grace(txn: &WriteTransaction, tenant: &str, secs: u32) -> Result<(), StoreError> {
    let mut table = txn.open_table(tables::DESTROY_GRACE)?;
    if secs == 0 {
        table.remove(tenant)?;
    } else {
        table.insert(tenant, secs)?;
    }
    Ok(())
}

fn object(txn: &WriteTransaction, uid: &str) -> Result<Option<ObjectRecord>, StoreError> {
    txn.open_table(tables::OBJECTS)?
        .get(uid)?
        .map(|v| decode(v.value()))
        .transpose()
}

impl Store {
    /// A tenant's destroy grace in seconds (`0`: a destroy erases at once).
    pub fn destroy_grace(&self, tenant: &str) -> Result<u32, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::DESTROY_GRACE)?;
        Ok(table.get(tenant)?.map_or(0, |v| v.value()))
    }

    /// The pending destruction of key `uid`, if it is pending.
    pub fn pending_destroy(&self, uid: &str) -> Result<Option<PendingDestroy>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::PENDING_DESTROY)?;
        table.get(uid)?.map(|v| decode(v.value())).transpose()
    }

    /// Every key pending destruction, of every tenant (`tenant`: of that one), in UID order.
    pub fn pending_destroys(
        &self,
        tenant: Option<&str>,
    ) -> Result<Vec<PendingDestroy>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::PENDING_DESTROY)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let p: PendingDestroy = decode(entry?.1.value())?;
            if tenant.is_none_or(|t| t == p.tenant) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Whether `notice` of `tenant` was noticed already.
    pub fn noticed(&self, tenant: &str, notice: &Notice) -> Result<bool, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::NOTICES)?;
        let (kind, subject) = notice.key();
        Ok(table.get((tenant, kind, subject))?.is_some())
    }
}
