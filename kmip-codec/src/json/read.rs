//! Reading the KMIP JSON encoding into TTLV items, under [`Limits`].
//!
//! serde_json reads the tokens; the visitors below build the [`Ttlv`] tree directly (no
//! intermediate JSON value), counting depth and items as they go, so a limit stops the read
//! before the item that breaks it is allocated.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::JsonShape;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;
use crate::tags::Tag;
use crate::ttlv::{Bytes, ItemType, Ttlv, Value};
use crate::xml::value::{Names, hex_bytes, item_type_from_name, names_for, parse_datetime};

/// Decodes one item (normally a whole KMIP message) from its JSON encoding.
///
/// Refuses a body larger than [`Limits::max_message_size`] before reading it, structures nested
/// deeper than [`Limits::max_depth`] and structures with more than
/// [`Limits::max_items_per_structure`] items before reading the item past the limit, and
/// anything after the one JSON object.
pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Ttlv> {
    if bytes.len() > limits.max_message_size {
        return Err(Error::new(ErrorKind::MessageTooLarge {
            size: bytes.len(),
            limit: limits.max_message_size,
        })
        .at_offset(0));
    }
    let ctx = Ctx {
        limits,
        error: RefCell::new(None),
        path: RefCell::new(Vec::new()),
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let read = ItemSeed {
        ctx: &ctx,
        depth: 1,
        siblings: &[],
    }
    .deserialize(&mut de)
    .and_then(|item| de.end().map(|()| item));
    read.map_err(|e| {
        let offset = offset_of(bytes, e.line(), e.column());
        match ctx.error.borrow_mut().take() {
            Some(ours) => ours.at_offset(offset),
            None => Error::new(ErrorKind::JsonSyntax(e)).at_offset(offset),
        }
    })
}

/// The byte offset of a 1-based line and column as serde_json reports them.
fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map_or(bytes.len(), |(i, _)| i + 1)
    };
    (line_start + column.saturating_sub(1)).min(bytes.len())
}

/// What one read shares: the limits, the first error of ours (serde carries only a message),
/// and the tags of the items being read.
struct Ctx<'l> {
    limits: &'l Limits,
    error: RefCell<Option<Error>>,
    path: RefCell<Vec<Tag>>,
}

impl Ctx<'_> {
    /// Records `kind` at the current path and returns the serde error that unwinds the read.
    fn fail<E: de::Error>(&self, kind: ErrorKind) -> E {
        let path = self.path.borrow().clone();
        let mut slot = self.error.borrow_mut();
        if slot.is_none() {
            *slot = Some(Error::new(kind).with_path(path));
        }
        E::custom("invalid KMIP JSON")
    }

    fn shape<E: de::Error>(&self, shape: JsonShape) -> E {
        self.fail(ErrorKind::JsonShape(shape))
    }
}

/// Reads one item (a JSON object) at `depth` (the top-level item is 1), whose earlier siblings
/// are `siblings` (an Attribute Value takes its names from the Attribute Name before it).
struct ItemSeed<'c, 'l, 's> {
    ctx: &'c Ctx<'l>,
    depth: usize,
    siblings: &'s [Ttlv],
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_, '_, '_> {
    type Value = Ttlv;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Ttlv, D::Error> {
        d.deserialize_any(self)
    }
}

/// Stands for the item after the last one a structure may hold: the read fails when there is
/// one, before anything of it is read.
struct OverLimit<'c, 'l>(&'c Ctx<'l>);

impl<'de> DeserializeSeed<'de> for OverLimit<'_, '_> {
    type Value = Ttlv;

    fn deserialize<D: Deserializer<'de>>(self, _d: D) -> Result<Ttlv, D::Error> {
        Err(self.0.fail(ErrorKind::TooManyItems {
            limit: self.0.limits.max_items_per_structure,
        }))
    }
}

/// The value of an item before its type is known (`type` may follow `value`).
enum Pending {
    Children(Vec<Ttlv>),
    Text(String),
    Integer(i128),
    Float,
    Boolean(bool),
}

/// The members of an item object.
enum Member {
    Tag,
    Type,
    Value,
    Other,
}

struct MemberVisitor;

impl Visitor<'_> for MemberVisitor {
    type Value = Member;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Member, E> {
        Ok(match s {
            "tag" => Member::Tag,
            "type" => Member::Type,
            "value" => Member::Value,
            _ => Member::Other,
        })
    }
}

impl<'de> DeserializeSeed<'de> for MemberVisitor {
    type Value = Member;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Member, D::Error> {
        d.deserialize_str(self)
    }
}

/// Reads a member that must be a JSON string; anything else is `shape`.
struct TextSeed<'c, 'l> {
    ctx: &'c Ctx<'l>,
    shape: JsonShape,
}

impl<'de> DeserializeSeed<'de> for TextSeed<'_, '_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextSeed<'_, '_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<String, A::Error> {
        Err(self.ctx.shape(self.shape))
    }
    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<String, A::Error> {
        Err(self.ctx.shape(self.shape))
    }
    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<String, E> {
        Err(self.ctx.shape(self.shape))
    }
    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<String, E> {
        Err(self.ctx.shape(self.shape))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<String, E> {
        Err(self.ctx.shape(self.shape))
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<String, E> {
        Err(self.ctx.shape(self.shape))
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(self.ctx.shape(self.shape))
    }
}

impl ItemSeed<'_, '_, '_> {
    fn text<'de, A: MapAccess<'de>>(
        &self,
        map: &mut A,
        shape: JsonShape,
    ) -> Result<String, A::Error> {
        map.next_value_seed(TextSeed {
            ctx: self.ctx,
            shape,
        })
    }

    fn not_an_object<E: de::Error>(&self) -> E {
        self.ctx.shape(JsonShape::NotAnObject)
    }

    fn members<'de, A: MapAccess<'de>>(
        &self,
        map: &mut A,
        pushed: &mut bool,
    ) -> Result<Ttlv, A::Error> {
        let mut tag = None;
        let mut item_type = None;
        let mut value = None;
        while let Some(member) = map.next_key_seed(MemberVisitor)? {
            match member {
                Member::Tag if tag.is_none() => {
                    let text = self.text(map, JsonShape::InvalidTag)?;
                    let t =
                        parse_tag(&text).ok_or_else(|| self.ctx.shape(JsonShape::InvalidTag))?;
                    self.ctx.path.borrow_mut().push(t);
                    *pushed = true;
                    tag = Some(t);
                }
                Member::Type if item_type.is_none() => {
                    let text = self.text(map, JsonShape::UnknownType)?;
                    item_type = Some(
                        item_type_from_name(&text)
                            .ok_or_else(|| self.ctx.shape(JsonShape::UnknownType))?,
                    );
                }
                Member::Value if value.is_none() => {
                    value = Some(map.next_value_seed(ValueSeed {
                        ctx: self.ctx,
                        depth: self.depth,
                    })?);
                }
                _ => return Err(self.ctx.shape(JsonShape::UnexpectedMember)),
            }
        }
        let tag = tag.ok_or_else(|| self.ctx.shape(JsonShape::MissingTag))?;
        let value = value.ok_or_else(|| self.ctx.shape(JsonShape::MissingValue))?;
        let item_type = item_type.unwrap_or(ItemType::Structure);
        let value = match (item_type, value) {
            (ItemType::Structure, Pending::Children(children)) => Value::Structure(children),
            (ItemType::Structure, _) | (_, Pending::Children(_)) => {
                return Err(self.ctx.shape(JsonShape::StructureValue));
            }
            (ty, pending) => {
                let names = names_for(tag, self.siblings);
                primitive(ty, pending, names).map_err(|bad| {
                    self.ctx.fail(match bad {
                        Bad::Syntax => ErrorKind::InvalidJsonValue { item_type: ty },
                        Bad::UnknownName => ErrorKind::UnknownEnumName { tag: names.tag },
                    })
                })?
            }
        };
        Ok(Ttlv::new(tag, value))
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_, '_, '_> {
    type Value = Ttlv;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a KMIP JSON item object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ttlv, A::Error> {
        let mut pushed = false;
        let read = self.members(&mut map, &mut pushed);
        if pushed {
            self.ctx.path.borrow_mut().pop();
        }
        read
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Ttlv, A::Error> {
        Err(self.not_an_object())
    }
    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Ttlv, E> {
        Err(self.not_an_object())
    }
    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<Ttlv, E> {
        Err(self.not_an_object())
    }
    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<Ttlv, E> {
        Err(self.not_an_object())
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Ttlv, E> {
        Err(self.not_an_object())
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Ttlv, E> {
        Err(self.not_an_object())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Ttlv, E> {
        Err(self.not_an_object())
    }
}

/// Reads an item's `value` member for an item at `depth`.
struct ValueSeed<'c, 'l> {
    ctx: &'c Ctx<'l>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = Pending;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Pending, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = Pending;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a KMIP JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pending, A::Error> {
        let limits = self.ctx.limits;
        if self.depth > limits.max_depth {
            return Err(self.ctx.fail(ErrorKind::TooDeep {
                limit: limits.max_depth,
            }));
        }
        let mut children: Vec<Ttlv> = Vec::new();
        loop {
            let next = if children.len() < limits.max_items_per_structure {
                seq.next_element_seed(ItemSeed {
                    ctx: self.ctx,
                    depth: self.depth + 1,
                    siblings: &children,
                })?
            } else {
                seq.next_element_seed(OverLimit(self.ctx))?
            };
            match next {
                Some(item) => children.push(item),
                None => break,
            }
        }
        Ok(Pending::Children(children))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Pending, E> {
        Ok(Pending::Text(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Pending, E> {
        Ok(Pending::Text(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Pending, E> {
        Ok(Pending::Integer(i128::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Pending, E> {
        Ok(Pending::Integer(i128::from(v)))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Pending, E> {
        Ok(Pending::Float)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Pending, E> {
        Ok(Pending::Boolean(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Pending, E> {
        Err(self.ctx.shape(JsonShape::NullOrObjectValue))
    }
    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<Pending, A::Error> {
        Err(self.ctx.shape(JsonShape::NullOrObjectValue))
    }
}

/// A tag: its normalized name, or `0x` and six hex digits.
fn parse_tag(text: &str) -> Option<Tag> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) if hex.len() == 6 => u32::from_str_radix(hex, 16).ok().map(Tag),
        Some(_) => None,
        None => Tag::from_xml_name(text),
    }
}

/// Why a value did not convert.
enum Bad {
    Syntax,
    UnknownName,
}

/// A `0x` hex string of at most `max_digits` digits.
fn hex_number(text: &str, max_digits: usize) -> Option<u64> {
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    if hex.is_empty() || hex.len() > max_digits {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

fn is_hex(text: &str) -> bool {
    text.starts_with("0x") || text.starts_with("0X")
}

/// Bytes written as hex digits (an even number of them, nothing else).
fn hex_digits(text: &str) -> Option<Vec<u8>> {
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    hex_bytes(text)
}

/// Converts a primitive value of type `ty`.
fn primitive(ty: ItemType, value: Pending, names: Names) -> Result<Value, Bad> {
    use Bad::{Syntax, UnknownName};
    Ok(match (ty, value) {
        (ItemType::Integer, Pending::Integer(n)) => {
            Value::Integer(i32::try_from(n).map_err(|_| Syntax)?)
        }
        (ItemType::Integer, Pending::Text(t)) if is_hex(&t) && !t.contains('|') => {
            let n = hex_number(&t, 8).ok_or(Syntax)?;
            Value::Integer(u32::try_from(n).map_err(|_| Syntax)? as i32)
        }
        (ItemType::Integer, Pending::Text(t)) => {
            let mask = names.mask.ok_or(Syntax)?;
            Value::Integer(mask.parse_mask(&t).ok_or(UnknownName)? as i32)
        }
        (ItemType::LongInteger, Pending::Integer(n)) => {
            Value::LongInteger(i64::try_from(n).map_err(|_| Syntax)?)
        }
        (ItemType::LongInteger, Pending::Text(t)) => {
            Value::LongInteger(hex_number(&t, 16).ok_or(Syntax)? as i64)
        }
        (ItemType::BigInteger, Pending::Integer(n)) => {
            let n = i64::try_from(n).map_err(|_| Syntax)?;
            Value::BigInteger(Bytes::new(n.to_be_bytes().to_vec()))
        }
        (ItemType::BigInteger, Pending::Text(t)) if is_hex(&t) => {
            Value::BigInteger(Bytes::new(hex_digits(&t[2..]).ok_or(Syntax)?))
        }
        (ItemType::Enumeration, Pending::Integer(n)) => {
            Value::Enumeration(u32::try_from(n).map_err(|_| Syntax)?)
        }
        (ItemType::Enumeration, Pending::Text(t)) => Value::Enumeration(if is_hex(&t) {
            u32::try_from(hex_number(&t, 8).ok_or(Syntax)?).map_err(|_| Syntax)?
        } else if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            t.parse().map_err(|_| Syntax)?
        } else if names.tags {
            Tag::from_xml_name(&t).ok_or(UnknownName)?.0
        } else {
            names
                .enumeration
                .and_then(|table| table.value_of(&t))
                .ok_or(UnknownName)?
        }),
        (ItemType::Boolean, Pending::Boolean(b)) => Value::Boolean(b),
        (ItemType::Boolean, Pending::Text(t)) => match hex_number(&t, 16) {
            Some(0) => Value::Boolean(false),
            Some(1) => Value::Boolean(true),
            _ => return Err(Syntax),
        },
        (ItemType::TextString, Pending::Text(t)) => Value::TextString(t),
        (ItemType::ByteString, Pending::Text(t)) => {
            Value::ByteString(Bytes::new(hex_digits(&t).ok_or(Syntax)?))
        }
        (ItemType::DateTime, Pending::Text(t)) => Value::DateTime(if is_hex(&t) {
            hex_number(&t, 16).ok_or(Syntax)? as i64
        } else {
            parse_datetime(&t).ok_or(Syntax)?.unix_timestamp()
        }),
        (ItemType::DateTimeExtended, Pending::Text(t)) => Value::DateTimeExtended(if is_hex(&t) {
            hex_number(&t, 16).ok_or(Syntax)? as i64
        } else {
            let at = parse_datetime(&t).ok_or(Syntax)?;
            i64::try_from(at.unix_timestamp_nanos() / 1000).map_err(|_| Syntax)?
        }),
        (ItemType::Interval, Pending::Integer(n)) => {
            Value::Interval(u32::try_from(n).map_err(|_| Syntax)?)
        }
        (ItemType::Interval, Pending::Text(t)) => {
            Value::Interval(u32::try_from(hex_number(&t, 8).ok_or(Syntax)?).map_err(|_| Syntax)?)
        }
        _ => return Err(Syntax),
    })
}
