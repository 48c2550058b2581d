//! The tamper-evident audit trail's data: the record format (JSON Lines on disk), the hash
//! chains that link records, signed checkpoints, and offline verification. Pure: no async
//! runtime, no HSM, no files of its own. The server writes with it (`server::audit`); auditors
//! verify with it (`kmsctl audit verify`) from exported files and the audit public key alone.
//!
//! ```
//! use audit_log::{AuditEvent, ChainState, Kind, Scope, Status, verify};
//! # fn main() -> Result<(), audit_log::Error> {
//! let mut log = ChainState::genesis("node-a");
//! let event = AuditEvent {
//!     time: time::OffsetDateTime::UNIX_EPOCH,
//!     node: "node-a".into(),
//!     tenant: Some("acme".into()),
//!     principal: None,
//!     client_addr: Some("192.0.2.7:50000".into()),
//!     kind: Kind::Kmip,
//!     operation: "Create".into(),
//!     object: Some("k-1".into()),
//!     status: Status::Success,
//!     reason: None,
//!     request_id: None,
//!     change: None,
//! };
//! let record = log.next(event);
//! log.advance(&record)?;
//! assert_eq!(record.seq, 1);
//! assert_eq!(record.tenant_seq, 1);
//! # Ok(()) }
//! ```
//!
//! Design: each log (one per node) has a global chain over all its records and one chain per
//! tenant (see [`AuditRecord`]); a [`Checkpoint`] signs the global head and the root of a
//! tree of tenant heads, so a tenant's auditor checks that tenant's chain with an inclusion
//! proof ([`Checkpoint::for_tenant`]) and never sees other tenants' records.
#![forbid(unsafe_code)]

mod chain;
mod checkpoint;
mod error;
mod export;
mod finding;
mod hash;
mod manifest;
pub mod merkle;
mod reader;
mod record;
pub mod syslog;
mod verify;

#[cfg(test)]
mod scope_tests;
#[cfg(test)]
mod tamper_tests;

pub use crate::chain::{ChainState, Rewind, TenantHead};
pub use crate::checkpoint::{
    Checkpoint, CheckpointDraft, PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, Signature, TenantProof,
};
pub use crate::error::Error;
pub use crate::export::{Filter, to_cef};
pub use crate::finding::Finding;
pub use crate::hash::{HASH_LEN, Hash};
pub use crate::manifest::{ChainPoint, MANIFEST_FORMAT, MAX_MANIFEST_LEN, Manifest};
pub use crate::reader::{
    MAX_CHECKPOINT_LINE_LEN, MAX_LINE_LEN, Parsed, read_checkpoints, read_records,
};
pub use crate::record::{
    Aggregate, AuditEvent, AuditRecord, Kind, MAX_FIELD_LEN, Principal, Status,
};
pub use crate::verify::{ChainSummary, Report, Scope, verify};
