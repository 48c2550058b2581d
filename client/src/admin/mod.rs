//! An async HTTPS client of the admin API (`docs/ADMIN-API.md`): the same mutual TLS as the
//! KMIP client ([`ClientConfig::tls_config`]: the KMS CA, the caller's certificate), JSON in
//! and out, one connection per call. The audit routes (`/v1/audit/...`) answer in the
//! `audit-log` crate's own record and checkpoint shapes. Errors the server answers become
//! [`ClientError::Admin`] with the HTTP status and the server's fixed error text.
//!
//! ```no_run
//! use client::ClientConfig;
//! use client::admin::{AdminClient, KeyFilter};
//! # async fn f() -> Result<(), client::ClientError> {
//! let settings = ClientConfig::new("kms.example:5696", "kms.example")
//!     .with_ca_file("ca.pem")
//!     .with_identity("admin.pem", "admin.key");
//! let admin = AdminClient::new("kms.example:5697", &settings)?;
//! let page = admin.keys("acme", &KeyFilter::default()).await?;
//! # Ok(()) }
//! ```

mod audit;
mod cluster;
mod http;
mod migration;
mod model;
mod platform;

use serde_json::json;
use zeroize::Zeroizing;

pub use audit::{AuditPage, AuditQuery, CheckpointView, MAX_AUDIT_PAGE};
pub use cluster::{ClusterMember, ClusterStatus, StateDigest};
pub use migration::ExportRecipient;
pub use model::{
    CertificateInUse, CertificatesReloaded, ClaimToken, EnrolledClient, Enrollment, Health, Job,
    Key, KeyAction, KeyCacheCounts, KeyFilter, KeyPage, NodeCounts, NodeStatus, RotationStarted,
    SignedCertificate, Tenant, Vmware,
};
pub use platform::ReplicationCheck;

use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use http::{Endpoint, encode, query};

/// A client of one admin API endpoint with one principal's certificate. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AdminClient {
    endpoint: Endpoint,
}

impl AdminClient {
    /// A client of the admin API at `admin_addr` (`host:port`), with the TLS settings, server
    /// name and timeouts of `settings` (its `server_addr` and KMIP options are not used).
    pub fn new(admin_addr: impl Into<String>, settings: &ClientConfig) -> Result<Self> {
        let tls = settings.tls_config()?;
        let endpoint = Endpoint::new(
            admin_addr.into(),
            &settings.server_name,
            tls,
            settings.connect_timeout,
            settings.request_timeout,
        )?;
        Ok(Self { endpoint })
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.endpoint.exchange("GET", path, None).await?.json()
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<T> {
        let body = serde_json::to_vec(&body).map_err(ClientError::Json)?;
        self.endpoint
            .exchange("POST", path, Some(body))
            .await?
            .json()
    }

    /// `GET /healthz`: the process answers.
    pub async fn healthz(&self) -> Result<Health> {
        self.get("/healthz").await
    }

    /// `GET /readyz`: the store and the HSM answer.
    pub async fn readyz(&self) -> Result<Health> {
        self.get("/readyz").await
    }

    /// `GET /metrics` (operators): Prometheus text.
    pub async fn metrics(&self) -> Result<String> {
        self.endpoint
            .exchange("GET", "/metrics", None)
            .await?
            .text()
    }

    /// `GET /v1/node/status` (operators).
    pub async fn node_status(&self) -> Result<NodeStatus> {
        self.get("/v1/node/status").await
    }

    /// `POST /v1/node/reload-certificates` (operators): the node re-reads its certificate files;
    /// a bad file is refused (HTTP 422 with the reason) and the old certificates stay.
    pub async fn reload_certificates(&self) -> Result<CertificatesReloaded> {
        self.post("/v1/node/reload-certificates", json!({})).await
    }

    /// `POST /v1/tenants` (operators): a new tenant with its first Domain Key.
    pub async fn create_tenant(&self, id: &str) -> Result<Tenant> {
        self.post("/v1/tenants", json!({ "id": id })).await
    }

    /// `GET /v1/tenants` (operators).
    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        let list: model::TenantList = self.get("/v1/tenants").await?;
        Ok(list.tenants)
    }

    /// `GET /v1/tenants/{t}`.
    pub async fn tenant(&self, tenant: &str) -> Result<Tenant> {
        self.get(&format!("/v1/tenants/{}", encode(tenant))).await
    }

    /// `POST /v1/tenants/{t}/suspend` (operators).
    pub async fn suspend(&self, tenant: &str) -> Result<Tenant> {
        let path = format!("/v1/tenants/{}/suspend", encode(tenant));
        self.post(&path, json!({})).await
    }

    /// `POST /v1/tenants/{t}/resume` (operators).
    pub async fn resume(&self, tenant: &str) -> Result<Tenant> {
        let path = format!("/v1/tenants/{}/resume", encode(tenant));
        self.post(&path, json!({})).await
    }

    /// `POST /v1/tenants/{t}/clients`: enrolls a CA-issued client, or a pin claim of a
    /// certificate (the answer then carries the one-time `claim_token`).
    pub async fn enroll(&self, tenant: &str, enrollment: &Enrollment) -> Result<EnrolledClient> {
        let path = format!("/v1/tenants/{}/clients", encode(tenant));
        let body = serde_json::to_value(enrollment).map_err(ClientError::Json)?;
        self.post(&path, body).await
    }

    /// `POST .../clients/{name}/claim-token`: a new enrollment token for a pending pin claim.
    pub async fn renew_claim_token(&self, tenant: &str, name: &str) -> Result<EnrolledClient> {
        let path = format!(
            "/v1/tenants/{}/clients/{}/claim-token",
            encode(tenant),
            encode(name)
        );
        self.post(&path, json!({})).await
    }

    /// `POST .../clients/{name}/bind` (operators): binds a pending pin claim of the
    /// certificate with `fingerprint` (hex), checked out of band.
    pub async fn bind_pin(
        &self,
        tenant: &str,
        name: &str,
        fingerprint: &str,
    ) -> Result<EnrolledClient> {
        let path = format!(
            "/v1/tenants/{}/clients/{}/bind",
            encode(tenant),
            encode(name)
        );
        self.post(&path, json!({ "fingerprint": fingerprint }))
            .await
    }

    /// `POST .../clients/{name}/csr`: the KMS CA signs `csr_pem` for the CA-issued
    /// `kmip-client` `name`.
    pub async fn sign_csr(
        &self,
        tenant: &str,
        name: &str,
        csr_pem: &str,
    ) -> Result<SignedCertificate> {
        let path = format!(
            "/v1/tenants/{}/clients/{}/csr",
            encode(tenant),
            encode(name)
        );
        self.post(&path, json!({ "csr": csr_pem })).await
    }

    /// `GET /v1/tenants/{t}/clients`.
    pub async fn clients(&self, tenant: &str) -> Result<Vec<EnrolledClient>> {
        let path = format!("/v1/tenants/{}/clients", encode(tenant));
        let list: model::ClientList = self.get(&path).await?;
        Ok(list.clients)
    }

    /// `POST .../clients/{name}/enable` or `.../disable`.
    pub async fn set_client_enabled(
        &self,
        tenant: &str,
        name: &str,
        enabled: bool,
    ) -> Result<EnrolledClient> {
        let action = if enabled { "enable" } else { "disable" };
        let path = format!(
            "/v1/tenants/{}/clients/{}/{action}",
            encode(tenant),
            encode(name)
        );
        self.post(&path, json!({})).await
    }

    /// `PUT .../clients/{name}/password`: sets the KMIP Credential password, or clears it
    /// (`None`). The request body is wiped after sending; hyper's own copy is not.
    pub async fn set_password(
        &self,
        tenant: &str,
        name: &str,
        password: Option<&str>,
    ) -> Result<EnrolledClient> {
        let path = format!(
            "/v1/tenants/{}/clients/{}/password",
            encode(tenant),
            encode(name)
        );
        let body = Zeroizing::new(
            serde_json::to_vec(&json!({ "password": password })).map_err(ClientError::Json)?,
        );
        self.endpoint
            .exchange("PUT", &path, Some(body.to_vec()))
            .await?
            .json()
    }

    /// `GET /v1/tenants/{t}/keys`: one page of the inventory.
    pub async fn keys(&self, tenant: &str, filter: &KeyFilter) -> Result<KeyPage> {
        let q = query(&[
            ("state", filter.state.clone()),
            ("component", filter.component.clone()),
            ("name", filter.name.clone()),
            ("stale_days", filter.stale_days.map(|d| d.to_string())),
            ("limit", filter.limit.map(|l| l.to_string())),
            ("after", filter.after.clone()),
        ]);
        self.get(&format!("/v1/tenants/{}/keys{q}", encode(tenant)))
            .await
    }

    /// `GET /v1/tenants/{t}/keys/{uid}`.
    pub async fn key(&self, tenant: &str, uid: &str) -> Result<Key> {
        self.get(&format!(
            "/v1/tenants/{}/keys/{}",
            encode(tenant),
            encode(uid)
        ))
        .await
    }

    /// `POST /v1/tenants/{t}/keys/{uid}/{action}`. `reason` (Revocation Reason Code XML
    /// name) and `message` are sent for [`KeyAction::Revoke`] only. Re-key answers the new
    /// key.
    pub async fn key_action(
        &self,
        tenant: &str,
        uid: &str,
        action: KeyAction,
        reason: Option<&str>,
        message: Option<&str>,
    ) -> Result<Key> {
        let path = format!(
            "/v1/tenants/{}/keys/{}/{}",
            encode(tenant),
            encode(uid),
            action.as_str()
        );
        let body = match action {
            KeyAction::Revoke => json!({ "reason": reason, "message": message }),
            _ => json!({}),
        };
        self.post(&path, body).await
    }

    /// `POST /v1/tenants/{t}/rotate-domain-key`: starts the rotation job.
    pub async fn rotate_domain_key(&self, tenant: &str) -> Result<RotationStarted> {
        let path = format!("/v1/tenants/{}/rotate-domain-key", encode(tenant));
        self.post(&path, json!({})).await
    }

    /// `GET /v1/tenants/{t}/jobs/{id}`.
    pub async fn job(&self, tenant: &str, job: &str) -> Result<Job> {
        self.get(&format!(
            "/v1/tenants/{}/jobs/{}",
            encode(tenant),
            encode(job)
        ))
        .await
    }
}
