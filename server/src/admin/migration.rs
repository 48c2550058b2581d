//! Tenant migration routes (`docs/REVERSIBILITY.md`, `docs/ADMIN-API.md`): export jobs with the
//! two-person rule, the bundle taken once, the import of a bundle, and the tenant's import key
//! pair. The work itself is `ops::migration`'s.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::{AdminState, now, rfc3339};
use crate::command_log::AuditScope;
use crate::ops::migration::{self, BundleFiles, bundle};
use crate::store::exports::{ExportJob, ExportStep, Recipient};
use crate::store::{Command, Rejection};

/// Largest import request body: a bundle of [`migration::MAX_BUNDLE_OBJECTS`] keys.
pub(super) const MAX_IMPORT_BODY: usize = 64 << 20;

/// `POST /v1/tenants/{tenant}/exports` body: exactly one of the two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewExport {
    /// The customer's RSA public key (PEM): keys go under a fresh transfer key wrapped for it.
    recipient_public_key: Option<String>,
    /// An AES-256 key of the tenant to wrap the keys under.
    transfer_key: Option<String>,
}

/// An export job as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct ExportView {
    id: String,
    tenant: String,
    /// `rsa-oaep-sha256` or `aes-256-transfer-key`.
    recipient: &'static str,
    /// SHA-256 of the recipient's public key, or the transfer key's UID.
    recipient_key: String,
    requested_by: String,
    requested_at: Option<String>,
    needs_approval: bool,
    approved_by: Option<String>,
    approved_at: Option<String>,
    taken_at: Option<String>,
    /// `awaiting_approval`, `ready`, `taken` or `expired`.
    status: &'static str,
}

impl ExportView {
    fn of(job: &ExportJob, now: i64) -> Self {
        let (recipient, recipient_key) = match &job.recipient {
            Recipient::RsaPublicKey(spki) => ("rsa-oaep-sha256", bundle::sha256_hex(spki)),
            Recipient::TransferKey(uid) => ("aes-256-transfer-key", uid.clone()),
        };
        let status = if job.taken_at.is_some() {
            "taken"
        } else if job.expired(now) {
            "expired"
        } else if job.ready(now) {
            "ready"
        } else {
            "awaiting_approval"
        };
        Self {
            id: job.id.clone(),
            tenant: job.tenant.clone(),
            recipient,
            recipient_key,
            requested_by: job.requested_by.clone(),
            requested_at: rfc3339(job.requested_at),
            needs_approval: job.needs_approval,
            approved_by: job.approved_by.clone(),
            approved_at: job.approved_at.and_then(rfc3339),
            taken_at: job.taken_at.and_then(rfc3339),
            status,
        }
    }
}

/// `role/name` of the caller, as jobs record it.
fn who(caller: &Caller) -> String {
    let p = &caller.0.principal;
    format!("{}/{}", p.role.as_str(), p.client)
}

/// `POST /v1/tenants/{tenant}/exports`: asks for a whole-tenant export (201). With the
/// two-person rule on, a second tenant admin approves it before the bundle can be taken.
pub(crate) async fn request(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<NewExport>, JsonRejection>,
) -> Result<(StatusCode, Json<ExportView>), ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    let recipient = match (body.recipient_public_key, body.transfer_key) {
        (Some(pem), None) => {
            let spki = bundle::spki_from_pem(&pem).ok_or(ApiError::BadRequest(
                "recipient_public_key must be one PEM public key",
            ))?;
            migration::check_recipient(&spki)?;
            Recipient::RsaPublicKey(spki)
        }
        (None, Some(uid)) => {
            state
                .kms
                .store()
                .object(&uid)?
                .filter(|o| o.tenant == tenant)
                .ok_or(ApiError::NoSuchKey)?;
            Recipient::TransferKey(uid)
        }
        _ => {
            return Err(ApiError::BadRequest(
                "give exactly one of recipient_public_key and transfer_key",
            ));
        }
    };
    let now = now();
    let job = ExportJob {
        id: uuid::Uuid::new_v4().to_string(),
        tenant,
        recipient,
        requested_by: who(&caller),
        requested_at: now,
        needs_approval: state.two_person_export,
        approved_by: None,
        approved_at: None,
        taken_at: None,
    };
    scope.note_object(&format!("export:{}", job.id));
    state
        .kms
        .log
        .commit(&scope, Command::RequestExport(Box::new(job.clone())))
        .await?
        .map_err(ApiError::from)?;
    Ok((StatusCode::CREATED, Json(ExportView::of(&job, now))))
}

/// `GET /v1/tenants/{tenant}/exports`.
pub(crate) async fn list(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let now = now();
    let jobs: Vec<ExportView> = state
        .kms
        .store()
        .export_jobs(&tenant)?
        .iter()
        .map(|j| ExportView::of(j, now))
        .collect();
    Ok(Json(
        serde_json::json!({ "tenant": tenant, "exports": jobs }),
    ))
}

/// `POST /v1/tenants/{tenant}/exports/{job}/approve`: a second tenant admin approves (never
/// the one who asked; once).
pub(crate) async fn approve(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ExportView>, ApiError> {
    let Path((tenant, id)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    scope.note_object(&format!("export:{id}"));
    let step = Command::ExportStep {
        tenant: tenant.clone(),
        job: id.clone(),
        step: ExportStep::Approve { by: who(&caller) },
        at: now(),
    };
    state
        .kms
        .log
        .commit(&scope, step)
        .await?
        .map_err(ApiError::from)?;
    let job = state
        .kms
        .store()
        .export_job(&tenant, &id)?
        .ok_or(ApiError::NoSuchJob)?;
    Ok(Json(ExportView::of(&job, now())))
}

/// `POST /v1/tenants/{tenant}/exports/{job}/bundle`: makes and answers the bundle of an
/// approved (or approval-free) job, once; every exported key is recorded in the trail.
pub(crate) async fn take(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<BundleFiles>, ApiError> {
    let Path((tenant, id)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    scope.note_object(&format!("export:{id}"));
    let job = state
        .kms
        .store()
        .export_job(&tenant, &id)?
        .ok_or(ApiError::NoSuchJob)?;
    if !job.ready(now()) {
        return Err(ApiError::from(Rejection::ExportNotReady));
    }
    let files =
        migration::take_export(&state.kms, scope.clone(), &caller.0.principal, &job).await?;
    Ok(Json(files))
}

/// `POST /v1/tenants/{tenant}/imports` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewImport {
    /// The bundle as `kmsctl tenant export` wrote it.
    bundle: BundleFiles,
    /// The tenant's key that unwraps the transfer key (its import private key, or the AES-256
    /// transfer key).
    unwrap_key: String,
    /// The exporting node's audit public key (PEM), obtained from the source installation
    /// out of band: the bundle must be signed by it.
    signer: String,
}

/// `POST /v1/tenants/{tenant}/imports`: imports a bundle, all or nothing (201).
pub(crate) async fn import(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<NewImport>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let Json(body) = body.map_err(|_| {
        ApiError::BadRequest("invalid JSON body: {bundle, unwrap_key, signer} expected")
    })?;
    scope.note_object(&format!("import:{}", body.unwrap_key));
    let done = migration::import_bundle(
        &state.kms,
        scope.clone(),
        &caller.0.principal,
        &tenant,
        &body.bundle,
        &body.unwrap_key,
        &body.signer,
    )
    .await?;
    let skipped: Vec<_> = done
        .skipped_at_export
        .iter()
        .map(|s| serde_json::json!({ "uid": s.uid, "reason": s.reason }))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "tenant": tenant,
            "source_tenant": done.source_tenant,
            "source_node": done.source_node,
            "imported": done.keys,
            "skipped_at_export": skipped,
        })),
    ))
}

/// `POST /v1/tenants/{tenant}/import-key`: makes the tenant's import key pair (201).
pub(crate) async fn import_key(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let made =
        migration::create_import_key(&state.kms, scope.clone(), &caller.0.principal, &tenant)
            .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "tenant": tenant,
            "private_key": made.private_key,
            "public_key": made.public_key,
            "public_key_pem": made.public_key_pem,
        })),
    ))
}
