//! What every operation works with: the service, the principal, the request's version and
//! time, the ID Placeholder, and the one way to load an object (the policy's object check)
//! and to write one (optimistic, retried on contention).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use kmip_codec::enums::Operation;
use kmip_codec::model::{Credential, RequestHeader};
use kmip_codec::version::ProtocolVersion;

use super::OpError;
use crate::command_log::{AuditScope, retry_stale};
use crate::credential::{Attempt, ProvenPassword, Scope};
use crate::identity::Principal;
use crate::kms::Kms;
use crate::policy;
use crate::store::Command;
use crate::store::records::{ObjectRecord, TenantRecord};

/// Objects a batch wrote, each with its record before the batch's first write to it (`None`:
/// the batch made it).
pub(crate) type Journal = Vec<(String, Option<ObjectRecord>)>;

/// Per-message state.
pub(crate) struct Ctx<'a> {
    pub(crate) kms: &'a Kms,
    pub(crate) principal: &'a Principal,
    pub(crate) version: ProtocolVersion,
    pub(crate) now: i64,
    /// The ID Placeholder (KMIP 1.4 section 6.8): the UID made or found by an earlier item.
    pub(crate) placeholder: Option<String>,
    /// With Batch Error Continuation Option Undo: every object written by the batch so far,
    /// with its record before the batch's first write to it (`None`: the batch made it).
    pub(crate) journal: Option<Mutex<Journal>>,
    /// The audit scope of the item being run (for actions on behalf of an admin: the admin
    /// call's), which every write of the item names.
    pub(crate) scope: Arc<AuditScope>,
    /// Bytes the payload of the item being run may take in the answer (see `budget.rs`);
    /// unbounded for actions on behalf of an admin, which answer no KMIP message.
    pub(crate) response_room: usize,
    /// When set, new objects are kept here instead of committed, for the caller to commit
    /// them all in one change (a tenant import: all or nothing).
    pub(crate) staging: Option<Mutex<Vec<ObjectRecord>>>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        kms: &'a Kms,
        principal: &'a Principal,
        version: ProtocolVersion,
        now: i64,
        scope: Arc<AuditScope>,
    ) -> Self {
        Self {
            kms,
            principal,
            version,
            now,
            placeholder: None,
            journal: None,
            scope,
            response_room: usize::MAX,
            staging: None,
        }
    }

    /// Notes that the batch wrote `uid` (`before`: its record before the write, `None` if new).
    pub(crate) fn journal(&self, uid: &str, before: Option<&ObjectRecord>) {
        if let Some(Ok(mut j)) = self.journal.as_ref().map(Mutex::lock)
            && !j.iter().any(|(u, _)| u == uid)
        {
            j.push((uid.to_owned(), before.cloned()));
        }
    }

    /// The principal's tenant ID (KMIP principals of a tenant role always have one).
    pub(crate) fn tenant_id(&self) -> Result<&'a str, OpError> {
        Ok(policy::kmip::tenant_of(self.principal)?)
    }

    /// The principal's tenant record, if the policy lets the principal act in it now.
    pub(crate) fn tenant(&self) -> Result<Arc<TenantRecord>, OpError> {
        let record = self.kms.store.tenant(self.tenant_id()?)?;
        Ok(policy::kmip::tenant_in_service(record)?)
    }

    /// The UID a request names, or the ID Placeholder.
    pub(crate) fn uid(&self, given: Option<&String>) -> Result<String, OpError> {
        let uid = given
            .cloned()
            .or_else(|| self.placeholder.clone())
            .ok_or(OpError::MissingData("unique identifier"))?;
        self.note_object(&uid);
        Ok(uid)
    }

    /// Loads an object the principal may act on with `op`: the one object loader, which asks
    /// the policy about every object it hands out. Another tenant's object is answered
    /// exactly like a missing one.
    pub(crate) fn object(&self, uid: &str, op: Operation) -> Result<Arc<ObjectRecord>, OpError> {
        self.note_object(uid);
        let record = self.kms.store.object(uid)?.ok_or(OpError::ObjectNotFound)?;
        policy::kmip::authorize_object(self.principal, op, &record)?;
        Ok(record)
    }

    /// Writes a new object.
    pub(crate) async fn insert(&self, record: ObjectRecord) -> Result<(), OpError> {
        if let Some(staging) = &self.staging {
            let mut staged = staging.lock().map_err(|_| OpError::Contention)?;
            if staged.iter().any(|r| r.uid == record.uid) {
                return Err(OpError::ObjectAlreadyExists);
            }
            staged.push(record);
            return Ok(());
        }
        let uid = record.uid.clone();
        self.commit(Command::PutObject {
            expected_revision: None,
            record: Box::new(record),
        })
        .await??;
        self.journal(&uid, None);
        Ok(())
    }

    /// Undoes the batch's writes (Batch Error Continuation Option Undo, KMIP 1.4 section
    /// 6.7): every object written goes back to its record before the batch, in reverse order;
    /// an object the batch made cannot be unmade in a replicated log, so it is destroyed (its
    /// material erased, its Names released). An undo restores everything but looser
    /// protections: Sensitive, Extractable and their facts stay as they are now.
    pub(crate) async fn undo(&self) -> Result<(), OpError> {
        let entries = match self.journal.as_ref().map(Mutex::lock) {
            Some(Ok(mut j)) => std::mem::take(&mut *j),
            Some(Err(_)) => return Err(OpError::Contention),
            None => return Ok(()),
        };
        for (uid, before) in entries.into_iter().rev() {
            self.restore(&uid, before).await?;
        }
        Ok(())
    }

    async fn restore(&self, uid: &str, before: Option<ObjectRecord>) -> Result<(), OpError> {
        let before = &before;
        Ok(retry_stale(|| async move {
            let Some(current) = self.kms.store.object(uid)? else {
                return Ok(Ok(()));
            };
            let mut next = match before {
                Some(prev) => prev.clone(),
                None => {
                    let mut gone = ObjectRecord::clone(&current);
                    gone.state = kmip_codec::enums::State::DESTROYED.0;
                    gone.material = None;
                    gone.attributes.destroy_date = Some(self.now);
                    let kept: Vec<_> = super::attribute_model::others(&gone)
                        .into_iter()
                        .filter(|a| a.tag() != Some(kmip_codec::tags::Tag::NAME))
                        .collect();
                    super::attribute_model::set_others(&mut gone, &kept)?;
                    gone
                }
            };
            // Undo never loosens: the object keeps its current protections.
            super::protection::keep_current(&current, &mut next)?;
            next.revision = current.revision + 1;
            super::attribute_model::index_names(&mut next);
            let outcome = self
                .commit(Command::PutObject {
                    expected_revision: Some(current.revision),
                    record: Box::new(next),
                })
                .await?;
            if outcome.is_ok() {
                self.kms.keys.forget(uid);
            }
            Ok::<_, OpError>(outcome)
        })
        .await??)
    }

    /// Read-modify-write of one object: `change` edits a copy of the current record (and
    /// returns a value); the write names the revision it read and is retried when another
    /// writer got there first. No change may loosen the object's protections
    /// (`protection::check_change`).
    pub(crate) async fn update<T>(
        &self,
        uid: &str,
        op: Operation,
        mut change: impl FnMut(&mut ObjectRecord) -> Result<T, OpError> + Send,
    ) -> Result<(ObjectRecord, T), OpError> {
        self.update_then(uid, op, |o| Ok((change(o)?, None))).await
    }

    /// [`Ctx::update`] where `change` may also name a command to apply atomically after the
    /// object's write, in the same batch (a pending destruction's mark).
    pub(crate) async fn update_then<T>(
        &self,
        uid: &str,
        op: Operation,
        change: impl FnMut(&mut ObjectRecord) -> Result<(T, Option<Command>), OpError> + Send,
    ) -> Result<(ObjectRecord, T), OpError> {
        let change = &Mutex::new(change);
        Ok(retry_stale(|| async move {
            let current = self.object(uid, op)?;
            let mut next = ObjectRecord::clone(&current);
            let (out, then) = (change.lock().map_err(|_| OpError::Contention)?)(&mut next)?;
            super::protection::check_change(&current, &mut next)?;
            next.revision = current.revision + 1;
            super::attribute_model::index_names(&mut next);
            // The unsealed copy goes when the key stops being usable (revoked, destroyed) or
            // its blob changes; an attribute change (e.g. Fresh cleared by the first Get) keeps
            // it, instead of costing an HSM unseal on the next Get.
            let drop_unsealed = next.material != current.material || next.state != current.state;
            let put = Command::PutObject {
                expected_revision: Some(current.revision),
                record: Box::new(next.clone()),
            };
            let command = match then {
                Some(then) => Command::Batch(vec![put, then]),
                None => put,
            };
            let outcome = self.commit(command).await?;
            if outcome.is_ok() {
                self.journal(uid, Some(&current));
                if drop_unsealed {
                    self.kms.keys.forget(uid);
                }
            }
            Ok::<_, OpError>(outcome.map(|()| (next, out)))
        })
        .await??)
    }
}

/// Checks the optional second factor (before any item runs, so before any [`Ctx`]): a client with a password must send a matching
/// Username and Password credential (username = client name). The check runs off the
/// async workers, once per connection (`proven`), and not at all while the client or
/// `address` is locked out (see `crate::credential`); lockouts this check starts are
/// added to `started`, for the audit trail.
pub(crate) async fn check_credential(
    kms: &Kms,
    principal: &Principal,
    header: &RequestHeader,
    proven: &mut ProvenPassword,
    address: IpAddr,
    started: &mut Vec<Scope>,
) -> Result<(), OpError> {
    let key = crate::store::records::client_key(principal.tenant.as_deref(), &principal.client);
    let Some(client) = kms.store.client(&key)? else {
        return Err(OpError::AuthenticationFailed);
    };
    let Some(stored) = client.password_hash.as_deref() else {
        return Ok(());
    };
    let (username, password) = header
        .authentication
        .as_ref()
        .and_then(|a| {
            a.credentials.iter().find_map(|c| match c {
                Credential::UsernameAndPassword { username, password } => {
                    Some((username, password.as_ref()?))
                }
                _ => None,
            })
        })
        .ok_or(OpError::AuthenticationFailed)?;
    let attempt = Attempt {
        client: &key,
        name: &principal.client,
        stored,
        username,
        password: password.expose(),
        address,
    };
    kms.passwords
        .check(&attempt, proven, kms.metrics())
        .await
        .map_err(|refused| {
            started.extend(refused.started);
            OpError::AuthenticationFailed
        })
}
