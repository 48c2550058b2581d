//! Which admin routes wait for the cluster before they answer: every route reads replicated
//! state (the caller's enrollment at least), so every route is linearized first, exactly as
//! every KMIP message is (`Kms::linearize`: a read index through the leader, then this node's
//! store caught up to it), except the few declared in [`LOCAL_ROUTES`]. A node that cannot get
//! a read index (cut off from the majority, or no leader) answers the others
//! `503 {"error":"cluster unavailable; try again"}`: it never answers from state that may be
//! stale, and a write never decides on it either.
//!
//! A route not listed is linearized: forgetting to list a new route costs availability on a
//! cut-off node, never a stale answer.
//!
//! The local routes are this node's own view, answered even when it is cut off, because that
//! is when an operator needs them: the probes, `/metrics`, `/v1/node/status`, `/v1/cluster`
//! and `/v1/cluster/digest` (each names the applied index or says `"view": "local"`), and
//! `/v1/cluster/init` (a node that belongs to no cluster yet has no leader to ask), and
//! `/v1/node/reload-certificates` (this node's own files: a cut-off node may need new
//! certificates to rejoin). Their
//! caller is checked against the enrollments this node holds, which on a cut-off node may
//! miss a recent disable: they show no tenant data.

use axum::http::Method;

use super::error::ApiError;
use crate::kms::Kms;

/// The `"view"` value of the JSON answers of local routes.
pub(crate) const LOCAL_VIEW: &str = "local";

/// The routes (method and route template) answered from this node's own state without
/// waiting for the cluster.
pub(crate) const LOCAL_ROUTES: [(Method, &str); 8] = [
    (Method::GET, "/healthz"),
    (Method::GET, "/readyz"),
    (Method::GET, "/metrics"),
    (Method::GET, "/v1/node/status"),
    (Method::GET, "/v1/cluster"),
    (Method::GET, "/v1/cluster/digest"),
    (Method::POST, "/v1/cluster/init"),
    (Method::POST, "/v1/node/reload-certificates"),
];

/// How a route's answer relates to the replicated state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Consistency {
    /// This node's own view (see [`LOCAL_ROUTES`]).
    Local,
    /// Linearized: waits until this node applied every change acknowledged anywhere before
    /// the call arrived.
    Linearized,
}

impl Consistency {
    /// The consistency of `method` on the route template `route`.
    pub(crate) fn of(method: &Method, route: &str) -> Self {
        if LOCAL_ROUTES.iter().any(|(m, r)| m == method && *r == route) {
            Self::Local
        } else {
            Self::Linearized
        }
    }

    /// Waits for what the route needs before it reads anything: nothing for a local route, a
    /// read index for the others (a no-op on a node running alone).
    pub(crate) async fn wait(self, kms: &Kms) -> Result<(), ApiError> {
        match self {
            Self::Local => Ok(()),
            Self::Linearized => kms.linearize().await.map_err(ApiError::NotLinearized),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_routes_are_local_and_everything_else_is_linearized() {
        assert_eq!(
            Consistency::of(&Method::GET, "/v1/cluster"),
            Consistency::Local
        );
        assert_eq!(
            Consistency::of(&Method::GET, "/v1/tenants/{tenant}/keys/{uid}"),
            Consistency::Linearized
        );
        // Local by route AND method: another method on a local path waits too.
        assert_eq!(
            Consistency::of(&Method::POST, "/v1/cluster"),
            Consistency::Linearized
        );
        assert_eq!(
            Consistency::of(&Method::POST, "/v1/node/reload-certificates"),
            Consistency::Local
        );
        assert_eq!(
            Consistency::of(&Method::GET, "/v1/some/future/route"),
            Consistency::Linearized
        );
    }
}
