//! Who is calling and what they may touch, and the one place every admin call is logged.
//!
//! - [`audit_admin_call`] first waits for the read index the route needs
//!   (`consistency.rs`: every route but this node's own views), then derives the principal
//!   from the verified certificate chain (the same `identity::principal` as KMIP), hands it to
//!   the handler, and logs principal, action, target and result when the answer is ready.
//! - [`Caller`] is the handler's view of the principal, with the two access decisions:
//!   [`Caller::operator`] and [`Caller::tenant`].

use std::sync::Arc;
use std::time::Instant;

use audit_log::{AuditEvent, Kind, Status};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::warn;

use super::consistency::Consistency;
use super::error::{ApiError, FailureReason};
use super::{AdminState, Peer};
use crate::audit::admin_call;
use crate::identity::{self, IdentityError, Principal};
use crate::store::records::{Role, TenantRecord};

/// What a call does to a tenant's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads only.
    Read,
    /// Changes something.
    Change,
}

/// The principal of the request, or why there is none (set by [`audit_admin_call`]).
#[derive(Clone, Debug)]
struct Admission(Result<Principal, Arc<IdentityError>>);

/// An authenticated admin principal (operator, tenant admin or auditor). KMIP client
/// principals are refused with 403 on every route.
#[derive(Clone, Debug)]
pub(crate) struct Caller(pub(crate) Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let principal = match parts.extensions.get::<Admission>() {
            Some(Admission(Ok(p))) => p.clone(),
            Some(Admission(Err(e))) => return Err(ApiError::Unauthenticated(e.clone())),
            None => {
                return Err(ApiError::Unauthenticated(Arc::new(
                    IdentityError::NoCertificate,
                )));
            }
        };
        if principal.role == Role::KmipClient {
            return Err(ApiError::Forbidden);
        }
        Ok(Caller(principal))
    }
}

impl Caller {
    /// Operators only (cluster-wide routes).
    pub(crate) fn operator(&self) -> Result<(), ApiError> {
        match self.0.role {
            Role::Operator => Ok(()),
            Role::TenantAdmin | Role::Auditor | Role::KmipClient => Err(ApiError::Forbidden),
        }
    }

    /// The tenant a tenant-scoped route names, if the caller may `access` it: operators any
    /// tenant; tenant admins their own; auditors their own, reading only. Another tenant is
    /// answered exactly like a missing one (404), before the role is even considered.
    pub(crate) fn tenant(
        &self,
        state: &AdminState,
        tenant: &str,
        access: Access,
    ) -> Result<TenantRecord, ApiError> {
        let p = &self.0;
        let own = p.tenant.as_deref() == Some(tenant);
        match p.role {
            Role::Operator => {}
            Role::TenantAdmin | Role::Auditor if own => {}
            Role::TenantAdmin | Role::Auditor => return Err(ApiError::NoSuchTenant),
            Role::KmipClient => return Err(ApiError::Forbidden),
        }
        let record = state
            .kms
            .store()
            .tenant(tenant)?
            .ok_or(ApiError::NoSuchTenant)?;
        if access == Access::Change && p.role == Role::Auditor {
            return Err(ApiError::Forbidden);
        }
        Ok(TenantRecord::clone(&record))
    }
}

/// Linearizes (unless the route is local: `consistency.rs`), derives the principal, runs the
/// call, then records it in the audit trail (and the metrics): the ONE place an admin call is
/// recorded and the ONE place it waits for the cluster. A call that cannot be linearized is
/// answered 503 "cluster unavailable; try again" without running its handler. The record names the route, the tenant
/// and key the path names, the outcome and who called; bodies (passwords) never. If the record
/// cannot be made durable the answer is replaced by 503 "audit trail unavailable"
/// (fail-closed), except for the probes that must report that very state.
pub(crate) async fn audit_admin_call(
    State(state): State<Arc<AdminState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let action = format!("{} {route}", request.method());
    let target = request.uri().path().to_owned();
    // First, so that the enrollment the principal is looked up in below is current too (as
    // for KMIP, `Kms::handle`); a local route waits for nothing.
    let linearized = Consistency::of(request.method(), &route)
        .wait(&state.kms)
        .await;
    let peer = request.extensions().get::<Peer>().cloned();
    let inspected = peer.as_ref().map(|p| state.kms.inspect_peer(&p.chain));
    let admission = match &inspected {
        Some(Ok(c)) => identity::principal_of(c, state.kms.store()).map_err(Arc::new),
        Some(Err(_)) | None => Err(Arc::new(IdentityError::NoCertificate)),
    };
    let principal = match (&admission, &inspected) {
        (Ok(p), _) => Some(crate::audit::principal(p)),
        (Err(_), Some(Ok(c))) => Some(crate::audit::certificate(c.facts())),
        _ => None,
    };
    let own_tenant = admission.as_ref().ok().and_then(|p| p.tenant.clone());
    request.extensions_mut().insert(Admission(admission));
    // A failed audit trail refuses every call but the probes until a record is durable
    // again; the refusal's own record is the probe.
    let degraded = !state.kms.audit().is_healthy();
    let call = Call {
        principal,
        own_tenant,
        peer: peer.map(|p| p.addr.to_string()),
        action,
        target: &target,
        start,
    };
    // The call's first committed state change carries its record (audit::admin_call).
    let slot = admin_call::Slot::new(call_event(&state, &call, Status::Success, None));
    let response = if degraded && !PROBES.contains(&target.as_str()) {
        ApiError::AuditUnavailable.into_response()
    } else if let Err(e) = linearized {
        e.into_response()
    } else {
        admin_call::scope(slot.clone(), next.run(request)).await
    };
    record(&state, &call, response, slot.carried()).await
}

/// Requests that match no route: still recorded (as `unmatched`), then 404.
pub(crate) async fn unknown_route(
    State(state): State<Arc<AdminState>>,
    request: Request,
) -> Response {
    let start = Instant::now();
    let peer = request.extensions().get::<Peer>().cloned();
    let principal = peer
        .as_ref()
        .and_then(|p| state.kms.inspect_peer(&p.chain).ok())
        .map(|c| crate::audit::certificate(c.facts()));
    let call = Call {
        principal,
        own_tenant: None,
        peer: peer.map(|p| p.addr.to_string()),
        action: format!("{} unmatched", request.method()),
        target: request.uri().path(),
        start,
    };
    record(&state, &call, ApiError::NoSuchRoute.into_response(), false).await
}

struct Call<'a> {
    principal: Option<audit_log::Principal>,
    own_tenant: Option<String>,
    peer: Option<String>,
    action: String,
    target: &'a str,
    start: Instant,
}

/// Routes answered even when the audit trail is down: they report that state.
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The audit record of a call with this outcome.
fn call_event(
    state: &AdminState,
    call: &Call<'_>,
    status: Status,
    reason: Option<String>,
) -> AuditEvent {
    let (tenant, object) = path_names(call.target);
    // A tenant the path names is the tenant acted in, if it exists (probing for names must not
    // start chains); else the caller's own.
    let tenant = tenant
        .filter(|t| matches!(state.kms.store().tenant(t), Ok(Some(_))))
        .or_else(|| call.own_tenant.clone());
    AuditEvent {
        time: time::OffsetDateTime::now_utc(),
        node: state.kms.log_name().to_owned(),
        tenant,
        principal: call.principal.clone(),
        client_addr: call.peer.clone(),
        kind: Kind::Admin,
        operation: call.action.clone(),
        object,
        status,
        reason,
        request_id: None,
        change: None,
    }
    .clamped()
}

/// The audit record (unless a committed change carried it) and the metrics of one call.
async fn record(
    state: &AdminState,
    call: &Call<'_>,
    response: Response,
    carried: bool,
) -> Response {
    let status = response.status();
    let (outcome, reason) = if status.is_success() {
        (Status::Success, None)
    } else {
        let reason = response
            .extensions()
            .get::<FailureReason>()
            .map_or("failed", |f| f.0);
        let outcome = if matches!(status.as_u16(), 401 | 403) {
            Status::Denied
        } else {
            Status::Failure
        };
        (outcome, Some(reason.to_owned()))
    };
    let recorded = if carried {
        Ok(())
    } else {
        state
            .kms
            .record(vec![call_event(state, call, outcome, reason)])
            .await
    };
    state
        .kms
        .metrics()
        .admin_call(call.action.clone(), status.as_u16(), call.start.elapsed());
    match recorded {
        Ok(()) => response,
        Err(e) if PROBES.contains(&call.target) => {
            warn!(error = %e, "audit trail did not take the record of a probe");
            response
        }
        Err(e) => {
            warn!(error = %e, action = %call.action, "audit trail unavailable; refusing the admin call");
            ApiError::AuditUnavailable.into_response()
        }
    }
}

/// The tenant and the key UID an admin path names (`/v1/tenants/{tenant}/keys/{uid}/...`).
fn path_names(path: &str) -> (Option<String>, Option<String>) {
    let mut parts = path.trim_start_matches('/').split('/');
    if parts.next() != Some("v1") || parts.next() != Some("tenants") {
        return (None, None);
    }
    let tenant = parts.next().filter(|t| !t.is_empty()).map(str::to_owned);
    let object = match (parts.next(), parts.next()) {
        (Some("keys"), Some(uid)) if !uid.is_empty() => Some(uid.to_owned()),
        _ => None,
    };
    (tenant, object)
}
