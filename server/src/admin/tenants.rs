//! Operator routes: tenants (create, list, suspend, resume), node status, and the probes and
//! metrics.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::consistency::LOCAL_VIEW;
use super::error::ApiError;
use super::{AdminState, now, rfc3339};
use crate::command_log::AuditScope;
use crate::store::records::TenantRecord;

/// A tenant as the API shows it (no key material: the Domain Key is only named by version).
#[derive(Debug, Serialize)]
pub(crate) struct TenantView {
    id: String,
    suspended: bool,
    created_at: Option<String>,
    /// The version new keys are sealed under.
    domain_key_version: Option<u32>,
    /// Every version kept (more than one while a rotation is re-sealing).
    domain_key_versions: Vec<u32>,
}

impl From<&TenantRecord> for TenantView {
    fn from(t: &TenantRecord) -> Self {
        Self {
            id: t.id.clone(),
            suspended: t.suspended,
            created_at: rfc3339(t.created_at),
            domain_key_version: t.current_domain_key().map(|d| d.version),
            domain_key_versions: t.domain_keys.iter().map(|d| d.version).collect(),
        }
    }
}

/// `POST /v1/tenants` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTenant {
    id: String,
}

/// `GET /healthz`: the process answers (any verified client certificate). This node's own view.
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "view": LOCAL_VIEW }))
}

/// `GET /readyz`: the store answers, the HSM draws a random byte and the audit trail takes
/// writes; else an error (503 for the HSM and the audit trail). Free space under the audit
/// directory below the watermark keeps the answer 200, since the node still serves correctly
/// and a 503 would take it (or every node of a cluster on like disks) out of service before
/// anything failed, but turns `status` to `degraded` with `audit_disk: "low"` and a warning:
/// the alert comes while there is time to act. Amounts are only in `/metrics` (operators).
/// This node's own view: it does not say whether the node can reach the cluster
/// (`/v1/cluster` does).
pub(crate) async fn readyz(State(state): State<Arc<AdminState>>) -> Result<Response, ApiError> {
    state.kms.store().tenants()?;
    state.kms.keys().probe().await.map_err(ApiError::Hsm)?;
    if !state.kms.audit().is_healthy() {
        return Err(ApiError::AuditUnavailable);
    }
    let disk = state.kms.audit().check_disk();
    let mut body = serde_json::json!({
        "status": "ready", "store": "ok", "hsm": "ok", "audit": "ok", "audit_disk": "ok",
        "certificates": "ok", "view": LOCAL_VIEW
    });
    let mut warnings = Vec::new();
    if disk.low {
        body["audit_disk"] = "low".into();
        warnings.push(
            "free space under the audit directory is below the watermark: \
             the audit trail refuses every request once the disk is full"
                .to_owned(),
        );
    }
    let expiring = super::certificates::expiring(&state.certificates);
    if !expiring.is_empty() {
        body["certificates"] = "expiring".into();
        warnings.extend(expiring);
    }
    if !warnings.is_empty() {
        body["status"] = "degraded".into();
        body["warnings"] = warnings.into();
    }
    Ok(Json(body).into_response())
}

/// `GET /metrics`: Prometheus text exposition (operators).
pub(crate) async fn metrics(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
) -> Result<Response, ApiError> {
    state.kms.audit().check_disk();
    state.kms.metrics().certificate_expiry(
        &state
            .certificates
            .expiry_seconds(super::certificates::now()),
    );
    let text = state
        .kms
        .metrics()
        .render(
            state.kms.keys().cached(),
            state.kms.cluster().map(|c| c.sample()).as_ref(),
            Some(state.kms.audit().stats()),
        )
        .map_err(ApiError::Render)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// `GET /v1/node/status` (operators): this node's own view, counted in its store as it is
/// (not linearized: answered on a node cut off from the cluster too).
pub(crate) async fn node_status(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let kms = &state.kms;
    let tenants = kms.store().tenants()?;
    let mut clients = kms.store().clients_of(None)?.len();
    let mut objects = 0usize;
    for t in &tenants {
        clients += kms.store().clients_of(Some(&t.id))?.len();
        kms.store().for_each_object_of(&t.id, |_| {
            objects += 1;
            true
        })?;
    }
    let (hits, misses) = kms.metrics().key_cache_counts();
    Ok(Json(serde_json::json!({
        "node_id": kms.node_id(),
        "version": env!("CARGO_PKG_VERSION"),
        "root_kcv": kms.keys().hsm().root_kcv().to_string(),
        "hsm_token": kms.keys().hsm().token_label(),
        "uptime_secs": state.started.elapsed().as_secs(),
        "counts": {
            "tenants": tenants.len(),
            "clients": clients,
            "objects": objects,
            "cached_keys": kms.keys().cached(),
        },
        "key_cache": { "hits": hits, "misses": misses },
        "rotations_running": super::rotation::running(kms)?,
        "view": LOCAL_VIEW,
    })))
}

/// `GET /v1/tenants` (operators).
pub(crate) async fn list_tenants(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenants: Vec<TenantView> = state
        .kms
        .store()
        .tenants()?
        .iter()
        .map(TenantView::from)
        .collect();
    Ok(Json(serde_json::json!({ "tenants": tenants })))
}

/// `POST /v1/tenants` (operators): a new tenant with its Domain Key version 1, made in the HSM.
pub(crate) async fn create_tenant(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    body: Result<Json<NewTenant>, JsonRejection>,
) -> Result<(StatusCode, Json<TenantView>), ApiError> {
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    if certs::identity::TenantId::new(body.id.as_str()).is_err() {
        return Err(ApiError::BadRequest("invalid tenant id"));
    }
    // The record of the creation starts the new tenant's chain, so its auditors see it.
    scope.creating_tenant(&body.id);
    let record = state
        .kms
        .tenancy()
        .create_tenant(&scope, &body.id, now())
        .await?;
    Ok((StatusCode::CREATED, Json(TenantView::from(&record))))
}

/// `GET /v1/tenants/{tenant}` (operators; tenant admins and auditors: their own).
pub(crate) async fn get_tenant(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<TenantView>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let record = state
        .kms
        .store()
        .tenant(&tenant)?
        .ok_or(ApiError::NoSuchTenant)?;
    Ok(Json(TenantView::from(&*record)))
}

/// `POST /v1/tenants/{tenant}/suspend` (operators): every principal of the tenant is refused
/// from its next request on, on open connections too.
pub(crate) async fn suspend(
    state: State<Arc<AdminState>>,
    _granted: Caller,
    scope: Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<TenantView>, ApiError> {
    set_suspended(state, scope, path, true).await
}

/// `POST /v1/tenants/{tenant}/resume` (operators).
pub(crate) async fn resume(
    state: State<Arc<AdminState>>,
    _granted: Caller,
    scope: Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<TenantView>, ApiError> {
    set_suspended(state, scope, path, false).await
}

async fn set_suspended(
    State(state): State<Arc<AdminState>>,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
    suspended: bool,
) -> Result<Json<TenantView>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    if super::rotation::is_running(&state.kms, &tenant)? {
        // Both rewrite the whole tenant record; let the rotation finish first.
        return Err(ApiError::RotationRunning);
    }
    let record = state
        .kms
        .tenancy()
        .set_tenant_suspended(&scope, &tenant, suspended)
        .await?;
    Ok(Json(TenantView::from(&record)))
}
