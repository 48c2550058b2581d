//! The audit scope of a write: an explicit value made where a call enters the node (a KMIP
//! batch item, an admin route, a background job, an offline command) and passed down to every
//! write it makes. [`crate::command_log::CommandLog::commit`] takes one, so a write without a
//! scope does not compile.
//!
//! A scope holds the record its call leaves. A call leaves exactly one record, carried by its
//! first committed change (numbered by the store and committed with it, see
//! `store::Command::Audited`); when no change carried it (reads, refusals, rejected writes),
//! the entry point appends it after the call. A background job's and an Undo's writes each
//! carry a record of their own.

use std::sync::Mutex;

use audit_log::AuditEvent;

use crate::audit::admin_call::Caller;
use crate::store::Command;

/// Where a call entered; decides how its writes are recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    /// A KMIP batch item: its record names the object its first write makes or changes.
    KmipItem,
    /// A KMIP Batch Undo: every restoring write carries a record of its own.
    KmipUndo,
    /// An admin API route: its record names what the path names.
    AdminRoute,
    /// A background job: every write carries a record of its own.
    Job,
    /// A command run on the node's files while the server is stopped.
    Offline,
    /// A signed audit checkpoint kept in the replicated state: part of the audit trail itself,
    /// it carries no record.
    Checkpoint,
}

#[derive(Debug)]
struct Pending {
    /// The record, until a committed change carries it (and for good, for per-write scopes).
    template: Option<AuditEvent>,
    /// A committed change carried the record.
    carried: bool,
    /// The object the call acted on, found or made.
    object: Option<String>,
    /// The tenant an admin call said it creates.
    created: Option<String>,
    /// What the call decided or did, for its record's `reason` (a platform verdict, the files
    /// a certificate reload read): never anything secret.
    detail: Option<String>,
}

/// The audit scope of one call (see the module docs).
#[derive(Debug)]
pub struct AuditScope {
    entry: Entry,
    caller: Option<Caller>,
    pending: Mutex<Pending>,
}

impl AuditScope {
    fn new(entry: Entry, template: Option<AuditEvent>, caller: Option<Caller>) -> Self {
        Self {
            entry,
            caller,
            pending: Mutex::new(Pending {
                template,
                carried: false,
                object: None,
                created: None,
                detail: None,
            }),
        }
    }

    /// A KMIP batch item whose success record is `template`.
    pub fn kmip_item(template: AuditEvent) -> Self {
        Self::new(Entry::KmipItem, Some(template), None)
    }

    /// A KMIP Batch Undo: each restoring write carries a copy of `template`.
    pub fn kmip_undo(template: AuditEvent) -> Self {
        Self::new(Entry::KmipUndo, Some(template), None)
    }

    /// An admin route called by `caller`, whose success record is `template`.
    pub fn admin_route(template: AuditEvent, caller: Caller) -> Self {
        Self::new(Entry::AdminRoute, Some(template), Some(caller))
    }

    /// A command run on the node's files while the server is stopped, or by the node itself
    /// as it starts (`kmsd dev` seeding): its one record names node `node`'s log and
    /// `operation` (e.g. `kmsd enroll-operator`), and no principal (whoever runs the command
    /// holds the node's files).
    pub fn offline(node: &str, operation: &str) -> Self {
        let template = crate::audit::success(node, audit_log::Kind::Admin, operation).clamped();
        Self::new(Entry::Offline, Some(template), None)
    }

    /// Work the cluster does on its own clock (the leader's time-driven commands,
    /// `platform::steward`): each write carries a copy of `template`, at its own time, naming
    /// the object it writes.
    pub fn cluster_task(template: AuditEvent) -> Self {
        Self::new(Entry::Job, Some(template.clamped()), None)
    }

    /// Keeping a signed audit checkpoint in the replicated state (no record of its own).
    pub fn checkpoint() -> Self {
        Self::new(Entry::Checkpoint, None, None)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether each write carries a record of its own.
    fn per_write(&self) -> bool {
        matches!(self.entry, Entry::KmipUndo | Entry::Job)
    }

    /// Notes the object the call acts on (for its record).
    pub fn note_object(&self, uid: &str) {
        self.pending().object = Some(uid.to_owned());
    }

    /// The object the call acted on, found or made.
    pub fn object(&self) -> Option<String> {
        self.pending().object.clone()
    }

    /// Notes what the call decided or did (its record's `reason`, whatever the outcome): a
    /// platform verdict, the files a reload read. Nothing secret.
    pub fn note_detail(&self, detail: String) {
        self.pending().detail = Some(detail);
    }

    /// The detail noted by [`AuditScope::note_detail`].
    pub fn detail(&self) -> Option<String> {
        self.pending().detail.clone()
    }

    /// Whether a committed change carried the call's record.
    pub fn carried(&self) -> bool {
        self.pending().carried
    }

    /// The tenant the admin call said it creates ([`AuditScope::creating_tenant`]).
    pub fn created_tenant(&self) -> Option<String> {
        self.pending().created.clone()
    }

    /// Tells the admin call's record that the call creates `tenant`: an operator's record of
    /// it then starts that tenant's chain (`audit::admin_call`). Call it before the change.
    pub fn creating_tenant(&self, tenant: &str) {
        let mut pending = self.pending();
        pending.created = Some(tenant.to_owned());
        if let (Some(caller), Some(event)) = (&self.caller, pending.template.as_mut()) {
            let chain = caller.chain(Some(tenant));
            event.principal = caller.principal_in(chain.as_deref());
            event.tenant = chain;
            *event = event.clone().clamped();
        }
    }

    /// A record of this call's for one object it read (a whole-tenant export leaves one per
    /// key it exports): this call's record (same node, chain and principal) named `operation`
    /// and `object`, at the time of asking. `None` when the scope keeps no record.
    pub fn record_for(&self, operation: &str, object: &str) -> Option<AuditEvent> {
        self.pending().template.clone().map(|mut event| {
            event.operation = operation.to_owned();
            event.object = Some(object.to_owned());
            event.time = time::OffsetDateTime::now_utc();
            event.clamped()
        })
    }

    /// A background job started by this call: its writes each carry a copy of this call's
    /// record (same node, chain and principal), named `operation` and the object written.
    pub fn job(&self, operation: &str) -> Self {
        let template = self.pending().template.clone().map(|mut event| {
            event.operation = operation.to_owned();
            event.object = None;
            event.request_id = None;
            event.clamped()
        });
        Self::new(Entry::Job, template, None)
    }

    /// `command` with the record it must carry, if any; `Some(object)`: it carries one,
    /// naming `object`.
    pub(super) fn wrap(&self, command: Command) -> (Command, Option<Option<String>>) {
        let pending = self.pending();
        let Some(template) = pending.template.as_ref().filter(|_| !pending.carried) else {
            return (command, None);
        };
        let mut event = template.clone();
        if self.entry == Entry::Job {
            // A job's writes happen long after the call that started it: each at its time.
            event.time = time::OffsetDateTime::now_utc();
        }
        if matches!(self.entry, Entry::KmipItem | Entry::KmipUndo | Entry::Job) {
            event.object = written_uid(&command).or_else(|| pending.object.clone());
        }
        let object = event.object.clone();
        (
            Command::Audited {
                event: Box::new(event),
                command: Box::new(command),
            },
            Some(object),
        )
    }

    /// The wrapped command was applied (its record is in the store with it).
    pub(super) fn applied(&self, object: Option<String>) {
        let mut pending = self.pending();
        pending.carried = !self.per_write();
        if let Some(uid) = object
            && matches!(self.entry, Entry::KmipItem | Entry::KmipUndo)
        {
            pending.object = Some(uid);
        }
    }
}

/// The object a write creates or, failing that, the first it changes.
fn written_uid(command: &Command) -> Option<String> {
    let mut first = None;
    let mut created = None;
    visit_objects(command, &mut |expected, uid| {
        if first.is_none() {
            first = Some(uid.to_owned());
        }
        if expected.is_none() && created.is_none() {
            created = Some(uid.to_owned());
        }
    });
    created.or(first)
}

fn visit_objects(command: &Command, f: &mut impl FnMut(Option<u64>, &str)) {
    match command {
        Command::PutObject {
            expected_revision,
            record,
        } => f(*expected_revision, &record.uid),
        Command::Batch(commands) => commands.iter().for_each(|c| visit_objects(c, f)),
        Command::Audited { command, .. } | Command::ObjectQuota { command, .. } => {
            visit_objects(command, f)
        }
        Command::CancelDestroy { uid, .. } | Command::EraseMaterial { uid, .. } => f(Some(0), uid),
        Command::Notice { notice, .. } => f(Some(0), notice.subject()),
        _ => {}
    }
}
