//! Who is calling and what they may touch, and the one place every admin call is logged.
//!
//! - [`audit_admin_call`] first waits for the read index the route needs
//!   (`consistency.rs`: every route but this node's own views), then derives the principal
//!   from the verified certificate chain (the same `identity::principal` as KMIP), hands it to
//!   the handler, and records principal, action, the decoded tenant and key the path names,
//!   and result when the answer is ready.
//! - before the handler runs, it asks the one policy ([`crate::policy::admin`]) whether the
//!   principal may call the route for the tenant the path names; the handler receives the
//!   [`Caller`] grant or never runs.

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
use crate::policy::{self, admin::Grant, admin::PathTenant};

/// The handler's view of the call: what the policy granted it ([`policy::admin::authorize`],
/// asked by [`audit_admin_call`] before the handler runs). A handler that takes a `Caller`
/// runs only for a granted call; it decides nothing itself.
#[derive(Clone, Debug)]
pub(crate) struct Caller(pub(crate) Grant);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // Absent only on a route the policy grants nothing on (an open route, or one without
        // a row in its table): refused.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(ApiError::Forbidden)
    }
}

/// The policy's decision on a call to `route` by `method`: the grant (`None` on an open
/// route), or the refusal as the admin API answers it. The tenant the path names is looked up
/// only for a route that acts on it.
fn decide(
    state: &AdminState,
    method: &str,
    route: &str,
    names: &Names,
    admission: &Result<Principal, Arc<IdentityError>>,
) -> Result<Option<Grant>, ApiError> {
    // No row: nothing granted (the handler's `Caller` refuses; the router answers a method it
    // does not route 405 as before).
    let Some(rule) = policy::admin::rule(method, route) else {
        return Ok(None);
    };
    let tenant = match names.tenant.as_deref() {
        _ if !rule.names_tenant() => PathTenant::NotNamed,
        Some(id) => PathTenant::Named {
            id,
            exists: state.kms.store().tenant(id)?.is_some(),
            subscribed: matches!(rule, policy::admin::Rule::Platform(_))
                && state.kms.store().platform_policy(id)?.advanced_protection,
        },
        None => PathTenant::Unreadable,
    };
    policy::admin::authorize(admission.as_ref().ok(), rule, tenant)
        .map_err(|denial| ApiError::denied(denial, admission.as_ref().err().cloned()))
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
    // A failed audit trail refuses every call but the probes until a record is durable
    // again; the refusal's own record is the probe.
    let degraded = !state.kms.audit().is_healthy();
    let call = Call {
        object: names.object.clone(),
        detail: None,
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
        let method = request.method().as_str().to_owned();
        match decide(&state, &method, &route, &call.names, &admission) {
            Err(refused) => refused.into_response(),
            Ok(grant) => {
                if let Some(grant) = grant {
                    request.extensions_mut().insert(Caller(grant));
                }
                next.run(request).await
            }
        }
    };
    let created = scope.created_tenant();
    let call = Call {
        object: call.names.object.clone().or_else(|| scope.object()),
        detail: scope.detail(),
        ..call
    };
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
        object: None,
        detail: None,
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
    /// The object the record names: the path's `{uid}`, else what the handler noted.
    object: Option<String>,
    /// What the handler noted the call decided or did: the record's `reason`.
    detail: Option<String>,
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
        call.caller.acts_across_tenants() && matches!(state.kms.store().tenant(t), Ok(Some(_)))
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
        object: call.object.clone(),
        reason: call.detail.clone().or(reason),
        status,
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
