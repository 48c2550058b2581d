//! Who is calling and what they may touch, and the one place every admin call is logged.
//!
//! - [`audit_admin_call`] first waits for the read index the route needs
//!   (`consistency.rs`: every route but this node's own views), then derives the principal
//!   from the verified certificate chain (the same `identity::principal` as KMIP), hands it to
//!   the handler, and records principal, action, the decoded tenant and key the path names,
//!   and result when the answer is ready.
//! - [`Caller`] is the handler's view of the principal, with the two access decisions:
//!   [`Caller::operator`] and [`Caller::tenant`].

use std::sync::Arc;
use std::time::Instant;

use audit_log::{AuditEvent, Kind, Status};
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::warn;

use super::consistency::Consistency;
use super::error::{ApiError, FailureReason};
use super::{AdminState, Peer};
use crate::audit::admin_call;
use crate::command_log::AuditScope;
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
/// answered 503 "cluster unavailable; try again" without running its handler. The record names
/// the route, the tenant and key the path names exactly as the handler decodes them (axum's
/// path parameters, never the raw URI), the outcome and who called; bodies (passwords) never.
/// Where it is filed and how it names the caller: [`admin_call`]'s rule. If the record cannot
/// be made durable the answer is replaced by 503 "audit trail unavailable" (fail-closed),
/// except for the probes that must report that very state.
pub(crate) async fn audit_admin_call(
    State(state): State<Arc<AdminState>>,
    request: Request,
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
    // for KMIP, `ops::pipeline::handle`); a local route waits for nothing.
    let linearized = Consistency::of(request.method(), &route)
        .wait(&state.kms)
        .await;
    let (mut parts, body) = request.into_parts();
    // The same decoded parameters `Path` hands the handler (a parameter that is not UTF-8
    // once decoded fails both, and names nothing).
    let names = RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .map_or_else(|_| Names::default(), |p| Names::of(&p));
    let mut request = Request::from_parts(parts, body);
    let peer = request.extensions().get::<Peer>().cloned();
    let inspected = peer.as_ref().map(|p| state.kms.inspect_peer(&p.chain));
    let admission = match &inspected {
        Some(Ok(c)) => identity::principal_of(c, state.kms.store()).map_err(Arc::new),
        Some(Err(_)) | None => Err(Arc::new(IdentityError::NoCertificate)),
    };
    let caller = caller_of(&admission, inspected.as_ref().and_then(|i| i.as_ref().ok()));
    request.extensions_mut().insert(Admission(admission));
    // A failed audit trail refuses every call but the probes until a record is durable
    // again; the refusal's own record is the probe.
    let degraded = !state.kms.audit().is_healthy();
    let call = Call {
        caller,
        names,
        peer: peer.map(|p| p.addr.to_string()),
        action,
        target: &target,
        start,
    };
    // The call's audit scope, handed to the handler: its first committed state change
    // carries the call's record.
    let scope = Arc::new(AuditScope::admin_route(
        call_event(&state, &call, None, Status::Success, None),
        call.caller.clone(),
    ));
    request.extensions_mut().insert(scope.clone());
    let response = if degraded && !PROBES.contains(&target.as_str()) {
        ApiError::AuditUnavailable.into_response()
    } else if let Err(e) = linearized {
        e.into_response()
    } else {
        next.run(request).await
    };
    let created = scope.created_tenant();
    record(&state, &call, created.as_deref(), response, scope.carried()).await
}

/// Requests that match no route: still recorded (as `unmatched`), then 404.
pub(crate) async fn unknown_route(
    State(state): State<Arc<AdminState>>,
    request: Request,
) -> Response {
    let start = Instant::now();
    let peer = request.extensions().get::<Peer>().cloned();
    let inspected = peer
        .as_ref()
        .and_then(|p| state.kms.inspect_peer(&p.chain).ok());
    let admission = match &inspected {
        Some(c) => identity::principal_of(c, state.kms.store()).map_err(Arc::new),
        None => Err(Arc::new(IdentityError::NoCertificate)),
    };
    let call = Call {
        caller: caller_of(&admission, inspected.as_ref()),
        names: Names::default(),
        peer: peer.map(|p| p.addr.to_string()),
        action: format!("{} unmatched", request.method()),
        target: request.uri().path(),
        start,
    };
    record(
        &state,
        &call,
        None,
        ApiError::NoSuchRoute.into_response(),
        false,
    )
    .await
}

/// Who called, for the record: the admitted principal, or the certificate of a refused one.
fn caller_of(
    admission: &Result<Principal, Arc<IdentityError>>,
    certificate: Option<&identity::PeerCertificate>,
) -> admin_call::Caller {
    match admission {
        Ok(p) => admin_call::Caller::Admitted {
            role: p.role,
            tenant: p.tenant.clone(),
            name: p.client.clone(),
            certificate: crate::identity::audit_principal(p),
        },
        Err(_) => admin_call::Caller::Refused(
            certificate.map(|c| crate::identity::audit_certificate(c.facts())),
        ),
    }
}

/// The tenant and the key UID a call's path names (`{tenant}`, `{uid}`), decoded.
#[derive(Debug, Default)]
struct Names {
    tenant: Option<String>,
    object: Option<String>,
}

impl Names {
    fn of(params: &RawPathParams) -> Self {
        let mut names = Self::default();
        for (key, value) in params {
            match key {
                "tenant" => names.tenant = Some(value.to_owned()),
                "uid" => names.object = Some(value.to_owned()),
                _ => {}
            }
        }
        names
    }
}

struct Call<'a> {
    caller: admin_call::Caller,
    names: Names,
    peer: Option<String>,
    action: String,
    target: &'a str,
    start: Instant,
}

/// Routes answered even when the audit trail is down: they report that state.
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The audit record of a call with this outcome; `created` is the tenant the call said it
/// creates, if any.
fn call_event(
    state: &AdminState,
    call: &Call<'_>,
    created: Option<&str>,
    status: Status,
    reason: Option<String>,
) -> AuditEvent {
    // The tenant acted on, for an operator's record: one that exists (probing for names must
    // not start chains). Nobody else's record depends on it, so nobody else's lookup is made.
    let acted_on = created.or(call.names.tenant.as_deref()).filter(|t| {
        call.caller.is_operator() && matches!(state.kms.store().tenant(t), Ok(Some(_)))
    });
    let tenant = call.caller.chain(acted_on);
    AuditEvent {
        time: time::OffsetDateTime::now_utc(),
        node: state.kms.log_name().to_owned(),
        principal: call.caller.principal_in(tenant.as_deref()),
        tenant,
        client_addr: call.peer.clone(),
        kind: Kind::Admin,
        operation: call.action.clone(),
        object: call.names.object.clone(),
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
    created: Option<&str>,
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
            .audit()
            .record_all(vec![call_event(state, call, created, outcome, reason)])
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
