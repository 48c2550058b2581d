//! The one access decision: `authorize(principal, operation, object)`. Callers load objects
//! through `ops::Ctx::object`, which already answers another tenant's object as missing; this
//! function re-checks the tenant and decides by role.

use kmip_codec::enums::Operation;

use crate::identity::Principal;
use crate::ops::OpError;
use crate::store::records::{ObjectRecord, Role};

/// Operations that reveal or change nothing but metadata the principal's tenant owns.
const READ_ONLY: [Operation; 5] = [
    Operation::DISCOVER_VERSIONS,
    Operation::QUERY,
    Operation::LOCATE,
    Operation::GET_ATTRIBUTES,
    Operation::GET_ATTRIBUTE_LIST,
];

/// Decides whether `principal` may perform `op` (on `object`, when there is one).
pub fn authorize(
    principal: &Principal,
    op: Operation,
    object: Option<&ObjectRecord>,
) -> Result<(), OpError> {
    if let Some(object) = object
        && principal.tenant.as_deref() != Some(object.tenant.as_str())
    {
        // Indistinguishable from a missing object: no existence oracle across tenants.
        return Err(OpError::ObjectNotFound);
    }
    match principal.role {
        Role::KmipClient | Role::TenantAdmin => Ok(()),
        Role::Auditor if READ_ONLY.contains(&op) => Ok(()),
        Role::Auditor | Role::Operator => Err(OpError::PermissionDenied),
    }
}
