//! Domain Key rotation as a background job: `POST /v1/tenants/{tenant}/rotate-domain-key`
//! makes the next Domain Key version (current from then on), answers `202` with a job ID, and
//! re-seals every object of the tenant under it, one HSM call per object. `GET
//! /v1/tenants/{tenant}/jobs/{job}` reports progress.
//!
//! No downtime: the tenant record keeps the old versions while blobs are re-sealed, and every
//! blob names the version it is sealed under, so `Get` keeps working throughout. Once a pass
//! finds nothing left on an old version, the old versions are dropped from the record and the
//! HSM ([`Kms::retire_domain_keys`]).
//!
//! Jobs are kept in this node's memory (the last [`MAX_JOBS`]); the state they act on is in
//! the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;
use tracing::{info, warn};

use super::auth::Caller;
use super::error::ApiError;
use super::{AdminState, now, rfc3339};
use crate::command_log::AuditScope;
use crate::kms::Kms;
use crate::tenancy::AdminError;

/// Objects re-sealed concurrently by one rotation.
const PARALLEL: usize = 8;

/// Finished jobs remembered for progress queries.
const MAX_JOBS: usize = 64;

/// Re-seal passes before giving up on objects that keep appearing on an old version (a
/// Create that read the tenant record just before the new version was added).
const MAX_PASSES: usize = 3;

/// The operation the records of a rotation job's writes name (each re-seal names its object;
/// the retirement of the old versions, none).
pub const JOB_OPERATION: &str = "domain key rotation job";

/// A job's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Phase {
    Running,
    Completed,
    Failed,
}

/// One rotation.
#[derive(Debug)]
struct Job {
    id: String,
    tenant: String,
    to_version: u32,
    started_at: i64,
    total: AtomicU64,
    resealed: AtomicU64,
    outcome: Mutex<(Phase, Option<&'static str>, Option<i64>)>,
}

/// What `GET .../jobs/{job}` answers.
#[derive(Debug, Serialize)]
pub(crate) struct JobView {
    job: String,
    tenant: String,
    kind: &'static str,
    domain_key_version: u32,
    state: Phase,
    /// Objects found on older versions at the start.
    total: u64,
    /// Objects re-sealed so far.
    resealed: u64,
    error: Option<&'static str>,
    started_at: Option<String>,
    finished_at: Option<String>,
}

impl Job {
    fn phase(&self) -> Phase {
        self.outcome.lock().map_or(Phase::Failed, |o| o.0)
    }

    fn finish(&self, phase: Phase, error: Option<&'static str>) {
        if let Ok(mut o) = self.outcome.lock() {
            *o = (phase, error, Some(now()));
        }
    }

    fn view(&self) -> JobView {
        let (state, error, finished) = self
            .outcome
            .lock()
            .map_or((Phase::Failed, Some("job state unavailable"), None), |o| *o);
        JobView {
            job: self.id.clone(),
            tenant: self.tenant.clone(),
            kind: "rotate-domain-key",
            domain_key_version: self.to_version,
            state,
            total: self.total.load(Ordering::Relaxed),
            resealed: self.resealed.load(Ordering::Relaxed),
            error,
            started_at: rfc3339(self.started_at),
            finished_at: finished.and_then(rfc3339),
        }
    }
}

/// The node's rotation jobs.
#[derive(Debug, Default)]
pub(crate) struct Rotations {
    jobs: Mutex<HashMap<String, Arc<Job>>>,
}

impl Rotations {
    /// Number of rotations running.
    pub(crate) fn running(&self) -> usize {
        self.jobs.lock().map_or(0, |j| {
            j.values().filter(|j| j.phase() == Phase::Running).count()
        })
    }

    /// Whether a rotation of `tenant` is running.
    pub(crate) fn is_running(&self, tenant: &str) -> bool {
        self.jobs.lock().map_or(true, |j| {
            j.values()
                .any(|j| j.tenant == tenant && j.phase() == Phase::Running)
        })
    }

    fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs.lock().ok()?.get(id).cloned()
    }

    /// Registers a job unless one runs for the tenant; forgets the oldest finished ones.
    fn register(&self, job: Arc<Job>) -> Result<(), ApiError> {
        let mut jobs = self.jobs.lock().map_err(|_| ApiError::RotationRunning)?;
        if jobs
            .values()
            .any(|j| j.tenant == job.tenant && j.phase() == Phase::Running)
        {
            return Err(ApiError::RotationRunning);
        }
        while jobs.len() >= MAX_JOBS {
            let oldest = jobs
                .values()
                .filter(|j| j.phase() != Phase::Running)
                .min_by_key(|j| j.started_at)
                .map(|j| j.id.clone());
            match oldest {
                Some(id) => jobs.remove(&id),
                None => return Err(ApiError::RotationRunning),
            };
        }
        jobs.insert(job.id.clone(), job);
        Ok(())
    }
}

/// `POST /v1/tenants/{tenant}/rotate-domain-key` (operators, tenant admins): `202` and the job.
pub(crate) async fn start(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    // Register first (so two calls cannot both add a version), with the version to come.
    let record = state
        .kms
        .store()
        .tenant(&tenant)?
        .ok_or(ApiError::NoSuchTenant)?;
    let next = record
        .current_domain_key()
        .map_or(1, |d| d.version.saturating_add(1));
    let job = Arc::new(Job {
        id: uuid::Uuid::new_v4().to_string(),
        tenant: tenant.clone(),
        to_version: next,
        started_at: now(),
        total: AtomicU64::new(0),
        resealed: AtomicU64::new(0),
        outcome: Mutex::new((Phase::Running, None, None)),
    });
    state.rotations.register(job.clone())?;
    let version = match state
        .kms
        .tenancy()
        .add_domain_key_version(&scope, &tenant, now())
        .await
    {
        Ok(v) => v,
        Err(e) => {
            job.finish(Phase::Failed, Some("creating the domain key failed"));
            return Err(e.into());
        }
    };
    info!(tenant, version, job = %job.id, "domain key rotation started");
    // The job's writes (re-seals, the retirement) each leave a record of their own.
    let job_scope = Arc::new(scope.job(JOB_OPERATION));
    tokio::spawn(run(state.kms.clone(), job_scope, job.clone()));
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "job": job.id, "domain_key_version": version })),
    ))
}

/// `GET /v1/tenants/{tenant}/jobs/{job}`.
pub(crate) async fn progress(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<JobView>, ApiError> {
    let Path((tenant, id)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let job = state
        .rotations
        .get(&id)
        .filter(|j| j.tenant == tenant)
        .ok_or(ApiError::NoSuchJob)?;
    Ok(Json(job.view()))
}

/// Re-seals `uids` with at most [`PARALLEL`] in flight, so that the HSM session pool and the
/// store's group commit (one fsync for many writes) are used.
async fn reseal_all(
    kms: &Arc<Kms>,
    scope: &Arc<AuditScope>,
    job: &Arc<Job>,
    uids: Vec<String>,
) -> Result<(), AdminError> {
    let mut running = tokio::task::JoinSet::new();
    let mut uids = uids.into_iter();
    loop {
        while running.len() < PARALLEL {
            let Some(uid) = uids.next() else { break };
            let (kms, scope, tenant) = (kms.clone(), scope.clone(), job.tenant.clone());
            running.spawn(async move { kms.tenancy().reseal_object(&scope, &tenant, &uid).await });
        }
        let Some(done) = running.join_next().await else {
            return Ok(());
        };
        if done.map_err(AdminError::Task)?? {
            job.resealed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Re-seals everything still on an old version, pass after pass, then retires old versions.
async fn run(kms: Arc<Kms>, scope: Arc<AuditScope>, job: Arc<Job>) {
    let tenant = job.tenant.as_str();
    for pass in 0..MAX_PASSES {
        let pending = match kms.tenancy().objects_on_old_domain_keys(tenant) {
            Ok(p) => p,
            Err(e) => {
                warn!(tenant, error = %e, "domain key rotation: listing objects failed");
                return job.finish(Phase::Failed, Some("listing objects failed"));
            }
        };
        if pass == 0 {
            job.total.store(pending.len() as u64, Ordering::Relaxed);
        } else if pending.is_empty() {
            break;
        } else {
            job.total.fetch_add(pending.len() as u64, Ordering::Relaxed);
        }
        if let Err(e) = reseal_all(&kms, &scope, &job, pending).await {
            warn!(tenant, error = %e, "domain key rotation: re-seal failed");
            return job.finish(Phase::Failed, Some("re-sealing an object failed"));
        }
    }
    match kms.tenancy().retire_domain_keys(&scope, tenant).await {
        Ok(0) => {
            info!(tenant, job = %job.id, "domain key rotation completed");
            job.finish(Phase::Completed, None);
        }
        Ok(left) => {
            warn!(
                tenant,
                left, "domain key rotation: objects still on old versions"
            );
            job.finish(
                Phase::Failed,
                Some("objects remain on old domain key versions"),
            );
        }
        Err(e) => {
            warn!(tenant, error = %e, "domain key rotation: retiring old versions failed");
            job.finish(
                Phase::Failed,
                Some("retiring old domain key versions failed"),
            );
        }
    }
}
