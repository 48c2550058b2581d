//! Table definitions. Values are postcard-encoded records (see `records.rs`).

use redb::{TableDefinition, WriteTransaction};

/// UID -> ObjectRecord.
pub(super) const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
/// (tenant, UID) -> (): a tenant's objects in UID order, for Locate and inventories.
pub(super) const TENANT_OBJECTS: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("tenant_objects");
/// Tenant ID -> TenantRecord.
pub(super) const TENANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("tenants");
/// `tenant/name` -> ClientRecord.
pub(super) const CLIENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("clients");
/// Certificate SHA-256 fingerprint (hex) -> `tenant/name` of the client holding the BOUND pin.
pub(super) const CLIENT_FINGERPRINTS: TableDefinition<&str, &str> =
    TableDefinition::new("client_fingerprints");
/// (fingerprint, client name, tenant) -> (): pending pin claims. Several tenants may claim one
/// fingerprint; the name comes second so that a claim is found by fingerprint and the
/// Username its holder sends, at most one per tenant.
pub(super) const PIN_CLAIMS: TableDefinition<(&str, &str, &str), ()> =
    TableDefinition::new("pin_claims");

/// (tenant, Name value) -> UID: Names are unique within a tenant (KMIP Non Unique Name).
pub(super) const TENANT_NAMES: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("tenant_names");

/// (tenant, term, order, UID) -> (): the Locate index, derived from [`OBJECTS`] and
/// node-local (rebuilt, never carried in snapshots); see `locate_index.rs`.
pub(super) const LOCATE_INDEX: TableDefinition<(&str, &[u8], u64, &str), ()> =
    TableDefinition::new("locate_index");

/// Tenant ID -> PlatformPolicy (see `platform.rs`); absent: the default policy.
pub(super) const TENANT_PLATFORM: TableDefinition<&str, &[u8]> =
    TableDefinition::new("tenant_platform");
/// (tenant, backup set) -> HoldRecord: the backup holds.
pub(super) const HOLDS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("holds");
/// (key UID, tenant, backup set) -> retention end (Unix seconds): the holds on each key, for
/// the check every write that erases material makes.
pub(super) const HELD_KEYS: TableDefinition<(&str, &str, &str), i64> =
    TableDefinition::new("held_keys");

/// (tenant, change, kind) -> EventRecord: the platform event feed (see `events.rs`).
pub(super) const EVENTS: TableDefinition<(&str, u64, u8), &[u8]> = TableDefinition::new("events");

/// Tenant ID -> destroy grace in seconds (absent: 0, a destroy erases at once); see
/// `pending.rs`. A table of its own, not a `PlatformPolicy` field: old records stay readable.
pub(super) const DESTROY_GRACE: TableDefinition<&str, u32> = TableDefinition::new("destroy_grace");
/// Tenant ID -> days between scheduled Domain Key rotations (absent: none); see `jobs.rs`. A
/// table of its own for the same reason as [`DESTROY_GRACE`].
pub(super) const ROTATION_SCHEDULE: TableDefinition<&str, u32> =
    TableDefinition::new("rotation_schedule");
/// Key UID -> PendingDestroy: keys destroyed and waiting for their grace to end.
pub(super) const PENDING_DESTROY: TableDefinition<&str, &[u8]> =
    TableDefinition::new("pending_destroy");
/// (tenant, notice kind, subject) -> when it was noticed (Unix seconds): facts the clock made
/// true, each noticed once (see `pending.rs`, `Notice`).
pub(super) const NOTICES: TableDefinition<(&str, u8, &str), i64> = TableDefinition::new("notices");

/// (tenant, job ID) -> RotationJob: Domain Key rotation jobs (see `jobs.rs`).
pub(super) const ROTATION_JOBS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("rotation_jobs");

/// (tenant, job ID) -> ExportJob: whole-tenant export jobs (see `exports.rs`).
pub(super) const EXPORT_JOBS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("export_jobs");

/// Request ID (a UUID as `u128`) -> (the log index it was first applied at, its outcome): the
/// request window of a cluster (`cluster/requests.rs`), which answers a request proposed again
/// under the same ID with the first application's outcome. The outcome bytes are the
/// replication layer's encoding, opaque here.
pub(super) const REQUESTS: TableDefinition<u128, (u64, &[u8])> = TableDefinition::new("requests");
/// Log index -> request ID: the request window in index order, so that the requests that left
/// the window are found without a scan.
pub(super) const REQUEST_ORDER: TableDefinition<u64, u128> = TableDefinition::new("request_order");

/// State-change sequence number -> AuditEvent (postcard): records committed with their
/// change and not yet known durable in the node's audit log (see `Command::Audited`).
pub(super) const AUDIT_OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("audit_outbox");
/// (log, seq) -> Checkpoint (postcard): every signed audit checkpoint of every node.
pub(super) const AUDIT_CHECKPOINTS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("audit_checkpoints");
/// Named counters: `change` is the last state-change sequence number given out;
/// `objects/<tenant>` the tenant's stored objects (see [`object_counter`]).
pub(super) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// The counter of [`COUNTERS`] numbering audited state changes.
pub(super) const CHANGE_COUNTER: &str = "change";

/// The counter of [`COUNTERS`] holding `tenant`'s number of stored objects (its entries in
/// [`TENANT_OBJECTS`]). Absent in a store written before it existed: it is then counted from
/// the index when first needed, and set by the tenant's next new object.
pub(super) fn object_counter(tenant: &str) -> String {
    format!("objects/{tenant}")
}

/// The counter of [`COUNTERS`] holding how many events of `tenant` [`EVENTS`] keeps.
pub(super) fn event_counter(tenant: &str) -> String {
    format!("events/{tenant}")
}

/// Creates every table so that read transactions never meet a missing one.
pub(super) fn create_all(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(OBJECTS)?;
    txn.open_table(TENANT_OBJECTS)?;
    txn.open_table(TENANTS)?;
    txn.open_table(CLIENTS)?;
    txn.open_table(CLIENT_FINGERPRINTS)?;
    txn.open_table(PIN_CLAIMS)?;
    txn.open_table(TENANT_NAMES)?;
    txn.open_table(LOCATE_INDEX)?;
    txn.open_table(AUDIT_OUTBOX)?;
    txn.open_table(AUDIT_CHECKPOINTS)?;
    txn.open_table(COUNTERS)?;
    txn.open_table(TENANT_PLATFORM)?;
    txn.open_table(HOLDS)?;
    txn.open_table(HELD_KEYS)?;
    txn.open_table(EVENTS)?;
    txn.open_table(DESTROY_GRACE)?;
    txn.open_table(PENDING_DESTROY)?;
    txn.open_table(NOTICES)?;
    txn.open_table(ROTATION_JOBS)?;
    txn.open_table(ROTATION_SCHEDULE)?;
    txn.open_table(EXPORT_JOBS)?;
    txn.open_table(REQUESTS)?;
    txn.open_table(REQUEST_ORDER)?;
    Ok(())
}
