//! Tenant admin routes (operators too): enroll, list, disable / enable a tenant's clients, and
//! set or clear a client's KMIP Credential password.

use std::fmt;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::auth::{Access, Caller};
use super::error::ApiError;
use super::{AdminState, now, rfc3339};
use crate::store::records::{ClientIdentity, ClientRecord, Role, client_key};

/// Longest accepted KMIP Credential password, in bytes (checked before hashing).
const MAX_PASSWORD_LEN: usize = 1024;

/// A client as the API shows it (never the password hash).
#[derive(Debug, Serialize)]
pub(crate) struct ClientView {
    tenant: Option<String>,
    name: String,
    role: &'static str,
    /// `ca-issued` or `pinned`.
    identity: &'static str,
    /// SHA-256 of the pinned certificate (lowercase hex), for pinned clients.
    fingerprint: Option<String>,
    enabled: bool,
    has_password: bool,
    created_at: Option<String>,
}

impl From<&ClientRecord> for ClientView {
    fn from(c: &ClientRecord) -> Self {
        let (identity, fingerprint) = match &c.identity {
            ClientIdentity::CaIssued => ("ca-issued", None),
            ClientIdentity::Pinned { fingerprint } => ("pinned", Some(fingerprint.clone())),
        };
        Self {
            tenant: c.tenant.clone(),
            name: c.name.clone(),
            role: c.role.as_str(),
            identity,
            fingerprint,
            enabled: c.enabled,
            has_password: c.password_hash.is_some(),
            created_at: rfc3339(c.created_at),
        }
    }
}

/// `POST /v1/tenants/{tenant}/clients` body: a CA-issued identity (`{name}`, the certificate
/// carries `urn:kms:principal:<role>:<tenant>:<name>`) or a pinned certificate
/// (`{name, fingerprint}`). `role` defaults to `kmip-client`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewClient {
    name: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
}

/// `PUT .../clients/{name}/password` body: `{"password": "..."}` sets, `{"password": null}`
/// clears. `Debug` is redacted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPassword {
    password: Option<String>,
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// `GET /v1/tenants/{tenant}/clients`.
pub(crate) async fn list(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    caller.tenant(&state, &tenant, Access::Read)?;
    let clients: Vec<ClientView> = state
        .kms
        .store()
        .clients_of(Some(&tenant))?
        .iter()
        .map(ClientView::from)
        .collect();
    Ok(Json(serde_json::json!({ "clients": clients })))
}

/// `POST /v1/tenants/{tenant}/clients`.
pub(crate) async fn enroll(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<NewClient>, JsonRejection>,
) -> Result<(StatusCode, Json<ClientView>), ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    caller.tenant(&state, &tenant, Access::Change)?;
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    let role = match body.role.as_deref() {
        None => Role::KmipClient,
        Some(r) => match r.parse::<Role>() {
            Ok(role) if role.has_tenant() => role,
            _ => {
                return Err(ApiError::BadRequest(
                    "role must be kmip-client, tenant-admin or auditor",
                ));
            }
        },
    };
    if certs::identity::validate_label(certs::LabelKind::Name, &body.name).is_err() {
        return Err(ApiError::BadRequest("invalid client name"));
    }
    let identity = match body.fingerprint.as_deref() {
        None => ClientIdentity::CaIssued,
        Some(f) => ClientIdentity::Pinned {
            fingerprint: normalize_fingerprint(f)
                .ok_or(ApiError::BadRequest("fingerprint must be a SHA-256 in hex"))?,
        },
    };
    if state
        .kms
        .store()
        .client(&client_key(Some(&tenant), &body.name))?
        .is_some()
    {
        return Err(ApiError::ClientExists);
    }
    let record = ClientRecord {
        tenant: Some(tenant),
        name: body.name,
        role,
        identity,
        enabled: true,
        password_hash: None,
        created_at: now(),
    };
    state.kms.enroll_client(record.clone()).await?;
    Ok((StatusCode::CREATED, Json(ClientView::from(&record))))
}

/// `POST .../clients/{name}/disable`: refused from its next request on (and, when pinned, at
/// its next handshake).
pub(crate) async fn disable(
    state: State<Arc<AdminState>>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ClientView>, ApiError> {
    set_enabled(state, caller, path, false).await
}

/// `POST .../clients/{name}/enable`.
pub(crate) async fn enable(
    state: State<Arc<AdminState>>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ClientView>, ApiError> {
    set_enabled(state, caller, path, true).await
}

async fn set_enabled(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    enabled: bool,
) -> Result<Json<ClientView>, ApiError> {
    let Path((tenant, name)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    caller.tenant(&state, &tenant, Access::Change)?;
    let record = state
        .kms
        .set_client_enabled(Some(&tenant), &name, enabled)
        .await?;
    Ok(Json(ClientView::from(&record)))
}

/// `PUT .../clients/{name}/password`.
pub(crate) async fn set_password(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<NewPassword>, JsonRejection>,
) -> Result<Json<ClientView>, ApiError> {
    let Path((tenant, name)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    caller.tenant(&state, &tenant, Access::Change)?;
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    let password = body.password.map(Zeroizing::new);
    if let Some(p) = &password
        && (p.is_empty() || p.len() > MAX_PASSWORD_LEN)
    {
        return Err(ApiError::BadRequest("password must be 1 to 1024 bytes"));
    }
    let record = state
        .kms
        .set_client_password(Some(&tenant), &name, password)
        .await?;
    Ok(Json(ClientView::from(&record)))
}

/// Lowercase hex SHA-256 from hex with optional `:` separators, any case.
fn normalize_fingerprint(given: &str) -> Option<String> {
    let hex: String = given
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::normalize_fingerprint;

    #[test]
    fn fingerprints_are_normalized_or_refused() {
        let colon = ["AB"; 32].join(":");
        assert_eq!(normalize_fingerprint(&colon), Some("ab".repeat(32)));
        assert_eq!(
            normalize_fingerprint(&"0f".repeat(32)),
            Some("0f".repeat(32))
        );
        assert_eq!(normalize_fingerprint(&"0f".repeat(31)), None);
        assert_eq!(normalize_fingerprint(&"zz".repeat(32)), None);
    }
}
