//! The platform routes of the admin API (`docs/PLATFORM.md`): platform services, a tenant's
//! platform policy and key providers, VM eligibility, the encrypted-VM registry, the
//! replication check and backup holds. Answers are the server's JSON documents as they are
//! (`docs/ADMIN-API.md` gives their fields).

use serde_json::{Value, json};

use super::AdminClient;
use super::http::encode;
use crate::error::{ClientError, Result};

/// The replication check of `vm_ids` (a LUN's VMs when `lun` names it) for `mode`.
#[derive(Clone, Debug)]
pub struct ReplicationCheck<'a> {
    /// `none`, `vm_replication`, `metro_mirror` or `global_mirror`.
    pub mode: &'a str,
    /// The VMs (vCenter VM identifiers).
    pub vm_ids: &'a [String],
    /// The LUN the VMs are on, if the check is for a LUN.
    pub lun: Option<&'a str>,
    /// Asks to enable the mode despite a refusal (recorded; refused all the same).
    pub r#override: bool,
}

impl AdminClient {
    pub(super) async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let body = body
            .map(|b| serde_json::to_vec(&b).map_err(ClientError::Json))
            .transpose()?;
        self.endpoint.exchange(method, path, body).await?.json()
    }

    pub(super) fn tenant_path(tenant: &str, rest: &str) -> String {
        format!("/v1/tenants/{}{rest}", encode(tenant))
    }

    /// `GET /v1/platform/services` (operators).
    pub async fn platform_services(&self) -> Result<Value> {
        self.send("GET", "/v1/platform/services", None).await
    }

    /// `POST /v1/platform/services` (operators): enrolls `console`, `backup` or `replication`.
    pub async fn enroll_platform_service(&self, name: &str) -> Result<Value> {
        self.send(
            "POST",
            "/v1/platform/services",
            Some(json!({ "name": name })),
        )
        .await
    }

    /// `GET /v1/tenants/{t}/platform`: the tenant's platform policy.
    pub async fn platform_policy(&self, tenant: &str) -> Result<Value> {
        self.send("GET", &Self::tenant_path(tenant, "/platform"), None)
            .await
    }

    /// `PUT /v1/tenants/{t}/platform/subscription`.
    pub async fn set_subscription(&self, tenant: &str, on: bool) -> Result<Value> {
        let path = Self::tenant_path(tenant, "/platform/subscription");
        self.send("PUT", &path, Some(json!({ "advanced_protection": on })))
            .await
    }

    /// `PUT /v1/tenants/{t}/platform/rotation` (`None`: no maximum KEK age).
    pub async fn set_max_kek_age(&self, tenant: &str, days: Option<u32>) -> Result<Value> {
        let path = Self::tenant_path(tenant, "/platform/rotation");
        self.send("PUT", &path, Some(json!({ "max_kek_age_days": days })))
            .await
    }

    /// `PUT /v1/tenants/{t}/platform/destroy-grace` (`0`: a destroy erases at once).
    pub async fn set_destroy_grace(&self, tenant: &str, secs: u32) -> Result<Value> {
        let path = Self::tenant_path(tenant, "/platform/destroy-grace");
        self.send("PUT", &path, Some(json!({ "destroy_grace_secs": secs })))
            .await
    }

    /// `PUT /v1/tenants/{t}/platform/domain-key-rotation` (`None`: no schedule).
    pub async fn set_domain_key_rotation(&self, tenant: &str, days: Option<u32>) -> Result<Value> {
        let path = Self::tenant_path(tenant, "/platform/domain-key-rotation");
        self.send("PUT", &path, Some(json!({ "every_days": days })))
            .await
    }

    /// `GET /v1/tenants/{t}/key-providers`.
    pub async fn key_providers(&self, tenant: &str) -> Result<Value> {
        self.send("GET", &Self::tenant_path(tenant, "/key-providers"), None)
            .await
    }

    /// `POST /v1/tenants/{t}/vms/eligibility` with the VM's facts.
    pub async fn vm_eligibility(&self, tenant: &str, facts: Value) -> Result<Value> {
        let path = Self::tenant_path(tenant, "/vms/eligibility");
        self.send("POST", &path, Some(facts)).await
    }

    /// `GET /v1/tenants/{t}/vms`: the encrypted-VM registry.
    pub async fn vms(&self, tenant: &str) -> Result<Value> {
        self.send("GET", &Self::tenant_path(tenant, "/vms"), None)
            .await
    }

    /// `GET /v1/tenants/{t}/vms/{vm}`.
    pub async fn vm(&self, tenant: &str, vm: &str) -> Result<Value> {
        let path = Self::tenant_path(tenant, &format!("/vms/{}", encode(vm)));
        self.send("GET", &path, None).await
    }

    /// `POST /v1/tenants/{t}/replication/check`.
    pub async fn replication_check(
        &self,
        tenant: &str,
        check: &ReplicationCheck<'_>,
    ) -> Result<Value> {
        let path = Self::tenant_path(tenant, "/replication/check");
        let body = json!({
            "mode": check.mode,
            "vm_ids": check.vm_ids,
            "lun": check.lun,
            "override": check.r#override,
        });
        self.send("POST", &path, Some(body)).await
    }

    /// `GET /v1/tenants/{t}/holds`.
    pub async fn holds(&self, tenant: &str) -> Result<Value> {
        self.send("GET", &Self::tenant_path(tenant, "/holds"), None)
            .await
    }

    /// `GET /v1/tenants/{t}/holds/{set}`: the keys the backup set needs, and whether it can be
    /// restored now from the answering node.
    pub async fn hold(&self, tenant: &str, backup_set: &str) -> Result<Value> {
        let path = Self::tenant_path(tenant, &format!("/holds/{}", encode(backup_set)));
        self.send("GET", &path, None).await
    }

    /// `POST /v1/tenants/{t}/holds` (`retention_until`: RFC 3339).
    pub async fn place_hold(
        &self,
        tenant: &str,
        backup_set: &str,
        keys: &[String],
        retention_until: &str,
    ) -> Result<Value> {
        let body = json!({
            "backup_set": backup_set,
            "keys": keys,
            "retention_until": retention_until,
        });
        self.send("POST", &Self::tenant_path(tenant, "/holds"), Some(body))
            .await
    }

    /// `DELETE /v1/tenants/{t}/holds/{set}`.
    pub async fn release_hold(&self, tenant: &str, backup_set: &str) -> Result<Value> {
        let path = Self::tenant_path(tenant, &format!("/holds/{}", encode(backup_set)));
        self.send("DELETE", &path, None).await
    }

    /// `GET /v1/tenants/{t}/events?after=&wait=`: the events past `after`, waiting up to
    /// `wait_secs` (0 to 30) for one.
    pub async fn events(&self, tenant: &str, after: u64, wait_secs: u64) -> Result<Value> {
        let path = Self::tenant_path(tenant, &format!("/events?after={after}&wait={wait_secs}"));
        self.send("GET", &path, None).await
    }
}
