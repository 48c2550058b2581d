//! The admin API: HTTPS with client certificates on its own port (`[admin]`, default
//! `127.0.0.1:5697`), JSON in and out. TLS and client-certificate verification are exactly the
//! KMIP listener's (`crate::tls`); the principal is derived from the verified certificate by
//! `crate::identity` for every request, so disabling an admin or suspending a tenant takes
//! effect at once. Roles: operator (every tenant), tenant admin (own tenant), auditor (own
//! tenant, read-only). Every call is logged in one place, [`auth::audit_admin_call`], which
//! also makes every call but this node's own views wait for a read index first
//! (`consistency.rs`), so a node cut off from the cluster answers 503 rather than stale state.
//!
//! The routes and their JSON are documented in `docs/ADMIN-API.md`.

mod audit;
mod auth;
mod backups;
pub mod certificates;
mod clients;
mod cluster;
mod consistency;
mod csr;
mod error;
mod events;
mod holds;
mod inventory;
mod lifecycle;
mod migration;
mod pins;
mod platform;
pub mod rotation;

pub use rotation::run_jobs as run_rotation_jobs;
mod slots;
mod tenants;
mod vms;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls_pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::{timeout, timeout_at};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tracing::{debug, info, warn};

pub use error::ApiError;

use crate::config::AdminSettings;
use crate::kms::Kms;

/// Time allowed for the TLS handshake of an admin connection.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Time allowed to send request headers, and for an idle keep-alive connection to start its
/// next request.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest accepted request body. Admin requests are small JSON documents; a tenant bundle's
/// import takes [`migration::MAX_IMPORT_BODY`].
const MAX_BODY: usize = 64 * 1024;

/// The route taking a tenant bundle.
const IMPORT_ROUTE: &str = "/v1/tenants/{tenant}/imports";

/// What the handlers share: the service, the start time, and
/// what client enrollment needs.
#[derive(Debug)]
pub struct AdminState {
    kms: Arc<Kms>,
    started: Instant,
    enrollment: Enrollment,
    certificates: Arc<crate::tls::Certificates>,
    /// `[admin] two_person_export`.
    two_person_export: bool,
}

/// What enrolling clients needs besides the store: how long a pin claim's token binds, and
/// the client CA with its key when this node signs CSRs.
#[derive(Debug)]
pub struct Enrollment {
    /// `[admin] pin_claim_ttl_secs`.
    pub pin_claim_ttl: Duration,
    /// The client CA and its key (`[tls] client_ca_key`); `None`: CSR signing answers 501.
    pub csr_signer: Option<certs::CertificateAuthority>,
}

impl AdminState {
    /// State over the node's service (`two_person_export`: `[admin] two_person_export`).
    pub fn new(
        kms: Arc<Kms>,
        enrollment: Enrollment,
        certificates: Arc<crate::tls::Certificates>,
        two_person_export: bool,
    ) -> Arc<Self> {
        Arc::new(Self {
            kms,
            started: Instant::now(),
            enrollment,
            certificates,
            two_person_export,
        })
    }
}

/// The TLS peer of an admin connection: its verified certificate chain and address. Put in
/// every request's extensions by the connection loop.
#[derive(Clone, Debug)]
pub(crate) struct Peer {
    chain: Arc<Vec<CertificateDer<'static>>>,
    addr: SocketAddr,
}

/// Every route of the admin API: method, route and handler (`GET "/path" => handler`).
macro_rules! routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        vec![$((stringify!($method), $path, on(MethodFilter::$method, $handler))),*]
    };
}

/// The route table: every route of the admin API with its method and handler. The policy
/// holds one row for each ([`crate::policy::admin::TABLE`]; its tests check both tables hold
/// the same routes).
fn routes() -> Vec<(&'static str, &'static str, MethodRouter<Arc<AdminState>>)> {
    routes![
        GET "/healthz" => tenants::healthz,
        GET "/readyz" => tenants::readyz,
        GET "/metrics" => tenants::metrics,
        GET "/v1/node/status" => tenants::node_status,
        POST "/v1/node/reload-certificates" => certificates::reload,
        GET "/v1/cluster" => cluster::status,
        POST "/v1/cluster/init" => cluster::init,
        POST "/v1/cluster/nodes" => cluster::add_node,
        DELETE "/v1/cluster/nodes/{id}" => cluster::remove_node,
        POST "/v1/cluster/nodes/{id}/rebuild" => cluster::rebuild_node,
        GET "/v1/cluster/digest" => cluster::digest,
        POST "/v1/backups" => backups::create,
        GET "/v1/audit/records" => audit::records,
        GET "/v1/audit/checkpoints" => audit::checkpoints,
        GET "/v1/audit/public-key" => audit::public_key,
        GET "/v1/tenants" => tenants::list_tenants,
        POST "/v1/tenants" => tenants::create_tenant,
        GET "/v1/tenants/{tenant}" => tenants::get_tenant,
        POST "/v1/tenants/{tenant}/suspend" => tenants::suspend,
        POST "/v1/tenants/{tenant}/resume" => tenants::resume,
        GET "/v1/tenants/{tenant}/clients" => clients::list,
        POST "/v1/tenants/{tenant}/clients" => clients::enroll,
        POST "/v1/tenants/{tenant}/clients/{name}/disable" => clients::disable,
        POST "/v1/tenants/{tenant}/clients/{name}/enable" => clients::enable,
        PUT "/v1/tenants/{tenant}/clients/{name}/password" => clients::set_password,
        POST "/v1/tenants/{tenant}/clients/{name}/claim-token" => pins::renew_token,
        POST "/v1/tenants/{tenant}/clients/{name}/bind" => pins::bind,
        POST "/v1/tenants/{tenant}/clients/{name}/csr" => csr::sign,
        GET "/v1/tenants/{tenant}/keys" => inventory::list,
        GET "/v1/tenants/{tenant}/keys/{uid}" => inventory::one,
        POST "/v1/tenants/{tenant}/keys/{uid}/{action}" => lifecycle::act,
        POST "/v1/tenants/{tenant}/rotate-domain-key" => rotation::start,
        GET "/v1/tenants/{tenant}/jobs/{job}" => rotation::progress,
        GET "/v1/platform/services" => platform::list_services,
        POST "/v1/platform/services" => platform::enroll_service,
        POST "/v1/platform/services/{name}/disable" => platform::disable_service,
        POST "/v1/platform/services/{name}/enable" => platform::enable_service,
        GET "/v1/tenants/{tenant}/platform" => platform::policy,
        PUT "/v1/tenants/{tenant}/platform/subscription" => platform::set_subscription,
        PUT "/v1/tenants/{tenant}/platform/rotation" => platform::set_rotation,
        PUT "/v1/tenants/{tenant}/platform/destroy-grace" => platform::set_destroy_grace,
        PUT "/v1/tenants/{tenant}/platform/domain-key-rotation" => platform::set_domain_key_rotation,
        GET "/v1/tenants/{tenant}/key-providers" => platform::key_providers,
        POST "/v1/tenants/{tenant}/vms/eligibility" => vms::eligibility,
        GET "/v1/tenants/{tenant}/vms" => vms::list,
        GET "/v1/tenants/{tenant}/vms/{vm}" => vms::one,
        POST "/v1/tenants/{tenant}/replication/check" => vms::replication_check,
        GET "/v1/tenants/{tenant}/holds" => holds::list,
        POST "/v1/tenants/{tenant}/holds" => holds::place,
        GET "/v1/tenants/{tenant}/holds/{set}" => holds::one,
        DELETE "/v1/tenants/{tenant}/holds/{set}" => holds::release,
        GET "/v1/tenants/{tenant}/events" => events::feed,
        GET "/v1/tenants/{tenant}/exports" => migration::list,
        POST "/v1/tenants/{tenant}/exports" => migration::request,
        POST "/v1/tenants/{tenant}/exports/{job}/approve" => migration::approve,
        POST "/v1/tenants/{tenant}/exports/{job}/bundle" => migration::take,
        POST "/v1/tenants/{tenant}/imports" => migration::import,
        POST "/v1/tenants/{tenant}/import-key" => migration::import_key,
    ]
}

/// The method and route of every route of the admin API, in the route table's order.
pub fn route_table() -> Vec<(&'static str, &'static str)> {
    routes()
        .into_iter()
        .map(|(method, route, _)| (method, route))
        .collect()
}

/// Every route of the admin API ([`routes`]). Each call is decided by the policy and recorded
/// by [`auth::audit_admin_call`], and waits for a read index before anything is read
/// (`consistency.rs`), except on the routes declared local in [`consistency::LOCAL_ROUTES`]:
/// the probes, `/metrics`, `/v1/node/status`, `/v1/cluster`, `/v1/cluster/digest` and
/// `/v1/cluster/init`, this node's own view.
pub fn router(state: Arc<AdminState>) -> Router {
    let api = routes()
        .into_iter()
        .fold(Router::new(), |router, (_, route, handler)| {
            // A bundle is larger than any other admin request.
            let handler = if route == IMPORT_ROUTE {
                handler.layer(DefaultBodyLimit::max(migration::MAX_IMPORT_BODY))
            } else {
                handler
            };
            router.route(route, handler)
        })
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::audit_admin_call,
        ))
        .fallback(auth::unknown_route)
        .layer(DefaultBodyLimit::max(MAX_BODY));
    api.with_state(state)
}

/// Runs the admin accept loop until `shutdown` turns true, then lets open connections finish
/// their current request (at most `drain`). Who may hold a connection: see [`slots`].
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<AdminState>,
    settings: AdminSettings,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
) {
    let slots = slots::AdminSlots::new(
        settings.max_connections,
        settings.max_connections_per_ip,
        settings.operator_reserved_connections,
    );
    let app = router(state.clone());
    let body_timeout = settings.body_timeout;
    info!(
        addr = ?listener.local_addr().ok(),
        max_connections = settings.max_connections,
        max_connections_per_ip = settings.max_connections_per_ip,
        operator_reserved_connections = settings.operator_reserved_connections,
        "admin listener up"
    );
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (tcp, addr) = match accepted {
            Ok(x) => x,
            Err(e) => {
                warn!(error = %e, "admin accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Some(mut slot) = slots.admit(addr.ip()) else {
            debug!(%addr, "admin connection caps reached and no reserved slot to take; closing");
            state.kms.metrics().limit_refused("admin_connections");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let open = state.kms.metrics().admin_connection();
        let (acceptor, app, mut shutdown) = (acceptor.clone(), app.clone(), shutdown.clone());
        let kms = state.kms.clone();
        tokio::spawn(async move {
            let handshake = timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
            let tls = tokio::select! {
                done = handshake => match done {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        debug!(%addr, error = %e, "admin TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        debug!(%addr, "admin TLS handshake timed out");
                        return;
                    }
                },
                () = slot.evicted() => {
                    debug!(%addr, "reserved admin slot taken by a newer connection during the handshake");
                    kms.metrics().limit_refused("admin_reserved");
                    return;
                }
            };
            let chain: Vec<CertificateDer<'static>> = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default();
            if slot.is_reserved() {
                if !is_operator(&kms, &chain) {
                    debug!(%addr, "reserved admin slot refused: not an operator");
                    kms.metrics().limit_refused("admin_reserved");
                    return;
                }
                slot.keep();
            }
            let peer = Peer {
                chain: Arc::new(chain),
                addr,
            };
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let (app, peer, kms) = (app.clone(), peer.clone(), kms.clone());
                async move {
                    let mut req = match with_body(req, body_timeout).await {
                        Ok(req) => req,
                        Err(late) => {
                            debug!(%addr, "admin request body not received in time");
                            kms.metrics().limit_refused("admin_body_timeout");
                            return Ok(late);
                        }
                    };
                    req.extensions_mut().insert(peer);
                    app.oneshot(req).await
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(tls), service);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        debug!(%addr, error = %e, "admin connection ended");
                    }
                }
                _ = shutdown.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = timeout(drain, conn).await;
                }
            }
            drop(open);
            drop(slot);
        });
    }
    info!("admin listener stopping; draining connections");
    slots.drain(drain).await;
}

/// Whether the policy lets a verified chain take a reserved slot (it inspects as an enrolled,
/// enabled operator's).
fn is_operator(kms: &Kms, chain: &[CertificateDer<'static>]) -> bool {
    let principal = kms
        .inspect_peer(chain)
        .ok()
        .and_then(|c| crate::identity::principal_of(&c, kms.store()).ok());
    crate::policy::admin::may_take_reserved_slot(principal.as_ref())
}

/// The request with its body read in full, which must arrive within `limit` of the headers
/// (`admin.body_timeout_secs`): else `408 Request Timeout` and the connection is closed. At
/// most [`MAX_BODY`] + 1 bytes are read; a longer body is passed on that long, for the
/// router's own limit to refuse (413) as it does any body over [`MAX_BODY`].
async fn with_body(
    req: hyper::Request<Incoming>,
    limit: Duration,
) -> Result<hyper::Request<Body>, Response> {
    let deadline = tokio::time::Instant::now() + limit;
    let (parts, mut body) = req.into_parts();
    let mut bytes = Vec::new();
    while bytes.len() <= MAX_BODY {
        match timeout_at(deadline, body.frame()).await {
            Err(_) => {
                let mut late = (
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    axum::Json(serde_json::json!({ "error": "request body not received in time" })),
                )
                    .into_response();
                late.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
                return Err(late);
            }
            Ok(None) => break,
            // A broken body: pass what came; the handler's extractor refuses it.
            Ok(Some(Err(_))) => break,
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
        }
    }
    Ok(hyper::Request::from_parts(parts, Body::from(bytes)))
}

/// Unix seconds as RFC 3339 (UTC), for JSON.
pub(crate) fn rfc3339(secs: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
}

/// Current time, Unix seconds.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
