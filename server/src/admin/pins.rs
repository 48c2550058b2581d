//! Pin claims after enrollment (`identity::claim` explains the scheme):
//! - `POST .../clients/{name}/claim-token` (tenant admin, operator): a new enrollment token
//!   for a pending claim (the old one stops binding; the claim's lifetime starts again);
//! - `POST .../clients/{name}/bind` (operators only) `{"fingerprint": "<hex>"}`: binds a
//!   pending claim without a token, once the operator has checked out of band that the
//!   certificate with that fingerprint is the tenant's. The fingerprint must be the claim's, so
//!   the operator approves exactly the certificate it checked.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;

use super::auth::Caller;
use super::clients::{ClientView, new_claim, normalize_fingerprint};
use super::error::ApiError;
use super::{AdminState, now};
use crate::command_log::AuditScope;
use crate::store::Command;
use crate::store::records::{ClientIdentity, ClientRecord, client_key};

/// `POST .../clients/{name}/bind` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Approval {
    /// The fingerprint the operator checked (hex, `:` allowed, any case).
    fingerprint: String,
}

/// The tenant's client `name`.
fn client_of(state: &AdminState, tenant: &str, name: &str) -> Result<ClientRecord, ApiError> {
    state
        .kms
        .store()
        .client(&client_key(Some(tenant), name))?
        .map(|c| ClientRecord::clone(&c))
        .ok_or(ApiError::NoSuchClient)
}

/// `POST /v1/tenants/{tenant}/clients/{name}/claim-token`.
pub(crate) async fn renew_token(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ClientView>, ApiError> {
    let Path((tenant, name)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let mut client = client_of(&state, &tenant, &name)?;
    let ClientIdentity::PendingPin { fingerprint, .. } = &client.identity else {
        return Err(ApiError::NoPendingClaim);
    };
    let (identity, token) = new_claim(&state, fingerprint.clone(), now());
    client.identity = identity;
    state
        .kms
        .tenancy()
        .enroll_client(&scope, client.clone())
        .await?;
    Ok(Json(ClientView::from(&client).with_token(token)))
}

/// `POST /v1/tenants/{tenant}/clients/{name}/bind` (operators).
pub(crate) async fn bind(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<Approval>, JsonRejection>,
) -> Result<Json<ClientView>, ApiError> {
    let Path((tenant, name)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    let approved = normalize_fingerprint(&body.fingerprint)
        .ok_or(ApiError::BadRequest("fingerprint must be a SHA-256 in hex"))?;
    let client = client_of(&state, &tenant, &name)?;
    match &client.identity {
        ClientIdentity::PendingPin { fingerprint, .. } if *fingerprint == approved => {}
        ClientIdentity::PendingPin { .. }
        | ClientIdentity::Pinned { .. }
        | ClientIdentity::CaIssued => return Err(ApiError::NoPendingClaim),
    }
    state
        .kms
        .log
        .commit(
            &scope,
            Command::BindPin {
                client: client.key(),
                fingerprint: approved,
                token_digest: None,
            },
        )
        .await??;
    tracing::info!(
        tenant,
        client = name,
        "pinned certificate bound by an operator"
    );
    let bound = state
        .kms
        .store()
        .client(&client.key())?
        .ok_or(ApiError::NoSuchClient)?;
    Ok(Json(ClientView::from(bound.as_ref())))
}
