//! Backup holds (`docs/PLATFORM.md`): the backup service holds the keys a backup set needs
//! until its retention ends; while a hold lasts, no write may erase the keys' material (KMIP
//! Destroy and the admin `destroy` are refused, Revoke stays possible). The check is made in
//! the replicated apply step, so of a destroy and a hold placed at the same time exactly one
//! wins. A hold's view says whether the backup set can be restored now from the node that
//! answers (every key present and not destroyed), so the platform asks a node of the AZ it
//! means to restore in.

use std::collections::HashSet;
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
use crate::platform::MAX_HOLD_KEYS;
use crate::platform::eligibility::printable;
use crate::store::platform::HoldRecord;

/// Longest retention accepted: 100 years from now.
const MAX_RETENTION_SECS: i64 = 100 * 365 * 86_400;

/// `POST /v1/tenants/{tenant}/holds` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewHold {
    backup_set: String,
    keys: Vec<String>,
    /// RFC 3339.
    retention_until: String,
}

/// A hold as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct HoldView {
    backup_set: String,
    keys: Vec<String>,
    retention_until: Option<String>,
    /// The retention has ended: the hold no longer keeps its keys.
    expired: bool,
    placed_at: Option<String>,
    placed_by: String,
}

impl HoldView {
    fn of(h: &HoldRecord, now: i64) -> Self {
        Self {
            backup_set: h.backup_set.clone(),
            keys: h.keys.clone(),
            retention_until: rfc3339(h.retention_until),
            expired: h.retention_until <= now,
            placed_at: rfc3339(h.placed_at),
            placed_by: h.placed_by.clone(),
        }
    }
}

/// `GET /v1/tenants/{tenant}/holds`.
pub(crate) async fn list(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let now = now();
    let holds: Vec<HoldView> = state
        .kms
        .store()
        .holds_of(&tenant)?
        .iter()
        .map(|h| HoldView::of(h, now))
        .collect();
    Ok(Json(
        serde_json::json!({ "tenant": tenant, "holds": holds }),
    ))
}

/// `POST /v1/tenants/{tenant}/holds`: places a hold (201). Another tenant's key is answered
/// like a missing one ("no such key").
pub(crate) async fn place(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<NewHold>, JsonRejection>,
) -> Result<(StatusCode, Json<HoldView>), ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    if !printable(&body.backup_set) {
        return Err(ApiError::BadRequest(
            "backup_set must be 1 to 256 printable characters",
        ));
    }
    if body.keys.is_empty() || body.keys.len() > MAX_HOLD_KEYS {
        return Err(ApiError::BadRequest("keys must name 1 to 1000 keys"));
    }
    let distinct: HashSet<&str> = body.keys.iter().map(String::as_str).collect();
    if distinct.len() != body.keys.len() || !body.keys.iter().all(|k| printable(k)) {
        return Err(ApiError::BadRequest(
            "keys must be distinct key identifiers",
        ));
    }
    let now = now();
    let until = time::OffsetDateTime::parse(
        &body.retention_until,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| ApiError::BadRequest("retention_until must be an RFC 3339 time"))?
    .unix_timestamp();
    if until <= now {
        return Err(ApiError::BadRequest("retention_until is in the past"));
    }
    if until > now.saturating_add(MAX_RETENTION_SECS) {
        return Err(ApiError::BadRequest(
            "retention_until is more than 100 years away",
        ));
    }
    scope.note_object(&format!("backup-set:{}", body.backup_set));
    let principal = &caller.0.principal;
    let hold = HoldRecord {
        tenant: tenant.clone(),
        backup_set: body.backup_set,
        keys: body.keys,
        retention_until: until,
        placed_at: now,
        placed_by: format!("{}/{}", principal.role.as_str(), principal.client),
    };
    state
        .kms
        .platform()
        .place_hold(&scope, hold.clone())
        .await?;
    Ok((StatusCode::CREATED, Json(HoldView::of(&hold, now))))
}

/// `GET /v1/tenants/{tenant}/holds/{set}`: the keys the backup set needs, each with its state,
/// and whether the set can be restored now from this node.
pub(crate) async fn one(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path((tenant, set)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let hold = state
        .kms
        .store()
        .hold(&tenant, &set)?
        .ok_or(ApiError::NoSuchHold)?;
    let now = now();
    let mut keys = Vec::with_capacity(hold.keys.len());
    let mut restorable = true;
    for uid in &hold.keys {
        let record = state
            .kms
            .store()
            .object(uid)?
            .filter(|o| o.tenant == tenant);
        // A key pending destruction keeps its material but is not served (Destroyed for KMIP):
        // not restorable until the destroy is cancelled.
        let readable = record.as_ref().is_some_and(|o| {
            o.material.is_some()
                && !crate::ops::state::is_destroyed(crate::ops::state::effective(o, now))
        });
        restorable &= readable;
        keys.push(serde_json::json!({
            "uid": uid,
            "present": record.is_some(),
            "state": record.as_ref().map(|o| {
                crate::ops::state::effective(o, now).name().unwrap_or("Unknown")
            }),
            "material": readable,
        }));
    }
    Ok(Json(serde_json::json!({
        "tenant": tenant,
        "hold": HoldView::of(&hold, now),
        "keys": keys,
        "restorable": restorable,
        "served_by": state.kms.log_name(),
    })))
}

/// `DELETE /v1/tenants/{tenant}/holds/{set}`: releases the hold.
pub(crate) async fn release(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path((tenant, set)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    scope.note_object(&format!("backup-set:{set}"));
    state
        .kms
        .platform()
        .release_hold(&scope, &tenant, &set)
        .await?;
    Ok(Json(
        serde_json::json!({ "tenant": tenant, "released": set }),
    ))
}
