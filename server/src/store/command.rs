//! State changes as command objects. The node that takes a request does every
//! non-deterministic step first (UIDs, timestamps, random key material, HSM sealing) and then
//! proposes a [`Command`]; applying it is deterministic and never calls the HSM, so a replicated
//! log of commands yields the same state on every node.

use audit_log::{AuditEvent, Checkpoint};
use serde::{Deserialize, Serialize};

use super::exports::{ExportJob, ExportStep};
use super::jobs::{JobChange, RotationJob};
use super::pending::{Notice, PendingDestroy};
use super::platform::{HoldRecord, PolicyChange};
use super::records::{ClientRecord, DomainKeyVersion, ObjectRecord, TenantRecord};

/// One state change. Every write names what it expects to find, so a command computed from a
/// stale read is rejected instead of silently overwriting a newer state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Creates a tenant (fails if it exists).
    CreateTenant(TenantRecord),
    /// Suspends or resumes a tenant. Changes that one field only, so it cannot undo a
    /// concurrent Domain Key rotation.
    SetTenantSuspended {
        /// Tenant ID.
        tenant: String,
        /// New value.
        suspended: bool,
    },
    /// Adds a Domain Key version; it must be exactly one past the current one (of two
    /// concurrent rotations, one wins).
    AddDomainKey {
        /// Tenant ID.
        tenant: String,
        /// The new version, wrapped under the Root of Trust.
        key: DomainKeyVersion,
    },
    /// Drops the tenant's Domain Key versions older than `keep_from`. Refused while any object
    /// of the tenant still has material sealed under one of them, so nothing becomes
    /// unreadable.
    RetireDomainKeys {
        /// Tenant ID.
        tenant: String,
        /// Oldest version kept.
        keep_from: u32,
    },
    /// Creates or replaces a client enrollment.
    PutClient(ClientRecord),
    /// Writes a managed object. `expected_revision` is `None` for a new object (its UID must be
    /// unused) or the revision the change was computed from; the record carries the next one.
    PutObject {
        /// Revision the writer read, or `None` for a create.
        expected_revision: Option<u64>,
        /// The new record.
        record: Box<ObjectRecord>,
    },
    /// Several commands applied atomically: all or none.
    Batch(Vec<Command>),
    /// A state change with the audit record of the request that made it. When `command` is
    /// applied, `event` is numbered with the next state-change sequence number and written to
    /// the audit outbox in the same transaction, so no change is ever durable without its
    /// record; the node's audit log takes it from there (`docs/ARCHITECTURE.md`, Audit).
    Audited {
        /// The record, with `change` unset (the store numbers it).
        event: Box<AuditEvent>,
        /// The change.
        command: Box<Command>,
    },
    /// Keeps a signed audit checkpoint in the replicated state, so that a node's rewritten or
    /// truncated audit files show against what every node holds.
    AuditCheckpoint(Box<Checkpoint>),
    /// Turns a client's pending pin claim into a bound pin: refused unless the client still
    /// holds a pending claim of `fingerprint` (with `token_digest`, when given: the claim the
    /// token was checked against, not a renewed one) and no other client holds the bound pin.
    BindPin {
        /// Store key of the client (`tenant/name`).
        client: String,
        /// The claimed fingerprint.
        fingerprint: String,
        /// The claim's token digest as checked (`None`: an operator binds).
        token_digest: Option<[u8; 32]>,
    },
    /// `command`, refused ([`Rejection::ObjectQuota`]) if the objects it makes would take
    /// their tenant past `max_objects` stored objects (destroyed ones included: their
    /// records stay). The limit travels with the command, so every replica decides alike
    /// whatever its own configuration.
    ObjectQuota {
        /// Most objects a tenant may hold after the change.
        max_objects: u64,
        /// The change.
        command: Box<Command>,
    },
    /// Changes one field of a tenant's platform policy (so that two concurrent changes of
    /// different fields both hold); the tenant must exist.
    SetPlatformPolicy {
        /// Tenant ID.
        tenant: String,
        /// The change.
        change: PolicyChange,
        /// When it was made (the policy's `changed_at`), Unix seconds.
        at: i64,
    },
    /// Places a backup hold: refused if the backup set already holds keys, or if a key is not
    /// an object of the tenant or is destroyed.
    PlaceHold(Box<HoldRecord>),
    /// Releases a backup hold ([`Rejection::NoSuchHold`] if there is none).
    ReleaseHold {
        /// Tenant ID.
        tenant: String,
        /// The backup set.
        backup_set: String,
    },
    /// Makes a key pending destruction (two-stage destroy): proposed in one batch after the
    /// write that puts the key in a Destroyed state with its material kept; refused unless
    /// that is what the key now is, and not pending already.
    MarkPendingDestroy(Box<PendingDestroy>),
    /// Cancels a pending destruction: the key returns to its state before the destroy
    /// ([`Rejection::NotPendingDestruction`] if it is not pending; another tenant's key is
    /// [`Rejection::NoSuchObject`]).
    CancelDestroy {
        /// Tenant ID.
        tenant: String,
        /// The key.
        uid: String,
        /// When (the key's Last Change Date), Unix seconds.
        at: i64,
    },
    /// Erases the material of a key pending destruction whose grace ended by `at`
    /// ([`Rejection::NotDue`] before; [`Rejection::NotPendingDestruction`] once erased or
    /// cancelled, so a repeat changes nothing).
    EraseMaterial {
        /// Tenant ID.
        tenant: String,
        /// The key.
        uid: String,
        /// The time of the decision, Unix seconds (from the leader's clock, in the command).
        at: i64,
    },
    /// Notes, once, a fact the clock made true at `at` (a hold expired, a KEK past the
    /// maximum age): refused when noticed already or not true at `at`.
    Notice {
        /// Tenant ID.
        tenant: String,
        /// The fact.
        notice: Notice,
        /// The time of the decision, Unix seconds.
        at: i64,
    },
    /// Starts a Domain Key rotation job (after the `AddDomainKey` of its target version, in
    /// one batch): refused while another job of the tenant runs.
    StartRotation(Box<RotationJob>),
    /// Records a running rotation job's progress or end ([`Rejection::NoSuchJob`] unless it
    /// runs).
    UpdateRotation {
        /// Tenant ID.
        tenant: String,
        /// The job.
        job: String,
        /// The change.
        change: JobChange,
        /// When, Unix seconds.
        at: i64,
    },
    /// Asks for a whole-tenant export (see `exports.rs`).
    RequestExport(Box<ExportJob>),
    /// Approves or takes an export job ([`Rejection::ExportApproval`],
    /// [`Rejection::ExportNotReady`], [`Rejection::NoSuchJob`]).
    ExportStep {
        /// Tenant ID.
        tenant: String,
        /// The job.
        job: String,
        /// The step.
        step: ExportStep,
        /// When, Unix seconds.
        at: i64,
    },
}

impl Command {
    /// Whether applying this makes at least one new object.
    pub fn makes_objects(&self) -> bool {
        match self {
            Command::PutObject {
                expected_revision, ..
            } => expected_revision.is_none(),
            Command::Batch(commands) => commands.iter().any(Command::makes_objects),
            Command::Audited { command, .. } | Command::ObjectQuota { command, .. } => {
                command.makes_objects()
            }
            Command::CreateTenant(_)
            | Command::SetTenantSuspended { .. }
            | Command::AddDomainKey { .. }
            | Command::RetireDomainKeys { .. }
            | Command::PutClient(_)
            | Command::AuditCheckpoint(_)
            | Command::BindPin { .. }
            | Command::SetPlatformPolicy { .. }
            | Command::PlaceHold(_)
            | Command::ReleaseHold { .. }
            | Command::MarkPendingDestroy(_)
            | Command::CancelDestroy { .. }
            | Command::EraseMaterial { .. }
            | Command::Notice { .. }
            | Command::StartRotation(_)
            | Command::UpdateRotation { .. }
            | Command::RequestExport(_)
            | Command::ExportStep { .. } => false,
        }
    }

    /// The tenant of every object this makes, once per object.
    pub(crate) fn new_object_tenants<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Command::PutObject {
                expected_revision: None,
                record,
            } => out.push(&record.tenant),
            Command::Batch(commands) => {
                for c in commands {
                    c.new_object_tenants(out);
                }
            }
            Command::Audited { command, .. } | Command::ObjectQuota { command, .. } => {
                command.new_object_tenants(out);
            }
            _ => {}
        }
    }
}

/// Why a command was not applied. Deterministic: every replica reaches the same outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Rejection {
    /// The tenant already exists.
    #[error("tenant already exists")]
    TenantExists,
    /// The tenant does not exist.
    #[error("no such tenant")]
    NoSuchTenant,
    /// The object's UID is taken.
    #[error("object identifier already in use")]
    ObjectExists,
    /// The object changed (or vanished) since the writer read it.
    #[error("object changed concurrently")]
    StaleRevision,
    /// The record's revision is not one past the expected one.
    #[error("revision does not follow the expected one")]
    BadRevision,
    /// An object was written for another tenant than the one owning its UID.
    #[error("object belongs to another tenant")]
    TenantMismatch,
    /// A Name is already used by another object of the tenant.
    #[error("name already in use")]
    NameTaken,
    /// A Domain Key version is not the next one.
    #[error("domain key version is not the next one")]
    DomainKeyVersion,
    /// An object is sealed under a Domain Key version the tenant does not have (retired).
    #[error("material sealed under an unknown domain key version")]
    UnknownDomainKey,
    /// A Domain Key version to retire still seals some object's material.
    #[error("domain key version still in use")]
    DomainKeyInUse,
    /// A client's fingerprint is enrolled for another client already.
    #[error("certificate fingerprint already enrolled for another client")]
    FingerprintTaken,
    /// The client holds no pending pin claim (of that fingerprint, with that token) anymore.
    #[error("no such pending pin claim")]
    ClaimChanged,
    /// The tenant holds as many objects as its quota allows.
    #[error("object quota of the tenant reached")]
    ObjectQuota,
    /// A write would erase the material of a key a backup hold keeps.
    #[error("key held by a backup hold")]
    Held,
    /// The backup set holds keys already.
    #[error("backup set already holds keys")]
    HoldExists,
    /// No hold of that backup set.
    #[error("no such hold")]
    NoSuchHold,
    /// A key named by a hold is missing or another tenant's.
    #[error("no such object")]
    NoSuchObject,
    /// A key named by a hold is destroyed.
    #[error("object destroyed")]
    ObjectDestroyed,
    /// The key is not pending destruction (never was, cancelled, or erased already).
    #[error("key not pending destruction")]
    NotPendingDestruction,
    /// The time the command carries is before the fact it needs (a grace not over, a hold
    /// not expired, a key not past the maximum age).
    #[error("not due yet")]
    NotDue,
    /// The fact was noticed already.
    #[error("noticed already")]
    Noticed,
    /// A rotation job of the tenant is running already.
    #[error("rotation already running")]
    RotationRunning,
    /// No running rotation job of that ID (or no export job, or past its time).
    #[error("no such running job")]
    NoSuchJob,
    /// An export approval by its requester, of a job needing none, or approved already.
    #[error("export cannot be approved by this admin or again")]
    ExportApproval,
    /// An export job not approved yet, or taken already.
    #[error("export not approved or taken already")]
    ExportNotReady,
}
