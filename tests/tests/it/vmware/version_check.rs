//! What a reply in a given KMIP version may hold: walks a decoded TTLV tree and lists every
//! tag, item type, enumeration value, mask flag and attribute name that the version does not
//! define (KMIP 1.4 section 9.1.3 tables; the codec's tables say which version added what).

use kmip_codec::enums::{enum_for_tag, mask_for_tag};
use kmip_codec::model::AttributeName;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{ItemType, Ttlv, Value};
use kmip_codec::version::ProtocolVersion;

/// Where `tree` uses something `version` does not define, as readable paths: tags, item
/// types, enumeration values (those inside an Attribute Value resolved through the Attribute
/// Name), mask flags and standard attribute names.
pub(super) fn undefined_in(tree: &Ttlv, version: ProtocolVersion) -> Vec<String> {
    let mut found = Vec::new();
    walk(tree, version, None, &mut String::new(), &mut found);
    found
}

fn walk(
    item: &Ttlv,
    version: ProtocolVersion,
    attribute: Option<Tag>,
    path: &mut String,
    found: &mut Vec<String>,
) {
    let start = path.len();
    path.push('/');
    path.push_str(&format!("{:?}", item.tag));
    if !item.tag.is_defined_in(version) {
        found.push(format!("{path}: tag"));
    }
    if item.value.item_type() == ItemType::DateTimeExtended {
        found.push(format!("{path}: Date-Time Extended item"));
    }
    // The enumeration or mask an item's value belongs to: its own tag's, or for an Attribute
    // Value the attribute's.
    let meaning = if item.tag == Tag::ATTRIBUTE_VALUE {
        attribute
    } else {
        Some(item.tag)
    };
    match &item.value {
        Value::Enumeration(v) => {
            if let Some(table) = meaning.and_then(enum_for_tag)
                && !table.is_defined_in(*v, version)
            {
                found.push(format!("{path}: {} value {v:#x}", table.name));
            }
        }
        Value::Integer(v) => {
            if let Some(table) = meaning.and_then(mask_for_tag) {
                let known = table
                    .entries
                    .iter()
                    .filter(|e| e.versions.contains(version))
                    .fold(0u32, |acc, e| acc | e.value);
                let bits = u32::from_be_bytes(v.to_be_bytes());
                if bits & !known != 0 {
                    found.push(format!("{path}: {} flags {:#x}", table.name, bits & !known));
                }
            }
        }
        Value::TextString(name) if item.tag == Tag::ATTRIBUTE_NAME => {
            // A standard attribute of a later version, or a name no version defines.
            match AttributeName::from_1x(name) {
                AttributeName::Standard(tag) if tag.is_defined_in(version) => {}
                AttributeName::Vendor { .. } => {}
                _ => found.push(format!("{path}: attribute {name:?}")),
            }
        }
        Value::Structure(children) => {
            // In a 1.x Attribute, the Attribute Name says what the Attribute Value is.
            let named = children
                .iter()
                .find(|c| c.tag == Tag::ATTRIBUTE_NAME)
                .and_then(|c| match &c.value {
                    Value::TextString(name) => Some(name.as_str()),
                    _ => None,
                });
            let inner = named.and_then(|name| match AttributeName::from_1x(name) {
                AttributeName::Standard(tag) => Some(tag),
                _ => None,
            });
            for child in children {
                walk(child, version, inner, path, found);
            }
        }
        _ => {}
    }
    path.truncate(start);
}

#[cfg(test)]
mod tests {
    use kmip_codec::enums::CryptographicAlgorithm;

    use super::*;

    const V1_1: ProtocolVersion = ProtocolVersion::V1_1;

    /// The 1.1 checker itself finds what 1.1 lacks, so the flow's "nothing undefined" can fail.
    #[test]
    fn the_1_1_checker_flags_what_1_1_lacks() {
        let attribute = |name: &str, value: Value| {
            Ttlv::structure(
                Tag::ATTRIBUTE,
                vec![
                    Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString(name.to_owned())),
                    Ttlv::new(Tag::ATTRIBUTE_VALUE, value),
                ],
            )
        };
        let tree = Ttlv::structure(
            Tag::RESPONSE_PAYLOAD,
            vec![
                // A 1.3 attribute, a 1.4 algorithm value and a 1.4 tag; x- and 1.0 items are fine.
                attribute("Original Creation Date", Value::DateTime(0)),
                attribute(
                    "Cryptographic Algorithm",
                    Value::Enumeration(CryptographicAlgorithm::CHACHA20.0),
                ),
                Ttlv::new(Tag::SENSITIVE, Value::Boolean(true)),
                attribute("x-Vendor", Value::TextString("VMware, Inc.".to_owned())),
                attribute(
                    "Cryptographic Algorithm",
                    Value::Enumeration(CryptographicAlgorithm::AES.0),
                ),
            ],
        );
        let found = undefined_in(&tree, V1_1);
        assert_eq!(found.len(), 3, "{found:#?}");
        let in_1_4 = undefined_in(&tree, ProtocolVersion::V1_4);
        assert!(in_1_4.is_empty(), "{in_1_4:#?}");
    }
}
