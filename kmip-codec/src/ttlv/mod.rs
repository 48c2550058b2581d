//! The TTLV item tree (KMIP 1.4 section 9.1, KMIP 2.1 section 9.1): every KMIP message is a
//! tree of Tag-Type-Length-Value items. This untyped tree is what the binary and XML encodings
//! read and write; the typed model in [`crate::model`] converts to and from it.

pub mod decode;
pub mod encode;

use std::fmt;

use zeroize::Zeroizing;

use crate::tags::Tag;

/// KMIP item types (KMIP 1.4 section 9.1.1.2, 2.1 section 9.1.1.2). `DateTimeExtended` exists
/// from KMIP 2.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ItemType {
    /// 0x01
    Structure = 0x01,
    /// 0x02, 4-byte signed
    Integer = 0x02,
    /// 0x03, 8-byte signed
    LongInteger = 0x03,
    /// 0x04, two's complement big-endian, length a multiple of 8
    BigInteger = 0x04,
    /// 0x05, 4-byte unsigned
    Enumeration = 0x05,
    /// 0x06, 8 bytes holding 0 or 1
    Boolean = 0x06,
    /// 0x07, UTF-8
    TextString = 0x07,
    /// 0x08
    ByteString = 0x08,
    /// 0x09, seconds since the Unix epoch, 8-byte signed
    DateTime = 0x09,
    /// 0x0A, seconds, 4-byte unsigned
    Interval = 0x0A,
    /// 0x0B (KMIP 2.0+), microseconds since the Unix epoch, 8-byte signed
    DateTimeExtended = 0x0B,
}

impl ItemType {
    /// The item type for a wire byte, or `None` for an undefined one.
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0x01 => Self::Structure,
            0x02 => Self::Integer,
            0x03 => Self::LongInteger,
            0x04 => Self::BigInteger,
            0x05 => Self::Enumeration,
            0x06 => Self::Boolean,
            0x07 => Self::TextString,
            0x08 => Self::ByteString,
            0x09 => Self::DateTime,
            0x0A => Self::Interval,
            0x0B => Self::DateTimeExtended,
            _ => return None,
        })
    }

    /// The name used by the KMIP XML encoding (`type="..."`).
    pub fn xml_name(self) -> &'static str {
        match self {
            Self::Structure => "Structure",
            Self::Integer => "Integer",
            Self::LongInteger => "LongInteger",
            Self::BigInteger => "BigInteger",
            Self::Enumeration => "Enumeration",
            Self::Boolean => "Boolean",
            Self::TextString => "TextString",
            Self::ByteString => "ByteString",
            Self::DateTime => "DateTime",
            Self::Interval => "Interval",
            Self::DateTimeExtended => "DateTimeExtended",
        }
    }
}

/// Bytes that may be key material: zeroized on drop, and `Debug` shows only the length.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(Zeroizing<Vec<u8>>);

impl Bytes {
    /// Wraps bytes (taking ownership, so no copy is left behind).
    pub fn new(v: Vec<u8>) -> Self {
        Self(Zeroizing::new(v))
    }
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Self::new(v)
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Self {
        Self::new(v.to_vec())
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes(<{} bytes>)", self.0.len())
    }
}

/// The value of one TTLV item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Ordered child items.
    Structure(Vec<Ttlv>),
    /// 32-bit signed integer (also used for masks).
    Integer(i32),
    /// 64-bit signed integer.
    LongInteger(i64),
    /// Two's complement big-endian magnitude, as on the wire (length a multiple of 8 when
    /// encoded; the encoder sign-extends).
    BigInteger(Bytes),
    /// Enumeration value (interpreted per tag, see [`crate::enums`]).
    Enumeration(u32),
    /// Boolean.
    Boolean(bool),
    /// UTF-8 text.
    TextString(String),
    /// Byte string; may hold key material, hence [`Bytes`].
    ByteString(Bytes),
    /// Seconds since the Unix epoch.
    DateTime(i64),
    /// Seconds.
    Interval(u32),
    /// Microseconds since the Unix epoch (KMIP 2.0+).
    DateTimeExtended(i64),
}

impl Value {
    /// The item type this value encodes as.
    pub fn item_type(&self) -> ItemType {
        match self {
            Value::Structure(_) => ItemType::Structure,
            Value::Integer(_) => ItemType::Integer,
            Value::LongInteger(_) => ItemType::LongInteger,
            Value::BigInteger(_) => ItemType::BigInteger,
            Value::Enumeration(_) => ItemType::Enumeration,
            Value::Boolean(_) => ItemType::Boolean,
            Value::TextString(_) => ItemType::TextString,
            Value::ByteString(_) => ItemType::ByteString,
            Value::DateTime(_) => ItemType::DateTime,
            Value::Interval(_) => ItemType::Interval,
            Value::DateTimeExtended(_) => ItemType::DateTimeExtended,
        }
    }
}

/// One TTLV item: a tag and its value.
#[derive(Clone, PartialEq, Eq)]
pub struct Ttlv {
    /// The item's tag.
    pub tag: Tag,
    /// The item's value (its type is implied).
    pub value: Value,
}

/// `Debug` goes through the redacting printer: key material and passwords show only as
/// their length, whatever the caller prints.
impl fmt::Debug for Ttlv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&crate::pretty::Redacted(self), f)
    }
}

impl Ttlv {
    /// Builds an item.
    pub fn new(tag: Tag, value: Value) -> Self {
        Self { tag, value }
    }

    /// Builds a structure item.
    pub fn structure(tag: Tag, children: Vec<Ttlv>) -> Self {
        Self::new(tag, Value::Structure(children))
    }

    /// Children of a structure (empty for other types).
    pub fn children(&self) -> &[Ttlv] {
        match &self.value {
            Value::Structure(c) => c,
            _ => &[],
        }
    }

    /// First child with `tag`.
    pub fn child(&self, tag: Tag) -> Option<&Ttlv> {
        self.children().iter().find(|c| c.tag == tag)
    }

    /// All children with `tag`, in order.
    pub fn children_with(&self, tag: Tag) -> impl Iterator<Item = &Ttlv> {
        self.children().iter().filter(move |c| c.tag == tag)
    }
}
