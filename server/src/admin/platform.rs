//! Platform routes (`docs/PLATFORM.md`): the platform services' enrollment (operators), each
//! tenant's platform policy (subscription, rotation), and its key providers. Who may call
//! which is decided by `policy::platform`; the handlers decide nothing.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::clients::ClientView;
use super::error::ApiError;
use super::{AdminState, now, rfc3339};
use crate::command_log::AuditScope;
use crate::policy::platform::Service;
use crate::store::platform::{PlatformPolicy, PolicyChange};
use crate::store::records::{ClientIdentity, Role};

/// Seconds per day.
const DAY: i64 = 86_400;
/// Largest maximum KEK age accepted, in days (100 years).
const MAX_KEK_AGE_DAYS: u32 = 36_500;
/// Longest destroy grace accepted, in seconds (one year).
const MAX_DESTROY_GRACE_SECS: u32 = 365 * 86_400;

/// `POST /v1/platform/services` body: `{"name": "console" | "backup" | "replication"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewService {
    name: String,
}

/// `GET /v1/platform/services`.
pub(crate) async fn list_services(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let services: Vec<ClientView> = state
        .kms
        .platform()
        .services()?
        .iter()
        .map(ClientView::from)
        .collect();
    Ok(Json(serde_json::json!({ "services": services })))
}

/// `POST /v1/platform/services`: enrolls a platform service, recognised by its CA-issued
/// certificate `urn:kms:principal:platform-service:-:<name>`.
pub(crate) async fn enroll_service(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    body: Result<Json<NewService>, JsonRejection>,
) -> Result<(StatusCode, Json<ClientView>), ApiError> {
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    let service = Service::of_name(&body.name).ok_or(ApiError::BadRequest(
        "name must be console, backup or replication",
    ))?;
    let record = state
        .kms
        .platform()
        .enroll_service(&scope, service, now())
        .await?;
    Ok((StatusCode::CREATED, Json(ClientView::from(&record))))
}

/// `POST /v1/platform/services/{name}/disable`.
pub(crate) async fn disable_service(
    state: State<Arc<AdminState>>,
    granted: Caller,
    scope: Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ClientView>, ApiError> {
    set_service_enabled(state, granted, scope, path, false).await
}

/// `POST /v1/platform/services/{name}/enable`.
pub(crate) async fn enable_service(
    state: State<Arc<AdminState>>,
    granted: Caller,
    scope: Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ClientView>, ApiError> {
    set_service_enabled(state, granted, scope, path, true).await
}

async fn set_service_enabled(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
    enabled: bool,
) -> Result<Json<ClientView>, ApiError> {
    let Path(name) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let known = state
        .kms
        .platform()
        .services()?
        .iter()
        .any(|c| c.name == name);
    if !known {
        return Err(ApiError::NoSuchClient);
    }
    let record = state
        .kms
        .tenancy()
        .set_client_enabled(&scope, None, &name, enabled)
        .await?;
    Ok(Json(ClientView::from(&record)))
}

/// A tenant's platform policy as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct PolicyView {
    tenant: String,
    advanced_protection: bool,
    max_kek_age_days: Option<u32>,
    /// Seconds a destroyed key stays pending destruction (material kept, cancellable) before
    /// its material is erased; `0`: erased at once.
    destroy_grace_secs: u32,
    /// Days between the Domain Key rotations the cluster starts by itself (`null`: none).
    domain_key_rotation_days: Option<u32>,
    changed_at: Option<String>,
}

impl PolicyView {
    /// The policy of `tenant` as the store of `kms` holds it.
    fn read(kms: &crate::kms::Kms, tenant: &str, p: &PlatformPolicy) -> Result<Self, ApiError> {
        Ok(Self {
            tenant: tenant.to_owned(),
            advanced_protection: p.advanced_protection,
            max_kek_age_days: p.max_kek_age_days,
            destroy_grace_secs: kms.store().destroy_grace(tenant)?,
            domain_key_rotation_days: kms.store().rotation_schedule(tenant)?,
            changed_at: (p.changed_at != 0).then(|| rfc3339(p.changed_at)).flatten(),
        })
    }
}

/// `GET /v1/tenants/{tenant}/platform`.
pub(crate) async fn policy(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<PolicyView>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let policy = state.kms.store().platform_policy(&tenant)?;
    Ok(Json(PolicyView::read(&state.kms, &tenant, &policy)?))
}

/// `PUT /v1/tenants/{tenant}/platform/subscription` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Subscription {
    advanced_protection: bool,
}

/// `PUT /v1/tenants/{tenant}/platform/subscription`: subscribes or unsubscribes the tenant.
pub(crate) async fn set_subscription(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<Subscription>, JsonRejection>,
) -> Result<Json<PolicyView>, ApiError> {
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    let change = PolicyChange::Subscription(body.advanced_protection);
    change_policy(&state, &scope, path, change).await
}

/// Makes `change` to the policy of the tenant `path` names; answers the policy as it now is.
async fn change_policy(
    state: &AdminState,
    scope: &AuditScope,
    path: Result<Path<String>, PathRejection>,
    change: PolicyChange,
) -> Result<Json<PolicyView>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let policy = state
        .kms
        .platform()
        .change_policy(scope, &tenant, change, now())
        .await?;
    Ok(Json(PolicyView::read(&state.kms, &tenant, &policy)?))
}

/// `PUT /v1/tenants/{tenant}/platform/rotation` body: `{"max_kek_age_days": 365 | null}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rotation {
    max_kek_age_days: Option<u32>,
}

/// `PUT /v1/tenants/{tenant}/platform/rotation`: sets or clears the maximum KEK age.
pub(crate) async fn set_rotation(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<Rotation>, JsonRejection>,
) -> Result<Json<PolicyView>, ApiError> {
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    if body
        .max_kek_age_days
        .is_some_and(|d| d == 0 || d > MAX_KEK_AGE_DAYS)
    {
        return Err(ApiError::BadRequest(
            "max_kek_age_days must be 1 to 36500, or null",
        ));
    }
    let change = PolicyChange::MaxKekAge(body.max_kek_age_days);
    change_policy(&state, &scope, path, change).await
}

/// `PUT /v1/tenants/{tenant}/platform/destroy-grace` body: `{"destroy_grace_secs": 604800}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DestroyGrace {
    destroy_grace_secs: u32,
}

/// `PUT /v1/tenants/{tenant}/platform/destroy-grace`: sets the destroy grace (`0`: a
/// destroy erases at once, as KMIP clients expect by default).
pub(crate) async fn set_destroy_grace(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<DestroyGrace>, JsonRejection>,
) -> Result<Json<PolicyView>, ApiError> {
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    if body.destroy_grace_secs > MAX_DESTROY_GRACE_SECS {
        return Err(ApiError::BadRequest(
            "destroy_grace_secs must be 0 to 31536000 (one year)",
        ));
    }
    let change = PolicyChange::DestroyGrace(body.destroy_grace_secs);
    change_policy(&state, &scope, path, change).await
}

/// `PUT /v1/tenants/{tenant}/platform/domain-key-rotation` body: `{"every_days": 90 | null}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DomainKeyRotation {
    every_days: Option<u32>,
}

/// `PUT /v1/tenants/{tenant}/platform/domain-key-rotation`: sets or clears the schedule on
/// which the cluster rotates the tenant's Domain Key by itself (`admin::rotation`).
pub(crate) async fn set_domain_key_rotation(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<DomainKeyRotation>, JsonRejection>,
) -> Result<Json<PolicyView>, ApiError> {
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    if body
        .every_days
        .is_some_and(|d| d == 0 || d > MAX_KEK_AGE_DAYS)
    {
        return Err(ApiError::BadRequest(
            "every_days must be 1 to 36500, or null",
        ));
    }
    let change = PolicyChange::DomainKeyRotation(body.every_days);
    change_policy(&state, &scope, path, change).await
}

/// One key provider of a tenant: an enrolled KMIP client (a vCenter) and what this node saw
/// of it.
#[derive(Debug, Serialize)]
pub(crate) struct KeyProviderView {
    name: String,
    /// `ca-issued`, `pinned` (bound) or `pending` (claimed, identifies nobody yet).
    identity: &'static str,
    enabled: bool,
    /// Configured: enabled with an identity that identifies it.
    configured: bool,
    enrolled_at: Option<String>,
    /// Its last KMIP request with a successful item, on the node that answers.
    last_successful_request: Option<String>,
    /// The notAfter of the certificate it used then.
    certificate_not_after: Option<String>,
    /// Days until then (negative: expired).
    certificate_days_left: Option<i64>,
}

/// `GET /v1/tenants/{tenant}/key-providers`: the tenant's KMIP clients with their state.
pub(crate) async fn key_providers(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let seen = state.kms.activity().of_tenant(&tenant);
    let now = now();
    let providers: Vec<KeyProviderView> = state
        .kms
        .store()
        .clients_of(Some(&tenant))?
        .into_iter()
        .filter(|c| c.role == Role::KmipClient)
        .map(|c| {
            let identity = match c.identity {
                ClientIdentity::CaIssued => "ca-issued",
                ClientIdentity::Pinned { .. } => "pinned",
                ClientIdentity::PendingPin { .. } => "pending",
            };
            let seen = seen.get(&c.name);
            let not_after = seen.and_then(|s| s.certificate_not_after);
            KeyProviderView {
                configured: c.enabled && identity != "pending",
                name: c.name,
                identity,
                enabled: c.enabled,
                enrolled_at: rfc3339(c.created_at),
                last_successful_request: seen.and_then(|s| rfc3339(s.last_request)),
                certificate_not_after: not_after.and_then(rfc3339),
                certificate_days_left: not_after.map(|t| (t - now).div_euclid(DAY)),
            }
        })
        .collect();
    Ok(Json(serde_json::json!({
        "tenant": tenant,
        "node": state.kms.log_name(),
        "key_providers": providers,
    })))
}
