//! What the store keeps for the platform services (`docs/PLATFORM.md`): each tenant's platform
//! policy (the advanced-protection subscription, the maximum KEK age) and the backup holds on
//! its keys, with the checks and writes of the commands that change them. Deterministic like
//! the rest of `apply`: the time a hold is judged against travels in the command.

use kmip_codec::enums::State;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::command::Rejection;
use super::records::ObjectRecord;
use super::{StoreError, decode, encode, tables};

/// A tenant's platform policy. A tenant without a record has the default: not subscribed,
/// no maximum KEK age.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformPolicy {
    /// The "advanced protection" subscription: without it no VM of the tenant is eligible for
    /// encryption, and the platform services act on the tenant only to subscribe it and to
    /// check eligibility.
    pub advanced_protection: bool,
    /// KEKs older than this many days are reported as due for a rekey (`None`: no limit).
    pub max_kek_age_days: Option<u32>,
    /// When the policy last changed, Unix seconds.
    pub changed_at: i64,
}

/// One change of a tenant's platform policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyChange {
    /// Subscribes (`true`) or unsubscribes the tenant to advanced protection.
    Subscription(bool),
    /// Sets or clears the maximum KEK age, in days.
    MaxKekAge(Option<u32>),
    /// Sets the destroy grace in seconds (`0`: a destroy erases at once). Kept in table
    /// `destroy_grace` (`pending.rs`), not in [`PlatformPolicy`], whose stored encoding a new
    /// field would break.
    DestroyGrace(u32),
    /// Sets or clears the days between Domain Key rotations the cluster starts by itself. Kept
    /// in table `rotation_schedule` (`jobs.rs`), for the same reason as the destroy grace.
    DomainKeyRotation(Option<u32>),
}

impl PlatformPolicy {
    /// The policy with `change` made at `at`.
    pub fn changed(mut self, change: &PolicyChange, at: i64) -> Self {
        match change {
            PolicyChange::Subscription(on) => self.advanced_protection = *on,
            PolicyChange::MaxKekAge(days) => self.max_kek_age_days = *days,
            PolicyChange::DestroyGrace(_) | PolicyChange::DomainKeyRotation(_) => {}
        }
        self.changed_at = at;
        self
    }
}

/// A backup hold: the keys a backup set needs, kept restorable until the retention ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldRecord {
    /// The tenant of every held key.
    pub tenant: String,
    /// The backup set's identifier, unique within the tenant.
    pub backup_set: String,
    /// UIDs of the held keys.
    pub keys: Vec<String>,
    /// The hold keeps its keys from destruction until this time, Unix seconds.
    pub retention_until: i64,
    /// When it was placed, Unix seconds.
    pub placed_at: i64,
    /// Who placed it (`role/name`).
    pub placed_by: String,
}

/// The tenant's platform policy (the default when none was ever set).
pub(crate) fn policy_of(
    txn_table: &impl ReadableTable<&'static str, &'static [u8]>,
    tenant: &str,
) -> Result<PlatformPolicy, StoreError> {
    Ok(txn_table
        .get(tenant)?
        .map(|v| decode(v.value()))
        .transpose()?
        .unwrap_or_default())
}

/// Makes one change to a tenant's platform policy.
pub(super) fn change_policy(
    txn: &WriteTransaction,
    tenant: &str,
    change: &PolicyChange,
    at: i64,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(tables::TENANT_PLATFORM)?;
    let policy = policy_of(&table, tenant)?.changed(change, at);
    table.insert(tenant, encode(&policy)?.as_slice())?;
    match change {
        PolicyChange::DestroyGrace(secs) => super::pending::set_grace(txn, tenant, *secs)?,
        PolicyChange::DomainKeyRotation(days) => super::jobs::set_schedule(txn, tenant, *days)?,
        PolicyChange::Subscription(_) | PolicyChange::MaxKekAge(_) => {}
    }
    Ok(())
}

/// Checks a hold before it is placed: no hold of that backup set yet, and every key is an
/// object of the hold's tenant whose material is not destroyed. Another tenant's key is
/// refused exactly like a missing one.
pub(super) fn check_place(
    txn: &WriteTransaction,
    hold: &HoldRecord,
) -> Result<Result<(), Rejection>, StoreError> {
    let holds = txn.open_table(tables::HOLDS)?;
    if holds
        .get((hold.tenant.as_str(), hold.backup_set.as_str()))?
        .is_some()
    {
        return Ok(Err(Rejection::HoldExists));
    }
    let objects = txn.open_table(tables::OBJECTS)?;
    for uid in &hold.keys {
        let Some(v) = objects.get(uid.as_str())? else {
            return Ok(Err(Rejection::NoSuchObject));
        };
        let o: ObjectRecord = decode(v.value())?;
        if o.tenant != hold.tenant {
            return Ok(Err(Rejection::NoSuchObject));
        }
        if is_destroyed(&o) {
            return Ok(Err(Rejection::ObjectDestroyed));
        }
    }
    Ok(Ok(()))
}

/// Writes a hold and its per-key index entries.
pub(super) fn put_hold(txn: &WriteTransaction, hold: &HoldRecord) -> Result<(), StoreError> {
    txn.open_table(tables::HOLDS)?.insert(
        (hold.tenant.as_str(), hold.backup_set.as_str()),
        encode(hold)?.as_slice(),
    )?;
    let mut held = txn.open_table(tables::HELD_KEYS)?;
    for uid in &hold.keys {
        held.insert(
            (uid.as_str(), hold.tenant.as_str(), hold.backup_set.as_str()),
            hold.retention_until,
        )?;
    }
    Ok(())
}

/// Removes a hold and its index entries; [`Rejection::NoSuchHold`] if there is none.
pub(super) fn release(
    txn: &WriteTransaction,
    tenant: &str,
    backup_set: &str,
) -> Result<Result<(), Rejection>, StoreError> {
    let removed = txn
        .open_table(tables::HOLDS)?
        .remove((tenant, backup_set))?
        .map(|v| decode::<HoldRecord>(v.value()))
        .transpose()?;
    let Some(hold) = removed else {
        return Ok(Err(Rejection::NoSuchHold));
    };
    let mut held = txn.open_table(tables::HELD_KEYS)?;
    for uid in &hold.keys {
        held.remove((uid.as_str(), tenant, backup_set))?;
    }
    super::pending::forget_hold(txn, tenant, backup_set)?;
    Ok(Ok(()))
}

/// Whether the object is in a Destroyed state (KMIP 1.4 section 3.22).
pub(super) fn is_destroyed(o: &ObjectRecord) -> bool {
    o.state == State::DESTROYED.0 || o.state == State::DESTROYED_COMPROMISED.0
}

/// Refuses a write that destroys `current` (erases its material or puts it in a Destroyed
/// state) while a hold whose retention has not ended at the write's own Last Change Date
/// holds it: of a destroy and a hold placed concurrently, the first in the log wins.
pub(super) fn check_erase(
    txn: &WriteTransaction,
    current: &ObjectRecord,
    next: &ObjectRecord,
) -> Result<Result<(), Rejection>, StoreError> {
    let erases = (current.material.is_some() && next.material.is_none())
        || (!is_destroyed(current) && is_destroyed(next));
    if !erases {
        return Ok(Ok(()));
    }
    let at = next.attributes.last_change_date;
    let held = txn.open_table(tables::HELD_KEYS)?;
    for entry in held.range((current.uid.as_str(), "", "")..)? {
        let (key, until) = entry?;
        if key.value().0 != current.uid {
            break;
        }
        if until.value() > at {
            return Ok(Err(Rejection::Held));
        }
    }
    Ok(Ok(()))
}
