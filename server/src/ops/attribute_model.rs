//! Attributes between the wire model and the stored record: which ones the server owns,
//! which a client may set (once, or later), which may have several instances, and the full
//! attribute list of an object as KMIP reports it.

use kmip_codec::enums::{
    HashingAlgorithm, KeyFormatType, ObjectType, ProtectionStorageMask, RevocationReasonCode,
    RngAlgorithm,
};
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    Attribute, AttributeName, AttributeValue, Attributes, Digest, RevocationReason, UsageLimits,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, Ttlv, Value, decode::decode, encode::encode};
use kmip_codec::version::ProtocolVersion;
use sha2::{Digest as _, Sha256};

use super::OpError;
use super::protection::{self, Protections};
use super::state;
use crate::store::records::{ObjectRecord, OtherAttribute};

/// Lease Time the server grants (KMIP 1.4 section 3.15): how long a client may use the object
/// before it asks the server again.
pub(crate) const LEASE_TIME_SECS: u32 = 3600;

/// How an attribute may be set by a client: the "Initially set by", "Modifiable by client",
/// "Deletable by client" and "Multiple instances permitted" rows of the attribute rule tables
/// (KMIP 1.4 section 3, 2.1 section 4). See [`Kind::client_modifiable`] and
/// [`Kind::client_deletable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Set by the server only.
    ServerOnly,
    /// Set by the client when the object is made, read-only afterwards (Cryptographic
    /// Algorithm, Length and Usage Mask: "Modifiable by client: No").
    AtCreation,
    /// Client-settable dates that move the state, stored typed: modifiable in the states
    /// `attribute_ops` allows, never deletable by a client.
    Typed,
    /// Client-settable, one instance.
    Single,
    /// Sensitive and Extractable: client-settable, one instance, never deletable, and a change
    /// may only tighten them (see `protection`).
    Protection,
    /// Client-settable, several instances.
    Multi,
}

impl Kind {
    /// May a client Add, Modify or Set the attribute of an existing object?
    pub(crate) fn client_modifiable(self) -> bool {
        matches!(
            self,
            Kind::Typed | Kind::Single | Kind::Protection | Kind::Multi
        )
    }

    /// May a client Delete it? Not the lifecycle dates, Sensitive or Extractable ("Deletable by
    /// client: No"); Usage Limits further only while unused (see [`usage_consumed`]).
    pub(crate) fn client_deletable(self) -> bool {
        matches!(self, Kind::Single | Kind::Multi)
    }
}

/// Classifies an attribute by name.
pub(crate) fn kind(name: &AttributeName) -> Kind {
    let tag = match name {
        AttributeName::Standard(tag) => *tag,
        // Custom attributes named `y-...` are the server's: a client may not create or
        // modify them (KMIP 1.4 section 3.46); the others are the client's.
        AttributeName::Vendor {
            vendor_identification,
            ..
        } if vendor_identification == "y" => return Kind::ServerOnly,
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
        | Tag::KEY_FORMAT_TYPE
        | Tag::CERTIFICATE_LENGTH
        | Tag::CERTIFICATE_TYPE
        | Tag::CERTIFICATE_IDENTIFIER
        | Tag::CERTIFICATE_SUBJECT
        | Tag::CERTIFICATE_ISSUER
        | Tag::X_509_CERTIFICATE_IDENTIFIER
        | Tag::X_509_CERTIFICATE_SUBJECT
        | Tag::X_509_CERTIFICATE_ISSUER
        | Tag::DIGITAL_SIGNATURE_ALGORITHM
        | Tag::SHORT_UNIQUE_IDENTIFIER
        | Tag::CERTIFICATE_SUBJECT_CN
        | Tag::CERTIFICATE_SUBJECT_O
        | Tag::CERTIFICATE_SUBJECT_OU
        | Tag::CERTIFICATE_SUBJECT_C
        | Tag::CERTIFICATE_ISSUER_CN
        | Tag::CERTIFICATE_ISSUER_O
        | Tag::CERTIFICATE_ISSUER_OU
        | Tag::CERTIFICATE_ISSUER_C => Kind::ServerOnly,
        // Fresh and Random Number Generator may come with a new object (KMIP 1.4 sections 3.34,
        // 3.44); the server keeps them with the client's attributes and only it changes them.
        Tag::CRYPTOGRAPHIC_ALGORITHM
        | Tag::CRYPTOGRAPHIC_LENGTH
        | Tag::CRYPTOGRAPHIC_USAGE_MASK
        | Tag::FRESH
        | Tag::RANDOM_NUMBER_GENERATOR => Kind::AtCreation,
        Tag::ACTIVATION_DATE
        | Tag::DEACTIVATION_DATE
        | Tag::PROCESS_START_DATE
        | Tag::PROTECT_STOP_DATE => Kind::Typed,
        Tag::NAME
        | Tag::OBJECT_GROUP
        | Tag::LINK
        | Tag::APPLICATION_SPECIFIC_INFORMATION
        | Tag::ALTERNATIVE_NAME
        | Tag::CRYPTOGRAPHIC_PARAMETERS => Kind::Multi,
        Tag::SENSITIVE | Tag::EXTRACTABLE => Kind::Protection,
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

/// A client's value for an attribute with server-maintained fields, those fields set by the
/// server: the Usage Limits Count (KMIP 1.4 section 3.21, 2.1 section 4.59: the client sets
/// Total and Unit only). A new Usage Limits starts with Count = Total; a changed one keeps the
/// uses already spent (`current`'s Total minus Count), so only raising the Total grants more.
pub(crate) fn client_value(
    value: &AttributeValue,
    current: Option<&AttributeValue>,
) -> AttributeValue {
    let mut value = value.clone();
    if let AttributeValue::UsageLimits(u) = &mut value {
        let spent = match current {
            Some(AttributeValue::UsageLimits(c)) => {
                c.total.saturating_sub(c.count.unwrap_or(c.total)).max(0)
            }
            _ => 0,
        };
        u.count = Some(u.total.saturating_sub(spent).clamp(0, u.total.max(0)));
    }
    value
}

/// True once the object's Usage Limits were drawn on: the client may then no longer delete
/// them (KMIP 1.4 section 3.21: deletable "as long as Get Usage Allocation has not been
/// performed"; here every use counts as an allocation).
pub(crate) fn usage_consumed(record: &ObjectRecord) -> bool {
    usage_limits(record).is_some_and(|u| u.count.is_some_and(|c| c != u.total))
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

/// Every attribute of the object as KMIP reports it in `version`, in the report order (see
/// [`report_order`]). The version filter of the codec drops what `version` does not define.
pub(crate) fn all(record: &ObjectRecord, now: i64, version: ProtocolVersion) -> Attributes {
    let a = &record.attributes;
    let object_type = ObjectType(record.object_type);
    let mut out: Vec<Attribute> = Vec::new();
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
    let key_format = key_format(record);
    if let Some(d) = &a.digest {
        push(
            Tag::DIGEST,
            AttributeValue::Digest(Digest {
                hashing_algorithm: HashingAlgorithm::SHA_256,
                digest_value: Some(d.clone()),
                // The Digest names the format it was computed over from KMIP 1.1 on: the
                // raw bytes of a symmetric key, whatever format it was registered in.
                key_format_type: digest_format(record).filter(|_| version >= ProtocolVersion::V1_1),
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
    let kept = others(record);
    // Attributes the server derives; a value the client gave at creation wins.
    let mut derived: Vec<Attribute> = Vec::new();
    let mut derive = |tag: Tag, v: AttributeValue| {
        if !kept.iter().any(|k| k.tag() == Some(tag)) {
            derived.push(Attribute::new(tag, v));
        }
    };
    derive(
        Tag::SHORT_UNIQUE_IDENTIFIER,
        AttributeValue::ByteString(Bytes::new(Sha256::digest(record.uid.as_bytes()).to_vec())),
    );
    derive(
        Tag::ORIGINAL_CREATION_DATE,
        AttributeValue::DateTime(a.initial_date),
    );
    if object_type != ObjectType::OPAQUE_OBJECT && object_type != ObjectType::TEMPLATE {
        // Managed Cryptographic Objects (KMIP 1.4 sections 3.15, 3.48-3.51): Sensitive and
        // Extractable take their defaults unless set; Always Sensitive and Never Extractable
        // are the stored facts (`protection`), false for a record made before they were kept.
        let p = Protections::of(record);
        derive(Tag::LEASE_TIME, AttributeValue::Interval(LEASE_TIME_SECS));
        derive(Tag::SENSITIVE, AttributeValue::Boolean(p.sensitive));
        derive(
            Tag::ALWAYS_SENSITIVE,
            AttributeValue::Boolean(p.always_sensitive),
        );
        derive(Tag::EXTRACTABLE, AttributeValue::Boolean(p.extractable));
        derive(
            Tag::NEVER_EXTRACTABLE,
            AttributeValue::Boolean(p.never_extractable),
        );
    }
    if let Some(f) = key_format {
        derive(Tag::KEY_FORMAT_TYPE, AttributeValue::Enumeration(f.0));
    }
    // Key material is kept in software, sealed under an HSM-held key (KMIP 2.1 section 4.44).
    derive(
        Tag::PROTECTION_STORAGE_MASK,
        AttributeValue::Integer(i32::try_from(ProtectionStorageMask::SOFTWARE.0).unwrap_or(1)),
    );
    out.extend(kept);
    out.extend(derived);
    report_order(&mut out);
    Attributes(out)
}

/// The Key Format Type of the object's key value: the one it was made or registered in (Raw
/// for a symmetric key whose material is gone, and for a public or private key whose material
/// is gone the format Create Key Pair keeps its algorithm in), none for Opaque Objects.
fn key_format(record: &ObjectRecord) -> Option<KeyFormatType> {
    let object_type = ObjectType(record.object_type);
    if [
        ObjectType::OPAQUE_OBJECT,
        ObjectType::CERTIFICATE,
        ObjectType::TEMPLATE,
    ]
    .contains(&object_type)
    {
        return None;
    }
    match &record.material {
        Some(m) => Some(KeyFormatType(m.key_format)),
        None if object_type == ObjectType::SYMMETRIC_KEY => Some(KeyFormatType::RAW),
        None => super::key_pair::generated_format(
            object_type,
            record.attributes.cryptographic_algorithm,
        ),
    }
}

/// The format the Digest was computed over: the raw bytes of a symmetric key.
fn digest_format(record: &ObjectRecord) -> Option<KeyFormatType> {
    if ObjectType(record.object_type) == ObjectType::SYMMETRIC_KEY {
        Some(KeyFormatType::RAW)
    } else {
        key_format(record)
    }
}

/// Sorts a full attribute list into the order the server reports it: the identity of the object
/// first (Unique Identifier, Short Unique Identifier, Object Type, Cryptographic Algorithm,
/// Cryptographic Length), then every other attribute by its KMIP 1.x name, Key Format Type
/// right after the Digest it qualifies (in KMIP 1.x it is a field of the Digest). Instances of
/// one attribute keep their order. KMIP leaves the order open; this is the order of the OASIS
/// profile vectors (e.g. SKFF-M-9, SKLC-O-1 in every version).
pub(crate) fn report_order(list: &mut [Attribute]) {
    list.sort_by_cached_key(|a| {
        let head = [
            Tag::UNIQUE_IDENTIFIER,
            Tag::SHORT_UNIQUE_IDENTIFIER,
            Tag::OBJECT_TYPE,
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Tag::CRYPTOGRAPHIC_LENGTH,
        ];
        match a.tag().and_then(|t| head.iter().position(|h| *h == t)) {
            Some(rank) => (rank, String::new(), 0u8),
            None if a.tag() == Some(Tag::KEY_FORMAT_TYPE) => (head.len(), "Digest".to_owned(), 1),
            None => (head.len(), a.name.to_1x().unwrap_or_default(), 0),
        }
    });
}

/// The Random Number Generator attribute of keys the server generates: the HSM's generator,
/// whose algorithm PKCS#11 does not disclose (KMIP 1.4 section 3.44: Unspecified).
fn server_rng() -> Attribute {
    Attribute::new(
        Tag::RANDOM_NUMBER_GENERATOR,
        AttributeValue::Structure(vec![Ttlv::new(
            Tag::RNG_ALGORITHM,
            Value::Enumeration(RngAlgorithm::UNSPECIFIED.0),
        )]),
    )
}

/// Sets the attributes the server gives every new object unless the client did: Fresh (true)
/// and, for key material the server generated, Random Number Generator (KMIP 1.4 sections
/// 3.34, 3.44); and records its Always Sensitive and Never Extractable facts (`protection`).
pub(crate) fn init_server_set(record: &mut ObjectRecord, generated: bool) -> Result<(), OpError> {
    let mut list = others(record);
    if !list.iter().any(|a| a.tag() == Some(Tag::FRESH)) {
        list.push(Attribute::new(Tag::FRESH, AttributeValue::Boolean(true)));
    }
    if generated
        && !list
            .iter()
            .any(|a| a.tag() == Some(Tag::RANDOM_NUMBER_GENERATOR))
    {
        list.push(server_rng());
    }
    set_others(record, &list)?;
    protection::record_initial(record)
}

/// The object's Usage Limits, if it has them (KMIP 1.4 section 3.21).
pub(crate) fn usage_limits(record: &ObjectRecord) -> Option<UsageLimits> {
    others(record).into_iter().find_map(|a| match a.value {
        AttributeValue::UsageLimits(u) if a.tag() == Some(Tag::USAGE_LIMITS) => Some(u),
        _ => None,
    })
}

/// Replaces the object's Usage Limits.
pub(crate) fn set_usage_limits(
    record: &mut ObjectRecord,
    limits: UsageLimits,
) -> Result<(), OpError> {
    let mut list = others(record);
    for a in list
        .iter_mut()
        .filter(|a| a.tag() == Some(Tag::USAGE_LIMITS))
    {
        a.value = AttributeValue::UsageLimits(limits.clone());
    }
    set_others(record, &list)
}

/// True while the object has not been served to a client (Fresh, KMIP 1.4 section 3.34).
pub(crate) fn is_fresh(record: &ObjectRecord) -> bool {
    first_of(record, Tag::FRESH).is_some_and(|a| a.value.as_bool() == Some(true))
}

/// The first stored instance of standard attribute `tag`. Each instance is kept as the TTLV
/// of a 1.x Attribute structure whose Attribute Name is a text string, so an instance whose
/// bytes do not contain the name is skipped undecoded (every Get asks for three flags; decoding
/// every attribute each time was a tenth of the server's CPU).
pub(super) fn first_of(record: &ObjectRecord, tag: Tag) -> Option<Attribute> {
    let name = AttributeName::Standard(tag).to_1x()?;
    let name = name.as_bytes();
    record
        .attributes
        .other
        .iter()
        .filter(|o| o.0.windows(name.len()).any(|w| w == name))
        .filter_map(|o| {
            let item = decode(&o.0, &Limits::DEFAULT).ok()?;
            Attribute::from_ttlv_1x(&item).ok()
        })
        .find(|a| a.tag() == Some(tag))
}

/// Clears Fresh once the object was served.
pub(crate) fn mark_served(record: &mut ObjectRecord) -> Result<(), OpError> {
    let mut list = others(record);
    for a in list.iter_mut().filter(|a| a.tag() == Some(Tag::FRESH)) {
        a.value = AttributeValue::Boolean(false);
    }
    set_others(record, &list)
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
                // A client restating a server-set value (e.g. Object Type, a certificate's
                // Certificate Type) is harmless only if it matches; anything else is refused.
                let restated = (a.tag() == Some(Tag::OBJECT_TYPE)
                    && a.value.as_enumeration() == Some(record.object_type))
                    || list.iter().any(|x| x.name == a.name && x.value == a.value);
                if restated {
                    continue;
                }
                return Err(OpError::AttributeReadOnly);
            }
            Kind::AtCreation | Kind::Typed if set_typed(record, a)? => {}
            Kind::AtCreation | Kind::Typed | Kind::Single | Kind::Protection => {
                if list.iter().any(|x| x.name == a.name) {
                    return Err(OpError::AttributeSingleValued);
                }
                // A new object's Usage Limits Count starts at the Total; a count the client
                // sends is ignored (KMIP 1.4 section 3.21).
                list.push(Attribute {
                    index: None,
                    name: a.name.clone(),
                    value: client_value(&a.value, None),
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
    super::quantum_safe::check(record, &list)?;
    set_others(record, &list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[Attribute]) -> Vec<String> {
        list.iter()
            .map(|a| a.name.to_1x().unwrap_or_default())
            .collect()
    }

    /// The client never sets the Usage Limits Count: a new one starts full, a changed one keeps
    /// the uses spent, whatever Count the client sends, and never goes below zero.
    #[test]
    fn usage_limits_count_is_the_servers() {
        use kmip_codec::enums::UsageLimitsUnit;
        let limits = |total, count| {
            AttributeValue::UsageLimits(UsageLimits {
                total,
                count,
                unit: UsageLimitsUnit::OBJECT,
            })
        };
        let count = |v: AttributeValue| match v {
            AttributeValue::UsageLimits(u) => u.count,
            _ => None,
        };
        assert_eq!(count(client_value(&limits(10, Some(0)), None)), Some(10));
        let spent_4 = limits(10, Some(6));
        assert_eq!(
            count(client_value(&limits(10, Some(10)), Some(&spent_4))),
            Some(6)
        );
        assert_eq!(
            count(client_value(&limits(12, None), Some(&spent_4))),
            Some(8)
        );
        assert_eq!(
            count(client_value(&limits(2, Some(2)), Some(&spent_4))),
            Some(0)
        );
        let other = AttributeValue::TextString("x".to_owned());
        assert_eq!(client_value(&other, Some(&spent_4)), other);
    }

    /// Identity first, then 1.x names in order, Key Format Type right after Digest, and
    /// several instances of one attribute in the order they were given.
    #[test]
    fn report_order_is_the_vectors_order() {
        let text = |s: &str| AttributeValue::TextString(s.to_owned());
        let mut list = vec![
            Attribute::new(Tag::STATE, AttributeValue::Enumeration(1)),
            Attribute::custom("x-b", text("2")),
            Attribute::new(Tag::KEY_FORMAT_TYPE, AttributeValue::Enumeration(1)),
            Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(128)),
            Attribute::new(Tag::OBJECT_GROUP, text("g2")),
            Attribute::new(Tag::EXTRACTABLE, AttributeValue::Boolean(true)),
            Attribute::new(Tag::DIGEST, AttributeValue::Structure(Vec::new())),
            Attribute::new(Tag::OBJECT_GROUP, text("g1")),
            Attribute::new(Tag::UNIQUE_IDENTIFIER, text("u")),
            Attribute::new(Tag::ACTIVATION_DATE, AttributeValue::DateTime(1)),
            Attribute::new(Tag::SHORT_UNIQUE_IDENTIFIER, AttributeValue::Integer(0)),
            Attribute::new(Tag::OBJECT_TYPE, AttributeValue::Enumeration(2)),
        ];
        report_order(&mut list);
        assert_eq!(
            names(&list),
            [
                "Unique Identifier",
                "Short Unique Identifier",
                "Object Type",
                "Cryptographic Length",
                "Activation Date",
                "Digest",
                "Key Format Type",
                "Extractable",
                "Object Group",
                "Object Group",
                "State",
                "x-b",
            ]
        );
        let groups: Vec<_> = list
            .iter()
            .filter(|a| a.tag() == Some(Tag::OBJECT_GROUP))
            .map(|a| a.value.as_text().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(groups, ["g2", "g1"]);
    }

    /// The flags Get reads are found among other attributes, including ones whose values
    /// spell the flags' names, and take their defaults when absent.
    #[test]
    fn export_flags_and_fresh_are_read_from_the_stored_instances() {
        let text = |s: &str| AttributeValue::TextString(s.to_owned());
        let flags = |r: &ObjectRecord| {
            let p = Protections::of(r);
            (p.sensitive, p.extractable)
        };
        let mut record = ObjectRecord {
            uid: "u".into(),
            tenant: "t".into(),
            revision: 1,
            object_type: ObjectType::SYMMETRIC_KEY.0,
            state: 1,
            material: None,
            attributes: Default::default(),
        };
        assert_eq!(flags(&record), (false, true));
        assert!(!is_fresh(&record));
        let list = vec![
            Attribute::custom("x-note", text("Fresh Sensitive Extractable")),
            Attribute::new(Tag::OBJECT_GROUP, text("Fresh")),
            Attribute::new(Tag::SENSITIVE, AttributeValue::Boolean(true)),
            Attribute::new(Tag::EXTRACTABLE, AttributeValue::Boolean(false)),
            Attribute::new(Tag::FRESH, AttributeValue::Boolean(true)),
        ];
        set_others(&mut record, &list).unwrap();
        assert_eq!(flags(&record), (true, false));
        assert!(is_fresh(&record));
        mark_served(&mut record).unwrap();
        assert!(!is_fresh(&record));
        assert_eq!(flags(&record), (true, false));
    }
}
