//! Who made an admin call, as its audit record may tell. The admin middleware makes the call's
//! audit scope (`crate::command_log::AuditScope::admin_route`) with the call's success record
//! and hands it to the handler; the call's first committed state change carries the record
//! (as a KMIP item's does, see `ops/audit.rs`); afterwards the middleware learns whether a
//! change carried it and otherwise appends the record itself. Work a handler starts in the
//! background (a Domain Key rotation job) runs in a job scope derived from the call's: each
//! of its writes carries a record of its own.
//!
//! Where the record is filed and how it names the caller ([`Caller::chain`],
//! [`Caller::principal_in`]), the rule of `docs/SECURITY.md` ("Audit records: what they name
//! and where they are filed"):
//! - a tenant principal's record (tenant admin, auditor, a KMIP client refused here) goes to
//!   its own tenant's chain, whatever tenant the path names, so where a probe is filed says
//!   nothing about which tenants exist;
//! - an operator's record goes to the chain of the tenant the call acted on if that tenant
//!   exists (or the call creates it), so the tenant's auditors see what was done to it; else
//!   to no tenant's chain;
//! - a refused caller's record goes to no tenant's chain;
//! - a record in a tenant's chain names the certificate (fingerprint, subject, issuer) only of
//!   that tenant's own principals; anyone else is named by role and name (`operator/alice`).
//!   The node's global chain holds the same record, so this is decided when it is made.

use crate::store::records::Role;

/// Who made an admin call, as far as its record may tell.
#[derive(Clone, Debug)]
pub enum Caller {
    /// A principal the call was admitted for.
    Admitted {
        /// Its role.
        role: Role,
        /// Its tenant (`None` for operators).
        tenant: Option<String>,
        /// Its name in the enrollment.
        name: String,
        /// Its certificate, as its own tenant's records show it.
        certificate: audit_log::Principal,
    },
    /// Not admitted: the certificate presented, if any.
    Refused(Option<audit_log::Principal>),
}

impl Caller {
    /// Whether the caller is an admitted principal of no tenant (an operator or a platform
    /// service): its records follow the tenant acted on.
    pub fn acts_across_tenants(&self) -> bool {
        matches!(
            self,
            Self::Admitted {
                role: Role::Operator | Role::PlatformService,
                ..
            }
        )
    }

    /// The chain a record of this caller goes to, for a call that acted on `acted_on`: a
    /// tenant that exists (or that the call creates), as the caller has checked.
    pub fn chain(&self, acted_on: Option<&str>) -> Option<String> {
        match self {
            Self::Admitted {
                role: Role::Operator | Role::PlatformService,
                ..
            } => acted_on.map(str::to_owned),
            Self::Admitted { tenant, .. } => tenant.clone(),
            Self::Refused(_) => None,
        }
    }

    /// The caller as a record filed in `chain` names it: with its certificate if it belongs
    /// to that chain's tenant (or to none, for the chain of no tenant), else by role and name.
    pub fn principal_in(&self, chain: Option<&str>) -> Option<audit_log::Principal> {
        match self {
            Self::Admitted {
                tenant,
                certificate,
                ..
            } if tenant.as_deref() == chain => Some(certificate.clone()),
            Self::Admitted { role, name, .. } => {
                Some(audit_log::Principal::named(role.as_str(), name))
            }
            Self::Refused(certificate) if chain.is_none() => certificate.clone(),
            Self::Refused(_) => None,
        }
    }
}
