//! The one access policy. Every decision about who may do what is made here and nowhere else:
//!
//! - [`admit`]: whether an enrolled client may act at all (enabled, tenant in service), asked by
//!   `identity` for every request, KMIP and admin alike;
//! - [`kmip`]: role x operation, asked by the KMIP pipeline once per batch item before the
//!   operation runs (`ops::dispatch`), and role x tenant x object whenever an object is loaded
//!   (`ops::Ctx::object`, the one object loader);
//! - [`admin`]: role x route x tenant, asked by the admin router for every call
//!   (`admin::auth::audit_admin_call`) before the handler runs; the handler receives the
//!   [`admin::Grant`] and decides nothing.
//!
//! Nothing is remembered between calls: every request asks again, so disabling a client,
//! suspending a tenant or changing a role takes effect at once. A refusal is a [`Denial`],
//! which the edges map to a KMIP Result Reason (`ops::error`) or an HTTP status
//! (`admin::error`) exactly as before the policy was one module.

pub mod admin;
pub mod kmip;
pub mod platform;
#[cfg(test)]
mod tests;

use crate::store::records::{ClientRecord, TenantRecord};

/// Why the policy refuses. The client learns only the mapped KMIP reason or HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// No principal: the certificate identifies nobody (HTTP 401).
    #[error("no admitted principal")]
    Unauthenticated,
    /// The role may not do this (KMIP Permission Denied, HTTP 403).
    #[error("not permitted for the role")]
    Forbidden,
    /// Another tenant's object or tenant, or a missing one: answered exactly alike, so the
    /// answer is no existence oracle (KMIP Item Not Found, HTTP 404 "no such tenant").
    #[error("no such object or tenant for the principal")]
    NotFound,
    /// A tenant-scoped route whose path names no tenant that can be read (HTTP 404 "no such
    /// route", as a path the handler cannot decode is answered).
    #[error("the path names no tenant")]
    UnnamedTenant,
    /// The principal has no tenant, or its tenant is suspended or gone (KMIP Permission
    /// Denied; at admission, Authentication Not Successful / HTTP 401).
    #[error("tenant suspended, gone or absent")]
    TenantUnavailable,
    /// The client is disabled (at admission: Authentication Not Successful / HTTP 401).
    #[error("client disabled")]
    ClientDisabled,
    /// A platform service on a tenant without the advanced-protection subscription, for a call
    /// that needs it (HTTP 403 "tenant has no advanced protection subscription").
    #[error("tenant not subscribed")]
    NotSubscribed,
}

/// Whether an enrolled `client` may act at all: it must be enabled and, when it belongs to a
/// tenant, that tenant (`tenant`, looked up by the caller; `None` if gone) must exist and not
/// be suspended.
pub fn admit(client: &ClientRecord, tenant: Option<&TenantRecord>) -> Result<(), Denial> {
    if !client.enabled {
        return Err(Denial::ClientDisabled);
    }
    if client.tenant.is_some() {
        in_service(tenant)?;
    }
    Ok(())
}

/// A tenant record that exists and is not suspended.
fn in_service(tenant: Option<&TenantRecord>) -> Result<(), Denial> {
    match tenant {
        Some(t) if !t.suspended => Ok(()),
        _ => Err(Denial::TenantUnavailable),
    }
}
