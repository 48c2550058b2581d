//! Every failure of an admin call, and the ONE place that maps it to an HTTP status and a fixed
//! JSON message `{"error": "<text>"}`. Details (store, HSM) go to tracing, never to the caller.

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::command_log::CommitError;
use crate::identity::IdentityError;
use crate::keys::KeyError;
use crate::ops::migration::MigrationError;
use crate::policy::Denial;
use crate::store::{Rejection, StoreError};
use crate::tenancy::AdminError;

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A certificate reload found a file unusable: nothing was installed.
    #[error("certificate reload refused: {0}")]
    CertificateReload(#[source] crate::tls::TlsError),
    /// The certificate names no enabled principal (or its tenant is suspended).
    #[error("not authenticated: {0}")]
    Unauthenticated(#[source] Arc<IdentityError>),
    /// The principal's role may not do this.
    #[error("forbidden")]
    Forbidden,
    /// No such tenant, or one the principal may not see (indistinguishable).
    #[error("no such tenant")]
    NoSuchTenant,
    /// No such client in the tenant.
    #[error("no such client")]
    NoSuchClient,
    /// No such key in the tenant (another tenant's key is answered the same).
    #[error("no such key")]
    NoSuchKey,
    /// No such job for the tenant.
    #[error("no such job")]
    NoSuchJob,
    /// No such route.
    #[error("not found")]
    NoSuchRoute,
    /// The request is malformed; the text says what (fixed, never echoes input).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The tenant exists already.
    #[error("tenant already exists")]
    TenantExists,
    /// The client name is enrolled already.
    #[error("client already enrolled")]
    ClientExists,
    /// The certificate's pin is bound to another client (operators binding a claim only:
    /// tenant admins never see another tenant's pins).
    #[error("certificate already pinned for another client")]
    FingerprintTaken,
    /// An uploaded certificate cannot be pinned: one answer for every reason (malformed,
    /// expired, issued by the KMS CA, ...), so that it tells nothing about other tenants.
    #[error("certificate refused: {0}")]
    InvalidCertificate(#[source] crate::identity::claim::PinRefusal),
    /// The client holds no pending pin claim (of that certificate).
    #[error("no pending pin claim")]
    NoPendingClaim,
    /// CSR signing needs `[tls] client_ca_key`.
    #[error("CSR signing is not configured")]
    CsrSigningOff,
    /// A CSR is signed only for a client enrolled as a CA-issued `kmip-client`.
    #[error("client is not a CA-issued kmip-client")]
    NotCaIssuedClient,
    /// The CSR is refused (the request's fault).
    #[error("CSR refused: {0:?}")]
    InvalidCsr(CsrRefusal),
    /// Signing a valid CSR failed (the node's fault).
    #[error("signing failed: {0}")]
    Signing(#[source] certs::Error),
    /// The key's lifecycle state forbids the action.
    #[error("wrong key lifecycle state")]
    WrongKeyState,
    /// A Name of the key is used by another key.
    #[error("name already in use")]
    NameTaken,
    /// A Domain Key rotation of the tenant is running already.
    #[error("rotation already running")]
    RotationRunning,
    /// The record kept changing under concurrent writers.
    #[error("concurrent modification")]
    Contention,
    /// The HSM did not answer (readiness, or an HSM call failed).
    #[error("HSM unavailable: {0}")]
    Hsm(#[source] KeyError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The metrics could not be rendered.
    #[error("rendering metrics failed")]
    Render(#[source] std::fmt::Error),
    /// Something else failed inside (details in the source).
    #[error("internal: {0}")]
    Internal(#[source] AdminError),
    /// The audit trail cannot take the call's record (fail-closed).
    #[error("audit trail unavailable")]
    AuditUnavailable,
    /// An audit record query did not get its turn in time (`audit::query::QueryGate`).
    #[error("audit queries busy")]
    AuditQueriesBusy,
    /// This node could not get a read index (cut off from the majority, or no leader): it does
    /// not answer from state that may be stale (`admin/consistency.rs`).
    #[error("not linearized: {0}")]
    NotLinearized(#[source] CommitError),
    /// A change was not committed (or its audit record is not yet durable).
    #[error("commit: {0}")]
    Commit(#[from] CommitError),
    /// The node belongs to no cluster (no `[cluster]` section).
    #[error("not clustered")]
    NotClustered,
    /// A cluster call (bootstrap, membership) failed; the text says why (operators only).
    #[error("cluster: {0}")]
    Cluster(#[from] crate::cluster::ClusterError),
    /// No key of the tenant is bound to that VM.
    #[error("no such VM")]
    NoSuchVm,
    /// A backup hold keeps the key: its material may not be erased.
    #[error("key held by a backup hold")]
    KeyHeld,
    /// The backup set holds keys already.
    #[error("backup set already holds keys")]
    HoldExists,
    /// A cancel of a key that is not pending destruction (never destroyed with a grace,
    /// cancelled, or erased already).
    #[error("key not pending destruction")]
    NotPendingDestruction,
    /// No such hold in the tenant.
    #[error("no such hold")]
    NoSuchHold,
    /// A key named by a hold is destroyed.
    #[error("key destroyed")]
    KeyDestroyed,
    /// A platform service acted on a tenant that has no advanced-protection subscription.
    #[error("tenant not subscribed")]
    NotSubscribed,
    /// A key action failed in the KMIP operation code for another reason.
    #[error("key not trustable for wrapping: {0}")]
    NotTrustable(&'static str),
    #[error("key operation failed: {0}")]
    Operation(#[source] crate::ops::OpError),
    /// An export approval by the admin who asked for the export, of an export needing none,
    /// or approved already.
    #[error("export approval refused")]
    ExportApproval,
    /// A tenant export or import was refused (the detail says why; nothing secret).
    #[error("tenant migration: {0}")]
    Migration(#[source] MigrationError),
    /// A backup was not taken.
    #[error("backup: {0}")]
    Backup(#[source] crate::backup::BackupError),
}

impl ApiError {
    /// The policy's refusal as the admin API answers it (`identity`: why the certificate
    /// identifies nobody, when it does not).
    pub(crate) fn denied(denial: Denial, identity: Option<Arc<IdentityError>>) -> ApiError {
        match denial {
            Denial::Unauthenticated => ApiError::Unauthenticated(
                identity.unwrap_or_else(|| Arc::new(IdentityError::NoCertificate)),
            ),
            // The admin policy does not produce the last two (admission refusals reach the
            // admin API as an unidentified certificate, above).
            Denial::Forbidden | Denial::TenantUnavailable | Denial::ClientDisabled => {
                ApiError::Forbidden
            }
            // Another tenant is answered exactly like a missing one.
            Denial::NotFound => ApiError::NoSuchTenant,
            Denial::UnnamedTenant => ApiError::NoSuchRoute,
            Denial::NotSubscribed => ApiError::NotSubscribed,
        }
    }

    /// The status and fixed message the caller sees.
    pub fn public(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "not authenticated"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::CertificateReload(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "certificate reload refused; the certificates in use are unchanged",
            ),
            ApiError::NoSuchTenant => (StatusCode::NOT_FOUND, "no such tenant"),
            ApiError::NoSuchClient => (StatusCode::NOT_FOUND, "no such client"),
            ApiError::NoSuchKey => (StatusCode::NOT_FOUND, "no such key"),
            ApiError::NoSuchJob => (StatusCode::NOT_FOUND, "no such job"),
            ApiError::NoSuchRoute => (StatusCode::NOT_FOUND, "not found"),
            ApiError::BadRequest(what) => (StatusCode::BAD_REQUEST, what),
            ApiError::TenantExists => (StatusCode::CONFLICT, "tenant already exists"),
            ApiError::ClientExists => (StatusCode::CONFLICT, "client already enrolled"),
            ApiError::FingerprintTaken => (
                StatusCode::CONFLICT,
                "certificate already pinned for another client",
            ),
            ApiError::InvalidCertificate(_) => (
                StatusCode::BAD_REQUEST,
                "certificate refused: pin one current X.509 certificate (PEM) that the KMS CA did not issue",
            ),
            ApiError::NoPendingClaim => (StatusCode::CONFLICT, "no pending pin claim"),
            ApiError::CsrSigningOff => (
                StatusCode::NOT_IMPLEMENTED,
                "CSR signing is not configured on this node",
            ),
            ApiError::NotCaIssuedClient => (
                StatusCode::CONFLICT,
                "client is not a CA-issued kmip-client",
            ),
            ApiError::InvalidCsr(CsrRefusal::Malformed) => (
                StatusCode::BAD_REQUEST,
                "csr must be one PEM certificate request",
            ),
            ApiError::InvalidCsr(CsrRefusal::Signature) => (
                StatusCode::BAD_REQUEST,
                "certificate request signature does not verify",
            ),
            ApiError::InvalidCsr(CsrRefusal::Key) => (
                StatusCode::BAD_REQUEST,
                "certificate request key must be RSA 2048-4096 or ECDSA P-256/P-384",
            ),
            ApiError::WrongKeyState => (StatusCode::CONFLICT, "wrong key lifecycle state"),
            ApiError::KeyHeld => (
                StatusCode::CONFLICT,
                "key held by a backup hold: release the hold first (revoke stays possible)",
            ),
            ApiError::HoldExists => (StatusCode::CONFLICT, "backup set already holds keys"),
            ApiError::NotPendingDestruction => {
                (StatusCode::CONFLICT, "key not pending destruction")
            }
            ApiError::NoSuchHold => (StatusCode::NOT_FOUND, "no such hold"),
            ApiError::NoSuchVm => (StatusCode::NOT_FOUND, "no such VM"),
            ApiError::KeyDestroyed => (StatusCode::CONFLICT, "key destroyed"),
            ApiError::NotSubscribed => (
                StatusCode::FORBIDDEN,
                "tenant has no advanced protection subscription",
            ),
            ApiError::NameTaken => (StatusCode::CONFLICT, "name already in use"),
            ApiError::RotationRunning => (StatusCode::CONFLICT, "rotation already running"),
            ApiError::Contention => (StatusCode::CONFLICT, "concurrent modification"),
            ApiError::Hsm(_) => (StatusCode::SERVICE_UNAVAILABLE, "HSM unavailable"),
            ApiError::AuditUnavailable | ApiError::Commit(CommitError::AuditPending(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "audit trail unavailable")
            }
            ApiError::AuditQueriesBusy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "audit queries busy; try again",
            ),
            ApiError::Commit(CommitError::Cluster(reason)) => {
                (StatusCode::SERVICE_UNAVAILABLE, *reason)
            }
            ApiError::NotLinearized(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "cluster unavailable; try again",
            ),
            ApiError::NotClustered => (StatusCode::CONFLICT, "this node runs alone (no [cluster])"),
            ApiError::Cluster(crate::cluster::ClusterError::Membership(_)) => {
                (StatusCode::CONFLICT, "cluster change refused")
            }
            ApiError::Cluster(
                crate::cluster::ClusterError::NoQuorum | crate::cluster::ClusterError::Unknown,
            ) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "cluster unavailable; try again",
            ),
            ApiError::Cluster(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
            ApiError::Operation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "key operation refused"),
            ApiError::ExportApproval => (
                StatusCode::CONFLICT,
                "export approval refused: a second tenant admin, not the one who asked, approves \
                 an export once",
            ),
            ApiError::Migration(
                MigrationError::TenantUnavailable
                | MigrationError::UidInUse(_)
                | MigrationError::NameTaken
                | MigrationError::ExportNotReady,
            ) => (StatusCode::CONFLICT, "tenant migration refused"),
            ApiError::Migration(MigrationError::Operation(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
            ApiError::Migration(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "tenant migration refused")
            }
            ApiError::NotTrustable(_) => {
                (StatusCode::CONFLICT, "key cannot be trusted for wrapping")
            }
            ApiError::Backup(crate::backup::BackupError::TooLarge { .. }) => (
                StatusCode::INSUFFICIENT_STORAGE,
                "backup larger than the admin API answers (64 MiB of backup.bin)",
            ),
            ApiError::Backup(crate::backup::BackupError::Busy) => (
                StatusCode::CONFLICT,
                "a backup is already being taken on this node; try again",
            ),
            ApiError::Backup(_) => (StatusCode::INTERNAL_SERVER_ERROR, "backup failed"),
            ApiError::Store(_)
            | ApiError::Commit(CommitError::Store(_))
            | ApiError::Render(_)
            | ApiError::Internal(_)
            | ApiError::Signing(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::TenantExists => ApiError::TenantExists,
            Rejection::NoSuchTenant => ApiError::NoSuchTenant,
            Rejection::FingerprintTaken => ApiError::FingerprintTaken,
            Rejection::ClaimChanged => ApiError::NoPendingClaim,
            Rejection::NameTaken => ApiError::NameTaken,
            Rejection::StaleRevision
            | Rejection::DomainKeyVersion
            | Rejection::DomainKeyInUse
            | Rejection::UnknownDomainKey => ApiError::Contention,
            Rejection::ObjectExists | Rejection::BadRevision | Rejection::TenantMismatch => {
                ApiError::Internal(AdminError::Rejected(r))
            }
            Rejection::ObjectQuota => ApiError::Operation(crate::ops::OpError::ObjectQuota),
            Rejection::Held => ApiError::KeyHeld,
            Rejection::HoldExists => ApiError::HoldExists,
            Rejection::NoSuchHold => ApiError::NoSuchHold,
            Rejection::NoSuchObject => ApiError::NoSuchKey,
            Rejection::ObjectDestroyed => ApiError::KeyDestroyed,
            Rejection::NotPendingDestruction => ApiError::NotPendingDestruction,
            // The leader's own time-driven commands; no admin route proposes them.
            Rejection::NotDue | Rejection::Noticed => ApiError::Internal(AdminError::Rejected(r)),
            Rejection::RotationRunning => ApiError::RotationRunning,
            Rejection::NoSuchJob => ApiError::NoSuchJob,
            Rejection::ExportApproval => ApiError::ExportApproval,
            Rejection::ExportNotReady => ApiError::Migration(MigrationError::ExportNotReady),
        }
    }
}

impl From<crate::backup::BackupError> for ApiError {
    fn from(e: crate::backup::BackupError) -> Self {
        ApiError::Backup(e)
    }
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Hsm(_) => ApiError::Hsm(e),
            KeyError::MissingDomainKey(_) | KeyError::NoMaterial => {
                ApiError::Internal(AdminError::Keys(e))
            }
        }
    }
}

/// The admin API's answer for a failed operation run for an admin (key actions, tenant
/// migration).
impl From<crate::ops::OpError> for ApiError {
    fn from(e: crate::ops::OpError) -> Self {
        use crate::ops::OpError;
        match e {
            OpError::ObjectNotFound => ApiError::NoSuchKey,
            OpError::WrongKeyLifecycleState | OpError::ObjectDestroyed => ApiError::WrongKeyState,
            OpError::Contention => ApiError::Contention,
            OpError::Held => ApiError::KeyHeld,
            OpError::NotTrustable(why) => ApiError::NotTrustable(why),
            OpError::Store(e) => ApiError::Store(e),
            OpError::Commit(e) => ApiError::Commit(e),
            OpError::Keys(e) => ApiError::from(e),
            OpError::AuditUnavailable => ApiError::AuditUnavailable,
            other => ApiError::Operation(other),
        }
    }
}

impl From<MigrationError> for ApiError {
    fn from(e: MigrationError) -> Self {
        match e {
            MigrationError::Operation(e) => e.into(),
            e => ApiError::Migration(e),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Store(e) => ApiError::Store(e),
            AdminError::Commit(e) => ApiError::Commit(e),
            AdminError::Keys(e) => e.into(),
            AdminError::Rejected(r) => r.into(),
            AdminError::InvalidName(_) => ApiError::BadRequest("invalid name"),
            AdminError::NoSuchClient => ApiError::NoSuchClient,
            AdminError::Password(_) | AdminError::Task(_) | AdminError::NoHsm => {
                ApiError::Internal(e)
            }
        }
    }
}

/// Why a CSR is not signed, as far as the caller may learn it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrRefusal {
    /// Not one PEM PKCS#10 request (or too large).
    Malformed,
    /// Its self-signature does not verify.
    Signature,
    /// Its key is of a refused type or size.
    Key,
}

impl CsrRefusal {
    /// Sorts a signing failure: the request's fault (400) or the node's (500).
    pub(crate) fn of(e: certs::Error) -> ApiError {
        match e {
            certs::Error::Pem { .. }
            | certs::Error::ParseCsr(_)
            | certs::Error::TrailingBytes
            | certs::Error::CertificateTooLarge(_) => ApiError::InvalidCsr(CsrRefusal::Malformed),
            certs::Error::CsrSignature(_) => ApiError::InvalidCsr(CsrRefusal::Signature),
            certs::Error::CsrKeyRefused | certs::Error::CsrPublicKey(_) => {
                ApiError::InvalidCsr(CsrRefusal::Key)
            }
            // `certs::Error` is non-exhaustive: anything else is the node's failure.
            other => ApiError::Signing(other),
        }
    }
}

/// The fixed reason of a failed call, left in the response's extensions for the audit log.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FailureReason(pub(crate) &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = self.public();
        if status.is_server_error() {
            tracing::warn!(error = %self, "admin call failed");
        } else {
            tracing::debug!(error = %self, "admin call refused");
        }
        // A refused membership change says why (node IDs, KCVs: nothing secret), for operators.
        let body = match &self {
            ApiError::Cluster(crate::cluster::ClusterError::Membership(why)) => {
                serde_json::json!({ "error": message, "detail": why })
            }
            // Which file and what is wrong with it (paths and parser findings, no key bytes).
            ApiError::CertificateReload(e) => {
                serde_json::json!({ "error": message, "detail": e.to_string() })
            }
            // Which rule of `ops::wrap_trust` refuses the key (fixed texts, nothing secret).
            ApiError::NotTrustable(why) => serde_json::json!({ "error": message, "detail": why }),
            // What to fix in the bundle or the request (fixed texts and the bundle's own UIDs).
            ApiError::Migration(e) if e.is_request_fault() => {
                serde_json::json!({ "error": message, "detail": e.to_string() })
            }
            _ => serde_json::json!({ "error": message }),
        };
        let mut response = (status, Json(body)).into_response();
        response.extensions_mut().insert(FailureReason(message));
        response
    }
}
