//! Binary TTLV decoding (KMIP 1.4 section 9.1.1; KMIP 2.1 section 10.1, which adds Date-Time
//! Extended).
//!
//! Every item is an 8-byte header (3-byte tag, 1-byte type, 4-byte big-endian length) followed
//! by the value, padded with zeros to a multiple of 8 bytes. Decoding is strict: fixed-length
//! types must declare their exact length, padding must be zero, Booleans are 0 or 1, Text
//! Strings are UTF-8, Big Integers are a multiple of 8 bytes, and a Structure's children must
//! fill its length exactly.
//!
//! Nothing is allocated from a declared length until that length has been checked against the
//! bytes actually present, so an item claiming 2^31 bytes with 10 bytes behind it costs nothing.
//! Recursion is one frame per Structure level and is bounded by [`Limits::max_depth`].
//!
//! Error locations: the offset is the absolute offset of the first byte (the tag) of the item at
//! fault, except for [`ErrorKind::TrailingBytes`] (offset of the first trailing byte) and
//! [`ErrorKind::MessageTooLarge`] (offset 0). The path holds the tags of the enclosing
//! structures and, when its header could be read, the item at fault itself.

use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;
use crate::tags::Tag;
use crate::ttlv::{Bytes, ItemType, Ttlv, Value};

/// Length of an item header: tag (3), type (1), length (4).
pub const HEADER_LEN: usize = 8;

/// Decodes exactly one item (normally a whole KMIP message) from `bytes`.
///
/// Rejects inputs larger than [`Limits::max_message_size`] and bytes after the item.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Ttlv> {
    if bytes.len() > limits.max_message_size {
        return Err(Error::new(ErrorKind::MessageTooLarge {
            size: bytes.len(),
            limit: limits.max_message_size,
        })
        .at_offset(0));
    }
    let mut r = Reader::new(bytes, 0);
    let item = Decoder { limits }.item(&mut r, 0, Frame::Input)?;
    if r.left() > 0 {
        return Err(Error::new(ErrorKind::TrailingBytes { count: r.left() }).at_offset(r.offset()));
    }
    Ok(item)
}

/// The total length (header included) of the message whose first 8 bytes are `header`, for a
/// network layer that must know how much to read before it allocates.
///
/// A KMIP message is a Structure, so any other type is refused ([`ErrorKind::NotAStructure`]),
/// as is a length that is not a multiple of 8 or a total above [`Limits::max_message_size`].
pub fn frame_len(header: &[u8; HEADER_LEN], limits: &Limits) -> Result<usize> {
    let (tag, type_byte, len) = split_header(*header);
    let fail = |kind| Error::new(kind).at_offset(0).in_tag(tag);
    match ItemType::from_byte(type_byte) {
        Some(ItemType::Structure) => {}
        Some(_) => return Err(Error::new(ErrorKind::NotAStructure(tag)).at_offset(0)),
        None => return Err(fail(ErrorKind::UnknownItemType(type_byte))),
    }
    if !len.is_multiple_of(8) {
        return Err(fail(ErrorKind::InvalidLength {
            item_type: ItemType::Structure,
            length: len,
        }));
    }
    let size = usize::try_from(u64::from(len) + HEADER_LEN as u64).unwrap_or(usize::MAX);
    if size > limits.max_message_size {
        return Err(fail(ErrorKind::MessageTooLarge {
            size,
            limit: limits.max_message_size,
        }));
    }
    Ok(size)
}

/// Splits a header into tag, type byte and declared length.
fn split_header(h: [u8; HEADER_LEN]) -> (Tag, u8, u32) {
    let [t0, t1, t2, ty, l0, l1, l2, l3] = h;
    (
        Tag(u32::from_be_bytes([0, t0, t1, t2])),
        ty,
        u32::from_be_bytes([l0, l1, l2, l3]),
    )
}

/// A borrowing cursor over one frame of the input: the whole message, or one Structure's value.
/// `base` is the absolute offset of `buf[0]`, so errors can name positions in the message.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Bytes not yet consumed.
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Absolute offset of the next byte.
    fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// The next `n` bytes, or `None` (consuming nothing) if fewer remain.
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// The next `N` bytes as an array.
    fn take_array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (a, _) = self.buf.get(self.pos..)?.split_first_chunk::<N>()?;
        self.pos += N;
        Some(*a)
    }
}

/// Which frame an item sits in; decides how an overrun is reported.
#[derive(Clone, Copy)]
enum Frame {
    /// The whole input: running past its end means the message was cut short.
    Input,
    /// A Structure's value: running past it means the lengths are inconsistent.
    Structure,
}

/// The padded length of a value: lengths rounded up to 8 (as u64, so `u32::MAX` cannot wrap).
fn padded(len: u32) -> u64 {
    (u64::from(len) + 7) & !7
}

/// Fixed value length of a type, if it has one (KMIP 1.4 section 9.1.1.3).
fn fixed_len(t: ItemType) -> Option<u32> {
    match t {
        ItemType::Integer | ItemType::Enumeration | ItemType::Interval => Some(4),
        ItemType::LongInteger
        | ItemType::Boolean
        | ItemType::DateTime
        | ItemType::DateTimeExtended => Some(8),
        ItemType::Structure
        | ItemType::BigInteger
        | ItemType::TextString
        | ItemType::ByteString => None,
    }
}

/// Converts a fixed-length value slice to an array (the length was checked by the caller, so
/// the error arm is unreachable; it exists to stay panic-free).
fn array<const N: usize>(v: &[u8]) -> Result<[u8; N]> {
    v.try_into().map_err(|_| {
        Error::new(ErrorKind::Truncated {
            needed: N,
            available: v.len(),
        })
    })
}

struct Decoder<'l> {
    limits: &'l Limits,
}

impl Decoder<'_> {
    /// Reads one item. `depth` is the number of Structures enclosing it.
    fn item(&self, r: &mut Reader<'_>, depth: usize, frame: Frame) -> Result<Ttlv> {
        let start = r.offset();
        let Some(header) = r.take_array::<HEADER_LEN>() else {
            return Err(Error::new(ErrorKind::Truncated {
                needed: HEADER_LEN,
                available: r.left(),
            })
            .at_offset(start));
        };
        let (tag, type_byte, len) = split_header(header);
        self.value(r, type_byte, len, depth, frame, start)
            .map(|value| Ttlv { tag, value })
            .map_err(|e| e.in_tag(tag))
    }

    /// Reads the value of an item whose header has been consumed.
    fn value(
        &self,
        r: &mut Reader<'_>,
        type_byte: u8,
        len: u32,
        depth: usize,
        frame: Frame,
        start: usize,
    ) -> Result<Value> {
        let fail = |kind| Error::new(kind).at_offset(start);
        let item_type = ItemType::from_byte(type_byte)
            .ok_or_else(|| fail(ErrorKind::UnknownItemType(type_byte)))?;
        match fixed_len(item_type) {
            Some(f) if f != len => {
                return Err(fail(ErrorKind::InvalidLength {
                    item_type,
                    length: len,
                }));
            }
            _ => {}
        }
        if !len.is_multiple_of(8) {
            match item_type {
                ItemType::Structure => {
                    return Err(fail(ErrorKind::InvalidLength {
                        item_type,
                        length: len,
                    }));
                }
                ItemType::BigInteger => return Err(fail(ErrorKind::InvalidBigIntegerLength(len))),
                _ => {}
            }
        }
        let full = padded(len);
        let Some(bytes) = usize::try_from(full).ok().and_then(|n| r.take(n)) else {
            let declared = usize::try_from(full).unwrap_or(usize::MAX);
            let available = r.left();
            return Err(fail(match frame {
                Frame::Input => ErrorKind::Truncated {
                    needed: declared,
                    available,
                },
                Frame::Structure => ErrorKind::LengthBeyondFrame {
                    declared,
                    available,
                },
            }));
        };
        // `len <= full == bytes.len()`, so the split cannot fail.
        let (v, pad) = bytes
            .split_at_checked(len as usize)
            .ok_or_else(|| fail(ErrorKind::NonZeroPadding))?;
        if pad.iter().any(|&b| b != 0) {
            return Err(fail(ErrorKind::NonZeroPadding));
        }
        Ok(match item_type {
            ItemType::Structure => {
                return self.structure(v, start + HEADER_LEN, depth + 1, start);
            }
            ItemType::Integer => Value::Integer(i32::from_be_bytes(array(v)?)),
            ItemType::LongInteger => Value::LongInteger(i64::from_be_bytes(array(v)?)),
            ItemType::BigInteger => Value::BigInteger(Bytes::from(v)),
            ItemType::Enumeration => Value::Enumeration(u32::from_be_bytes(array(v)?)),
            ItemType::Boolean => match u64::from_be_bytes(array(v)?) {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                other => return Err(fail(ErrorKind::InvalidBoolean(other))),
            },
            ItemType::TextString => match std::str::from_utf8(v) {
                Ok(s) => Value::TextString(s.to_owned()),
                Err(_) => return Err(fail(ErrorKind::InvalidUtf8)),
            },
            ItemType::ByteString => Value::ByteString(Bytes::from(v)),
            ItemType::DateTime => Value::DateTime(i64::from_be_bytes(array(v)?)),
            ItemType::Interval => Value::Interval(u32::from_be_bytes(array(v)?)),
            ItemType::DateTimeExtended => Value::DateTimeExtended(i64::from_be_bytes(array(v)?)),
        })
    }

    /// Reads a Structure's children from its value `v` (at absolute offset `base`). `depth`
    /// counts this structure (top-level structure = 1).
    fn structure(&self, v: &[u8], base: usize, depth: usize, start: usize) -> Result<Value> {
        let fail = |kind| Error::new(kind).at_offset(start);
        if depth > self.limits.max_depth {
            return Err(fail(ErrorKind::TooDeep {
                limit: self.limits.max_depth,
            }));
        }
        let max_items = self.limits.max_items_per_structure;
        let count = count_items(v, max_items.saturating_add(1));
        if count > max_items {
            return Err(fail(ErrorKind::TooManyItems { limit: max_items }));
        }
        let mut children = Vec::with_capacity(count);
        let mut sub = Reader::new(v, base);
        while sub.left() > 0 {
            children.push(self.item(&mut sub, depth, Frame::Structure)?);
        }
        Ok(Value::Structure(children))
    }
}

/// Counts the items in a Structure's value by walking the headers only, stopping at `cap` or at
/// the first header that does not fit (the full decode reports that one). This sizes the
/// children `Vec` exactly, and checks the item limit before anything is allocated.
fn count_items(v: &[u8], cap: usize) -> usize {
    let mut r = Reader::new(v, 0);
    let mut n = 0;
    while n < cap {
        let Some(h) = r.take_array::<HEADER_LEN>() else {
            break;
        };
        let (_, _, len) = split_header(h);
        match usize::try_from(padded(len)).ok().and_then(|p| r.take(p)) {
            Some(_) => n += 1,
            None => break,
        }
    }
    n
}
