//! Platform access: who may make which platform call (`docs/PLATFORM.md`) on which tenant.
//!
//! | call | operator | tenant-admin, own tenant | auditor, own tenant | console | backup | replication |
//! |---|---|---|---|---|---|---|
//! | read platform state (policy, key providers, VMs, holds) | yes | yes | yes | yes | yes | yes |
//! | eligibility check | yes | yes | no | yes | no | no |
//! | replication check | yes | yes | no | no | no | yes |
//! | place / release backup holds | yes | no | no | no | yes | no |
//! | set the subscription | yes | no | no | yes | no | no |
//! | set the rotation policy | yes | yes | no | no | no | no |
//! | set the destroy grace | yes | yes | no | no | no | no |
//!
//! A platform service belongs to no tenant and acts on every tenant that exists; on a tenant
//! without the advanced-protection subscription only the console's eligibility check and
//! subscription calls are allowed (the eligibility answer then names the missing
//! subscription). A kmip-client has no platform call.

use super::Denial;
use crate::identity::Principal;
use crate::store::records::Role;

/// Which platform service a `platform-service` principal is: its enrolled name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// The console that encrypts VMs.
    Console,
    /// The backup service.
    Backup,
    /// The replication service.
    Replication,
}

impl Service {
    /// Every service, in a fixed order.
    pub const ALL: [Service; 3] = [Service::Console, Service::Backup, Service::Replication];

    /// The service's name (the principal's name).
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Console => "console",
            Service::Backup => "backup",
            Service::Replication => "replication",
        }
    }

    /// The service a principal name stands for.
    pub fn of_name(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A platform call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// Reads of a tenant's platform state.
    Read,
    /// The VM-encryption eligibility check.
    Eligibility,
    /// The replication-mode check.
    Replication,
    /// Placing or releasing backup holds.
    Holds,
    /// Setting the advanced-protection subscription.
    Subscription,
    /// Setting the rotation policy.
    RotationPolicy,
    /// Setting the destroy grace (two-stage destroy).
    DestroyPolicy,
}

impl Call {
    /// Whether a platform service may make this call on a tenant without the subscription.
    fn open_to_unsubscribed(self) -> bool {
        matches!(self, Call::Eligibility | Call::Subscription)
    }
}

/// The tenant a platform route's path names, as the policy needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tenant<'a> {
    /// The tenant ID.
    pub id: &'a str,
    /// Whether the store holds it.
    pub exists: bool,
    /// Whether it has the advanced-protection subscription.
    pub subscribed: bool,
}

/// May `p` make `call` on `tenant`. Another tenant or a missing one is answered as missing,
/// before the role is considered.
pub fn authorize(p: &Principal, call: Call, tenant: Tenant<'_>) -> Result<(), Denial> {
    let own = p.tenant.as_deref() == Some(tenant.id);
    match p.role {
        Role::Operator | Role::PlatformService => {}
        Role::TenantAdmin | Role::Auditor if own => {}
        Role::TenantAdmin | Role::Auditor => return Err(Denial::NotFound),
        Role::KmipClient => return Err(Denial::Forbidden),
    }
    if !tenant.exists {
        return Err(Denial::NotFound);
    }
    let allowed = match p.role {
        Role::Operator => true,
        Role::TenantAdmin => !matches!(call, Call::Holds | Call::Subscription),
        Role::Auditor => call == Call::Read,
        Role::PlatformService => match Service::of_name(&p.client) {
            Some(Service::Console) => {
                matches!(call, Call::Read | Call::Eligibility | Call::Subscription)
            }
            Some(Service::Backup) => matches!(call, Call::Read | Call::Holds),
            Some(Service::Replication) => matches!(call, Call::Read | Call::Replication),
            None => false,
        },
        Role::KmipClient => false,
    };
    if !allowed {
        return Err(Denial::Forbidden);
    }
    if p.role == Role::PlatformService && !tenant.subscribed && !call.open_to_unsubscribed() {
        return Err(Denial::NotSubscribed);
    }
    Ok(())
}
