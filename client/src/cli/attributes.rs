//! Attributes as text for `key attrs`: the KMIP 1.x attribute name, and the value with
//! enumerations and masks by their XML names (KMIP 1.4 section 3), dates in RFC 3339. Byte
//! strings (Digest values, ...) are shown as their length only.

use kmip_codec::enums::{enum_for_tag, mask_for_tag};
use kmip_codec::model::{AttributeValue, Attributes};
use kmip_codec::tags::Tag;

/// One `(name, value)` per attribute instance, in the server's order.
pub(super) fn rows(attrs: &Attributes) -> Vec<(String, String)> {
    attrs
        .iter()
        .map(|a| {
            let name = a.name.to_1x().unwrap_or_else(|| format!("{:?}", a.name));
            (name, value_text(a.tag(), &a.value))
        })
        .collect()
}

fn value_text(tag: Option<Tag>, value: &AttributeValue) -> String {
    match value {
        AttributeValue::TextString(s) => s.clone(),
        AttributeValue::Integer(i) => match tag.and_then(mask_for_tag) {
            Some(mask) => mask.format_mask(u32::from_be_bytes(i.to_be_bytes())),
            None => i.to_string(),
        },
        AttributeValue::LongInteger(i) => i.to_string(),
        AttributeValue::Enumeration(e) => tag
            .and_then(enum_for_tag)
            .and_then(|t| t.name_of(*e))
            .map_or_else(|| format!("0x{e:08x}"), str::to_owned),
        AttributeValue::Boolean(b) => b.to_string(),
        AttributeValue::DateTime(d) | AttributeValue::DateTimeExtended(d) => date(*d),
        AttributeValue::Interval(i) => format!("{i} s"),
        AttributeValue::Name(n) => n.value.clone(),
        AttributeValue::Link(l) => format!(
            "{} {}",
            l.link_type.name().unwrap_or("Link"),
            l.linked_object_identifier
        ),
        AttributeValue::RevocationReason(r) => match &r.message {
            Some(m) => format!("{} ({m})", r.code.name().unwrap_or("?")),
            None => r.code.name().unwrap_or("?").to_owned(),
        },
        AttributeValue::ByteString(b) | AttributeValue::BigInteger(b) => {
            format!("<{} bytes>", b.len())
        }
        AttributeValue::Digest(d) => format!("{:?}", d.hashing_algorithm.name()),
        other => format!("{other:?}"),
    }
}

/// Unix seconds as RFC 3339 UTC (the number itself if out of range).
pub(super) fn date(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

#[cfg(test)]
mod tests {
    use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask};
    use kmip_codec::model::Attribute;

    use super::*;

    #[test]
    fn values_are_shown_by_their_kmip_names() {
        let mask = CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT;
        let attrs = Attributes::new()
            .with(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                AttributeValue::Enumeration(CryptographicAlgorithm::AES.0),
            )
            .with(
                Tag::CRYPTOGRAPHIC_USAGE_MASK,
                AttributeValue::Integer(i32::from_be_bytes(mask.0.to_be_bytes())),
            )
            .with(Tag::INITIAL_DATE, AttributeValue::DateTime(0));
        let mut all = attrs;
        all.push(Attribute::custom(
            "x-Name",
            AttributeValue::TextString("vm-web-01".into()),
        ));
        let rows = rows(&all);
        assert_eq!(rows[0], ("Cryptographic Algorithm".into(), "AES".into()));
        assert!(
            rows[1].1.contains("Encrypt") && rows[1].1.contains("Decrypt"),
            "{rows:?}"
        );
        assert_eq!(rows[2].1, "1970-01-01T00:00:00Z");
        assert_eq!(rows[3], ("x-Name".into(), "vm-web-01".into()));
    }
}
