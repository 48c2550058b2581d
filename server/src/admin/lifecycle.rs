//! Key lifecycle actions of the admin API: Activate (KMIP 1.4 section 4.19), Revoke (4.20),
//! Destroy (4.21) and Re-key (4.4), with the same state rules as the KMIP operations.
//!
//! The KMIP operations (`crate::ops`) work on a KMIP principal and request; they cannot be
//! called for an operator acting in a tenant. These functions therefore write the same records
//! through the same store commands (optimistic revision check, retried; cache invalidation),
//! and must follow `ops/lifecycle.rs` and `ops/create.rs` when those change.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use hsm::KeyBytes;
use kmip_codec::enums::State as KeyState;
use kmip_codec::enums::{KeyFormatType, LinkType, ObjectType, RevocationReasonCode};
use kmip_codec::model::{Attribute, AttributeName, AttributeValue, Link};
use kmip_codec::tags::Tag;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::auth::{Access, Caller};
use super::error::ApiError;
use super::inventory::{KeyView, effective_state, others};
use super::{AdminState, now};
use crate::kms::Kms;
use crate::store::records::{ObjectRecord, OtherAttribute, SealedMaterial, StoredAttributes};
use crate::store::{Command, Rejection};

/// Attempts at a read-modify-write before answering "concurrent modification".
const MAX_ATTEMPTS: usize = 8;

/// Optional body of `revoke`: `{"reason": "KeyCompromise", "message": "..."}`; the reason is a
/// KMIP Revocation Reason Code XML name, `Unspecified` when absent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    reason: Option<String>,
    message: Option<String>,
}

/// `POST /v1/tenants/{tenant}/keys/{uid}/{action}`, action `activate`, `revoke`, `destroy`
/// or `rekey`. Answers the key as the inventory shows it (for `rekey`, the new key).
pub(crate) async fn act(
    State(state): State<Arc<AdminState>>,
    caller: Caller,
    path: Result<Path<(String, String, String)>, PathRejection>,
    body: Bytes,
) -> Result<Json<KeyView>, ApiError> {
    let Path((tenant, uid, action)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    if !["activate", "revoke", "destroy", "rekey"].contains(&action.as_str()) {
        return Err(ApiError::NoSuchRoute);
    }
    caller.tenant(&state, &tenant, Access::Change)?;
    let kms = &state.kms;
    let now = now();
    let record = match action.as_str() {
        "activate" => update(kms, &tenant, &uid, |o| activate(o, now)).await?,
        "revoke" => {
            let body: RevokeBody = if body.is_empty() {
                RevokeBody::default()
            } else {
                serde_json::from_slice(&body)
                    .map_err(|_| ApiError::BadRequest("invalid JSON body"))?
            };
            let code = match body.reason.as_deref() {
                None => RevocationReasonCode::UNSPECIFIED,
                Some(r) => RevocationReasonCode::from_name(r)
                    .ok_or(ApiError::BadRequest("unknown revocation reason"))?,
            };
            let message = body.message;
            update(kms, &tenant, &uid, |o| {
                revoke(o, code, message.clone(), now)
            })
            .await?
        }
        "destroy" => update(kms, &tenant, &uid, |o| destroy(o, now)).await?,
        _ => rekey(kms, &tenant, &uid, now).await?,
    };
    Ok(Json(KeyView::of(&record, now)))
}

fn activate(o: &mut ObjectRecord, now: i64) -> Result<(), ApiError> {
    o.state = effective_state(o, now).0;
    if KeyState(o.state) != KeyState::PRE_ACTIVE {
        return Err(ApiError::WrongKeyState);
    }
    o.state = KeyState::ACTIVE.0;
    o.attributes.activation_date = Some(now);
    o.attributes.last_change_date = now;
    Ok(())
}

fn is_destroyed(s: KeyState) -> bool {
    s == KeyState::DESTROYED || s == KeyState::DESTROYED_COMPROMISED
}

fn revoke(
    o: &mut ObjectRecord,
    code: RevocationReasonCode,
    message: Option<String>,
    now: i64,
) -> Result<(), ApiError> {
    let current = effective_state(o, now);
    o.state = current.0;
    let compromise =
        code == RevocationReasonCode::KEY_COMPROMISE || code == RevocationReasonCode::CA_COMPROMISE;
    let a = &mut o.attributes;
    if compromise {
        o.state = if is_destroyed(current) {
            KeyState::DESTROYED_COMPROMISED.0
        } else {
            KeyState::COMPROMISED.0
        };
        a.compromise_date = Some(now);
        a.compromise_occurrence_date = Some(now);
    } else {
        if current != KeyState::ACTIVE && current != KeyState::PRE_ACTIVE {
            return Err(ApiError::WrongKeyState);
        }
        o.state = KeyState::DEACTIVATED.0;
        a.deactivation_date = Some(now);
    }
    a.revocation_reason = Some((code.0, message));
    a.last_change_date = now;
    Ok(())
}

fn destroy(o: &mut ObjectRecord, now: i64) -> Result<(), ApiError> {
    let current = effective_state(o, now);
    o.state = if current == KeyState::PRE_ACTIVE || current == KeyState::DEACTIVATED {
        KeyState::DESTROYED.0
    } else if current == KeyState::COMPROMISED {
        KeyState::DESTROYED_COMPROMISED.0
    } else {
        // Active keys must be revoked first; destroyed ones are gone.
        return Err(ApiError::WrongKeyState);
    };
    o.material = None;
    o.attributes.destroy_date = Some(now);
    o.attributes.last_change_date = now;
    Ok(())
}

/// The tenant's object `uid`; another tenant's is answered exactly like a missing one.
fn load(kms: &Kms, tenant: &str, uid: &str) -> Result<ObjectRecord, ApiError> {
    kms.store()
        .object(uid)?
        .filter(|o| o.tenant == tenant)
        .ok_or(ApiError::NoSuchKey)
}

/// Read-modify-write of one object, naming the revision read, retried on contention; the
/// unsealed copy is forgotten after a change.
async fn update(
    kms: &Kms,
    tenant: &str,
    uid: &str,
    mut change: impl FnMut(&mut ObjectRecord) -> Result<(), ApiError>,
) -> Result<ObjectRecord, ApiError> {
    for _ in 0..MAX_ATTEMPTS {
        let current = load(kms, tenant, uid)?;
        let mut next = current.clone();
        change(&mut next)?;
        next.revision = current.revision + 1;
        match kms
            .committer
            .apply(Command::PutObject {
                expected_revision: Some(current.revision),
                record: Box::new(next.clone()),
            })
            .await?
        {
            Ok(()) => {
                kms.keys().forget(uid);
                return Ok(next);
            }
            Err(Rejection::StaleRevision) => continue,
            Err(r) => return Err(r.into()),
        }
    }
    Err(ApiError::Contention)
}

fn link(link_type: LinkType, uid: &str) -> Attribute {
    Attribute {
        name: AttributeName::Standard(Tag::LINK),
        index: None,
        value: AttributeValue::Link(Link {
            link_type,
            linked_object_identifier: uid.to_owned(),
        }),
    }
}

/// Stores `list` as the verbatim attributes and re-derives the Name index.
fn set_others(record: &mut ObjectRecord, list: &[Attribute]) -> Result<(), ApiError> {
    record.attributes.other = list
        .iter()
        .map(|a| {
            a.to_ttlv_1x()
                .map(|t| OtherAttribute(kmip_codec::ttlv::encode::encode(&t)))
                .ok_or(ApiError::BadRequest("attribute without a KMIP 1.x name"))
        })
        .collect::<Result<_, _>>()?;
    record.attributes.names = list
        .iter()
        .filter_map(|a| match &a.value {
            AttributeValue::Name(n) => Some(n.value.clone()),
            _ => None,
        })
        .collect();
    Ok(())
}

/// Re-key: a new AES key of the same length from the HSM replaces `uid`. The new key takes
/// the old one's Names and client attributes (the VMware `x-` attributes included); the two
/// are linked (Replacement / Replaced Object), as KMIP Re-key does.
async fn rekey(kms: &Kms, tenant: &str, old_uid: &str, now: i64) -> Result<ObjectRecord, ApiError> {
    let tenant_record = kms.store().tenant(tenant)?.ok_or(ApiError::NoSuchTenant)?;
    let new_uid = uuid::Uuid::new_v4().to_string();
    for _ in 0..MAX_ATTEMPTS {
        let old = load(kms, tenant, old_uid)?;
        if old.object_type != ObjectType::SYMMETRIC_KEY.0 {
            return Err(ApiError::BadRequest("only symmetric keys can be re-keyed"));
        }
        if is_destroyed(effective_state(&old, now)) {
            return Err(ApiError::WrongKeyState);
        }
        let bytes = old
            .attributes
            .cryptographic_length
            .and_then(|bits| {
                usize::try_from(bits / 8)
                    .ok()
                    .filter(|n| *n > 0 && bits % 8 == 0)
            })
            .ok_or(ApiError::BadRequest(
                "key has no usable cryptographic length",
            ))?;
        let material: KeyBytes = kms.keys().random(bytes).await?;
        let digest = Sha256::digest(material.expose()).to_vec();
        let sealed = kms.keys().seal(&tenant_record, &new_uid, material).await?;
        let mut new = ObjectRecord {
            uid: new_uid.clone(),
            tenant: tenant.to_owned(),
            revision: 1,
            object_type: ObjectType::SYMMETRIC_KEY.0,
            state: KeyState::PRE_ACTIVE.0,
            material: Some(SealedMaterial {
                sealed,
                key_format: KeyFormatType::RAW.0,
                data_type: None,
            }),
            attributes: StoredAttributes {
                initial_date: now,
                last_change_date: now,
                digest: Some(digest),
                cryptographic_algorithm: old.attributes.cryptographic_algorithm,
                cryptographic_length: old.attributes.cryptographic_length,
                cryptographic_usage_mask: old.attributes.cryptographic_usage_mask,
                activation_date: old.attributes.activation_date.map(|_| now),
                ..StoredAttributes::default()
            },
        };
        let old_attrs = others(&old);
        let mut carried: Vec<Attribute> = old_attrs
            .iter()
            .filter(|a| a.tag() != Some(Tag::LINK))
            .cloned()
            .collect();
        carried.push(link(LinkType::REPLACED_OBJECT_LINK, old_uid));
        set_others(&mut new, &carried)?;
        new.state = effective_state(&new, now).0;

        let mut updated = old.clone();
        updated.state = effective_state(&old, now).0;
        let mut kept: Vec<Attribute> = old_attrs
            .into_iter()
            .filter(|a| a.tag() != Some(Tag::NAME))
            .collect();
        kept.push(link(LinkType::REPLACEMENT_OBJECT_LINK, &new_uid));
        set_others(&mut updated, &kept)?;
        updated.attributes.last_change_date = now;
        updated.revision = old.revision + 1;

        let command = Command::Batch(vec![
            Command::PutObject {
                expected_revision: Some(old.revision),
                record: Box::new(updated),
            },
            Command::PutObject {
                expected_revision: None,
                record: Box::new(new.clone()),
            },
        ]);
        match kms.committer.apply(command).await? {
            Ok(()) => {
                kms.keys().forget(old_uid);
                return Ok(new);
            }
            Err(Rejection::StaleRevision) => continue,
            Err(r) => return Err(r.into()),
        }
    }
    Err(ApiError::Contention)
}
