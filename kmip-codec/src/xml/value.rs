//! Text <-> value conversion for primitive items, and how names resolve for a tag.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::enums::{EnumTable, enum_for_tag, mask_for_tag, parse_u32};
use crate::tags::Tag;
use crate::ttlv::{Bytes, ItemType, Ttlv, Value};

/// Where the names of an item's value come from.
#[derive(Clone, Copy)]
pub(crate) struct Names {
    /// Enumeration names.
    pub(crate) enumeration: Option<&'static EnumTable>,
    /// Mask flag names (Integer items).
    pub(crate) mask: Option<&'static EnumTable>,
    /// The Enumeration's values are tags (KMIP 2.x Attribute Reference).
    pub(crate) tags: bool,
    /// The tag whose table applies (for error messages).
    pub(crate) tag: Tag,
}

/// The names for an item with `tag` whose earlier siblings are `siblings`: an Attribute Value
/// takes the names of the attribute its sibling Attribute Name names (KMIP 1.x).
pub(crate) fn names_for(tag: Tag, siblings: &[Ttlv]) -> Names {
    let mut target = tag;
    if tag == Tag::ATTRIBUTE_VALUE {
        let name = siblings
            .iter()
            .rev()
            .find(|c| c.tag == Tag::ATTRIBUTE_NAME)
            .and_then(|c| match &c.value {
                Value::TextString(s) => Tag::from_spec_name(s),
                _ => None,
            });
        match name {
            Some(t) => target = t,
            None => {
                return Names {
                    enumeration: None,
                    mask: None,
                    tags: false,
                    tag,
                };
            }
        }
    }
    Names {
        enumeration: enum_for_tag(target),
        mask: mask_for_tag(target),
        tags: target == Tag::ATTRIBUTE_REFERENCE,
        tag: target,
    }
}

/// The item type of a `type` attribute.
pub(crate) fn item_type_from_name(name: &str) -> Option<ItemType> {
    Some(match name {
        "Structure" => ItemType::Structure,
        "Integer" => ItemType::Integer,
        "LongInteger" => ItemType::LongInteger,
        "BigInteger" => ItemType::BigInteger,
        "Enumeration" => ItemType::Enumeration,
        "Boolean" => ItemType::Boolean,
        "TextString" => ItemType::TextString,
        "ByteString" => ItemType::ByteString,
        "DateTime" => ItemType::DateTime,
        "Interval" => ItemType::Interval,
        "DateTimeExtended" => ItemType::DateTimeExtended,
        _ => return None,
    })
}

/// Why a value text did not parse.
pub(super) enum BadValue {
    /// The text does not parse as the type.
    Syntax,
    /// A name the item's table does not define.
    UnknownName,
}

pub(crate) fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let text = text.strip_prefix("0x").unwrap_or(text);
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|p| {
            let hi = char::from(p.first().copied()?).to_digit(16)?;
            let lo = char::from(p.get(1).copied()?).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

fn parse_i64(text: &str) -> Option<i64> {
    match text.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok().map(|v| v as i64),
        None => text.parse().ok(),
    }
}

pub(crate) fn parse_datetime(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Parses the `value` text of a primitive item.
pub(super) fn parse_value(ty: ItemType, text: &str, names: Names) -> Result<Value, BadValue> {
    use BadValue::{Syntax, UnknownName};
    Ok(match ty {
        ItemType::Structure => return Err(Syntax),
        ItemType::Integer => {
            if let Some(v) = parse_i64(text) {
                let v = if text.starts_with("0x") {
                    u32::try_from(v).map(|u| u as i32).ok()
                } else {
                    i32::try_from(v).ok()
                };
                Value::Integer(v.ok_or(Syntax)?)
            } else if let Some(mask) = names.mask {
                let bits = mask.parse_mask(text).ok_or(UnknownName)?;
                Value::Integer(bits as i32)
            } else {
                return Err(Syntax);
            }
        }
        ItemType::LongInteger => Value::LongInteger(parse_i64(text).ok_or(Syntax)?),
        ItemType::BigInteger => Value::BigInteger(hex_bytes(text).ok_or(Syntax)?.into()),
        ItemType::Enumeration => {
            if text.starts_with("0x") || text.bytes().all(|b| b.is_ascii_digit()) {
                Value::Enumeration(parse_u32(text).ok_or(Syntax)?)
            } else if names.tags {
                Value::Enumeration(Tag::from_xml_name(text).ok_or(UnknownName)?.0)
            } else {
                let table = names.enumeration.ok_or(UnknownName)?;
                Value::Enumeration(table.value_of(text).ok_or(UnknownName)?)
            }
        }
        ItemType::Boolean => match text {
            "true" => Value::Boolean(true),
            "false" => Value::Boolean(false),
            _ => return Err(Syntax),
        },
        ItemType::TextString => Value::TextString(text.to_owned()),
        ItemType::ByteString => Value::ByteString(Bytes::new(hex_bytes(text).ok_or(Syntax)?)),
        ItemType::DateTime => Value::DateTime(match parse_datetime(text) {
            Some(t) => t.unix_timestamp(),
            None => parse_i64(text)
                .filter(|_| text.starts_with("0x"))
                .ok_or(Syntax)?,
        }),
        ItemType::Interval => Value::Interval(parse_u32(text).ok_or(Syntax)?),
        ItemType::DateTimeExtended => Value::DateTimeExtended(match parse_datetime(text) {
            Some(t) => i64::try_from(t.unix_timestamp_nanos() / 1000).map_err(|_| Syntax)?,
            None => parse_i64(text)
                .filter(|_| text.starts_with("0x"))
                .ok_or(Syntax)?,
        }),
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    s
}

/// The `value` text of a primitive item (`None` for a Structure).
pub(crate) fn format_value(value: &Value, names: Names) -> Option<String> {
    Some(match value {
        Value::Structure(_) => return None,
        Value::Integer(v) => match names.mask {
            Some(mask) => mask.format_mask(*v as u32),
            None => v.to_string(),
        },
        Value::LongInteger(v) => v.to_string(),
        Value::BigInteger(b) => hex(b.as_slice()),
        Value::Enumeration(v) => {
            let name = if names.tags {
                Tag(*v).xml_name()
            } else {
                names.enumeration.and_then(|t| t.name_of(*v))
            };
            match name {
                Some(n) => n.to_owned(),
                None => format!("0x{v:08X}"),
            }
        }
        Value::Boolean(b) => b.to_string(),
        Value::TextString(s) => s.clone(),
        Value::ByteString(b) => hex(b.as_slice()),
        Value::DateTime(secs) => OffsetDateTime::from_unix_timestamp(*secs)
            .ok()
            .and_then(|t| {
                t.format(format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second]+00:00"
                ))
                .ok()
            })
            .unwrap_or_else(|| format!("0x{:016X}", *secs as u64)),
        Value::Interval(v) => v.to_string(),
        Value::DateTimeExtended(us) => {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(*us) * 1000)
                .ok()
                .and_then(|t| {
                    t.format(format_description!(
                        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
                    ))
                    .ok()
                })
                .unwrap_or_else(|| format!("0x{:016X}", *us as u64))
        }
    })
}
