//! The audit routes of the admin API: the audit public key, pages of records, and the signed
//! checkpoints. Records and checkpoints arrive in the `audit-log` crate's own JSON shapes, so
//! what the server sends is exactly what `kmsctl audit verify` checks.

use std::time::Duration;

use audit_log::{AuditRecord, Checkpoint, PublicKey, Scope};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::AdminClient;
use super::http::query;
use crate::error::{ClientError, Result};

/// Largest page the server serves (`limit` 1 to 10000).
pub const MAX_AUDIT_PAGE: u32 = 10_000;

/// How often a page refused because the node's audit queries are busy (503 "audit queries
/// busy; try again") is asked for again, and how long to wait before each try.
const BUSY_RETRIES: u32 = 30;
const BUSY_PAUSE: Duration = Duration::from_secs(1);

/// Which records to ask for; the server applies every set filter (a tenant-scoped caller
/// only ever gets its own tenant's records, whatever `tenant` says).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this tenant.
    pub tenant: Option<String>,
    /// Only this operation (`Create`, `POST /v1/tenants`, `connect`).
    pub operation: Option<String>,
    /// Only this object UID.
    pub object: Option<String>,
    /// Only this principal (certificate fingerprint, subject or client name).
    pub principal: Option<String>,
    /// At or after this time.
    pub from: Option<OffsetDateTime>,
    /// Before this time.
    pub until: Option<OffsetDateTime>,
}

/// One page of `GET /v1/audit/records`.
#[derive(Clone, Debug, Deserialize)]
pub struct AuditPage {
    /// Records in log order, each with `seq` above the `after` asked for.
    pub records: Vec<AuditRecord>,
    /// The `after` of the next page.
    pub next: u64,
    /// Whether more records follow now.
    pub more: bool,
}

#[derive(Deserialize)]
struct KeyAnswer {
    public_key: String,
}

/// `GET /v1/audit/checkpoints`: the checkpoints the caller may see, and the scope the server
/// served them for.
#[derive(Clone, Debug, Deserialize)]
pub struct CheckpointView {
    /// The checkpoints, each in the caller's view.
    pub checkpoints: Vec<Checkpoint>,
    /// `all` for an operator (full lists of tenant heads), a tenant for a tenant admin or
    /// auditor (that tenant's head and proof only). `None` from a server that does not say.
    #[serde(default)]
    pub scope: Option<Scope>,
}

fn rfc3339(t: Option<OffsetDateTime>) -> Result<Option<String>> {
    t.map(|t| {
        t.format(&Rfc3339)
            .map_err(|_| ClientError::Usage("a time cannot be written as RFC 3339"))
    })
    .transpose()
}

impl AdminClient {
    /// `GET /v1/audit/public-key`: the audit key checkpoints are signed with. Compare its
    /// fingerprint with the one recorded at the key ceremony before trusting it.
    pub async fn audit_public_key(&self) -> Result<PublicKey> {
        let answer: KeyAnswer = self.get("/v1/audit/public-key").await?;
        PublicKey::from_hex(answer.public_key.trim()).map_err(|_| {
            ClientError::UnexpectedResponse("the audit public key is not a P-256 point in hex")
        })
    }

    /// `GET /v1/audit/records`: records with `seq > after`, at most `limit` (server default
    /// 1000, at most [`MAX_AUDIT_PAGE`]). A page refused because the node's audit queries are
    /// busy is asked for again, up to 30 times a second apart.
    pub async fn audit_records(
        &self,
        filter: &AuditQuery,
        after: u64,
        limit: Option<u32>,
    ) -> Result<AuditPage> {
        let mut tries = 0;
        loop {
            match self.audit_page(filter, after, limit).await {
                Err(ClientError::Admin {
                    status: 503,
                    message,
                }) if message.starts_with("audit queries busy") && tries < BUSY_RETRIES => {
                    tries += 1;
                    tokio::time::sleep(BUSY_PAUSE).await;
                }
                other => return other,
            }
        }
    }

    async fn audit_page(
        &self,
        filter: &AuditQuery,
        after: u64,
        limit: Option<u32>,
    ) -> Result<AuditPage> {
        let q = query(&[
            ("after", Some(after.to_string())),
            ("limit", limit.map(|l| l.min(MAX_AUDIT_PAGE).to_string())),
            ("tenant", filter.tenant.clone()),
            ("operation", filter.operation.clone()),
            ("object", filter.object.clone()),
            ("principal", filter.principal.clone()),
            ("from", rfc3339(filter.from)?),
            ("until", rfc3339(filter.until)?),
        ]);
        let page: AuditPage = self.get(&format!("/v1/audit/records{q}")).await?;
        let mut last = after;
        for r in &page.records {
            if r.seq <= last {
                return Err(ClientError::UnexpectedResponse(
                    "audit records out of order or not after the position asked for",
                ));
            }
            last = r.seq;
        }
        if page.more && page.next <= after {
            return Err(ClientError::UnexpectedResponse(
                "audit page says more records follow but does not move forward",
            ));
        }
        Ok(page)
    }

    /// `GET /v1/audit/checkpoints`: every checkpoint the caller may see (a tenant-scoped
    /// caller gets each as its tenant's view, with an inclusion proof), and for which scope.
    pub async fn audit_checkpoints(&self) -> Result<CheckpointView> {
        self.get("/v1/audit/checkpoints").await
    }
}
