//! Binary TTLV encoding (KMIP 1.4 section 9.1.1; KMIP 2.1 section 10.1, which adds Date-Time
//! Extended).
//!
//! The output is sized exactly before writing (one pass over the tree computes the length, one
//! writes it, back-patching each Structure's length), so the buffer never reallocates and no
//! stale copy of key material is left in freed memory by a growing `Vec`.

use crate::ttlv::{Ttlv, Value};

/// Header length: tag (3), type (1), length (4).
const HEADER_LEN: usize = super::decode::HEADER_LEN;

/// Encodes one item (normally a whole KMIP message).
///
/// # Panics
///
/// If one value or Structure is longer than `u32::MAX` bytes, which the TTLV length field
/// cannot express. Decoded trees are far below that (see [`crate::limits`]).
pub fn encode(item: &Ttlv) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(item));
    write_item(item, &mut out);
    out
}

/// Appends the encoding of `item` to `out` (reserving the exact length first).
///
/// # Panics
///
/// As [`encode`].
pub fn encode_into(item: &Ttlv, out: &mut Vec<u8>) {
    out.reserve(encoded_len(item));
    write_item(item, out);
}

/// The encoded length of `item` in bytes, header and padding included.
pub fn encoded_len(item: &Ttlv) -> usize {
    HEADER_LEN
        + match &item.value {
            Value::Structure(children) => children.iter().map(encoded_len).sum(),
            Value::Integer(_)
            | Value::LongInteger(_)
            | Value::Enumeration(_)
            | Value::Boolean(_)
            | Value::DateTime(_)
            | Value::Interval(_)
            | Value::DateTimeExtended(_) => 8,
            Value::BigInteger(b) => round8(b.len()),
            Value::TextString(s) => round8(s.len()),
            Value::ByteString(b) => round8(b.len()),
        }
}

fn round8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// Converts a value length to the wire's u32.
fn wire_len(n: usize) -> u32 {
    #[allow(clippy::expect_used)] // documented panic: not reachable from decoded input
    u32::try_from(n).expect("TTLV value longer than u32::MAX bytes")
}

fn header(out: &mut Vec<u8>, item: &Ttlv, len: u32) {
    let [_, t0, t1, t2] = item.tag.0.to_be_bytes();
    out.extend_from_slice(&[t0, t1, t2, item.value.item_type() as u8]);
    out.extend_from_slice(&len.to_be_bytes());
}

/// Writes `v` followed by zero padding to a multiple of 8.
fn padded(out: &mut Vec<u8>, v: &[u8]) {
    out.extend_from_slice(v);
    let pad = round8(v.len()) - v.len();
    out.extend_from_slice(&[0u8; 8][..pad]);
}

fn write_item(item: &Ttlv, out: &mut Vec<u8>) {
    match &item.value {
        Value::Structure(children) => {
            let at = out.len();
            header(out, item, 0);
            for child in children {
                write_item(child, out);
            }
            let len = wire_len(out.len() - at - HEADER_LEN).to_be_bytes();
            if let Some(dst) = out.get_mut(at + 4..at + HEADER_LEN) {
                dst.copy_from_slice(&len);
            }
        }
        Value::Integer(i) => {
            header(out, item, 4);
            padded(out, &i.to_be_bytes());
        }
        Value::LongInteger(i) | Value::DateTime(i) | Value::DateTimeExtended(i) => {
            header(out, item, 8);
            out.extend_from_slice(&i.to_be_bytes());
        }
        Value::Enumeration(u) | Value::Interval(u) => {
            header(out, item, 4);
            padded(out, &u.to_be_bytes());
        }
        Value::Boolean(b) => {
            header(out, item, 8);
            out.extend_from_slice(&u64::from(*b).to_be_bytes());
        }
        Value::BigInteger(b) => {
            // Sign-extend on the left to a multiple of 8 (KMIP 1.4 section 9.1.1.2).
            let ext = round8(b.len()) - b.len();
            header(out, item, wire_len(b.len() + ext));
            let fill = match b.first() {
                Some(&first) if first & 0x80 != 0 => 0xFF,
                _ => 0x00,
            };
            out.extend_from_slice(&[fill; 8][..ext]);
            out.extend_from_slice(b);
        }
        Value::TextString(s) => {
            header(out, item, wire_len(s.len()));
            padded(out, s.as_bytes());
        }
        Value::ByteString(b) => {
            header(out, item, wire_len(b.len()));
            padded(out, b.as_slice());
        }
    }
}
