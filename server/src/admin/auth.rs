//! Who is calling and what they may touch, and the one place every admin call is logged.
//!
//! - [`audit_admin_call`] derives the principal from the verified certificate chain (the same
//!   `identity::principal` as KMIP), hands it to the handler, and logs principal, action,
//!   target and result when the answer is ready.
//! - [`Caller`] is the handler's view of the principal, with the two access decisions:
//!   [`Caller::operator`] and [`Caller::tenant`].

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::info;

use super::error::{ApiError, FailureReason};
use super::{AdminState, Peer};
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
        Ok(record)
    }
}

/// Derives the principal, runs the call, then logs it (and counts it in the metrics): the ONE
/// place an admin call is recorded. The target is the request path (tenant, client, key UID,
/// job); bodies (passwords) are never logged.
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
    let peer = request.extensions().get::<Peer>().cloned();
    let admission = match &peer {
        Some(peer) => identity::principal(&peer.chain, state.kms.store(), &state.kms.verifier)
            .map_err(Arc::new),
        None => Err(Arc::new(IdentityError::NoCertificate)),
    };
    let who = match &admission {
        Ok(p) => format!(
            "{}:{}/{}",
            p.role,
            p.tenant.as_deref().unwrap_or("-"),
            p.client
        ),
        Err(_) => "unauthenticated".to_owned(),
    };
    let fingerprint = peer
        .as_ref()
        .and_then(|p| p.chain.first())
        .map(|c| crate::tls::verifier::fingerprint_hex(c))
        .unwrap_or_default();
    request.extensions_mut().insert(Admission(admission));
    let response = next.run(request).await;
    record(
        &state,
        &Record {
            principal: &who,
            fingerprint: &fingerprint,
            peer: peer.map(|p| p.addr.to_string()).unwrap_or_default(),
            action,
            target: &target,
            start,
        },
        &response,
    );
    response
}

/// Requests that match no route: still logged (as `unmatched`), then 404.
pub(crate) async fn unknown_route(
    State(state): State<Arc<AdminState>>,
    request: Request,
) -> Response {
    let start = Instant::now();
    let peer = request.extensions().get::<Peer>().cloned();
    let response = ApiError::NoSuchRoute.into_response();
    record(
        &state,
        &Record {
            principal: "-",
            fingerprint: "",
            peer: peer.map(|p| p.addr.to_string()).unwrap_or_default(),
            action: format!("{} unmatched", request.method()),
            target: request.uri().path(),
            start,
        },
        &response,
    );
    response
}

struct Record<'a> {
    principal: &'a str,
    fingerprint: &'a str,
    peer: String,
    action: String,
    target: &'a str,
    start: Instant,
}

/// The audit line and the metrics of one call. The audit trail will turn this into records.
fn record(state: &AdminState, r: &Record<'_>, response: &Response) {
    let status = response.status();
    let result = if status.is_success() {
        "ok"
    } else {
        response
            .extensions()
            .get::<FailureReason>()
            .map_or("failed", |f| f.0)
    };
    info!(
        target: "kms::admin::audit",
        principal = r.principal,
        fingerprint = r.fingerprint,
        peer = %r.peer,
        action = %r.action,
        target_path = r.target,
        status = status.as_u16(),
        result,
        "admin call"
    );
    state
        .kms
        .metrics()
        .admin_call(r.action.clone(), status.as_u16(), r.start.elapsed());
}
