//! Whole-tenant export jobs as replicated state (`docs/REVERSIBILITY.md`): an export is asked
//! for, approved by a second tenant admin when the two-person rule is on, then taken once. Each
//! step is an audited command, checked here in the replicated apply step, so every node agrees
//! on who asked, who approved and whether the bundle was taken, and a request cannot be
//! approved by the admin who made it.

use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::command::Rejection;
use super::{Store, StoreError, decode, encode, tables};

/// Export jobs kept per tenant (the oldest are dropped as new ones are asked for).
pub const MAX_EXPORTS_PER_TENANT: usize = 32;

/// Seconds an export job may be approved or taken after it was asked for.
pub const EXPORT_JOB_TTL_SECS: i64 = 24 * 3600;

/// Whom the bundle's keys are wrapped for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recipient {
    /// An RSA public key (SubjectPublicKeyInfo DER): each key under a fresh AES-256 key,
    /// itself under RSA-OAEP-SHA256.
    RsaPublicKey(Vec<u8>),
    /// An AES-256 key of the tenant (its UID): each key under it with RFC 5649.
    TransferKey(String),
}

/// One export job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportJob {
    /// The job's ID (a UUID).
    pub id: String,
    /// The tenant exported.
    pub tenant: String,
    /// Whom the keys are wrapped for.
    pub recipient: Recipient,
    /// Who asked (`role/name`).
    pub requested_by: String,
    /// When, Unix seconds.
    pub requested_at: i64,
    /// Whether a second tenant admin must approve before the bundle is taken.
    pub needs_approval: bool,
    /// Who approved (`role/name`), when approved.
    pub approved_by: Option<String>,
    /// When approved.
    pub approved_at: Option<i64>,
    /// When the bundle was taken (once only).
    pub taken_at: Option<i64>,
}

impl ExportJob {
    /// Whether the bundle may be taken at `now`.
    pub fn ready(&self, now: i64) -> bool {
        (!self.needs_approval || self.approved_by.is_some())
            && self.taken_at.is_none()
            && !self.expired(now)
    }

    /// Whether the job is past its time to be approved or taken.
    pub fn expired(&self, now: i64) -> bool {
        now > self.requested_at.saturating_add(EXPORT_JOB_TTL_SECS)
    }
}

/// One step of an export job after it was asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportStep {
    /// Approved by `by` (must not be the requester).
    Approve {
        /// `role/name` of the approver.
        by: String,
    },
    /// The bundle was taken.
    Take,
}

/// Applies `Command::RequestExport`: a new job (its ID unused), the tenant's oldest dropped
/// beyond [`MAX_EXPORTS_PER_TENANT`].
pub(super) fn request(
    txn: &WriteTransaction,
    job: &ExportJob,
) -> Result<Result<(), Rejection>, StoreError> {
    if txn
        .open_table(tables::TENANTS)?
        .get(job.tenant.as_str())?
        .is_none()
    {
        return Ok(Err(Rejection::NoSuchTenant));
    }
    let mut table = txn.open_table(tables::EXPORT_JOBS)?;
    let mut older = Vec::new();
    for entry in table.range((job.tenant.as_str(), "")..)? {
        let (k, v) = entry?;
        if k.value().0 != job.tenant {
            break;
        }
        if k.value().1 == job.id {
            return Ok(Err(Rejection::NoSuchJob));
        }
        let existing: ExportJob = decode(v.value())?;
        older.push((existing.requested_at, existing.id));
    }
    super::jobs::insert_keeping(
        &mut table,
        (&job.tenant, &job.id),
        &encode(job)?,
        older,
        MAX_EXPORTS_PER_TENANT,
    )?;
    Ok(Ok(()))
}

/// Applies `Command::ExportStep`. Refused: no such job, or past its time
/// ([`Rejection::NoSuchJob`]); an approval by the requester, of a job needing none or
/// approved already ([`Rejection::ExportApproval`]); taking a job not approved or taken
/// already ([`Rejection::ExportNotReady`]).
pub(super) fn step(
    txn: &WriteTransaction,
    tenant: &str,
    id: &str,
    step: &ExportStep,
    at: i64,
) -> Result<Result<(), Rejection>, StoreError> {
    let mut table = txn.open_table(tables::EXPORT_JOBS)?;
    let job: Option<ExportJob> = table
        .get((tenant, id))?
        .map(|v| decode(v.value()))
        .transpose()?;
    let Some(mut job) = job.filter(|j| !j.expired(at)) else {
        return Ok(Err(Rejection::NoSuchJob));
    };
    match step {
        ExportStep::Approve { by } => {
            if !job.needs_approval
                || job.approved_by.is_some()
                || job.taken_at.is_some()
                || *by == job.requested_by
            {
                return Ok(Err(Rejection::ExportApproval));
            }
            job.approved_by = Some(by.clone());
            job.approved_at = Some(at);
        }
        ExportStep::Take => {
            if !job.ready(at) {
                return Ok(Err(Rejection::ExportNotReady));
            }
            job.taken_at = Some(at);
        }
    }
    table.insert((tenant, id), encode(&job)?.as_slice())?;
    Ok(Ok(()))
}

impl Store {
    /// One export job of `tenant`.
    pub fn export_job(&self, tenant: &str, id: &str) -> Result<Option<ExportJob>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::EXPORT_JOBS)?;
        table
            .get((tenant, id))?
            .map(|v| decode(v.value()))
            .transpose()
    }

    /// The export jobs of `tenant`, oldest first.
    pub fn export_jobs(&self, tenant: &str) -> Result<Vec<ExportJob>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::EXPORT_JOBS)?;
        let mut out = Vec::new();
        for entry in table.range((tenant, "")..)? {
            let (k, v) = entry?;
            if k.value().0 != tenant {
                break;
            }
            out.push(decode::<ExportJob>(v.value())?);
        }
        out.sort_by_key(|j| j.requested_at);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(needs_approval: bool) -> ExportJob {
        ExportJob {
            id: "j".into(),
            tenant: "acme".into(),
            recipient: Recipient::TransferKey("k".into()),
            requested_by: "tenant-admin/alice".into(),
            requested_at: 1000,
            needs_approval,
            approved_by: None,
            approved_at: None,
            taken_at: None,
        }
    }

    #[test]
    fn a_job_is_ready_once_approved_until_taken_or_past_its_time() {
        let mut j = job(true);
        assert!(!j.ready(1001), "not before the approval");
        j.approved_by = Some("tenant-admin/bob".into());
        assert!(j.ready(1001));
        assert!(
            !j.ready(1000 + EXPORT_JOB_TTL_SECS + 1),
            "not past its time"
        );
        assert!(j.expired(1000 + EXPORT_JOB_TTL_SECS + 1));
        j.taken_at = Some(1002);
        assert!(!j.ready(1003), "taken once only");
        assert!(
            job(false).ready(1001),
            "no approval needed without the rule"
        );
    }
}
