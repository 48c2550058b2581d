//! Admin API access: which role may call which route, for which tenant. [`TABLE`] holds one
//! row per route of the admin router (`admin::routes`; a test checks both hold the same
//! routes); a route without a row is granted to nobody.

use super::Denial;
use super::platform::{self, Call};
use crate::identity::Principal;
use crate::store::records::Role;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Anyone whose TLS handshake completed, admitted or not: the probes.
    Open,
    /// Operators only: cluster-wide routes.
    Operator,
    /// Reads of the tenant the path names: operators any tenant, tenant admins and auditors
    /// their own.
    TenantRead,
    /// Changes to the tenant the path names: operators any tenant, tenant admins their own.
    TenantChange,
    /// Changes to the tenant the path names that only an operator may make (binding a pin by
    /// hand): refused like [`Rule::TenantChange`] first, then to everyone but operators.
    TenantChangeByOperator,
    /// A change to the tenant the path names that only the tenant's own admins may make (the
    /// second admin's approval of an export): refused like [`Rule::TenantChange`] first, then
    /// to everyone but tenant admins.
    TenantAdminOnly,
    /// The audit trail: operators every record, tenant admins and auditors their own tenant's.
    AuditTrail,
    /// A platform call on the tenant the path names, decided by [`platform::authorize`].
    Platform(Call),
}

impl Rule {
    /// Whether the route acts on the tenant its path names (`{tenant}`).
    pub fn names_tenant(self) -> bool {
        matches!(
            self,
            Rule::TenantRead
                | Rule::TenantChange
                | Rule::TenantChangeByOperator
                | Rule::TenantAdminOnly
                | Rule::Platform(_)
        )
    }
}

/// The admin table: method, route (as the router declares it) and who may call it.
pub const TABLE: &[(&str, &str, Rule)] = &[
    ("GET", "/healthz", Rule::Open),
    ("GET", "/readyz", Rule::Open),
    ("GET", "/metrics", Rule::Operator),
    ("GET", "/v1/node/status", Rule::Operator),
    ("POST", "/v1/node/reload-certificates", Rule::Operator),
    ("GET", "/v1/cluster", Rule::Operator),
    ("POST", "/v1/cluster/init", Rule::Operator),
    ("POST", "/v1/cluster/nodes", Rule::Operator),
    ("DELETE", "/v1/cluster/nodes/{id}", Rule::Operator),
    ("POST", "/v1/cluster/nodes/{id}/rebuild", Rule::Operator),
    ("GET", "/v1/cluster/digest", Rule::Operator),
    ("POST", "/v1/backups", Rule::Operator),
    ("GET", "/v1/audit/records", Rule::AuditTrail),
    ("GET", "/v1/audit/checkpoints", Rule::AuditTrail),
    ("GET", "/v1/audit/public-key", Rule::AuditTrail),
    ("GET", "/v1/tenants", Rule::Operator),
    ("POST", "/v1/tenants", Rule::Operator),
    ("GET", "/v1/tenants/{tenant}", Rule::TenantRead),
    ("POST", "/v1/tenants/{tenant}/suspend", Rule::Operator),
    ("POST", "/v1/tenants/{tenant}/resume", Rule::Operator),
    ("GET", "/v1/tenants/{tenant}/clients", Rule::TenantRead),
    ("POST", "/v1/tenants/{tenant}/clients", Rule::TenantChange),
    (
        "POST",
        "/v1/tenants/{tenant}/clients/{name}/disable",
        Rule::TenantChange,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/clients/{name}/enable",
        Rule::TenantChange,
    ),
    (
        "PUT",
        "/v1/tenants/{tenant}/clients/{name}/password",
        Rule::TenantChange,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/clients/{name}/claim-token",
        Rule::TenantChange,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/clients/{name}/bind",
        Rule::TenantChangeByOperator,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/clients/{name}/csr",
        Rule::TenantChange,
    ),
    ("GET", "/v1/tenants/{tenant}/keys", Rule::TenantRead),
    ("GET", "/v1/tenants/{tenant}/keys/{uid}", Rule::TenantRead),
    (
        "POST",
        "/v1/tenants/{tenant}/keys/{uid}/{action}",
        Rule::TenantChange,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/rotate-domain-key",
        Rule::TenantChange,
    ),
    ("GET", "/v1/tenants/{tenant}/jobs/{job}", Rule::TenantRead),
    ("GET", "/v1/platform/services", Rule::Operator),
    ("POST", "/v1/platform/services", Rule::Operator),
    (
        "POST",
        "/v1/platform/services/{name}/disable",
        Rule::Operator,
    ),
    (
        "POST",
        "/v1/platform/services/{name}/enable",
        Rule::Operator,
    ),
    (
        "GET",
        "/v1/tenants/{tenant}/platform",
        Rule::Platform(Call::Read),
    ),
    (
        "PUT",
        "/v1/tenants/{tenant}/platform/subscription",
        Rule::Platform(Call::Subscription),
    ),
    (
        "PUT",
        "/v1/tenants/{tenant}/platform/rotation",
        Rule::Platform(Call::RotationPolicy),
    ),
    (
        "PUT",
        "/v1/tenants/{tenant}/platform/destroy-grace",
        Rule::Platform(Call::DestroyPolicy),
    ),
    (
        "PUT",
        "/v1/tenants/{tenant}/platform/domain-key-rotation",
        Rule::Platform(Call::RotationPolicy),
    ),
    (
        "GET",
        "/v1/tenants/{tenant}/key-providers",
        Rule::Platform(Call::Read),
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/vms/eligibility",
        Rule::Platform(Call::Eligibility),
    ),
    (
        "GET",
        "/v1/tenants/{tenant}/vms",
        Rule::Platform(Call::Read),
    ),
    (
        "GET",
        "/v1/tenants/{tenant}/vms/{vm}",
        Rule::Platform(Call::Read),
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/replication/check",
        Rule::Platform(Call::Replication),
    ),
    (
        "GET",
        "/v1/tenants/{tenant}/holds",
        Rule::Platform(Call::Read),
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/holds",
        Rule::Platform(Call::Holds),
    ),
    (
        "GET",
        "/v1/tenants/{tenant}/holds/{set}",
        Rule::Platform(Call::Read),
    ),
    (
        "DELETE",
        "/v1/tenants/{tenant}/holds/{set}",
        Rule::Platform(Call::Holds),
    ),
    (
        "GET",
        "/v1/tenants/{tenant}/events",
        Rule::Platform(Call::Read),
    ),
    ("GET", "/v1/tenants/{tenant}/exports", Rule::TenantRead),
    ("POST", "/v1/tenants/{tenant}/exports", Rule::TenantChange),
    (
        "POST",
        "/v1/tenants/{tenant}/exports/{job}/approve",
        Rule::TenantAdminOnly,
    ),
    (
        "POST",
        "/v1/tenants/{tenant}/exports/{job}/bundle",
        Rule::TenantChange,
    ),
    ("POST", "/v1/tenants/{tenant}/imports", Rule::TenantChange),
    (
        "POST",
        "/v1/tenants/{tenant}/import-key",
        Rule::TenantChange,
    ),
];

/// The rule of `method` on `route` (`None`: no row, granted to nobody).
pub fn rule(method: &str, route: &str) -> Option<Rule> {
    TABLE
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, rule)| *rule)
}

/// The tenant a route's path names, as far as the policy needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathTenant<'a> {
    /// The route names no tenant.
    NotNamed,
    /// The path's parameters could not be decoded (the handler could not read them either).
    Unreadable,
    /// The decoded `{tenant}`, whether such a tenant exists and whether it has the
    /// advanced-protection subscription.
    Named {
        /// The tenant ID.
        id: &'a str,
        /// Whether the store holds it.
        exists: bool,
        /// Whether it subscribes to advanced protection (looked up for platform rules only).
        subscribed: bool,
    },
}

/// What a call was granted: who calls, and the tenant its reads are confined to.
#[derive(Clone, Debug)]
pub struct Grant {
    /// The caller.
    pub principal: Principal,
    /// The tenant whose records the caller may read where a route spans tenants (the audit
    /// trail); `None`: every tenant (operators).
    pub confined: Option<String>,
}

/// May `principal` (`None`: the certificate identifies nobody) call a route of `rule` whose
/// path names `tenant`. `Ok(None)`: an open route, nothing granted; `Ok(Some)`: the grant the
/// handler works with.
///
/// The order of the checks is the answer's order: no principal (401), a KMIP client on any
/// admin route (403), then the route: for a tenant route an unreadable path (404 "no such
/// route"), another tenant or a missing one (404 "no such tenant", before the role is even
/// considered), then an auditor's change (403).
pub fn authorize(
    principal: Option<&Principal>,
    rule: Rule,
    tenant: PathTenant<'_>,
) -> Result<Option<Grant>, Denial> {
    if rule == Rule::Open {
        return Ok(None);
    }
    let p = principal.ok_or(Denial::Unauthenticated)?;
    if let Rule::Platform(call) = rule {
        let PathTenant::Named {
            id,
            exists,
            subscribed,
        } = tenant
        else {
            return Err(Denial::UnnamedTenant);
        };
        platform::authorize(
            p,
            call,
            platform::Tenant {
                id,
                exists,
                subscribed,
            },
        )?;
        return Ok(Some(grant(p)));
    }
    // A KMIP client or a platform service has no other admin call.
    if matches!(p.role, Role::KmipClient | Role::PlatformService) {
        return Err(Denial::Forbidden);
    }
    let confined = p.tenant.clone();
    match rule {
        Rule::Open | Rule::Platform(_) => {}
        Rule::Operator => operator(p)?,
        Rule::AuditTrail => {
            if p.role != Role::Operator && confined.is_none() {
                return Err(Denial::Forbidden);
            }
        }
        Rule::TenantRead => tenant_access(p, tenant, false)?,
        Rule::TenantChange => tenant_access(p, tenant, true)?,
        Rule::TenantChangeByOperator => {
            tenant_access(p, tenant, true)?;
            operator(p)?;
        }
        Rule::TenantAdminOnly => {
            tenant_access(p, tenant, true)?;
            if p.role != Role::TenantAdmin {
                return Err(Denial::Forbidden);
            }
        }
    }
    Ok(Some(grant(p)))
}

/// The grant of an allowed call: operators and platform services read every tenant's
/// records where a route spans tenants, the others their own tenant's.
fn grant(p: &Principal) -> Grant {
    let confined = match p.role {
        Role::Operator | Role::PlatformService => None,
        Role::KmipClient | Role::TenantAdmin | Role::Auditor => p.tenant.clone(),
    };
    Grant {
        principal: p.clone(),
        confined,
    }
}

/// May the holder of a verified certificate take one of the admin connection slots reserved
/// for operators (`principal`: who the certificate identifies now, if anyone).
pub fn may_take_reserved_slot(principal: Option<&Principal>) -> bool {
    principal.is_some_and(|p| p.role == Role::Operator)
}

fn operator(p: &Principal) -> Result<(), Denial> {
    match p.role {
        Role::Operator => Ok(()),
        Role::TenantAdmin | Role::Auditor | Role::KmipClient | Role::PlatformService => {
            Err(Denial::Forbidden)
        }
    }
}

/// Operators any tenant; tenant admins their own; auditors their own, reading only. Another
/// tenant is answered exactly like a missing one, before the role is considered.
fn tenant_access(p: &Principal, tenant: PathTenant<'_>, change: bool) -> Result<(), Denial> {
    let (id, exists) = match tenant {
        PathTenant::Named { id, exists, .. } => (id, exists),
        PathTenant::NotNamed | PathTenant::Unreadable => return Err(Denial::UnnamedTenant),
    };
    let own = p.tenant.as_deref() == Some(id);
    match p.role {
        Role::Operator => {}
        Role::TenantAdmin | Role::Auditor if own => {}
        Role::TenantAdmin | Role::Auditor | Role::KmipClient | Role::PlatformService => {
            return Err(Denial::NotFound);
        }
    }
    if !exists {
        return Err(Denial::NotFound);
    }
    if change && p.role == Role::Auditor {
        return Err(Denial::Forbidden);
    }
    Ok(())
}
