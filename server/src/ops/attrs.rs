//! Attributes between the wire model and the stored record: which ones the server owns,
//! which a client may set (once, or later), which may have several instances, and the full
//! attribute list of an object as KMIP reports it.

use kmip_codec::enums::{HashingAlgorithm, KeyFormatType, ObjectType, RevocationReasonCode};
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    Attribute, AttributeName, AttributeValue, Attributes, Digest, RevocationReason,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{decode::decode, encode::encode};

use super::OpError;
use super::state;
use crate::store::records::{ObjectRecord, OtherAttribute};

/// How an attribute may be set by a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Set by the server only.
    ServerOnly,
    /// Set by the client when the object is made, read-only afterwards.
    AtCreation,
    /// Client-settable, stored typed (dates that move the state, the usage mask).
    Typed,
    /// Client-settable, one instance.
    Single,
    /// Client-settable, several instances.
    Multi,
}

/// Classifies an attribute by name.
pub(crate) fn kind(name: &AttributeName) -> Kind {
    let tag = match name {
        AttributeName::Standard(tag) => *tag,
        AttributeName::Vendor { .. } | AttributeName::Other(_) => return Kind::Multi,
    };
    match tag {
        Tag::UNIQUE_IDENTIFIER
        | Tag::OBJECT_TYPE
        | Tag::STATE
        | Tag::INITIAL_DATE
        | Tag::LAST_CHANGE_DATE
        | Tag::DIGEST
        | Tag::DESTROY_DATE
        | Tag::COMPROMISE_DATE
        | Tag::COMPROMISE_OCCURRENCE_DATE
        | Tag::REVOCATION_REASON
        | Tag::KEY_VALUE_PRESENT
        | Tag::KEY_VALUE_LOCATION
        | Tag::ORIGINAL_CREATION_DATE
        | Tag::ALWAYS_SENSITIVE
        | Tag::NEVER_EXTRACTABLE
        | Tag::LEASE_TIME
        | Tag::ARCHIVE_DATE
        | Tag::FRESH
        | Tag::CERTIFICATE_LENGTH
        | Tag::CERTIFICATE_TYPE
        | Tag::CERTIFICATE_IDENTIFIER
        | Tag::CERTIFICATE_SUBJECT
        | Tag::CERTIFICATE_ISSUER
        | Tag::DIGITAL_SIGNATURE_ALGORITHM
        | Tag::SHORT_UNIQUE_IDENTIFIER => Kind::ServerOnly,
        Tag::CRYPTOGRAPHIC_ALGORITHM | Tag::CRYPTOGRAPHIC_LENGTH => Kind::AtCreation,
        Tag::ACTIVATION_DATE
        | Tag::DEACTIVATION_DATE
        | Tag::PROCESS_START_DATE
        | Tag::PROTECT_STOP_DATE
        | Tag::CRYPTOGRAPHIC_USAGE_MASK => Kind::Typed,
        Tag::NAME
        | Tag::OBJECT_GROUP
        | Tag::LINK
        | Tag::APPLICATION_SPECIFIC_INFORMATION
        | Tag::ALTERNATIVE_NAME
        | Tag::CRYPTOGRAPHIC_PARAMETERS => Kind::Multi,
        _ => Kind::Single,
    }
}

/// Writes a typed (Typed or AtCreation kind) attribute into the record. Returns false if `a` is not one.
pub(crate) fn set_typed(record: &mut ObjectRecord, a: &Attribute) -> Result<bool, OpError> {
    let Some(tag) = a.tag() else {
        return Ok(false);
    };
    let at = &mut record.attributes;
    let date = || {
        a.value
            .as_datetime()
            .ok_or(OpError::InvalidField("attribute value type"))
    };
    match tag {
        Tag::ACTIVATION_DATE => at.activation_date = Some(date()?),
        Tag::DEACTIVATION_DATE => at.deactivation_date = Some(date()?),
        Tag::PROCESS_START_DATE => at.process_start_date = Some(date()?),
        Tag::PROTECT_STOP_DATE => at.protect_stop_date = Some(date()?),
        Tag::CRYPTOGRAPHIC_USAGE_MASK => {
            at.cryptographic_usage_mask = Some(
                a.value
                    .as_integer()
                    .ok_or(OpError::InvalidField("attribute value type"))?,
            )
        }
        Tag::CRYPTOGRAPHIC_ALGORITHM => {
            at.cryptographic_algorithm = Some(
                a.value
                    .as_enumeration()
                    .ok_or(OpError::InvalidField("attribute value type"))?,
            )
        }
        Tag::CRYPTOGRAPHIC_LENGTH => {
            at.cryptographic_length = Some(
                a.value
                    .as_integer()
                    .ok_or(OpError::InvalidField("attribute value type"))?,
            )
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Clears a typed attribute. Returns false if it is not a typed one or was absent.
pub(crate) fn clear_typed(record: &mut ObjectRecord, tag: Tag) -> bool {
    let at = &mut record.attributes;
    let slot = match tag {
        Tag::ACTIVATION_DATE => &mut at.activation_date,
        Tag::DEACTIVATION_DATE => &mut at.deactivation_date,
        Tag::PROCESS_START_DATE => &mut at.process_start_date,
        Tag::PROTECT_STOP_DATE => &mut at.protect_stop_date,
        Tag::CRYPTOGRAPHIC_USAGE_MASK => {
            return at.cryptographic_usage_mask.take().is_some();
        }
        _ => return false,
    };
    slot.take().is_some()
}

/// The client-settable attribute instances kept verbatim.
pub(crate) fn others(record: &ObjectRecord) -> Vec<Attribute> {
    record
        .attributes
        .other
        .iter()
        .filter_map(|o| {
            let item = decode(&o.0, &Limits::DEFAULT).ok()?;
            Attribute::from_ttlv_1x(&item).ok()
        })
        .collect()
}

/// Replaces the verbatim instances and re-derives the name index.
pub(crate) fn set_others(record: &mut ObjectRecord, list: &[Attribute]) -> Result<(), OpError> {
    record.attributes.other = list
        .iter()
        .map(|a| {
            a.to_ttlv_1x()
                .map(|t| OtherAttribute(encode(&t)))
                .ok_or(OpError::InvalidField("attribute name"))
        })
        .collect::<Result<_, _>>()?;
    index_names(record);
    Ok(())
}

/// Re-derives `attributes.names` from the stored Name instances.
pub(crate) fn index_names(record: &mut ObjectRecord) {
    record.attributes.names = others(record)
        .into_iter()
        .filter_map(|a| match a.value {
            AttributeValue::Name(n) => Some(n.value),
            _ => None,
        })
        .collect();
}

/// Next free Attribute Index for instances of `name`.
pub(crate) fn next_index(list: &[Attribute], name: &AttributeName) -> i32 {
    list.iter()
        .filter(|a| &a.name == name)
        .map(|a| a.index.unwrap_or(0) + 1)
        .max()
        .unwrap_or(0)
}

/// Every attribute of the object as KMIP reports it, server-owned ones first. The version
/// filter of the codec drops what the request's version does not define.
pub(crate) fn all(record: &ObjectRecord, now: i64) -> Attributes {
    let a = &record.attributes;
    let mut out = Attributes::new();
    let mut push = |tag: Tag, v: AttributeValue| out.push(Attribute::new(tag, v));
    push(
        Tag::UNIQUE_IDENTIFIER,
        AttributeValue::TextString(record.uid.clone()),
    );
    push(
        Tag::OBJECT_TYPE,
        AttributeValue::Enumeration(record.object_type),
    );
    if let Some(v) = a.cryptographic_algorithm {
        push(Tag::CRYPTOGRAPHIC_ALGORITHM, AttributeValue::Enumeration(v));
    }
    if let Some(v) = a.cryptographic_length {
        push(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(v));
    }
    if let Some(v) = a.cryptographic_usage_mask {
        push(Tag::CRYPTOGRAPHIC_USAGE_MASK, AttributeValue::Integer(v));
    }
    if let Some(d) = &a.digest {
        push(
            Tag::DIGEST,
            AttributeValue::Digest(Digest {
                hashing_algorithm: HashingAlgorithm::SHA_256,
                digest_value: Some(d.clone()),
                key_format_type: (record.object_type == ObjectType::SYMMETRIC_KEY.0)
                    .then_some(KeyFormatType::RAW),
            }),
        );
    }
    push(
        Tag::STATE,
        AttributeValue::Enumeration(state::effective(record, now).0),
    );
    push(Tag::INITIAL_DATE, AttributeValue::DateTime(a.initial_date));
    push(
        Tag::LAST_CHANGE_DATE,
        AttributeValue::DateTime(a.last_change_date),
    );
    for (tag, date) in [
        (Tag::ACTIVATION_DATE, a.activation_date),
        (Tag::DEACTIVATION_DATE, a.deactivation_date),
        (Tag::DESTROY_DATE, a.destroy_date),
        (
            Tag::COMPROMISE_OCCURRENCE_DATE,
            a.compromise_occurrence_date,
        ),
        (Tag::COMPROMISE_DATE, a.compromise_date),
        (Tag::PROCESS_START_DATE, a.process_start_date),
        (Tag::PROTECT_STOP_DATE, a.protect_stop_date),
    ] {
        if let Some(d) = date {
            push(tag, AttributeValue::DateTime(d));
        }
    }
    if let Some((code, message)) = &a.revocation_reason {
        push(
            Tag::REVOCATION_REASON,
            AttributeValue::RevocationReason(RevocationReason {
                code: RevocationReasonCode(*code),
                message: message.clone(),
            }),
        );
    }
    for o in others(record) {
        out.push(o);
    }
    out
}

/// Applies the attributes of a Create / Register / Re-Key template to a new record.
pub(crate) fn apply_template(
    record: &mut ObjectRecord,
    template: &Attributes,
) -> Result<(), OpError> {
    let mut list = others(record);
    for a in template.iter() {
        match kind(&a.name) {
            Kind::ServerOnly => {
                // A client restating a server-set value (e.g. Object Type) is harmless only if
                // it matches; anything else is refused.
                if a.tag() == Some(Tag::OBJECT_TYPE)
                    && a.value.as_enumeration() == Some(record.object_type)
                {
                    continue;
                }
                return Err(OpError::AttributeReadOnly);
            }
            Kind::AtCreation | Kind::Typed => {
                set_typed(record, a)?;
            }
            Kind::Single => {
                if list.iter().any(|x| x.name == a.name) {
                    return Err(OpError::AttributeSingleValued);
                }
                list.push(Attribute {
                    index: None,
                    ..a.clone()
                });
            }
            Kind::Multi => {
                let index = next_index(&list, &a.name);
                list.push(Attribute {
                    index: (index > 0).then_some(index),
                    ..a.clone()
                });
            }
        }
    }
    set_others(record, &list)
}
