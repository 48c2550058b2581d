//! Domain Key rotation jobs as replicated state (`docs/ADMIN-API.md`, Domain Key rotation): the
//! job's tenant, target version, phase and progress live in table `rotation_jobs`, written only
//! by audited commands, so any node answers its progress and the cluster's leader of the moment
//! drives it (`admin::rotation`): a new leader carries on a job the old one did not finish.
//! At most one job per tenant runs; a tenant keeps its last [`MAX_JOBS_PER_TENANT`] jobs.

use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::command::Rejection;
use super::records::TenantRecord;
use super::{Store, StoreError, decode, encode, tables};

/// Finished jobs kept per tenant (the oldest are dropped as new ones start).
pub const MAX_JOBS_PER_TENANT: usize = 64;

/// A job's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobPhase {
    /// Re-sealing (or retiring the old versions); driven by the leader.
    Running,
    /// Every object is on the target version and the old versions are retired.
    Completed,
    /// Stopped with an error (named in the job).
    Failed,
}

/// One Domain Key rotation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationJob {
    /// The job's ID (a UUID).
    pub id: String,
    /// The tenant.
    pub tenant: String,
    /// The Domain Key version every object is re-sealed under.
    pub to_version: u32,
    /// Where it is.
    pub phase: JobPhase,
    /// Objects found on older versions (grows if a later pass finds more).
    pub total: u64,
    /// Objects re-sealed so far.
    pub resealed: u64,
    /// Started, Unix seconds.
    pub started_at: i64,
    /// Last progress, Unix seconds.
    pub updated_at: i64,
    /// Finished, Unix seconds.
    pub finished_at: Option<i64>,
    /// Why it failed (a fixed text, nothing secret).
    pub error: Option<String>,
    /// Who started it (`role/name`): the records of its writes name them.
    pub started_by: String,
}

/// One change of a running job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobChange {
    /// Progress: `total` found, `resealed` done (neither goes down).
    Progress {
        /// Objects found on older versions.
        total: u64,
        /// Objects re-sealed.
        resealed: u64,
    },
    /// The job ends in `phase` (`Completed` or `Failed`), with `error` when it failed.
    Finished {
        /// The final phase.
        phase: JobPhase,
        /// Why it failed.
        error: Option<String>,
    },
}

/// Applies `Command::StartRotation`: refused while a job of the tenant runs
/// ([`Rejection::RotationRunning`]) and unless the tenant's current Domain Key version is the
/// job's target (the version is added by the same batch, just before).
pub(super) fn start(
    txn: &WriteTransaction,
    job: &RotationJob,
) -> Result<Result<(), Rejection>, StoreError> {
    let tenant: Option<TenantRecord> = txn
        .open_table(tables::TENANTS)?
        .get(job.tenant.as_str())?
        .map(|v| decode(v.value()))
        .transpose()?;
    let Some(tenant) = tenant else {
        return Ok(Err(Rejection::NoSuchTenant));
    };
    if tenant.current_domain_key().map(|d| d.version) != Some(job.to_version) {
        return Ok(Err(Rejection::DomainKeyVersion));
    }
    let mut table = txn.open_table(tables::ROTATION_JOBS)?;
    let mut finished = Vec::new();
    for entry in table.range((job.tenant.as_str(), "")..)? {
        let (k, v) = entry?;
        if k.value().0 != job.tenant {
            break;
        }
        let existing: RotationJob = decode(v.value())?;
        if existing.phase == JobPhase::Running {
            return Ok(Err(Rejection::RotationRunning));
        }
        finished.push((existing.started_at, existing.id));
    }
    insert_keeping(
        &mut table,
        (&job.tenant, &job.id),
        &encode(job)?,
        finished,
        MAX_JOBS_PER_TENANT,
    )?;
    Ok(Ok(()))
}

/// Inserts `key -> value` in a per-tenant job table where the tenant holds the jobs `older`
/// (each its start time and ID), dropping the oldest of them so that at most `keep` remain.
pub(super) fn insert_keeping(
    table: &mut redb::Table<(&str, &str), &[u8]>,
    (tenant, id): (&str, &str),
    value: &[u8],
    mut older: Vec<(i64, String)>,
    keep: usize,
) -> Result<(), StoreError> {
    older.sort();
    let excess = (older.len() + 1).saturating_sub(keep);
    for (_, old) in older.into_iter().take(excess) {
        table.remove((tenant, old.as_str()))?;
    }
    table.insert((tenant, id), value)?;
    Ok(())
}

/// Applies `Command::UpdateRotation`: refused ([`Rejection::NoSuchJob`]) unless the job
/// exists and runs, so a finished job never changes again (a late word from an old leader
/// is dropped).
pub(super) fn update(
    txn: &WriteTransaction,
    tenant: &str,
    id: &str,
    change: &JobChange,
    at: i64,
) -> Result<Result<(), Rejection>, StoreError> {
    let mut table = txn.open_table(tables::ROTATION_JOBS)?;
    let job: Option<RotationJob> = table
        .get((tenant, id))?
        .map(|v| decode(v.value()))
        .transpose()?;
    let Some(mut job) = job.filter(|j| j.phase == JobPhase::Running) else {
        return Ok(Err(Rejection::NoSuchJob));
    };
    match change {
        JobChange::Progress { total, resealed } => {
            job.total = job.total.max(*total);
            job.resealed = job.resealed.max(*resealed);
        }
        JobChange::Finished { phase, error } => {
            job.phase = *phase;
            job.error.clone_from(error);
            job.finished_at = Some(at);
        }
    }
    job.updated_at = at;
    table.insert((tenant, id), encode(&job)?.as_slice())?;
    Ok(Ok(()))
}

impl Store {
    /// One rotation job of `tenant`.
    pub fn rotation_job(&self, tenant: &str, id: &str) -> Result<Option<RotationJob>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::ROTATION_JOBS)?;
        table
            .get((tenant, id))?
            .map(|v| decode(v.value()))
            .transpose()
    }

    /// Every running rotation job (`tenant`: of that tenant only).
    pub fn running_rotations(&self, tenant: Option<&str>) -> Result<Vec<RotationJob>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::ROTATION_JOBS)?;
        let mut out = Vec::new();
        let start = (tenant.unwrap_or(""), "");
        for entry in table.range(start..)? {
            let (k, v) = entry?;
            if tenant.is_some_and(|t| t != k.value().0) {
                break;
            }
            let job: RotationJob = decode(v.value())?;
            if job.phase == JobPhase::Running {
                out.push(job);
            }
        }
        Ok(out)
    }
}

/// Sets (`Some(days)`) or clears a tenant's Domain Key rotation schedule.
pub(super) fn set_schedule(
    txn: &WriteTransaction,
    tenant: &str,
    days: Option<u32>,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(tables::ROTATION_SCHEDULE)?;
    match days {
        Some(d) => table.insert(tenant, d)?,
        None => table.remove(tenant)?,
    };
    Ok(())
}

/// Whether a scheduled rotation of a tenant is due at `now`: it has a schedule of `days`, no
/// rotation is running, and its current Domain Key version was made at least that long ago.
pub fn scheduled_rotation_due(
    days: u32,
    current_key_made_at: Option<i64>,
    running: bool,
    now: i64,
) -> bool {
    let period = i64::from(days).saturating_mul(86_400);
    !running && current_key_made_at.is_some_and(|made| made.saturating_add(period) <= now)
}

impl Store {
    /// Days between a tenant's scheduled Domain Key rotations (`None`: not scheduled).
    pub fn rotation_schedule(&self, tenant: &str) -> Result<Option<u32>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::ROTATION_SCHEDULE)?;
        Ok(table.get(tenant)?.map(|v| v.value()))
    }

    /// Every tenant with a rotation schedule, and its days.
    pub fn rotation_schedules(&self) -> Result<Vec<(String, u32)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::ROTATION_SCHEDULE)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            out.push((k.value().to_owned(), v.value()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod schedule_tests {
    use super::scheduled_rotation_due;

    const DAY: i64 = 86_400;

    #[test]
    fn a_scheduled_rotation_is_due_once_the_current_key_is_old_enough_and_none_runs() {
        let made = 1_000_000;
        assert!(!scheduled_rotation_due(
            90,
            Some(made),
            false,
            made + 90 * DAY - 1
        ));
        assert!(scheduled_rotation_due(
            90,
            Some(made),
            false,
            made + 90 * DAY
        ));
        assert!(
            !scheduled_rotation_due(90, Some(made), true, made + 365 * DAY),
            "one runs"
        );
        assert!(
            !scheduled_rotation_due(90, None, false, made + 365 * DAY),
            "no key yet"
        );
    }
}
