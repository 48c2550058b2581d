//! Export and Import (KMIP 2.1 sections 6.1.20, 6.1.28): an object with its Unique Identifier
//! and attributes, out and back in, for moving a tenant's keys between installations.
//!
//! Export is a Get and a Get Attributes in one: the same checks (Sensitive keys only wrapped,
//! and only under a key trusted for wrapping, `wrap_trust`; non-Extractable never) and the same
//! Key Wrapping Specification; the answer carries every attribute as Get Attributes reports it.
//!
//! Import is a Register under the Unique Identifier the request names (a wrapped object is
//! unwrapped in the server, like a wrapped Register), keeping what the object lived through:
//! - kept: State (Pre-Active, Active, Deactivated or Compromised; a Destroyed object has no
//!   material to import), Initial Date, Compromise Date, Compromise Occurrence Date, Revocation
//!   Reason, and every attribute a client may set at creation (Names, the dates that move the
//!   state, Cryptographic Parameters, Links, `x-` attributes ...);
//! - recomputed by this server: what it derives from the material or its own bookkeeping
//!   (Digest, Last Change Date, Key Format Type, Fresh, Always Sensitive, Never Extractable,
//!   Lease Time, the certificate attributes) and its own marks (`y-` attributes, among them the
//!   trust for wrapping, which an admin of this installation gives, never an import).
//!
//! A UID already in use is refused with Object Already Exists, whichever tenant holds it: the
//! answer never says which. With Replace Existing true, an object of the caller's own tenant
//! under that UID is replaced (the caller must be allowed to Destroy it; same Object Type, else
//! Invalid Field): in one audited store batch the old object is destroyed, its material erased
//! and its Names released (refused, nothing changed, while a backup hold keeps it: the store's
//! erase check), then the imported object takes the UID; the unsealed copy of the old material
//! is dropped. A key pending destruction (two-stage destroy) is not replaced: Wrong Key
//! Lifecycle State, cancel the destruction first. Another tenant's UID is answered Object Already
//! Exists, exactly as without Replace Existing.

use std::sync::Arc;

use kmip_codec::enums::{ObjectType, Operation, State};
use kmip_codec::model::{
    Attribute, Attributes, ExportRequest, ExportResponse, GetRequest, ImportRequest,
    ImportResponse, RegisterRequest,
};
use kmip_codec::tags::Tag;

use super::{Ctx, OpError, attribute_model, create, get};
use crate::store::Command;
use crate::store::records::ObjectRecord;

/// Longest Unique Identifier an Import may name.
const MAX_UID_LEN: usize = 128;

pub(super) async fn export(
    ctx: &mut Ctx<'_>,
    r: &ExportRequest,
) -> Result<ExportResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let got = get::get(
        ctx,
        &GetRequest {
            unique_identifier: Some(uid.clone()),
            key_format_type: r.key_format_type,
            key_wrap_type: r.key_wrap_type,
            key_compression_type: r.key_compression_type,
            key_wrapping_specification: r.key_wrapping_specification.clone(),
        },
    )
    .await?;
    let record = ctx.object(&uid, Operation::GET_ATTRIBUTES)?;
    Ok(ExportResponse {
        object_type: got.object_type,
        unique_identifier: got.unique_identifier,
        attributes: attribute_model::all(&record, ctx.now, ctx.version),
        object: got.object,
    })
}

/// The lifecycle facts an Import keeps from the exported object (see the module docs).
#[derive(Debug, Default)]
pub(super) struct Imported {
    /// The Unique Identifier the object keeps.
    pub(super) uid: String,
    /// The object of the caller's tenant it replaces (Replace Existing).
    pub(super) replaces: Option<Arc<ObjectRecord>>,
    state: Option<State>,
    initial_date: Option<i64>,
    compromise_date: Option<i64>,
    compromise_occurrence_date: Option<i64>,
    revocation_reason: Option<(u32, Option<String>)>,
}

impl Imported {
    /// Sets the kept facts on the new record (after the server set its own).
    pub(super) fn apply(&self, record: &mut ObjectRecord) {
        let a = &mut record.attributes;
        if let Some(s) = self.state {
            record.state = s.0;
        }
        if let Some(d) = self.initial_date {
            a.initial_date = d;
        }
        a.compromise_date = self.compromise_date.or(a.compromise_date);
        a.compromise_occurrence_date = self
            .compromise_occurrence_date
            .or(a.compromise_occurrence_date);
        if self.revocation_reason.is_some() {
            a.revocation_reason.clone_from(&self.revocation_reason);
        }
    }
}

/// Splits an Import's attributes into the facts kept and the attributes a Register takes.
fn split(uid: String, attributes: &Attributes) -> Result<(Imported, Attributes), OpError> {
    let mut facts = Imported {
        uid,
        ..Imported::default()
    };
    let mut kept = Attributes::new();
    for a in attributes.iter() {
        match a.tag() {
            Some(Tag::STATE) => {
                let s = a
                    .value
                    .as_enumeration()
                    .map(State)
                    .ok_or(OpError::InvalidField("state"))?;
                if ![
                    State::PRE_ACTIVE,
                    State::ACTIVE,
                    State::DEACTIVATED,
                    State::COMPROMISED,
                ]
                .contains(&s)
                {
                    return Err(OpError::InvalidField("state of an imported object"));
                }
                facts.state = Some(s);
            }
            Some(Tag::INITIAL_DATE) => facts.initial_date = a.value.as_datetime(),
            Some(Tag::COMPROMISE_DATE) => facts.compromise_date = a.value.as_datetime(),
            Some(Tag::COMPROMISE_OCCURRENCE_DATE) => {
                facts.compromise_occurrence_date = a.value.as_datetime();
            }
            Some(Tag::REVOCATION_REASON) => {
                if let kmip_codec::model::AttributeValue::RevocationReason(r) = &a.value {
                    facts.revocation_reason = Some((r.code.0, r.message.clone()));
                }
            }
            _ if attribute_model::kind(&a.name) == attribute_model::Kind::ServerOnly => {}
            _ => kept.push(Attribute::clone(a)),
        }
    }
    Ok((facts, kept))
}

pub(super) async fn import(
    ctx: &mut Ctx<'_>,
    r: &ImportRequest,
) -> Result<ImportResponse, OpError> {
    let uid = r.unique_identifier.trim();
    if uid.is_empty() || uid.len() > MAX_UID_LEN || uid.chars().any(char::is_control) {
        return Err(OpError::InvalidField("unique identifier"));
    }
    let object_type = r.object_type.unwrap_or_else(|| r.object.object_type());
    if object_type == ObjectType::SPLIT_KEY || object_type == ObjectType::TEMPLATE {
        return Err(OpError::FeatureNotSupported("object type"));
    }
    let replaces = match ctx.kms.store().object(uid)? {
        None => None,
        Some(_) if r.replace_existing == Some(true) => Some(replaceable(ctx, uid, object_type)?),
        // Another tenant's object is answered exactly like one of this tenant.
        Some(_) => return Err(OpError::ObjectAlreadyExists),
    };
    let (mut facts, attributes) = split(uid.to_owned(), &r.attributes)?;
    facts.replaces = replaces;
    let register = RegisterRequest {
        object_type,
        attributes,
        template_names: Vec::new(),
        object: r.object.clone(),
        protection_storage_masks: None,
    };
    let done = create::register_as(ctx, &register, Some(&facts)).await?;
    Ok(ImportResponse {
        unique_identifier: done.unique_identifier,
    })
}

/// The object of the caller's tenant an Import with Replace Existing replaces (see the module
/// documentation); another tenant's is Object Already Exists, like any UID in use.
fn replaceable(
    ctx: &Ctx<'_>,
    uid: &str,
    object_type: ObjectType,
) -> Result<Arc<ObjectRecord>, OpError> {
    let old = match ctx.object(uid, Operation::DESTROY) {
        Err(OpError::ObjectNotFound) => return Err(OpError::ObjectAlreadyExists),
        other => other?,
    };
    if old.object_type != object_type.0 {
        return Err(OpError::InvalidField(
            "object type differs from the object replaced",
        ));
    }
    if ctx.kms.store().pending_destroy(uid)?.is_some() {
        return Err(OpError::WrongKeyLifecycleState);
    }
    Ok(old)
}

/// Writes `new` over `old` (same UID, same tenant) in one audited batch: `old` destroyed first,
/// its material erased and its Names released (the store refuses the erase under a backup
/// hold), then `new` in its place. A concurrent change of `old` makes the batch stale: "try
/// again".
pub(super) async fn replace(
    ctx: &Ctx<'_>,
    old: &ObjectRecord,
    mut new: ObjectRecord,
) -> Result<(), OpError> {
    let mut erased = old.clone();
    erased.state = if old.state == State::COMPROMISED.0 {
        State::DESTROYED_COMPROMISED.0
    } else {
        State::DESTROYED.0
    };
    erased.material = None;
    erased.attributes.destroy_date = Some(ctx.now);
    erased.attributes.last_change_date = ctx.now;
    let kept: Vec<Attribute> = attribute_model::others(old)
        .into_iter()
        .filter(|a| a.tag() != Some(Tag::NAME))
        .collect();
    attribute_model::set_others(&mut erased, &kept)?;
    attribute_model::index_names(&mut erased);
    erased.revision = old.revision + 1;
    new.revision = old.revision + 2;
    let command = Command::Batch(vec![
        Command::PutObject {
            expected_revision: Some(old.revision),
            record: Box::new(erased),
        },
        Command::PutObject {
            expected_revision: Some(old.revision + 1),
            record: Box::new(new),
        },
    ]);
    ctx.commit(command).await??;
    ctx.kms.keys.forget(&old.uid);
    ctx.journal(&old.uid, Some(old));
    Ok(())
}
