//! Get Attributes (KMIP 1.4 section 4.12), Get Attribute List (4.13), Add (4.14), Modify
//! (4.15), Delete (4.16) and Set (KMIP 2.1 section 6.1.53) Attribute.

use kmip_codec::enums::{Operation, State};
use kmip_codec::model::{
    AddAttributeRequest, AddAttributeResponse, Attribute, AttributeName, Attributes,
    DeleteAttributeRequest, DeleteAttributeResponse, GetAttributeListRequest,
    GetAttributeListResponse, GetAttributesRequest, GetAttributesResponse, ModifyAttributeRequest,
    ModifyAttributeResponse, SetAttributeRequest, SetAttributeResponse,
};
use kmip_codec::tags::Tag;

use super::attribute_model::{self, Kind};
use super::{Ctx, OpError, quantum_safe, state};
use crate::store::records::ObjectRecord;

pub(super) fn get_attributes(
    ctx: &mut Ctx<'_>,
    r: &GetAttributesRequest,
) -> Result<GetAttributesResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let record = ctx.object(&uid, Operation::GET_ATTRIBUTES)?;
    let all = attribute_model::all(&record, ctx.now, ctx.version);
    let attributes = if r.attribute_names.is_empty() {
        all
    } else {
        // In the order asked; an absent attribute is simply not returned.
        let mut out = Attributes::new();
        for name in &r.attribute_names {
            for a in all.iter().filter(|a| &a.name == name) {
                out.push(a.clone());
            }
        }
        out
    };
    Ok(GetAttributesResponse {
        unique_identifier: uid,
        attributes,
    })
}

pub(super) fn get_attribute_list(
    ctx: &mut Ctx<'_>,
    r: &GetAttributeListRequest,
) -> Result<GetAttributeListResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let record = ctx.object(&uid, Operation::GET_ATTRIBUTE_LIST)?;
    let mut names: Vec<AttributeName> = Vec::new();
    for a in attribute_model::all(&record, ctx.now, ctx.version).iter() {
        if !names.contains(&a.name) {
            names.push(a.name.clone());
        }
    }
    Ok(GetAttributeListResponse {
        unique_identifier: uid,
        attribute_names: names,
    })
}

/// May a typed attribute change in the object's current state? Activation Date only while
/// Pre-Active; Deactivation and the other dates while not yet deactivated.
fn typed_change_allowed(record: &ObjectRecord, tag: Option<Tag>, now: i64) -> Result<(), OpError> {
    let st = state::effective(record, now);
    let ok = match tag {
        Some(Tag::ACTIVATION_DATE) => st == State::PRE_ACTIVE,
        _ => st == State::PRE_ACTIVE || st == State::ACTIVE,
    };
    if ok {
        Ok(())
    } else {
        Err(OpError::WrongKeyLifecycleState)
    }
}

/// The kind of an attribute a client may Add, Modify or Set, else Attribute Read Only.
fn writable(name: &AttributeName) -> Result<Kind, OpError> {
    let kind = attribute_model::kind(name);
    if kind.client_modifiable() {
        Ok(kind)
    } else {
        Err(OpError::AttributeReadOnly)
    }
}

pub(super) async fn add_attribute(
    ctx: &mut Ctx<'_>,
    r: &AddAttributeRequest,
) -> Result<AddAttributeResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let kind = writable(&r.attribute.name)?;
    let now = ctx.now;
    let version = ctx.version;
    let (_, added) = ctx
        .update(&uid, Operation::ADD_ATTRIBUTE, |o| {
            quantum_safe::check(o, [&r.attribute])?;
            state::settle(o, now);
            let added = match kind {
                Kind::Typed => {
                    typed_change_allowed(o, r.attribute.tag(), now)?;
                    let present = attribute_model::all(o, now, version)
                        .iter()
                        .any(|a| a.name == r.attribute.name);
                    if present {
                        return Err(OpError::AttributeSingleValued);
                    }
                    attribute_model::set_typed(o, &r.attribute)?;
                    state::settle(o, now);
                    r.attribute.clone()
                }
                _ => {
                    let mut list = attribute_model::others(o);
                    let exists = list.iter().any(|a| a.name == r.attribute.name);
                    if matches!(kind, Kind::Single | Kind::Protection) && exists {
                        return Err(OpError::AttributeSingleValued);
                    }
                    // A Name the object already has is not unique either.
                    if r.attribute.tag() == Some(Tag::NAME)
                        && list
                            .iter()
                            .any(|a| a.name == r.attribute.name && a.value == r.attribute.value)
                    {
                        return Err(OpError::NonUniqueName);
                    }
                    let index = attribute_model::next_index(&list, &r.attribute.name);
                    let added = Attribute {
                        index: (index > 0).then_some(index),
                        name: r.attribute.name.clone(),
                        value: attribute_model::client_value(&r.attribute.value, None),
                    };
                    list.push(added.clone());
                    attribute_model::set_others(o, &list)?;
                    added
                }
            };
            o.attributes.last_change_date = now;
            Ok(added)
        })
        .await?;
    Ok(AddAttributeResponse {
        unique_identifier: uid,
        attribute: Some(added),
    })
}

pub(super) async fn modify_attribute(
    ctx: &mut Ctx<'_>,
    r: &ModifyAttributeRequest,
) -> Result<ModifyAttributeResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let kind = writable(&r.attribute.name)?;
    let now = ctx.now;
    let version = ctx.version;
    let (_, modified) = ctx
        .update(&uid, Operation::MODIFY_ATTRIBUTE, |o| {
            quantum_safe::check(o, [&r.attribute])?;
            state::settle(o, now);
            let modified = if kind == Kind::Typed {
                let present = attribute_model::all(o, now, version)
                    .iter()
                    .any(|a| a.name == r.attribute.name);
                if !present {
                    return Err(OpError::AttributeNotFound);
                }
                typed_change_allowed(o, r.attribute.tag(), now)?;
                attribute_model::set_typed(o, &r.attribute)?;
                state::settle(o, now);
                r.attribute.clone()
            } else {
                let mut list = attribute_model::others(o);
                let slot = list
                    .iter_mut()
                    .find(|a| {
                        a.name == r.attribute.name
                            && match &r.current_attribute {
                                // 2.x: the instance whose value is the Current Attribute.
                                Some(current) => a.value == current.value,
                                // 1.x: by Attribute Index (0 when absent).
                                None => a.index.unwrap_or(0) == r.attribute.index.unwrap_or(0),
                            }
                    })
                    .ok_or(OpError::AttributeNotFound)?;
                slot.value = attribute_model::client_value(&r.attribute.value, Some(&slot.value));
                let modified = slot.clone();
                attribute_model::set_others(o, &list)?;
                modified
            };
            o.attributes.last_change_date = now;
            Ok(modified)
        })
        .await?;
    Ok(ModifyAttributeResponse {
        unique_identifier: uid,
        attribute: Some(modified),
    })
}

pub(super) async fn delete_attribute(
    ctx: &mut Ctx<'_>,
    r: &DeleteAttributeRequest,
) -> Result<DeleteAttributeResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let name = r
        .target()
        .map_err(|_| OpError::MissingData("attribute name"))?;
    // KMIP 1.4 section 11.17: deleting a read-only / REQUIRED attribute is refused.
    if !attribute_model::kind(&name).client_deletable() {
        return Err(OpError::AttributeReadOnly);
    }
    let now = ctx.now;
    let (_, deleted) = ctx
        .update(&uid, Operation::DELETE_ATTRIBUTE, |o| {
            if name == AttributeName::Standard(Tag::USAGE_LIMITS)
                && attribute_model::usage_consumed(o)
            {
                return Err(OpError::AttributeReadOnly);
            }
            let mut list = attribute_model::others(o);
            let pos = list
                .iter()
                .position(|a| {
                    a.name == name
                        && match &r.current_attribute {
                            Some(current) => a.value == current.value,
                            None => a.index.unwrap_or(0) == r.attribute_index.unwrap_or(0),
                        }
                })
                .ok_or(OpError::AttributeNotFound)?;
            let deleted = list.remove(pos);
            attribute_model::set_others(o, &list)?;
            o.attributes.last_change_date = now;
            Ok(deleted)
        })
        .await?;
    Ok(DeleteAttributeResponse {
        unique_identifier: uid,
        attribute: Some(deleted),
    })
}

pub(super) async fn set_attribute(
    ctx: &mut Ctx<'_>,
    r: &SetAttributeRequest,
) -> Result<SetAttributeResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let kind = writable(&r.attribute.name)?;
    let now = ctx.now;
    ctx.update(&uid, Operation::SET_ATTRIBUTE, |o| {
        quantum_safe::check(o, [&r.attribute])?;
        state::settle(o, now);
        match kind {
            Kind::Typed => {
                typed_change_allowed(o, r.attribute.tag(), now)?;
                attribute_model::set_typed(o, &r.attribute)?;
                state::settle(o, now);
            }
            Kind::Multi => return Err(OpError::MultiValuedAttribute),
            _ => {
                let mut list = attribute_model::others(o);
                let current = list
                    .iter()
                    .find(|a| a.name == r.attribute.name)
                    .map(|a| a.value.clone());
                list.retain(|a| a.name != r.attribute.name);
                list.push(Attribute {
                    index: None,
                    name: r.attribute.name.clone(),
                    value: attribute_model::client_value(&r.attribute.value, current.as_ref()),
                });
                attribute_model::set_others(o, &list)?;
            }
        }
        o.attributes.last_change_date = now;
        Ok(())
    })
    .await?;
    Ok(SetAttributeResponse {
        unique_identifier: uid,
    })
}
