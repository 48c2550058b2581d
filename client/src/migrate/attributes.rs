//! Which of a foreign object's attributes an Import here carries, and the attribute that
//! records where the object came from.
//!
//! Kept: the attributes a client may set at creation and the lifecycle facts the Import keeps
//! (State, dates, Revocation Reason), plus the foreign `x-` attributes. Left out: what this
//! server computes itself (Unique Identifier, Object Type, Digest, Last Change Date, ...), `y-`
//! attributes (the foreign server's own marks, and this one's are never imported), names with
//! no meaning here (Operation Policy Name, a 1.x attribute KMIP 2.x removed) and the foreign
//! object's own origin record, replaced by this pull's.

use kmip_codec::model::{Attribute, AttributeName, AttributeValue, Attributes};
use kmip_codec::tags::Tag;

/// The client attribute that records where a pulled object came from: `"<host:port> <foreign
/// uid>"`.
pub const ORIGIN_ATTRIBUTE: &str = "x-kms-migrated-from";

/// Standard attributes an Import here takes from the foreign object.
const KEPT: [Tag; 19] = [
    Tag::NAME,
    Tag::CRYPTOGRAPHIC_ALGORITHM,
    Tag::CRYPTOGRAPHIC_LENGTH,
    Tag::CRYPTOGRAPHIC_PARAMETERS,
    Tag::CRYPTOGRAPHIC_USAGE_MASK,
    Tag::STATE,
    Tag::INITIAL_DATE,
    Tag::ACTIVATION_DATE,
    Tag::PROCESS_START_DATE,
    Tag::PROTECT_STOP_DATE,
    Tag::DEACTIVATION_DATE,
    Tag::COMPROMISE_DATE,
    Tag::COMPROMISE_OCCURRENCE_DATE,
    Tag::REVOCATION_REASON,
    Tag::OBJECT_GROUP,
    Tag::CONTACT_INFORMATION,
    Tag::SENSITIVE,
    Tag::EXTRACTABLE,
    Tag::DESCRIPTION,
];

/// The origin text of the object `uid` of the foreign server `source`.
pub fn origin(source: &str, uid: &str) -> String {
    format!("{source} {uid}")
}

/// True when `name` is [`ORIGIN_ATTRIBUTE`].
fn is_origin(name: &AttributeName) -> bool {
    name.to_1x().as_deref() == Some(ORIGIN_ATTRIBUTE)
}

/// The origin an object here records, when it has one.
pub fn recorded_origin(attributes: &Attributes) -> Option<&str> {
    attributes
        .iter()
        .find(|a| is_origin(&a.name))
        .and_then(|a| a.value.as_text())
}

/// The attributes the Import of a foreign object carries: those kept from `foreign` (see the
/// module documentation) and [`ORIGIN_ATTRIBUTE`] set to `origin`.
pub fn for_import(foreign: &Attributes, origin: String) -> Attributes {
    let mut out = Attributes::new();
    for a in foreign.iter() {
        let keep = match &a.name {
            AttributeName::Standard(tag) => KEPT.contains(tag),
            AttributeName::Vendor {
                vendor_identification,
                ..
            } => vendor_identification == "x" && !is_origin(&a.name),
            AttributeName::Other(_) => false,
        };
        if keep {
            let mut kept = a.clone();
            // 2.x has no attribute indices.
            kept.index = None;
            out.push(kept);
        }
    }
    out.push(Attribute::custom(
        ORIGIN_ATTRIBUTE,
        AttributeValue::TextString(origin),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmip_codec::enums::NameType;
    use kmip_codec::model::Name;

    fn foreign() -> Attributes {
        Attributes::new()
            .with(
                Tag::UNIQUE_IDENTIFIER,
                AttributeValue::TextString("7".into()),
            )
            .with(
                Tag::NAME,
                AttributeValue::Name(Name {
                    value: "payroll".into(),
                    name_type: NameType::UNINTERPRETED_TEXT_STRING,
                }),
            )
            .with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(256))
            .with(Tag::DIGEST, AttributeValue::TextString("d".into()))
            .with(
                Tag::OPERATION_POLICY_NAME,
                AttributeValue::TextString("default".into()),
            )
    }

    /// Names and creation attributes go along; what the server computes does not; the origin
    /// is this pull's, not one a previous migration left on the foreign object.
    #[test]
    fn an_import_keeps_names_and_records_this_origin() {
        let mut attrs = foreign();
        attrs.push(Attribute::custom(
            ORIGIN_ATTRIBUTE,
            AttributeValue::TextString("elsewhere:5696 1".into()),
        ));
        attrs.push(Attribute::custom(
            "x-app",
            AttributeValue::TextString("hr".into()),
        ));
        attrs.push(Attribute::custom(
            "y-vendor-mark",
            AttributeValue::TextString("no".into()),
        ));
        let out = for_import(&attrs, origin("old-kms:5696", "7"));
        let tags: Vec<_> = out.iter().filter_map(Attribute::tag).collect();
        assert_eq!(tags, [Tag::NAME, Tag::CRYPTOGRAPHIC_LENGTH]);
        let custom: Vec<_> = out
            .iter()
            .filter_map(|a| a.name.to_1x().filter(|_| a.tag().is_none()))
            .collect();
        assert_eq!(custom, ["x-app", ORIGIN_ATTRIBUTE]);
        assert_eq!(recorded_origin(&out), Some("old-kms:5696 7"));
    }

    #[test]
    fn an_object_without_an_origin_has_none() {
        assert_eq!(recorded_origin(&foreign()), None);
    }
}
