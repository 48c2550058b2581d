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
mod clients;
mod cluster;
mod csr;
mod consistency;
mod error;
mod inventory;
mod lifecycle;
mod pins;
mod rotation;
mod tenants;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls_pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::timeout;
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

/// Largest accepted request body. Admin requests are small JSON documents.
const MAX_BODY: usize = 64 * 1024;

/// What the handlers share: the service, the Domain Key rotation jobs, the start time, and
/// what client enrollment needs.
#[derive(Debug)]
pub struct AdminState {
    kms: Arc<Kms>,
    rotations: rotation::Rotations,
    started: Instant,
    enrollment: Enrollment,
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
    /// State over the node's service.
    pub fn new(kms: Arc<Kms>, enrollment: Enrollment) -> Arc<Self> {
        Arc::new(Self {
            kms,
            rotations: rotation::Rotations::default(),
            started: Instant::now(),
            enrollment,
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

/// Every route of the admin API. Each call waits for a read index before anything is read
/// (`consistency.rs`), except on the routes declared local in
/// [`consistency::LOCAL_ROUTES`]: the probes, `/metrics`, `/v1/node/status`, `/v1/cluster`,
/// `/v1/cluster/digest` and `/v1/cluster/init`, this node's own view.
pub fn router(state: Arc<AdminState>) -> Router {
    let api = Router::new()
        .route("/healthz", get(tenants::healthz))
        .route("/readyz", get(tenants::readyz))
        .route("/metrics", get(tenants::metrics))
        .route("/v1/node/status", get(tenants::node_status))
        .route("/v1/cluster", get(cluster::status))
        .route("/v1/cluster/init", post(cluster::init))
        .route("/v1/cluster/nodes", post(cluster::add_node))
        .route(
            "/v1/cluster/nodes/{id}",
            axum::routing::delete(cluster::remove_node),
        )
        .route(
            "/v1/cluster/nodes/{id}/rebuild",
            post(cluster::rebuild_node),
        )
        .route("/v1/cluster/digest", get(cluster::digest))
        .route("/v1/audit/records", get(audit::records))
        .route("/v1/audit/checkpoints", get(audit::checkpoints))
        .route("/v1/audit/public-key", get(audit::public_key))
        .route(
            "/v1/tenants",
            get(tenants::list_tenants).post(tenants::create_tenant),
        )
        .route("/v1/tenants/{tenant}", get(tenants::get_tenant))
        .route("/v1/tenants/{tenant}/suspend", post(tenants::suspend))
        .route("/v1/tenants/{tenant}/resume", post(tenants::resume))
        .route(
            "/v1/tenants/{tenant}/clients",
            get(clients::list).post(clients::enroll),
        )
        .route(
            "/v1/tenants/{tenant}/clients/{name}/disable",
            post(clients::disable),
        )
        .route(
            "/v1/tenants/{tenant}/clients/{name}/enable",
            post(clients::enable),
        )
        .route(
            "/v1/tenants/{tenant}/clients/{name}/password",
            put(clients::set_password),
        )
        .route(
            "/v1/tenants/{tenant}/clients/{name}/claim-token",
            post(pins::renew_token),
        )
        .route("/v1/tenants/{tenant}/clients/{name}/bind", post(pins::bind))
        .route("/v1/tenants/{tenant}/clients/{name}/csr", post(csr::sign))
        .route("/v1/tenants/{tenant}/keys", get(inventory::list))
        .route("/v1/tenants/{tenant}/keys/{uid}", get(inventory::one))
        .route(
            "/v1/tenants/{tenant}/keys/{uid}/{action}",
            post(lifecycle::act),
        )
        .route(
            "/v1/tenants/{tenant}/rotate-domain-key",
            post(rotation::start),
        )
        .route("/v1/tenants/{tenant}/jobs/{job}", get(rotation::progress))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::audit_admin_call,
        ))
        .fallback(auth::unknown_route)
        .layer(DefaultBodyLimit::max(MAX_BODY));
    api.with_state(state)
}

/// Runs the admin accept loop until `shutdown` turns true, then lets open connections finish
/// their current request (at most `drain`).
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<AdminState>,
    settings: AdminSettings,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
) {
    let max = settings.max_connections;
    let slots = Arc::new(Semaphore::new(max));
    let app = router(state.clone());
    info!(addr = ?listener.local_addr().ok(), max_connections = max, "admin listener up");
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
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            debug!(%addr, "admin connection cap reached; closing");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let open = state.kms.metrics().admin_connection();
        let (acceptor, app, mut shutdown) = (acceptor.clone(), app.clone(), shutdown.clone());
        tokio::spawn(async move {
            let tls = match timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    debug!(%addr, error = %e, "admin TLS handshake failed");
                    return;
                }
                Err(_) => {
                    debug!(%addr, "admin TLS handshake timed out");
                    return;
                }
            };
            let chain: Vec<CertificateDer<'static>> = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default();
            let peer = Peer {
                chain: Arc::new(chain),
                addr,
            };
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(peer.clone());
                app.clone().oneshot(req)
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
            drop(permit);
        });
    }
    info!("admin listener stopping; draining connections");
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = timeout(drain, slots.acquire_many(all)).await;
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
