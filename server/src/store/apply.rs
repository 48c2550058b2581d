//! What a command does: checks it against the state and writes it, in a redb write
//! transaction. Deterministic (depends only on the command and the state, never on the clock,
//! the HSM or the node), so every replica of a command log reaches the same state. Returns what
//! it applied, including the numbered audit records of [`Command::Audited`] changes; it hands
//! them to nobody (the command log does, `crate::command_log`).

use audit_log::AuditEvent;
use redb::{ReadableTable, WriteTransaction};

use super::command::{Command, Rejection};
use super::records::{ClientIdentity, ClientRecord, ObjectRecord, TenantRecord};
use super::{
    StoreError, decode, encode, events, exports, jobs, locate_index, pending, platform, tables,
};

/// Whether applying `command` takes a savepoint.
pub(crate) fn needs_savepoint(command: &Command) -> bool {
    match command {
        Command::Batch(_) => true,
        Command::Audited { command, .. } | Command::ObjectQuota { command, .. } => {
            needs_savepoint(command)
        }
        _ => false,
    }
}

/// Checks then writes one command. Deterministic: depends only on the command and the state.
/// A batch applies its commands in order, each seeing the writes of the previous ones, and
/// rolls all of them back if one is rejected. The audit records of applied
/// [`Command::Audited`] changes are numbered, put in the outbox, and pushed to `audited`.
pub(crate) fn apply(
    txn: &mut WriteTransaction,
    command: &Command,
    audited: &mut Vec<AuditEvent>,
) -> Result<Result<(), Rejection>, StoreError> {
    apply_in(txn, command, audited, false)
}

/// [`apply`]; `covered`: a savepoint taken before this command started will undo whatever it
/// wrote if it is rejected (redb takes a savepoint only before a transaction touches a
/// table, so a batch inside an object quota check relies on the quota's savepoint).
fn apply_in(
    txn: &mut WriteTransaction,
    command: &Command,
    audited: &mut Vec<AuditEvent>,
    covered: bool,
) -> Result<Result<(), Rejection>, StoreError> {
    match command {
        Command::Batch(commands) => {
            return all_or_nothing(txn, audited, covered, |txn, audited| {
                for c in commands {
                    if let Err(rejection) = apply_in(txn, c, audited, true)? {
                        return Ok(Err(rejection));
                    }
                }
                Ok(Ok(()))
            });
        }
        Command::Audited { event, command } => {
            // Finding the events reads tables: a savepoint the command needs is taken before.
            if needs_savepoint(command) {
                return all_or_nothing(txn, audited, covered, |txn, audited| {
                    apply_audited(txn, event, command, audited)
                });
            }
            return apply_audited(txn, event, command, audited);
        }
        Command::ObjectQuota {
            max_objects,
            command,
        } => {
            let max_objects = *max_objects;
            let quota_then = |txn: &mut WriteTransaction, audited: &mut Vec<AuditEvent>| {
                if let Err(rejection) = check_object_quota(txn, max_objects, command)? {
                    return Ok(Err(rejection));
                }
                apply_in(txn, command, audited, true)
            };
            // The check reads tables: a savepoint the command needs is taken before it.
            if needs_savepoint(command) {
                return all_or_nothing(txn, audited, covered, quota_then);
            }
            if let Err(rejection) = check_object_quota(txn, max_objects, command)? {
                return Ok(Err(rejection));
            }
            return apply_in(txn, command, audited, covered);
        }
        // The removal is the check: nothing is written when there is no such hold.
        Command::ReleaseHold { tenant, backup_set } => {
            return platform::release(txn, tenant, backup_set);
        }
        // Checked and written in one step each: nothing is written when refused.
        Command::MarkPendingDestroy(p) => return pending::mark(txn, p),
        Command::StartRotation(job) => return jobs::start(txn, job),
        Command::UpdateRotation {
            tenant,
            job,
            change,
            at,
        } => return jobs::update(txn, tenant, job, change, *at),
        Command::RequestExport(job) => return exports::request(txn, job),
        Command::ExportStep {
            tenant,
            job,
            step,
            at,
        } => return exports::step(txn, tenant, job, step, *at),
        Command::Notice { tenant, notice, at } => return pending::notice(txn, tenant, notice, *at),
        // The key's write goes through the object checks like any other; the pending entry
        // goes only once that write is applied.
        Command::CancelDestroy { tenant, uid, at } | Command::EraseMaterial { tenant, uid, at } => {
            let put = if matches!(command, Command::CancelDestroy { .. }) {
                pending::cancel(txn, tenant, uid, *at)?
            } else {
                pending::erase(txn, tenant, uid, *at)?
            };
            let put = match put {
                Ok(put) => put,
                Err(rejection) => return Ok(Err(rejection)),
            };
            if let Err(rejection) = check(txn, &put)? {
                return Ok(Err(rejection));
            }
            write(txn, &put)?;
            pending::settled(txn, uid)?;
            return Ok(Ok(()));
        }
        _ => {}
    }
    if let Err(rejection) = check(txn, command)? {
        return Ok(Err(rejection));
    }
    write(txn, command)?;
    Ok(Ok(()))
}

/// Applies an audited change (covered by a savepoint if it needs one) and numbers its record,
/// which goes to the outbox and `audited`, with the events it makes (`events.rs`).
fn apply_audited(
    txn: &mut WriteTransaction,
    event: &AuditEvent,
    command: &Command,
    audited: &mut Vec<AuditEvent>,
) -> Result<Result<(), Rejection>, StoreError> {
    let found = events::found_in(txn, command)?;
    if let Err(rejection) = apply_in(txn, command, audited, true)? {
        return Ok(Err(rejection));
    }
    let mut event = event.clone();
    let change = next_change(txn)?;
    event.change = Some(change);
    events::keep(txn, change, event.time.unix_timestamp(), found)?;
    let mut outbox = txn.open_table(tables::AUDIT_OUTBOX)?;
    outbox.insert(change, encode(&event)?.as_slice())?;
    audited.push(event);
    Ok(Ok(()))
}

/// Runs `steps`, undoing all they wrote (and the records they numbered) if they end in a
/// rejection: through a savepoint taken now, unless `covered` by an outer one.
fn all_or_nothing(
    txn: &mut WriteTransaction,
    audited: &mut Vec<AuditEvent>,
    covered: bool,
    steps: impl FnOnce(
        &mut WriteTransaction,
        &mut Vec<AuditEvent>,
    ) -> Result<Result<(), Rejection>, StoreError>,
) -> Result<Result<(), Rejection>, StoreError> {
    if covered {
        return steps(txn, audited);
    }
    let savepoint = txn.ephemeral_savepoint()?;
    let mark = audited.len();
    let outcome = steps(txn, audited)?;
    if outcome.is_err() {
        txn.restore_savepoint(&savepoint)?;
        audited.truncate(mark);
    }
    Ok(outcome)
}

/// Gives out the next state-change sequence number.
fn next_change(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let mut counters = txn.open_table(tables::COUNTERS)?;
    let next = counters
        .get(tables::CHANGE_COUNTER)?
        .map_or(0, |v| v.value())
        .saturating_add(1);
    counters.insert(tables::CHANGE_COUNTER, next)?;
    Ok(next)
}

fn check(txn: &WriteTransaction, command: &Command) -> Result<Result<(), Rejection>, StoreError> {
    Ok(match command {
        Command::CreateTenant(t) => {
            let tenants = txn.open_table(tables::TENANTS)?;
            if tenants.get(t.id.as_str())?.is_some() {
                Err(Rejection::TenantExists)
            } else {
                Ok(())
            }
        }
        Command::SetTenantSuspended { tenant, .. } => tenant_record(txn, tenant)?
            .map(|_| ())
            .ok_or(Rejection::NoSuchTenant),
        Command::AddDomainKey { tenant, key } => match tenant_record(txn, tenant)? {
            None => Err(Rejection::NoSuchTenant),
            Some(t) => {
                let next = t
                    .current_domain_key()
                    .map_or(1, |d| d.version.saturating_add(1));
                if key.version == next {
                    Ok(())
                } else {
                    Err(Rejection::DomainKeyVersion)
                }
            }
        },
        Command::RetireDomainKeys { tenant, keep_from } => {
            if tenant_record(txn, tenant)?.is_none() {
                return Ok(Err(Rejection::NoSuchTenant));
            }
            let index = txn.open_table(tables::TENANT_OBJECTS)?;
            let objects = txn.open_table(tables::OBJECTS)?;
            for entry in index.range((tenant.as_str(), "")..)? {
                let (key, _) = entry?;
                let (t, uid) = key.value();
                if t != tenant {
                    break;
                }
                let Some(v) = objects.get(uid)? else {
                    continue;
                };
                let o: ObjectRecord = decode(v.value())?;
                if o.material
                    .is_some_and(|m| m.sealed.dk_version() < *keep_from)
                {
                    return Ok(Err(Rejection::DomainKeyInUse));
                }
            }
            Ok(())
        }
        Command::PutClient(c) => {
            if let Some(tenant) = &c.tenant {
                let tenants = txn.open_table(tables::TENANTS)?;
                if tenants.get(tenant.as_str())?.is_none() {
                    return Ok(Err(Rejection::NoSuchTenant));
                }
            }
            match &c.identity {
                ClientIdentity::Pinned { fingerprint } => {
                    bound_elsewhere(txn, fingerprint, &c.key())?
                }
                // Claims may overlap: binding one is what is unique.
                ClientIdentity::PendingPin { .. } | ClientIdentity::CaIssued => Ok(()),
            }
        }
        Command::BindPin {
            client,
            fingerprint,
            token_digest,
        } => {
            let Some(current) = client_record(txn, client)? else {
                return Ok(Err(Rejection::ClaimChanged));
            };
            let claimed = match &current.identity {
                ClientIdentity::PendingPin {
                    fingerprint: f,
                    token_digest: d,
                    ..
                } => f == fingerprint && token_digest.as_ref().is_none_or(|t| t == d),
                ClientIdentity::CaIssued | ClientIdentity::Pinned { .. } => false,
            };
            if !claimed {
                return Ok(Err(Rejection::ClaimChanged));
            }
            if let Some(tenant) = &current.tenant
                && tenant_record(txn, tenant)?.is_none()
            {
                return Ok(Err(Rejection::NoSuchTenant));
            }
            bound_elsewhere(txn, fingerprint, client)?
        }
        Command::PutObject {
            expected_revision,
            record,
        } => check_object(txn, *expected_revision, record)?,
        Command::SetPlatformPolicy { tenant, .. } => tenant_record(txn, tenant)?
            .map(|_| ())
            .ok_or(Rejection::NoSuchTenant),
        Command::PlaceHold(hold) => {
            if tenant_record(txn, &hold.tenant)?.is_none() {
                return Ok(Err(Rejection::NoSuchTenant));
            }
            platform::check_place(txn, hold)?
        }
        // Checked by its removal, in `apply_in`.
        Command::ReleaseHold { .. } => Ok(()),
        // Checked in `apply_in`, each with its write.
        Command::MarkPendingDestroy(_)
        | Command::Notice { .. }
        | Command::CancelDestroy { .. }
        | Command::EraseMaterial { .. }
        | Command::StartRotation(_)
        | Command::UpdateRotation { .. }
        | Command::RequestExport(_)
        | Command::ExportStep { .. } => Ok(()),
        // Checked step by step in `apply`, each against the writes of the ones before it.
        Command::Batch(_) | Command::Audited { .. } | Command::ObjectQuota { .. } => Ok(()),
        // Checkpoints are signed by their node; a replay of the same one is harmless.
        Command::AuditCheckpoint(_) => Ok(()),
    })
}

/// Refuses a bound pin of `fingerprint` for the client `key` when another client holds it.
fn bound_elsewhere(
    txn: &WriteTransaction,
    fingerprint: &str,
    key: &str,
) -> Result<Result<(), Rejection>, StoreError> {
    let index = txn.open_table(tables::CLIENT_FINGERPRINTS)?;
    Ok(match index.get(fingerprint)? {
        Some(owner) if owner.value() != key => Err(Rejection::FingerprintTaken),
        _ => Ok(()),
    })
}

/// Refuses `command` if the objects it makes would take a tenant past `max_objects`.
fn check_object_quota(
    txn: &WriteTransaction,
    max_objects: u64,
    command: &Command,
) -> Result<Result<(), Rejection>, StoreError> {
    let mut tenants = Vec::new();
    command.new_object_tenants(&mut tenants);
    tenants.sort_unstable();
    for group in tenants.chunk_by(|a, b| a == b) {
        let new = u64::try_from(group.len()).unwrap_or(u64::MAX);
        if object_count(txn, group[0])?.saturating_add(new) > max_objects {
            return Ok(Err(Rejection::ObjectQuota));
        }
    }
    Ok(Ok(()))
}

/// Objects stored for `tenant`: its counter, or (a store written before counters existed)
/// its index entries counted once.
fn object_count(txn: &WriteTransaction, tenant: &str) -> Result<u64, StoreError> {
    let counters = txn.open_table(tables::COUNTERS)?;
    if let Some(n) = counters.get(tables::object_counter(tenant).as_str())? {
        return Ok(n.value());
    }
    count_index(txn, tenant)
}

fn count_index(txn: &WriteTransaction, tenant: &str) -> Result<u64, StoreError> {
    let index = txn.open_table(tables::TENANT_OBJECTS)?;
    let mut n = 0u64;
    for entry in index.range((tenant, "")..)? {
        if entry?.0.value().0 != tenant {
            break;
        }
        n += 1;
    }
    Ok(n)
}

/// Counts a new object of `tenant` (after its index entry is written): the counter goes up
/// by one, or is set from the index the first time.
fn count_new_object(txn: &WriteTransaction, tenant: &str) -> Result<(), StoreError> {
    let key = tables::object_counter(tenant);
    let current = {
        let counters = txn.open_table(tables::COUNTERS)?;
        counters.get(key.as_str())?.map(|v| v.value())
    };
    let next = match current {
        Some(n) => n.saturating_add(1),
        None => count_index(txn, tenant)?,
    };
    txn.open_table(tables::COUNTERS)?
        .insert(key.as_str(), next)?;
    Ok(())
}

fn tenant_record(txn: &WriteTransaction, id: &str) -> Result<Option<TenantRecord>, StoreError> {
    let tenants = txn.open_table(tables::TENANTS)?;
    tenants.get(id)?.map(|v| decode(v.value())).transpose()
}

fn client_record(txn: &WriteTransaction, key: &str) -> Result<Option<ClientRecord>, StoreError> {
    let clients = txn.open_table(tables::CLIENTS)?;
    clients.get(key)?.map(|v| decode(v.value())).transpose()
}

fn check_object(
    txn: &WriteTransaction,
    expected_revision: Option<u64>,
    record: &ObjectRecord,
) -> Result<Result<(), Rejection>, StoreError> {
    let Some(tenant) = tenant_record(txn, &record.tenant)? else {
        return Ok(Err(Rejection::NoSuchTenant));
    };
    if let Some(m) = &record.material
        && tenant.domain_key(m.sealed.dk_version()).is_none()
    {
        return Ok(Err(Rejection::UnknownDomainKey));
    }
    let objects = txn.open_table(tables::OBJECTS)?;
    let current: Option<ObjectRecord> = objects
        .get(record.uid.as_str())?
        .map(|v| decode(v.value()))
        .transpose()?;
    let names = txn.open_table(tables::TENANT_NAMES)?;
    for name in &record.attributes.names {
        if let Some(owner) = names.get((record.tenant.as_str(), name.as_str()))?
            && owner.value() != record.uid
        {
            return Ok(Err(Rejection::NameTaken));
        }
    }
    Ok(match (expected_revision, current) {
        (None, None) if record.revision == 1 => Ok(()),
        (None, None) => Err(Rejection::BadRevision),
        (None, Some(_)) => Err(Rejection::ObjectExists),
        (Some(_), None) => Err(Rejection::StaleRevision),
        (Some(expected), Some(cur)) => {
            if cur.tenant != record.tenant {
                Err(Rejection::TenantMismatch)
            } else if cur.revision != expected {
                Err(Rejection::StaleRevision)
            } else if record.revision != expected + 1 {
                Err(Rejection::BadRevision)
            } else {
                platform::check_erase(txn, &cur, record)?
            }
        }
    })
}

fn put_tenant(txn: &WriteTransaction, t: &TenantRecord) -> Result<(), StoreError> {
    let mut tenants = txn.open_table(tables::TENANTS)?;
    tenants.insert(t.id.as_str(), encode(t)?.as_slice())?;
    Ok(())
}

/// Writes a client record and keeps the pin indexes in step: the bound pin's fingerprint
/// in `client_fingerprints`, a pending claim in `pin_claims`.
fn put_client(txn: &WriteTransaction, c: &ClientRecord) -> Result<(), StoreError> {
    let key = c.key();
    let mut clients = txn.open_table(tables::CLIENTS)?;
    let previous: Option<ClientRecord> = clients
        .get(key.as_str())?
        .map(|v| decode(v.value()))
        .transpose()?;
    clients.insert(key.as_str(), encode(c)?.as_slice())?;
    let mut bound = txn.open_table(tables::CLIENT_FINGERPRINTS)?;
    let mut claims = txn.open_table(tables::PIN_CLAIMS)?;
    let tenant = c.tenant.as_deref().unwrap_or("-");
    match previous.map(|p| p.identity) {
        Some(ClientIdentity::Pinned { fingerprint }) => {
            bound.remove(fingerprint.as_str())?;
        }
        Some(ClientIdentity::PendingPin { fingerprint, .. }) => {
            claims.remove((fingerprint.as_str(), c.name.as_str(), tenant))?;
        }
        Some(ClientIdentity::CaIssued) | None => {}
    }
    match &c.identity {
        ClientIdentity::Pinned { fingerprint } => {
            bound.insert(fingerprint.as_str(), key.as_str())?;
        }
        ClientIdentity::PendingPin { fingerprint, .. } => {
            claims.insert((fingerprint.as_str(), c.name.as_str(), tenant), ())?;
        }
        ClientIdentity::CaIssued => {}
    }
    Ok(())
}

fn write(txn: &WriteTransaction, command: &Command) -> Result<(), StoreError> {
    match command {
        Command::CreateTenant(t) => put_tenant(txn, t)?,
        Command::SetTenantSuspended { tenant, suspended } => {
            if let Some(mut t) = tenant_record(txn, tenant)? {
                t.suspended = *suspended;
                put_tenant(txn, &t)?;
            }
        }
        Command::AddDomainKey { tenant, key } => {
            if let Some(mut t) = tenant_record(txn, tenant)? {
                t.domain_keys.push(key.clone());
                put_tenant(txn, &t)?;
            }
        }
        Command::RetireDomainKeys { tenant, keep_from } => {
            if let Some(mut t) = tenant_record(txn, tenant)? {
                t.domain_keys.retain(|d| d.version >= *keep_from);
                put_tenant(txn, &t)?;
            }
        }
        Command::PutClient(c) => put_client(txn, c)?,
        Command::BindPin {
            client,
            fingerprint,
            ..
        } => {
            if let Some(mut c) = client_record(txn, client)? {
                c.identity = ClientIdentity::Pinned {
                    fingerprint: fingerprint.clone(),
                };
                put_client(txn, &c)?;
            }
        }
        Command::PutObject { record, .. } => {
            let mut objects = txn.open_table(tables::OBJECTS)?;
            let previous: Option<ObjectRecord> = objects
                .get(record.uid.as_str())?
                .map(|v| decode(v.value()))
                .transpose()?;
            let mut names = txn.open_table(tables::TENANT_NAMES)?;
            if let Some(previous) = &previous {
                for name in &previous.attributes.names {
                    names.remove((record.tenant.as_str(), name.as_str()))?;
                }
            }
            for name in &record.attributes.names {
                names.insert((record.tenant.as_str(), name.as_str()), record.uid.as_str())?;
            }
            drop(names);
            locate_index::reindex(txn, previous.as_ref(), record)?;
            objects.insert(record.uid.as_str(), encode(record)?.as_slice())?;
            let mut index = txn.open_table(tables::TENANT_OBJECTS)?;
            let new = index
                .insert((record.tenant.as_str(), record.uid.as_str()), ())?
                .is_none();
            drop(index);
            if new {
                count_new_object(txn, &record.tenant)?;
            }
            // A key written back out of a Destroyed state (a Batch Undo) is no longer pending
            // destruction.
            if !platform::is_destroyed(record) {
                pending::settled(txn, &record.uid)?;
            }
        }
        // `apply` walks batches and audited changes itself; kept total for clarity.
        Command::Batch(commands) => {
            for c in commands {
                write(txn, c)?;
            }
        }
        Command::Audited { command, .. } | Command::ObjectQuota { command, .. } => {
            write(txn, command)?
        }
        Command::AuditCheckpoint(cp) => {
            let mut table = txn.open_table(tables::AUDIT_CHECKPOINTS)?;
            table.insert((cp.log.as_str(), cp.seq), encode(cp.as_ref())?.as_slice())?;
        }
        Command::SetPlatformPolicy { tenant, change, at } => {
            platform::change_policy(txn, tenant, change, *at)?;
        }
        Command::PlaceHold(hold) => platform::put_hold(txn, hold)?,
        // Written by `apply_in` with their checks.
        Command::ReleaseHold { .. }
        | Command::MarkPendingDestroy(_)
        | Command::Notice { .. }
        | Command::CancelDestroy { .. }
        | Command::EraseMaterial { .. }
        | Command::StartRotation(_)
        | Command::UpdateRotation { .. }
        | Command::RequestExport(_)
        | Command::ExportStep { .. } => {}
    }
    Ok(())
}
