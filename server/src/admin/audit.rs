//! The audit trail for auditors (`docs/AUDIT.md`): this node's records, the signed checkpoints
//! and the audit public key, so `kmsctl audit export` can fetch what `kmsctl audit verify`
//! checks offline. Operators read every record; tenant admins and auditors only their own
//! tenant's, with checkpoints that prove that tenant's chain without showing the others.

use std::sync::Arc;
use std::time::Duration;

use audit_log::{AuditRecord, Checkpoint, Filter, Scope};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::AdminState;
use super::auth::Caller;
use super::error::ApiError;

/// Page size when `limit` is absent.
const DEFAULT_LIMIT: usize = 1000;
/// Largest page.
const MAX_LIMIT: usize = 10_000;
/// Longest a query waits for its turn (`audit::query::QueryGate`) before it is answered 503
/// "audit queries busy; try again".
const QUERY_WAIT: Duration = Duration::from_secs(10);

/// Query of `GET /v1/audit/records`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordQuery {
    after: Option<u64>,
    limit: Option<usize>,
    tenant: Option<String>,
    operation: Option<String>,
    object: Option<String>,
    principal: Option<String>,
    from: Option<String>,
    until: Option<String>,
}

/// A page of records.
#[derive(Debug, Serialize)]
pub(crate) struct RecordPage {
    records: Vec<AuditRecord>,
    next: u64,
    more: bool,
}

fn time_param(value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| OffsetDateTime::parse(v, &Rfc3339))
        .transpose()
        .map_err(|_| ApiError::BadRequest("from and until must be RFC 3339 times"))
}

/// `GET /v1/audit/records?after=&limit=&tenant=&operation=&object=&principal=&from=&until=`
///
/// The scan and the encoding of the answer run on a blocking thread once the caller's tenant
/// has its turn (`audit::query::QueryGate`), so large scans neither stall the async workers
/// that serve KMIP nor run side by side for one tenant.
pub(crate) async fn records(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    query: Result<Query<RecordQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let confined = caller.0.confined;
    let Query(q) = query.map_err(|_| ApiError::BadRequest("invalid query"))?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest("limit must be between 1 and 10000"));
    }
    let tenant = match (&confined, q.tenant) {
        (Some(own), Some(asked)) if *own != asked => return Err(ApiError::NoSuchTenant),
        (Some(own), _) => Some(Some(own.clone())),
        (None, asked) => asked.map(Some),
    };
    let filter = Filter {
        tenant,
        from: time_param(q.from.as_deref())?,
        until: time_param(q.until.as_deref())?,
        operation: q.operation,
        object: q.object,
        principal: q.principal,
    };
    let audit = state.kms.audit();
    let dir = audit.dir().to_owned();
    let after = q.after.unwrap_or(0);
    let turn = audit
        .queries()
        .turn(confined.as_deref(), QUERY_WAIT)
        .await
        .map_err(|_| ApiError::AuditQueriesBusy)?;
    // The turn is held until the scan ends, even if the caller goes away meanwhile.
    let body = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        let page = crate::audit::query::read_page(&dir, after, limit, &filter)?;
        serde_json::to_vec(&RecordPage {
            records: page.records,
            next: page.next,
            more: page.more,
        })
        .map_err(|e| crate::audit::AuditError::Encode(audit_log::Error::Json(e)))
    })
    .await
    .map_err(|_| ApiError::AuditUnavailable)?
    .map_err(|e| {
        tracing::warn!(error = %e, "reading the audit files failed");
        ApiError::AuditUnavailable
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Checkpoints of this node's log, from the replicated state, and the scope they are served
/// for (`all`, or the tenant a tenant admin or auditor is confined to), so an export can say
/// what it holds.
#[derive(Debug, Serialize)]
pub(crate) struct Checkpoints {
    checkpoints: Vec<Checkpoint>,
    scope: Scope,
}

/// `GET /v1/audit/checkpoints`: for a tenant-confined caller each checkpoint carries only the
/// inclusion proof of that tenant's head.
pub(crate) async fn checkpoints(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
) -> Result<Json<Checkpoints>, ApiError> {
    let confined = caller.0.confined;
    let log = state.kms.log_name();
    let mut out = Vec::new();
    for cp in state.kms.store().audit_checkpoints()? {
        if cp.log != log {
            continue;
        }
        match &confined {
            None => out.push(cp),
            // A checkpoint from before the tenant's first record proves nothing about it.
            Some(t) => {
                if let Ok(view) = cp.for_tenant(Some(t)) {
                    out.push(view);
                }
            }
        }
    }
    let scope = confined.map_or(Scope::All, |t| Scope::Tenant(Some(t)));
    Ok(Json(Checkpoints {
        checkpoints: out,
        scope,
    }))
}

/// The audit public key.
#[derive(Debug, Serialize)]
pub(crate) struct PublicKeyView {
    public_key: String,
    /// The same key as a PEM SubjectPublicKeyInfo (what OpenSSL takes to check a tenant
    /// bundle's signature).
    public_key_pem: Option<String>,
    log: String,
}

/// `GET /v1/audit/public-key`: the SEC1 point of this node's HSM audit key, in hex (and PEM).
pub(crate) async fn public_key(
    State(state): State<Arc<AdminState>>,
    _caller: Caller,
) -> Result<Json<PublicKeyView>, ApiError> {
    let hsm = state.kms.keys().hsm().clone();
    let key = tokio::task::spawn_blocking(move || hsm.audit_public_key())
        .await
        .map_err(|_| ApiError::AuditUnavailable)?
        .map_err(|e| ApiError::Hsm(e.into()))?
        .ok_or(ApiError::AuditUnavailable)?;
    let pem = kms_crypto::manifest_signature::p256_spki_der(&key)
        .ok()
        .map(|der| crate::ops::migration::bundle::spki_pem(&der));
    Ok(Json(PublicKeyView {
        public_key_pem: pem,
        public_key: hex::encode(key),
        log: state.kms.log_name().to_owned(),
    }))
}
