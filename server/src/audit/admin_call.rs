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

use std::future::Future;
use std::sync::{Arc, Mutex};

use audit_log::AuditEvent;

/// The state of one admin call's record.
#[derive(Debug, Default)]
pub struct Slot {
    template: Mutex<Option<AuditEvent>>,
    carried: Mutex<bool>,
}

impl Slot {
    /// A slot holding the call's success record.
    pub fn new(template: AuditEvent) -> Arc<Self> {
        Arc::new(Self {
            template: Mutex::new(Some(template)),
            carried: Mutex::new(false),
        })
    }

    /// Whether a committed change carried the record.
    pub fn carried(&self) -> bool {
        self.carried.lock().is_ok_and(|c| *c)
    }
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
