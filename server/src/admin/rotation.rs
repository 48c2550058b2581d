//! Domain Key rotation as a cluster job: `POST /v1/tenants/{tenant}/rotate-domain-key` makes the
//! next Domain Key version and, in the same replicated batch, starts a job (`store::jobs`);
//! it answers `202` with the job ID. The node that leads the cluster at the time (a node alone
//! always does) drives every running job ([`run_jobs`]): it re-seals every object of the tenant
//! under the new version, one HSM call and one audited write per object, records the job's
//! progress in the replicated table as it goes, then retires the old versions and records the
//! end. `GET /v1/tenants/{tenant}/jobs/{job}` answers the job from the store on any node.
//!
//! No downtime: the tenant record keeps the old versions while blobs are re-sealed, and every
//! blob names the version it is sealed under, so `Get` keeps working throughout. A job survives
//! its leader: nothing of it is in one node's memory, what is left to re-seal is found again
//! from the store, and a re-seal or progress word from an old leader is refused or harmless
//! (every write names the revision it read; a finished job never changes again).
//!
//! A tenant may also have a schedule (`PUT /v1/tenants/{tenant}/platform/domain-key-rotation`,
//! `{"every_days": 90}`): the leader then starts a rotation by itself once the current Domain
//! Key version is that many days old and none runs ([`run_jobs`], at most a minute late); the
//! job names `node/steward` as its starter and goes on exactly like one an admin started.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;
use tokio::sync::watch;
use tracing::{info, warn};

use super::auth::Caller;
use super::error::ApiError;
use super::{AdminState, now, rfc3339};
use crate::command_log::AuditScope;
use crate::kms::Kms;
use crate::platform::steward::{TICK, leads};
use crate::store::Command;
use crate::store::jobs::{JobChange, JobPhase, RotationJob};
use crate::tenancy::AdminError;

/// Objects re-sealed concurrently by one rotation.
const PARALLEL: usize = 8;

/// Progress is recorded (one replicated write) at least this often while re-sealing.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Re-seal passes before giving up on objects that keep appearing on an old version (a
/// Create that read the tenant record just before the new version was added).
const MAX_PASSES: usize = 3;

/// The operation the records of a rotation job's writes name (each re-seal names its object;
/// the retirement of the old versions, none).
pub const JOB_OPERATION: &str = "domain key rotation job";

/// The operation the records of a job's progress words name (progress, end).
pub const PROGRESS_OPERATION: &str = "domain key rotation progress";

/// What `GET .../jobs/{job}` answers.
#[derive(Debug, Serialize)]
pub(crate) struct JobView {
    job: String,
    tenant: String,
    kind: &'static str,
    domain_key_version: u32,
    state: &'static str,
    /// Objects found on older versions.
    total: u64,
    /// Objects done so far (re-sealed, or found on the new version already).
    resealed: u64,
    error: Option<String>,
    started_at: Option<String>,
    finished_at: Option<String>,
}

impl JobView {
    fn of(job: RotationJob) -> Self {
        JobView {
            job: job.id,
            tenant: job.tenant,
            kind: "rotate-domain-key",
            domain_key_version: job.to_version,
            state: match job.phase {
                JobPhase::Running => "running",
                JobPhase::Completed => "completed",
                JobPhase::Failed => "failed",
            },
            total: job.total,
            resealed: job.resealed,
            error: job.error,
            started_at: rfc3339(job.started_at),
            finished_at: job.finished_at.and_then(rfc3339),
        }
    }
}

/// Number of rotation jobs running in the cluster (as this node's store has it).
pub(crate) fn running(kms: &Kms) -> Result<usize, ApiError> {
    Ok(kms.store().running_rotations(None)?.len())
}

/// Whether a rotation job of `tenant` runs.
pub(crate) fn is_running(kms: &Kms, tenant: &str) -> Result<bool, ApiError> {
    Ok(!kms.store().running_rotations(Some(tenant))?.is_empty())
}

/// `POST /v1/tenants/{tenant}/rotate-domain-key` (operators, tenant admins): `202` and the job.
pub(crate) async fn start(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    state
        .kms
        .store()
        .tenant(&tenant)?
        .ok_or(ApiError::NoSuchTenant)?;
    // Refused before the HSM makes a key; the replicated start refuses a race all the same.
    if is_running(&state.kms, &tenant)? {
        return Err(ApiError::RotationRunning);
    }
    let id = uuid::Uuid::new_v4().to_string();
    let job = state
        .kms
        .tenancy()
        .start_rotation(&scope, &tenant, &id, started_by(&caller), now())
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "job": job.id, "domain_key_version": job.to_version })),
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
        .kms
        .store()
        .rotation_job(&tenant, &id)?
        .ok_or(ApiError::NoSuchJob)?;
    Ok(Json(JobView::of(job)))
}

/// How often the leader looks for scheduled rotations that are due (schedules count days).
const SCHEDULE_PASS_EVERY: Duration = Duration::from_secs(60);

/// The operation the record of a rotation the schedule started names.
pub const SCHEDULED_OPERATION: &str = "scheduled domain key rotation";

/// Who the job record of a scheduled rotation names as its starter.
const SCHEDULER: &str = "node/steward";

/// Starts the rotations whose tenant's schedule (`PUT .../platform/domain-key-rotation`) made
/// them due at `now` (`store::jobs::scheduled_rotation_due`): decided from the replicated
/// store alone, so a new leader decides the same; two leaders starting one at once are
/// settled by the replicated start, which refuses a second running job of a tenant.
/// Answers how many it started. Public for the end-to-end test, which calls it with a `now`
/// days ahead instead of waiting the schedule's days.
pub async fn start_scheduled(kms: &Kms, now: i64) -> Result<usize, AdminError> {
    let mut started = 0;
    for (tenant, days) in kms.store().rotation_schedules()? {
        let Some(record) = kms.store().tenant(&tenant)? else {
            continue;
        };
        let made = record.current_domain_key().map(|d| d.created_at);
        let running = !kms.store().running_rotations(Some(&tenant))?.is_empty();
        if !crate::store::jobs::scheduled_rotation_due(days, made, running, now) {
            continue;
        }
        let mut template =
            crate::audit::success(kms.log_name(), audit_log::Kind::Admin, SCHEDULED_OPERATION);
        template.tenant = Some(tenant.clone());
        template.principal = Some(audit_log::Principal::named("node", "steward"));
        let scope = AuditScope::cluster_task(template);
        let id = uuid::Uuid::new_v4().to_string();
        let job = kms
            .tenancy()
            .start_rotation(&scope, &tenant, &id, SCHEDULER.to_owned(), now)
            .await?;
        info!(%tenant, job = %job.id, version = job.to_version, "scheduled Domain Key rotation started");
        started += 1;
    }
    Ok(started)
}

/// Drives every running rotation job while this node leads, and starts the scheduled ones that
/// are due, until `stop` turns true. Which jobs this node drives now is the only thing kept in
/// memory.
pub async fn run_jobs(kms: Arc<Kms>, mut stop: watch::Receiver<bool>) {
    let driving: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut scheduled_at: Option<Instant> = None;
    loop {
        tokio::select! {
            () = tokio::time::sleep(TICK) => {}
            _ = stop.changed() => return,
        }
        if !leads(&kms.log) {
            continue;
        }
        if scheduled_at.is_none_or(|t| t.elapsed() >= SCHEDULE_PASS_EVERY) {
            scheduled_at = Some(Instant::now());
            if let Err(e) = start_scheduled(&kms, now()).await {
                warn!(error = %e, "starting the scheduled rotations failed; tried again next pass");
            }
        }
        let jobs = match kms.store().running_rotations(None) {
            Ok(jobs) => jobs,
            Err(e) => {
                warn!(error = %e, "reading the rotation jobs failed");
                continue;
            }
        };
        for job in jobs {
            let fresh = driving.lock().is_ok_and(|mut d| d.insert(job.id.clone()));
            if fresh {
                let (kms, driving) = (kms.clone(), driving.clone());
                tokio::spawn(async move {
                    let id = job.id.clone();
                    drive(&kms, job).await;
                    if let Ok(mut d) = driving.lock() {
                        d.remove(&id);
                    }
                });
            }
        }
    }
}

/// Who starts a job, as its record keeps it: `role/name`.
fn started_by(caller: &Caller) -> String {
    let p = &caller.0.principal;
    format!("{}/{}", p.role.as_str(), p.client)
}

/// The audit scope of a job's writes named `operation`: each carries a record of its own, in
/// the tenant's chain, naming who started the job (by role and name).
fn job_scope(kms: &Kms, job: &RotationJob, operation: &str) -> AuditScope {
    let mut template = crate::audit::success(kms.log_name(), audit_log::Kind::Admin, operation);
    template.tenant = Some(job.tenant.clone());
    let (role, name) = job
        .started_by
        .split_once('/')
        .unwrap_or(("unknown", job.started_by.as_str()));
    template.principal = Some(audit_log::Principal::named(role, name));
    AuditScope::cluster_task(template)
}

/// Records a change of the job; `false` when it was not recorded (the job is no longer
/// running, or the write failed: the next leader takes over).
async fn record(kms: &Kms, job: &RotationJob, change: JobChange) -> bool {
    let scope = &job_scope(kms, job, PROGRESS_OPERATION);
    let command = Command::UpdateRotation {
        tenant: job.tenant.clone(),
        job: job.id.clone(),
        change,
        at: now(),
    };
    match kms.log.commit(scope, command).await {
        Ok(Ok(())) => true,
        Ok(Err(rejection)) => {
            info!(job = %job.id, %rejection, "rotation job no longer running here");
            false
        }
        Err(e) => {
            warn!(job = %job.id, error = %e, "recording rotation progress failed");
            false
        }
    }
}

/// Re-seals what is left on old versions, pass after pass, then retires them; stops as soon as
/// this node no longer leads (the next leader carries on from the store).
async fn drive(kms: &Arc<Kms>, job: RotationJob) {
    let tenant = job.tenant.as_str();
    let scope = Arc::new(job_scope(kms, &job, JOB_OPERATION));
    let mut resealed = job.resealed;
    let mut total = job.total;
    info!(tenant, job = %job.id, resealed, "driving domain key rotation");
    // A new leader may not have applied every committed entry yet: read what it holds only
    // once it has (else it would re-seal again what the old leader did).
    if let Err(e) = kms.log.linearize().await {
        warn!(tenant, error = %e, "domain key rotation: catching up failed; retried next tick");
        return;
    }
    for pass in 0..MAX_PASSES {
        let pending = match kms.tenancy().objects_on_old_domain_keys(tenant) {
            Ok(p) => p,
            Err(e) => {
                warn!(tenant, error = %e, "domain key rotation: listing objects failed");
                if !leads(&kms.log) {
                    return;
                }
                return fail(kms, &job, "listing objects failed").await;
            }
        };
        if pass > 0 && pending.is_empty() {
            break;
        }
        if pass == 0 && job.total > 0 {
            // Resumed: what an earlier leader re-sealed without recording it is done too.
            resealed = resealed.max(job.total.saturating_sub(pending.len() as u64));
        }
        total = total.max(resealed.saturating_add(pending.len() as u64));
        if !record(kms, &job, JobChange::Progress { total, resealed }).await {
            return;
        }
        match reseal_all(kms, &scope, &job, pending, &mut resealed).await {
            Ok(true) => {}
            Ok(false) => return,
            // A write not committed (a leader change, no quorum) fails nothing: whoever leads
            // next (this node again, a tick later) carries on.
            Err(e @ AdminError::Commit(_)) => {
                warn!(tenant, error = %e, "domain key rotation: a re-seal was not committed; resumed later");
                return;
            }
            Err(e) => {
                warn!(tenant, error = %e, "domain key rotation: re-seal failed");
                if !leads(&kms.log) {
                    return;
                }
                return fail(kms, &job, "re-sealing an object failed").await;
            }
        }
    }
    if !leads(&kms.log) {
        return;
    }
    let finished = match kms.tenancy().retire_domain_keys(&scope, tenant).await {
        Ok(0) => JobChange::Finished {
            phase: JobPhase::Completed,
            error: None,
        },
        Ok(left) => {
            warn!(
                tenant,
                left, "domain key rotation: objects still on old versions"
            );
            JobChange::Finished {
                phase: JobPhase::Failed,
                error: Some("objects remain on old domain key versions".to_owned()),
            }
        }
        Err(e @ AdminError::Commit(_)) => {
            warn!(tenant, error = %e, "domain key rotation: the retirement was not committed; resumed later");
            return;
        }
        Err(e) => {
            warn!(tenant, error = %e, "domain key rotation: retiring old versions failed");
            JobChange::Finished {
                phase: JobPhase::Failed,
                error: Some("retiring old domain key versions failed".to_owned()),
            }
        }
    };
    let _ = record(kms, &job, JobChange::Progress { total, resealed }).await;
    if record(kms, &job, finished).await {
        info!(tenant, job = %job.id, resealed, "domain key rotation finished");
    }
}

async fn fail(kms: &Kms, job: &RotationJob, why: &str) {
    let change = JobChange::Finished {
        phase: JobPhase::Failed,
        error: Some(why.to_owned()),
    };
    record(kms, job, change).await;
}

/// Re-seals `uids` with at most [`PARALLEL`] in flight, so that the HSM session pool and the
/// store's group commit (one fsync for many writes) are used, recording progress every
/// [`PROGRESS_EVERY`]. `Ok(false)`: this node stopped leading (or the job stopped running).
async fn reseal_all(
    kms: &Arc<Kms>,
    scope: &Arc<AuditScope>,
    job: &RotationJob,
    uids: Vec<String>,
    resealed: &mut u64,
) -> Result<bool, AdminError> {
    let total = job.total.max(resealed.saturating_add(uids.len() as u64));
    let mut running = tokio::task::JoinSet::new();
    let mut uids = uids.into_iter();
    let mut recorded = Instant::now();
    loop {
        while running.len() < PARALLEL && leads(&kms.log) {
            let Some(uid) = uids.next() else { break };
            let (kms, scope, tenant) = (kms.clone(), scope.clone(), job.tenant.clone());
            running.spawn(async move { kms.tenancy().reseal_object(&scope, &tenant, &uid).await });
        }
        let Some(done) = running.join_next().await else {
            return Ok(uids.next().is_none());
        };
        // Re-sealed now, or found done already (by an earlier leader, or gone): either way
        // no longer on an old version.
        done.map_err(AdminError::Task)??;
        *resealed += 1;
        if recorded.elapsed() >= PROGRESS_EVERY {
            recorded = Instant::now();
            let progress = JobChange::Progress {
                total,
                resealed: *resealed,
            };
            if !record(kms, job, progress).await {
                return Ok(false);
            }
        }
    }
}
