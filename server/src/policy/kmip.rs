//! KMIP access: which role may run which operation, and on which objects.
//!
//! | operations | kmip-client | tenant-admin | auditor | operator | platform-service |
//! |---|---|---|---|---|---|
//! | Discover Versions, Query | yes | yes | yes | yes | no |
//! | Locate, Get Attributes, Get Attribute List | yes | yes | yes | no | no |
//! | every other operation the server performs | yes | yes | no | no | no |
//! | RNG Seed (the HSM's RNG takes no seed) | no | no | no | no | no |
//!
//! Platform services use the admin API only (`policy::platform`): no KMIP operation.
//!
//! An object is only ever acted on by a principal of its own tenant; another tenant's object
//! is answered exactly like a missing one.

use std::sync::Arc;

use kmip_codec::enums::Operation;

use super::Denial;
use crate::identity::Principal;
use crate::store::records::{ObjectRecord, Role, TenantRecord};

/// Every role that speaks KMIP: answers about the server itself, no tenant state.
const EVERY_ROLE: &[Role] = &[
    Role::KmipClient,
    Role::TenantAdmin,
    Role::Auditor,
    Role::Operator,
];
/// Roles of a tenant that may read its metadata.
const TENANT_READERS: &[Role] = &[Role::KmipClient, Role::TenantAdmin, Role::Auditor];
/// Roles of a tenant that may use and change its objects.
const TENANT_USERS: &[Role] = &[Role::KmipClient, Role::TenantAdmin];
/// Nobody.
const NOBODY: &[Role] = &[];

/// The KMIP table: each operation the server performs and the roles that may run it. An
/// operation without a row is refused to everyone (`ops::OPERATIONS` must have a row each:
/// the policy's tests check it).
pub const TABLE: &[(Operation, &[Role])] = &[
    (Operation::DISCOVER_VERSIONS, EVERY_ROLE),
    (Operation::QUERY, EVERY_ROLE),
    (Operation::LOCATE, TENANT_READERS),
    (Operation::GET_ATTRIBUTES, TENANT_READERS),
    (Operation::GET_ATTRIBUTE_LIST, TENANT_READERS),
    (Operation::CREATE, TENANT_USERS),
    (Operation::CREATE_KEY_PAIR, TENANT_USERS),
    (Operation::REGISTER, TENANT_USERS),
    (Operation::IMPORT, TENANT_USERS),
    (Operation::EXPORT, TENANT_USERS),
    (Operation::DERIVE_KEY, TENANT_USERS),
    (Operation::OBTAIN_LEASE, TENANT_USERS),
    (Operation::GET_USAGE_ALLOCATION, TENANT_USERS),
    (Operation::ARCHIVE, TENANT_USERS),
    (Operation::RECOVER, TENANT_USERS),
    (Operation::RE_KEY, TENANT_USERS),
    (Operation::GET, TENANT_USERS),
    (Operation::ADD_ATTRIBUTE, TENANT_USERS),
    (Operation::MODIFY_ATTRIBUTE, TENANT_USERS),
    (Operation::DELETE_ATTRIBUTE, TENANT_USERS),
    (Operation::SET_ATTRIBUTE, TENANT_USERS),
    (Operation::ACTIVATE, TENANT_USERS),
    (Operation::REVOKE, TENANT_USERS),
    (Operation::DESTROY, TENANT_USERS),
    (Operation::ENCRYPT, TENANT_USERS),
    (Operation::DECRYPT, TENANT_USERS),
    (Operation::SIGN, TENANT_USERS),
    (Operation::SIGNATURE_VERIFY, TENANT_USERS),
    (Operation::MAC, TENANT_USERS),
    (Operation::MAC_VERIFY, TENANT_USERS),
    (Operation::HASH, TENANT_USERS),
    (Operation::RNG_RETRIEVE, TENANT_USERS),
    (Operation::CHECK, TENANT_USERS),
    (Operation::LOG, TENANT_USERS),
    (Operation::RNG_SEED, NOBODY),
];

/// The roles that may run `op` (none when the table has no row for it).
pub fn roles(op: Operation) -> &'static [Role] {
    TABLE
        .iter()
        .find(|(o, _)| *o == op)
        .map_or(NOBODY, |(_, roles)| roles)
}

/// May `principal` run `op` at all. Asked once per batch item, before the operation runs.
pub fn authorize(principal: &Principal, op: Operation) -> Result<(), Denial> {
    if roles(op).contains(&principal.role) {
        Ok(())
    } else {
        Err(Denial::Forbidden)
    }
}

/// May `principal` run `op` on `object`. Asked whenever an object is loaded: another tenant's
/// object is answered as missing ([`Denial::NotFound`]) before the role is considered.
pub fn authorize_object(
    principal: &Principal,
    op: Operation,
    object: &ObjectRecord,
) -> Result<(), Denial> {
    if principal.tenant.as_deref() != Some(object.tenant.as_str()) {
        return Err(Denial::NotFound);
    }
    authorize(principal, op)
}

/// The tenant `principal` acts in (KMIP principals of a tenant role always have one).
pub fn tenant_of(principal: &Principal) -> Result<&str, Denial> {
    principal.tenant.as_deref().ok_or(Denial::TenantUnavailable)
}

/// The principal's tenant (`tenant`, its record as now stored), if it may be acted in: it
/// exists and is not suspended. Asked by operations that seal or unseal under the tenant's
/// keys.
pub fn tenant_in_service(tenant: Option<Arc<TenantRecord>>) -> Result<Arc<TenantRecord>, Denial> {
    super::in_service(tenant.as_deref())?;
    tenant.ok_or(Denial::TenantUnavailable)
}
