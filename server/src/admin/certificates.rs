//! `POST /v1/node/reload-certificates` (operators): this node re-reads its certificate files
//! (`crate::tls::reload`). The answer lists the files and the certificates now in use; a bad
//! file is refused with the reason (the file and what is wrong with it, never key bytes) and
//! the certificates in use stay. The call's audit record names the files and the outcome
//! (noted in its audit scope, `AuditScope::note_detail`). Also the certificate expiry warnings of `/readyz`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::AdminState;
use super::auth::Caller;
use super::error::ApiError;
use crate::command_log::AuditScope;

/// Reloads, logs, and answers.
pub(crate) async fn reload(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
) -> Result<Response, ApiError> {
    let outcome = state.certificates.reload_logged("admin API");
    let files = outcome.files.join(", ");
    let response = match outcome.result {
        Ok(certificates) => Json(serde_json::json!({
            "reloaded": true,
            "files": outcome.files,
            "certificates": certificates,
            "view": super::consistency::LOCAL_VIEW,
        }))
        .into_response(),
        Err(e) => {
            let detail = e.to_string();
            scope.note_detail(format!("refused, files: {files}: {detail}"));
            return Ok(ApiError::CertificateReload(e).into_response());
        }
    };
    scope.note_detail(format!("reloaded, files: {files}"));
    Ok(response)
}

/// A certificate with less than this left before its notAfter is a `/readyz` warning.
pub const EXPIRY_WARNING: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// The time now, Unix seconds.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// One warning per certificate with less than [`EXPIRY_WARNING`] left (or expired).
pub(crate) fn expiring(certificates: &crate::tls::Certificates) -> Vec<String> {
    let limit = i64::try_from(EXPIRY_WARNING.as_secs()).unwrap_or(i64::MAX);
    certificates
        .expiry_seconds(now())
        .into_iter()
        .filter(|(_, left)| *left < limit)
        .map(|(name, left)| {
            if left < 0 {
                format!("certificate {name} has expired: renew it and reload the certificates")
            } else {
                format!(
                    "certificate {name} expires in {} days: renew it and reload the certificates",
                    left / 86_400
                )
            }
        })
        .collect()
}
