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
/// Certificate SHA-256 fingerprint (hex) -> `tenant/name` of a pinned client.
pub(super) const CLIENT_FINGERPRINTS: TableDefinition<&str, &str> =
    TableDefinition::new("client_fingerprints");

/// (tenant, Name value) -> UID: Names are unique within a tenant (KMIP Non Unique Name).
pub(super) const TENANT_NAMES: TableDefinition<(&str, &str), &str> =
    TableDefinition::new("tenant_names");

/// Creates every table so that read transactions never meet a missing one.
pub(super) fn create_all(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(OBJECTS)?;
    txn.open_table(TENANT_OBJECTS)?;
    txn.open_table(TENANTS)?;
    txn.open_table(CLIENTS)?;
    txn.open_table(CLIENT_FINGERPRINTS)?;
    txn.open_table(TENANT_NAMES)?;
    Ok(())
}
