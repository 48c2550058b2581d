//! Small conversions for wiring: KMIP outcomes into audit terms (identities:
//! `identity::audit_names`).

use audit_log::{AuditEvent, Kind, Status};
use kmip_codec::enums::{ResultReason, ResultStatus};
use time::OffsetDateTime;

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

/// A success record of `operation` (of `kind`) in node `node`'s log, at the current time,
/// naming nothing else yet: the caller fills in the tenant, principal, address or object it
/// knows, then clamps it.
pub fn success(node: &str, kind: Kind, operation: &str) -> AuditEvent {
    AuditEvent {
        time: OffsetDateTime::now_utc(),
        node: node.to_owned(),
        tenant: None,
        principal: None,
        client_addr: None,
        kind,
        operation: operation.to_owned(),
        object: None,
        status: Status::Success,
        reason: None,
        request_id: None,
        change: None,
    }
}
