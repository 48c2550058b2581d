//! Key lifecycle actions of the admin API: Activate (KMIP 1.4 section 4.19), Revoke (4.20),
//! Destroy (4.21) and Re-key (4.4), with the same state rules as the KMIP operations; and
//! `trust-wrapping` / `distrust-wrapping`, the mark that lets a Sensitive key be wrapped under
//! the key (`ops::wrap_trust`).
//!
//! The actions run the KMIP operation code itself (`ops::on_behalf`), so their state rules and
//! records are exactly those of KMIP clients.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use kmip_codec::enums::RevocationReasonCode;
use serde::Deserialize;

use super::AdminState;
use super::auth::Caller;
use super::error::ApiError;
use super::inventory::KeyView;
use super::now;
use crate::command_log::AuditScope;
use crate::ops::OpError;
use crate::ops::on_behalf::{self, KeyAction};

/// Optional body of `revoke`: `{"reason": "KeyCompromise", "message": "..."}`; the reason is a
/// KMIP Revocation Reason Code XML name, `Unspecified` when absent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    reason: Option<String>,
    message: Option<String>,
}

/// `POST /v1/tenants/{tenant}/keys/{uid}/{action}`, action `activate`, `revoke`, `destroy`,
/// `rekey`, `trust-wrapping`, `distrust-wrapping` or `cancel-destroy` (a pending destruction, see
/// `docs/PLATFORM.md`). Answers the key as the inventory shows it (for `rekey`, the new key).
pub(crate) async fn act(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    body: Bytes,
) -> Result<Json<KeyView>, ApiError> {
    let Path((tenant, uid, action)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    if ![
        "activate",
        "revoke",
        "destroy",
        "rekey",
        "trust-wrapping",
        "distrust-wrapping",
        "cancel-destroy",
    ]
    .contains(&action.as_str())
    {
        return Err(ApiError::NoSuchRoute);
    }
    let kms = &state.kms;
    let now = now();
    if action == "cancel-destroy" {
        // Not a KMIP operation: the platform's command, on a key of this tenant only (another
        // tenant's is answered like a missing one).
        kms.store()
            .object(&uid)?
            .filter(|o| o.tenant == tenant)
            .ok_or(ApiError::NoSuchKey)?;
        kms.platform()
            .cancel_destroy(&scope, &tenant, &uid, now)
            .await?;
        return view(kms, &tenant, &uid, now);
    }
    let action = match action.as_str() {
        "activate" => KeyAction::Activate,
        "revoke" => {
            let body: RevokeBody = if body.is_empty() {
                RevokeBody::default()
            } else {
                serde_json::from_slice(&body)
                    .map_err(|_| ApiError::BadRequest("invalid JSON body"))?
            };
            let code = match body.reason.as_deref() {
                None => RevocationReasonCode::UNSPECIFIED,
                Some(r) => RevocationReasonCode::from_name(r)
                    .ok_or(ApiError::BadRequest("unknown revocation reason"))?,
            };
            KeyAction::Revoke {
                code,
                message: body.message,
            }
        }
        "destroy" => KeyAction::Destroy,
        "trust-wrapping" => KeyAction::TrustForWrapping(true),
        "distrust-wrapping" => KeyAction::TrustForWrapping(false),
        _ => KeyAction::ReKey,
    };
    let uid = on_behalf::run(kms, scope, &caller.0.principal, &tenant, &uid, action)
        .await
        .map_err(api_error)?;
    view(kms, &tenant, &uid, now)
}

/// The key as the inventory shows it after an action.
fn view(
    kms: &crate::kms::Kms,
    tenant: &str,
    uid: &str,
    now: i64,
) -> Result<Json<KeyView>, ApiError> {
    let record = kms
        .store()
        .object(uid)?
        .filter(|o| o.tenant == tenant)
        .ok_or(ApiError::NoSuchKey)?;
    Ok(Json(KeyView::with_pending(&record, now, kms.store())?))
}

/// The admin API's answer for a failed key action.
fn api_error(e: OpError) -> ApiError {
    e.into()
}
