//! Tenant admin routes (operators too): enroll, list, disable / enable a tenant's clients, and
//! set or clear a client's KMIP Credential password. Pin claims (token renewal, operator
//! binding) are in `pins.rs`, CSR signing in `csr.rs`.

use std::fmt;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroizing;

use super::auth::Caller;
use super::error::ApiError;
use super::{AdminState, now, rfc3339};
use crate::command_log::AuditScope;
use crate::identity::claim::{self, EnrollmentToken};
use crate::store::records::{ClientIdentity, ClientRecord, Role, client_key};

/// Longest accepted KMIP Credential password, in bytes (checked before hashing).
const MAX_PASSWORD_LEN: usize = 1024;

/// A client as the API shows it (never the password hash, never a token digest).
#[derive(Debug, Serialize)]
pub(crate) struct ClientView {
    tenant: Option<String>,
    name: String,
    role: &'static str,
    /// `ca-issued` or `pinned`.
    identity: &'static str,
    /// For pinned clients: `pending` (claimed, identifies nobody yet) or `bound`.
    pin: Option<&'static str>,
    /// SHA-256 of the pinned certificate (lowercase hex), for pinned clients.
    fingerprint: Option<String>,
    /// Until when the pending claim's enrollment token binds.
    claim_expires_at: Option<String>,
    enabled: bool,
    has_password: bool,
    created_at: Option<String>,
    /// The one-time enrollment token, in the one answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    claim_token: Option<ShownToken>,
}

impl From<&ClientRecord> for ClientView {
    fn from(c: &ClientRecord) -> Self {
        let (identity, pin, fingerprint, claim_expires_at) = match &c.identity {
            ClientIdentity::CaIssued => ("ca-issued", None, None, None),
            ClientIdentity::Pinned { fingerprint } => {
                ("pinned", Some("bound"), Some(fingerprint.clone()), None)
            }
            ClientIdentity::PendingPin {
                fingerprint,
                expires_at,
                ..
            } => (
                "pinned",
                Some("pending"),
                Some(fingerprint.clone()),
                rfc3339(*expires_at),
            ),
        };
        Self {
            tenant: c.tenant.clone(),
            name: c.name.clone(),
            role: c.role.as_str(),
            identity,
            pin,
            fingerprint,
            claim_expires_at,
            enabled: c.enabled,
            has_password: c.password_hash.is_some(),
            created_at: rfc3339(c.created_at),
            claim_token: None,
        }
    }
}

impl ClientView {
    /// The view with the enrollment token shown (the claim's answers only).
    pub(crate) fn with_token(mut self, token: EnrollmentToken) -> Self {
        self.claim_token = Some(ShownToken(token));
        self
    }
}

/// An enrollment token on its way out in JSON; `Debug` stays redacted.
#[derive(Debug)]
pub(crate) struct ShownToken(EnrollmentToken);

impl Serialize for ShownToken {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose())
    }
}

/// `POST /v1/tenants/{tenant}/clients` body: a CA-issued identity (`{name}`, the certificate
/// carries `urn:kms:principal:<role>:<tenant>:<name>`) or a pin claim of a certificate the KMS
/// CA did not issue (`{name, certificate}`, PEM). `role` defaults to `kmip-client`, the only
/// role a pin may have. A bare `fingerprint` is refused: the server must see the certificate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewClient {
    name: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    certificate: Option<String>,
    #[serde(default)]
    fingerprint: Option<IgnoredAny>,
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

/// A new pending claim of the certificate with `fingerprint`, and its token.
pub(crate) fn new_claim(
    state: &AdminState,
    fingerprint: String,
    now: i64,
) -> (ClientIdentity, EnrollmentToken) {
    let token = EnrollmentToken::generate();
    let ttl = i64::try_from(state.enrollment.pin_claim_ttl.as_secs()).unwrap_or(i64::MAX);
    let identity = ClientIdentity::PendingPin {
        token_digest: token.digest(&fingerprint),
        fingerprint,
        expires_at: now.saturating_add(ttl),
    };
    (identity, token)
}

/// `GET /v1/tenants/{tenant}/clients`.
pub(crate) async fn list(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
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
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<NewClient>, JsonRejection>,
) -> Result<(StatusCode, Json<ClientView>), ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
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
    if body.fingerprint.is_some() {
        return Err(ApiError::BadRequest(
            "pin the certificate itself (\"certificate\": PEM), not its fingerprint",
        ));
    }
    let now = now();
    let (identity, token) = match body.certificate.as_deref() {
        None => (ClientIdentity::CaIssued, None),
        Some(_) if role != Role::KmipClient => {
            return Err(ApiError::BadRequest(
                "a pinned certificate can only be a kmip-client",
            ));
        }
        Some(pem) => {
            let fingerprint = claim::check_certificate(pem, &state.kms.verifier, now)
                .map_err(ApiError::InvalidCertificate)?;
            let (identity, token) = new_claim(&state, fingerprint, now);
            (identity, Some(token))
        }
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
        created_at: now,
    };
    state
        .kms
        .tenancy()
        .enroll_client(&scope, record.clone())
        .await?;
    let view = ClientView::from(&record);
    let view = match token {
        Some(token) => view.with_token(token),
        None => view,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// `POST .../clients/{name}/disable`: refused from its next request on (and, when pinned, at
/// its next handshake).
pub(crate) async fn disable(
    state: State<Arc<AdminState>>,
    _granted: Caller,
    scope: Extension<Arc<AuditScope>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ClientView>, ApiError> {
    set_enabled(state, scope, path, false).await
}

/// `POST .../clients/{name}/enable`.
pub(crate) async fn enable(
    state: State<Arc<AdminState>>,
    _granted: Caller,
    scope: Extension<Arc<AuditScope>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ClientView>, ApiError> {
    set_enabled(state, scope, path, true).await
}

async fn set_enabled(
    State(state): State<Arc<AdminState>>,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<(String, String)>, PathRejection>,
    enabled: bool,
) -> Result<Json<ClientView>, ApiError> {
    let Path((tenant, name)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let record = state
        .kms
        .tenancy()
        .set_client_enabled(&scope, Some(&tenant), &name, enabled)
        .await?;
    Ok(Json(ClientView::from(&record)))
}

/// `PUT .../clients/{name}/password`.
pub(crate) async fn set_password(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<NewPassword>, JsonRejection>,
) -> Result<Json<ClientView>, ApiError> {
    let Path((tenant, name)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let Json(body) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    let password = body.password.map(Zeroizing::new);
    if let Some(p) = &password
        && (p.is_empty() || p.len() > MAX_PASSWORD_LEN)
    {
        return Err(ApiError::BadRequest("password must be 1 to 1024 bytes"));
    }
    let record = state
        .kms
        .tenancy()
        .set_client_password(&scope, Some(&tenant), &name, password)
        .await?;
    Ok(Json(ClientView::from(&record)))
}

/// Lowercase hex SHA-256 from hex with optional `:` separators, any case.
pub(crate) fn normalize_fingerprint(given: &str) -> Option<String> {
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
