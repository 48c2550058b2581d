//! The audit record of the admin call being served, so that the call's first committed state
//! change carries it in its store command (as a KMIP item's does, see `ops/audit.rs`). The
//! admin middleware runs the handler inside [`scope`] with the call's success record; when the
//! handler commits a change, `Kms::apply` takes the record ([`take_template`]) and wraps the
//! command; afterwards the middleware learns whether a change carried it ([`Slot::carried`])
//! and otherwise appends the record itself.
//!
//! A task-local, not a parameter: the changes happen deep in `Kms` and the KMIP operation
//! code that admin actions reuse. Work a handler spawns onto other tasks (rotation jobs) is
//! not the call; it carries no record of the call.
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

use std::future::Future;
use std::sync::{Arc, Mutex};

use audit_log::AuditEvent;

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
    /// Whether the caller is an admitted operator: its records follow the tenant acted on.
    pub fn is_operator(&self) -> bool {
        matches!(
            self,
            Self::Admitted {
                role: Role::Operator,
                ..
            }
        )
    }

    /// The chain a record of this caller goes to, for a call that acted on `acted_on`: a
    /// tenant that exists (or that the call creates), as the caller has checked.
    pub fn chain(&self, acted_on: Option<&str>) -> Option<String> {
        match self {
            Self::Admitted {
                role: Role::Operator,
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

/// The state of one admin call's record.
#[derive(Debug)]
pub struct Slot {
    template: Mutex<Option<AuditEvent>>,
    carried: Mutex<bool>,
    caller: Caller,
    created: Mutex<Option<String>>,
}

impl Slot {
    /// A slot holding the call's success record, made for `caller`.
    pub fn new(template: AuditEvent, caller: Caller) -> Arc<Self> {
        Arc::new(Self {
            template: Mutex::new(Some(template)),
            carried: Mutex::new(false),
            caller,
            created: Mutex::new(None),
        })
    }

    /// Whether a committed change carried the record.
    pub fn carried(&self) -> bool {
        self.carried.lock().is_ok_and(|c| *c)
    }

    /// The tenant the call said it creates ([`creating_tenant`]), if any.
    pub fn created_tenant(&self) -> Option<String> {
        self.created.lock().ok().and_then(|c| c.clone())
    }
}

/// Tells the record of the admin call being served that the call creates `tenant`: an
/// operator's record of it then starts that tenant's chain. Call it before the change.
pub(crate) fn creating_tenant(tenant: &str) {
    let _ = CALL.try_with(|slot| {
        if let Ok(mut created) = slot.created.lock() {
            *created = Some(tenant.to_owned());
        }
        if let Ok(mut template) = slot.template.lock()
            && let Some(event) = template.as_mut()
        {
            let chain = slot.caller.chain(Some(tenant));
            event.principal = slot.caller.principal_in(chain.as_deref());
            event.tenant = chain;
            *event = event.clone().clamped();
        }
    });
}

tokio::task_local! {
    static CALL: Arc<Slot>;
}

/// Runs `f` as the admin call whose record is in `slot`.
pub async fn scope<F: Future>(slot: Arc<Slot>, f: F) -> F::Output {
    CALL.scope(slot, f).await
}

/// The call's record, if a call is being served and no change carried it yet. Marks it
/// carried; [`put_back`] undoes that when the change was not applied.
pub(crate) fn take_template() -> Option<AuditEvent> {
    CALL.try_with(|slot| {
        let event = slot.template.lock().ok()?.take()?;
        if let Ok(mut c) = slot.carried.lock() {
            *c = true;
        }
        Some(event)
    })
    .ok()
    .flatten()
}

/// Returns the record after the change that would have carried it was not applied.
pub(crate) fn put_back(event: AuditEvent) {
    let _ = CALL.try_with(|slot| {
        if let Ok(mut t) = slot.template.lock() {
            *t = Some(event);
        }
        if let Ok(mut c) = slot.carried.lock() {
            *c = false;
        }
    });
}
