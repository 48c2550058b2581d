//! `POST /v1/backups` (operators): a signed backup of the replicated state, read at one
//! applied index while writes go on (`crate::backup`, `docs/ADMIN-API.md`, Backups).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use super::AdminState;
use super::auth::Caller;
use super::error::ApiError;
use crate::backup::{self, BackupFiles};

/// `POST /v1/backups`: the backup's four files (manifest, signature, signer, snapshot).
pub(crate) async fn create(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
) -> Result<Json<BackupFiles>, ApiError> {
    Ok(Json(backup::create(&state.kms).await?))
}
