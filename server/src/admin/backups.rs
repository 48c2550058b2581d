//! `POST /v1/backups` (operators): a signed backup of the replicated state, read at one
//! applied index while writes go on (`crate::backup`, `docs/ADMIN-API.md`, Backups).

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};

use super::AdminState;
use super::auth::Caller;
use super::error::ApiError;
use crate::backup::{self, BackupFiles};
use crate::command_log::AuditScope;

/// `POST /v1/backups`: the backup's four files (manifest, signature, signer, snapshot). The
/// call's audit record names the backup as `backup:<SHA-256 of manifest.json>`, as the
/// restore's record does.
pub(crate) async fn create(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
) -> Result<Json<BackupFiles>, ApiError> {
    let files = backup::create(&state.kms).await?;
    scope.note_object(&format!(
        "backup:{}",
        backup::sha256_hex(files.manifest.as_bytes())
    ));
    Ok(Json(files))
}
