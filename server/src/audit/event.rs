//! Small conversions for wiring: the server's identity and KMIP outcomes into audit terms.

use audit_log::Status;
use kmip_codec::enums::{ResultReason, ResultStatus};

use crate::identity::{CertificateFacts, Principal};

/// The audit principal of an identified peer.
pub fn principal(p: &Principal) -> audit_log::Principal {
    audit_log::Principal {
        client: Some(p.client.clone()),
        ..certificate(&p.certificate)
    }
}

/// The audit principal of a certificate not (yet) matched to an enrollment: refused
/// connections and failed identification.
pub fn certificate(facts: &CertificateFacts) -> audit_log::Principal {
    audit_log::Principal {
        fingerprint: facts.fingerprint.clone(),
        subject: facts.subject.clone(),
        issuer: facts.issuer.clone(),
        client: None,
    }
}

/// A KMIP batch item's outcome (KMIP 1.4 sections 9.1.3.2.28-29) as an audit status and
/// reason: Permission Denied and Authentication Not Successful are refusals, other failures
/// are failures; the reason is the Result Reason's name (or its number if unknown).
pub fn kmip_status(status: ResultStatus, reason: Option<ResultReason>) -> (Status, Option<String>) {
    let name = reason.map(|r| {
        r.name()
            .map_or_else(|| format!("0x{:08X}", r.0), str::to_owned)
    });
    let status = match status {
        ResultStatus::SUCCESS => Status::Success,
        ResultStatus::OPERATION_PENDING => Status::Pending,
        ResultStatus::OPERATION_UNDONE => Status::Undone,
        _ if matches!(
            reason,
            Some(ResultReason::PERMISSION_DENIED | ResultReason::AUTHENTICATION_NOT_SUCCESSFUL)
        ) =>
        {
            Status::Denied
        }
        _ => Status::Failure,
    };
    (status, name)
}
