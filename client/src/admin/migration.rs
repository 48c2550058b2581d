//! The tenant migration routes of the admin API (`docs/REVERSIBILITY.md`): export jobs, the
//! bundle, its import and the tenant's import key pair. Answers are the server's JSON
//! documents as they are (`docs/ADMIN-API.md` gives their fields).

use serde_json::{Value, json};

use super::AdminClient;

use crate::error::Result;

/// Whom an export's keys are wrapped for.
#[derive(Clone, Debug)]
pub enum ExportRecipient<'a> {
    /// The customer's RSA public key (PEM).
    PublicKeyPem(&'a str),
    /// An AES-256 key of the tenant (its UID).
    TransferKey(&'a str),
}

impl AdminClient {
    /// `POST /v1/tenants/{t}/exports`: asks for a whole-tenant export.
    pub async fn request_export(&self, tenant: &str, to: ExportRecipient<'_>) -> Result<Value> {
        let body = match to {
            ExportRecipient::PublicKeyPem(pem) => json!({ "recipient_public_key": pem }),
            ExportRecipient::TransferKey(uid) => json!({ "transfer_key": uid }),
        };
        self.send("POST", &Self::tenant_path(tenant, "/exports"), Some(body))
            .await
    }

    /// `GET /v1/tenants/{t}/exports`.
    pub async fn exports(&self, tenant: &str) -> Result<Value> {
        self.send("GET", &Self::tenant_path(tenant, "/exports"), None)
            .await
    }

    /// `POST /v1/tenants/{t}/exports/{job}/approve`: the second tenant admin's approval.
    pub async fn approve_export(&self, tenant: &str, job: &str) -> Result<Value> {
        let path = Self::tenant_path(
            tenant,
            &format!("/exports/{}/approve", super::http::encode(job)),
        );
        self.send("POST", &path, None).await
    }

    /// `POST /v1/tenants/{t}/exports/{job}/bundle`: the bundle (once).
    pub async fn take_export(&self, tenant: &str, job: &str) -> Result<Value> {
        let path = Self::tenant_path(
            tenant,
            &format!("/exports/{}/bundle", super::http::encode(job)),
        );
        self.send("POST", &path, None).await
    }

    /// `POST /v1/tenants/{t}/imports`: imports `bundle` (the export's JSON document), all or
    /// nothing, unwrapping with `unwrap_key`, if `signer` (PEM) signed it.
    pub async fn import_bundle(
        &self,
        tenant: &str,
        bundle: Value,
        unwrap_key: &str,
        signer: &str,
    ) -> Result<Value> {
        let body = json!({ "bundle": bundle, "unwrap_key": unwrap_key, "signer": signer });
        self.send("POST", &Self::tenant_path(tenant, "/imports"), Some(body))
            .await
    }

    /// `POST /v1/tenants/{t}/import-key`: makes the tenant's import key pair.
    pub async fn create_import_key(&self, tenant: &str) -> Result<Value> {
        self.send("POST", &Self::tenant_path(tenant, "/import-key"), None)
            .await
    }
}
