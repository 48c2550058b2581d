//! The KMIP lifecycle operations run for an administrator acting in a tenant (the admin API's
//! key actions), and the admin-only mark of a key trusted for wrapping (`wrap_trust`). They go through the very same operation code as KMIP requests, so the state
//! rules, records and cache invalidation cannot drift apart.

use kmip_codec::enums::RevocationReasonCode;
use kmip_codec::model::{
    ActivateRequest, DestroyRequest, ReKeyRequest, RevocationReason, RevokeRequest,
};
use kmip_codec::version::ProtocolVersion;

use std::sync::Arc;

use super::{Ctx, OpError, create, lifecycle, now, wrap_trust};
use crate::command_log::AuditScope;
use crate::identity::Principal;
use crate::kms::Kms;
use crate::store::records::Role;

/// A key lifecycle action.
#[derive(Clone, Debug)]
pub enum KeyAction {
    /// Activate (Pre-Active -> Active).
    Activate,
    /// Revoke with a reason code and optional message.
    Revoke {
        /// Revocation Reason Code.
        code: RevocationReasonCode,
        /// Revocation message.
        message: Option<String>,
    },
    /// Destroy (the key must not be Active).
    Destroy,
    /// Re-key: a new key replacing this one.
    ReKey,
    /// Marks the key trusted for wrapping (`true`) or clears the mark (see `wrap_trust`).
    TrustForWrapping(bool),
}

/// Runs `action` on object `uid` of `tenant` for `admin` (an operator or a tenant admin, whose
/// access to the tenant the caller has checked), in the admin call's audit `scope`. Returns the
/// UID of the resulting key (the new one for Re-key).
pub async fn run(
    kms: &Kms,
    scope: Arc<AuditScope>,
    admin: &Principal,
    tenant: &str,
    uid: &str,
    action: KeyAction,
) -> Result<String, OpError> {
    // The operation code acts for a principal of the tenant: the admin, in that tenant.
    let principal = Principal {
        tenant: Some(tenant.to_owned()),
        client: admin.client.clone(),
        role: Role::TenantAdmin,
        certificate: admin.certificate.clone(),
    };
    let mut ctx = Ctx::new(kms, &principal, ProtocolVersion::V2_1, now(), scope);
    let target = uid;
    let uid = Some(target.to_owned());
    Ok(match action {
        KeyAction::Activate => {
            lifecycle::activate(
                &mut ctx,
                &ActivateRequest {
                    unique_identifier: uid,
                },
            )
            .await?
            .unique_identifier
        }
        KeyAction::Revoke { code, message } => {
            lifecycle::revoke(
                &mut ctx,
                &RevokeRequest {
                    unique_identifier: uid,
                    revocation_reason: RevocationReason { code, message },
                    compromise_occurrence_date: None,
                },
            )
            .await?
            .unique_identifier
        }
        KeyAction::Destroy => {
            lifecycle::destroy(
                &mut ctx,
                &DestroyRequest {
                    unique_identifier: uid,
                },
            )
            .await?
            .unique_identifier
        }
        KeyAction::ReKey => {
            create::rekey(
                &mut ctx,
                &ReKeyRequest {
                    unique_identifier: uid,
                    offset: None,
                    template_attribute: None,
                    protection_storage_masks: None,
                },
            )
            .await?
            .unique_identifier
        }
        KeyAction::TrustForWrapping(on) => {
            wrap_trust::set(&ctx, target, on).await?;
            target.to_owned()
        }
    })
}
