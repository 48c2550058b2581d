//! The audit side of the KMIP pipeline: exactly one record per answered batch item.
//!
//! - Each item runs in its own audit scope ([`Who::item_scope`]); an item that changes state
//!   carries its record in the store command of its first write ([`Ctx::commit`], through the
//!   command log): the record is committed with the change, numbered by the store, and the
//!   write returns only once the record is durable.
//! - Every other item (reads, refusals, failures, and changes whose write was rejected) gets
//!   its record appended by the pipeline after the item ran, before the response leaves.
//!
//! Records name the operation, the object, the outcome and who asked; never payloads.

use std::net::SocketAddr as PeerAddr;

use audit_log::{AuditEvent, Kind, Status};
use kmip_codec::model::{RequestBatchItem, ResponseBatchItem};
use time::OffsetDateTime;

use super::Ctx;
use crate::command_log::{AuditScope, CommitError};
use crate::identity::CertificateFacts;
use crate::kms::{Admission, Kms};
use crate::store::{Command, Rejection};

/// Who sent a message, as every record of it says.
#[derive(Clone, Debug)]
pub(crate) struct Who {
    node: String,
    tenant: Option<String>,
    principal: Option<audit_log::Principal>,
    client_addr: String,
}

impl Who {
    /// The sender of a message: the admitted principal, or the certificate facts of a peer
    /// that was not admitted.
    pub(crate) fn of(
        kms: &Kms,
        admission: &Admission,
        certificate: Option<&CertificateFacts>,
        peer: PeerAddr,
    ) -> Self {
        let (tenant, principal) = match admission {
            Ok(p) => (p.tenant.clone(), Some(crate::identity::audit_principal(p))),
            Err(_) => (None, certificate.map(crate::identity::audit_certificate)),
        };
        Self {
            node: kms.log_name().to_owned(),
            tenant,
            principal,
            client_addr: peer.to_string(),
        }
    }

    /// A KMIP record of this sender.
    pub(crate) fn event(
        &self,
        operation: String,
        object: Option<String>,
        (status, reason): (Status, Option<String>),
        request_id: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            time: OffsetDateTime::now_utc(),
            node: self.node.clone(),
            tenant: self.tenant.clone(),
            principal: self.principal.clone(),
            client_addr: Some(self.client_addr.clone()),
            kind: Kind::Kmip,
            operation,
            object,
            status,
            reason,
            request_id,
            change: None,
        }
        .clamped()
    }

    /// The record of a password lockout this sender's attempt started (on its own; the
    /// refused items have theirs). Names the principal and address, never the password.
    pub(crate) fn lockout_event(
        &self,
        scope: crate::credential::Scope,
        limits: &crate::config::ServiceLimits,
    ) -> AuditEvent {
        let secs = limits.password_lockout.as_secs();
        let reason = match scope {
            crate::credential::Scope::Client => format!(
                "client locked out for {secs} s after {} wrong passwords",
                limits.password_failures_per_client
            ),
            crate::credential::Scope::Address => format!(
                "source address locked out for {secs} s after {} wrong passwords",
                limits.password_failures_per_address
            ),
        };
        self.event(
            "Credential Lockout".to_owned(),
            None,
            (Status::Denied, Some(reason)),
            None,
        )
    }

    /// The record of one answered batch item.
    pub(crate) fn item_event(
        &self,
        request: Option<&RequestBatchItem>,
        response: &ResponseBatchItem,
        object: Option<String>,
    ) -> AuditEvent {
        let operation = response
            .operation
            .or(request.map(|r| r.operation))
            .map_or_else(|| "Unknown".to_owned(), operation_name);
        self.event(
            operation,
            object,
            crate::audit::kmip_status(response.result_status, response.result_reason),
            response.unique_batch_item_id.as_deref().map(hex::encode),
        )
    }
}

/// An operation's name as records spell it (`Create`, `Get`, or its number if unknown).
pub(crate) fn operation_name(op: kmip_codec::enums::Operation) -> String {
    op.name()
        .map_or_else(|| format!("0x{:08X}", op.0), str::to_owned)
}

impl Who {
    /// The audit scope of one batch item: its success record, carried by its first write.
    pub(crate) fn item_scope(&self, item: &RequestBatchItem) -> AuditScope {
        AuditScope::kmip_item(self.event(
            operation_name(item.operation),
            None,
            (Status::Success, None),
            item.unique_batch_item_id.as_deref().map(hex::encode),
        ))
    }

    /// The audit scope of a Batch Undo: each write that restores an object has its record.
    pub(crate) fn undo_scope(&self) -> AuditScope {
        AuditScope::kmip_undo(self.event("Undo".to_owned(), None, (Status::Undone, None), None))
    }
}

impl Ctx<'_> {
    /// Notes the object the current item acts on (for its audit record).
    pub(crate) fn note_object(&self, uid: &str) {
        self.scope.note_object(uid);
    }

    /// Applies a write of the current item, in its audit scope: its first committed write
    /// carries the item's record (numbered and kept by the store with the change, durable in
    /// the audit log before this returns); later writes of the same item carry none.
    pub(crate) async fn commit(
        &self,
        command: Command,
    ) -> Result<Result<(), Rejection>, CommitError> {
        // Every KMIP write passes here: the one place a tenant's object quota is attached.
        let command = self.kms.quotas.within_object_quota(command);
        self.kms.log.commit(&self.scope, command).await
    }
}
