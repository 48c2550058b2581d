//! Malformed binary TTLV: every input must fail with its specific [`ErrorKind`] (and offset
//! where one is meaningful), never panic. KMIP 1.4 section 9.1.1 defines what is well-formed.

use kmip_codec::error::{Error, ErrorKind};
use kmip_codec::limits::{Limits, MAX_DEPTH, MAX_ITEMS_PER_STRUCTURE};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::ItemType;
use kmip_codec::ttlv::decode::{decode, frame_len};
use kmip_codec::ttlv::encode::encode;
use kmip_codec::ttlv::{Ttlv, Value};

const T: u32 = 0x420020;
const OUTER: u32 = 0x420078;

/// One raw item: header with the given type byte and declared length, then `value` verbatim
/// (the caller supplies any padding).
fn raw(tag: u32, ty: u8, len: u32, value: &[u8]) -> Vec<u8> {
    let [_, a, b, c] = tag.to_be_bytes();
    let mut v = vec![a, b, c, ty];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(value);
    v
}

/// A structure around already-encoded children, with the correct length.
fn structure(tag: u32, children: &[u8]) -> Vec<u8> {
    raw(tag, 0x01, children.len() as u32, children)
}

fn err(bytes: &[u8], limits: &Limits) -> Error {
    match decode(bytes, limits) {
        Ok(t) => panic!("decoded malformed input as {t:?}"),
        Err(e) => e,
    }
}

/// A small but real three-level request: Request Message > Request Header > Protocol Version,
/// and Batch Item > Request Payload > Unique Identifier.
fn valid_request() -> Vec<u8> {
    let int = |tag, v: i32| Ttlv::new(Tag(tag), Value::Integer(v));
    let msg = Ttlv::structure(
        Tag(0x420078),
        vec![
            Ttlv::structure(
                Tag(0x420077),
                vec![
                    Ttlv::structure(Tag(0x420069), vec![int(0x42006A, 1), int(0x42006B, 4)]),
                    int(0x42000D, 1),
                ],
            ),
            Ttlv::structure(
                Tag(0x42000F),
                vec![
                    Ttlv::new(Tag(0x42005C), Value::Enumeration(0x0A)),
                    Ttlv::structure(
                        Tag(0x420079),
                        vec![Ttlv::new(
                            Tag(0x420094),
                            Value::TextString("1f8c-key".to_owned()),
                        )],
                    ),
                ],
            ),
        ],
    );
    encode(&msg)
}

#[test]
fn the_valid_request_decodes() {
    let bytes = valid_request();
    let t = decode(&bytes, &Limits::default()).expect("valid");
    assert_eq!(t.tag, Tag(OUTER));
    assert_eq!(encode(&t), bytes);
}

/// Cutting the message at every position: the top-level item either lacks a header or claims
/// more than is present. Each prefix is one malformed input (over a hundred of them).
#[test]
fn truncation_at_every_position() {
    let bytes = valid_request();
    assert!(bytes.len() > 100, "want at least 100 truncation points");
    let declared = bytes.len() - 8;
    let mut checked = 0;
    for cut in 0..bytes.len() {
        let e = err(&bytes[..cut], &Limits::default());
        assert_eq!(e.offset(), Some(0), "cut {cut}: {e}");
        if cut < 8 {
            assert!(
                matches!(*e.kind(), ErrorKind::Truncated { needed: 8, available } if available == cut),
                "cut {cut}: {e}"
            );
            assert!(e.path().is_empty());
        } else {
            assert!(
                matches!(*e.kind(), ErrorKind::Truncated { needed, available }
                    if needed == declared && available == cut - 8),
                "cut {cut}: {e}"
            );
            assert_eq!(e.path(), &[Tag(OUTER)]);
        }
        checked += 1;
    }
    assert_eq!(checked, bytes.len());
}

/// Truncating the innermost Text String while keeping every enclosing length consistent: the
/// fault is then inside a structure, reported as a length beyond its frame, with the full path.
#[test]
fn inner_item_longer_than_its_structure() {
    for shortfall in [8u32, 16] {
        let text = raw(0x420094, 0x07, 24, b"0123456789abcdefghijklmn");
        let mut cut = text.clone();
        cut.truncate(text.len() - shortfall as usize);
        let payload = structure(0x420079, &cut);
        let item = structure(0x42000F, &payload);
        let msg = structure(OUTER, &item);
        let e = err(&msg, &Limits::default());
        assert!(
            matches!(*e.kind(), ErrorKind::LengthBeyondFrame { declared: 24, available }
                if available == 24 - shortfall as usize),
            "{e}"
        );
        assert_eq!(e.offset(), Some(24));
        assert_eq!(
            e.path(),
            &[Tag(OUTER), Tag(0x42000F), Tag(0x420079), Tag(0x420094)]
        );
    }
}

#[test]
fn unknown_type_bytes() {
    for ty in [0x00u8, 0x0C, 0x0F, 0x10, 0x42, 0x80, 0xFF] {
        let e = err(&raw(T, ty, 8, &[0; 8]), &Limits::default());
        assert!(
            matches!(*e.kind(), ErrorKind::UnknownItemType(b) if b == ty),
            "{e}"
        );
        assert_eq!((e.offset(), e.path()), (Some(0), &[Tag(T)][..]));
        // The same inside a structure: located at the child.
        let e = err(&structure(OUTER, &raw(T, ty, 0, &[])), &Limits::default());
        assert!(
            matches!(*e.kind(), ErrorKind::UnknownItemType(b) if b == ty),
            "{e}"
        );
        assert_eq!((e.offset(), e.path()), (Some(8), &[Tag(OUTER), Tag(T)][..]));
    }
}

#[test]
fn huge_declared_lengths_cost_nothing() {
    for len in [1u32 << 31, u32::MAX, u32::MAX - 7] {
        for ty in [0x07u8, 0x08] {
            let bytes = raw(T, ty, len, &[0xAA; 10]);
            let e = err(&bytes, &Limits::default());
            let padded = (u64::from(len) + 7) & !7;
            assert!(
                matches!(*e.kind(), ErrorKind::Truncated { needed, available: 10 }
                    if needed as u64 == padded),
                "{e}"
            );
            // Nested: the structure is consistent, the child is not.
            let e = err(
                &structure(OUTER, &raw(T, ty, len, &[0; 8])),
                &Limits::default(),
            );
            assert!(
                matches!(*e.kind(), ErrorKind::LengthBeyondFrame { declared, available: 8 }
                    if declared as u64 == padded),
                "{e}"
            );
        }
        // A structure claiming it, too.
        let e = err(&raw(OUTER, 0x01, len & !7, &[0; 10]), &Limits::default());
        assert!(matches!(*e.kind(), ErrorKind::Truncated { .. }), "{e}");
    }
}

#[test]
fn frame_len_checks_before_the_caller_allocates() {
    let limits = Limits::default();
    let header = |ty: u8, len: u32| -> [u8; 8] {
        let mut h = [0x42, 0x00, 0x78, ty, 0, 0, 0, 0];
        h[4..].copy_from_slice(&len.to_be_bytes());
        h
    };
    assert_eq!(frame_len(&header(0x01, 0x20), &limits).expect("fits"), 0x28);
    for len in [1u32 << 31, 0xFFFF_FFF8, 1 << 20 /* 8 + 1 MiB */] {
        let e = frame_len(&header(0x01, len), &limits).expect_err("too large");
        assert!(
            matches!(*e.kind(), ErrorKind::MessageTooLarge { size, limit: 1_048_576 }
                if size == len as usize + 8),
            "{e}"
        );
    }
    let e = frame_len(&header(0x02, 4), &limits).expect_err("not a structure");
    assert!(
        matches!(*e.kind(), ErrorKind::NotAStructure(Tag(0x420078))),
        "{e}"
    );
    let e = frame_len(&header(0x0C, 8), &limits).expect_err("bad type");
    assert!(matches!(*e.kind(), ErrorKind::UnknownItemType(0x0C)), "{e}");
    let e = frame_len(&header(0x01, 12), &limits).expect_err("not a multiple of 8");
    assert!(
        matches!(
            *e.kind(),
            ErrorKind::InvalidLength {
                item_type: ItemType::Structure,
                length: 12
            }
        ),
        "{e}"
    );
    // The exact limit passes.
    let l = Limits::default().with_max_message_size(0x28);
    assert_eq!(frame_len(&header(0x01, 0x20), &l).expect("at limit"), 0x28);
    assert!(frame_len(&header(0x01, 0x28), &l).is_err());
}

/// `levels` structures nested in each other, the innermost holding one Integer.
fn nested(levels: usize) -> Vec<u8> {
    let mut v = raw(T, 0x02, 4, &[0, 0, 0, 1, 0, 0, 0, 0]);
    for _ in 0..levels {
        v = structure(OUTER, &v);
    }
    v
}

#[test]
fn depth_limit() {
    let limits = Limits::default();
    assert!(decode(&nested(MAX_DEPTH), &limits).is_ok());
    for levels in [MAX_DEPTH + 1, MAX_DEPTH + 2, 1000] {
        let e = err(&nested(levels), &limits);
        assert!(
            matches!(*e.kind(), ErrorKind::TooDeep { limit: MAX_DEPTH }),
            "{e}"
        );
        // Reported at the first structure past the limit.
        assert_eq!(e.offset(), Some(MAX_DEPTH * 8));
        assert_eq!(e.path().len(), MAX_DEPTH + 1);
    }
    let tight = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    assert!(decode(&nested(2), &tight).is_ok());
    let e = err(&nested(3), &tight);
    assert!(matches!(*e.kind(), ErrorKind::TooDeep { limit: 2 }), "{e}");
}

fn many_integers(n: usize) -> Vec<u8> {
    let one = raw(T, 0x02, 4, &[0, 0, 0, 7, 0, 0, 0, 0]);
    structure(OUTER, &one.repeat(n))
}

#[test]
fn items_per_structure_limit() {
    let limits = Limits::default();
    let ok = decode(&many_integers(MAX_ITEMS_PER_STRUCTURE), &limits).expect("at limit");
    assert_eq!(ok.children().len(), MAX_ITEMS_PER_STRUCTURE);
    let e = err(&many_integers(MAX_ITEMS_PER_STRUCTURE + 1), &limits);
    assert!(
        matches!(
            *e.kind(),
            ErrorKind::TooManyItems {
                limit: MAX_ITEMS_PER_STRUCTURE
            }
        ),
        "{e}"
    );
    assert_eq!((e.offset(), e.path()), (Some(0), &[Tag(OUTER)][..]));
    let tight = Limits {
        max_items_per_structure: 3,
        ..Limits::default()
    };
    assert!(decode(&many_integers(3), &tight).is_ok());
    let e = err(&many_integers(4), &tight);
    assert!(
        matches!(*e.kind(), ErrorKind::TooManyItems { limit: 3 }),
        "{e}"
    );
}

#[test]
fn message_over_max_size() {
    let bytes = valid_request();
    let n = bytes.len();
    assert!(decode(&bytes, &Limits::default().with_max_message_size(n)).is_ok());
    for limit in [0, 8, n - 1] {
        let e = err(&bytes, &Limits::default().with_max_message_size(limit));
        assert!(
            matches!(*e.kind(), ErrorKind::MessageTooLarge { size, limit: l } if size == n && l == limit),
            "{e}"
        );
        assert_eq!(e.offset(), Some(0));
    }
}

#[test]
fn trailing_bytes() {
    let good = raw(T, 0x02, 4, &[0, 0, 0, 8, 0, 0, 0, 0]);
    for extra in [vec![0u8], vec![0; 7], vec![0; 8], good.clone()] {
        let mut bytes = good.clone();
        bytes.extend_from_slice(&extra);
        let e = err(&bytes, &Limits::default());
        assert!(
            matches!(*e.kind(), ErrorKind::TrailingBytes { count } if count == extra.len()),
            "{e}"
        );
        assert_eq!(e.offset(), Some(16));
    }
}

#[test]
fn wrong_fixed_lengths() {
    let cases: [(u8, ItemType, &[u32]); 7] = [
        (0x02, ItemType::Integer, &[0, 3, 5, 8]),
        (0x03, ItemType::LongInteger, &[0, 4, 7, 16]),
        (0x05, ItemType::Enumeration, &[0, 8]),
        (0x06, ItemType::Boolean, &[0, 1, 4]),
        (0x09, ItemType::DateTime, &[4, 16]),
        (0x0A, ItemType::Interval, &[8, 2]),
        (0x0B, ItemType::DateTimeExtended, &[4, 16]),
    ];
    for (ty, item_type, lens) in cases {
        for &len in lens {
            let e = err(&raw(T, ty, len, &[0; 16]), &Limits::default());
            assert!(
                matches!(*e.kind(), ErrorKind::InvalidLength { item_type: t, length }
                    if t == item_type && length == len),
                "type {ty:#x} len {len}: {e}"
            );
        }
    }
}

#[test]
fn big_integer_and_structure_lengths_must_be_multiples_of_8() {
    for len in [1u32, 4, 12, 15] {
        let e = err(&raw(T, 0x04, len, &[0; 16]), &Limits::default());
        assert!(
            matches!(*e.kind(), ErrorKind::InvalidBigIntegerLength(l) if l == len),
            "{e}"
        );
        let e = err(&raw(OUTER, 0x01, len, &[0; 16]), &Limits::default());
        assert!(
            matches!(*e.kind(), ErrorKind::InvalidLength { item_type: ItemType::Structure, length }
                if length == len),
            "{e}"
        );
    }
}

#[test]
fn booleans_other_than_0_or_1() {
    for v in [2u64, 0xFF, 1 << 8, 1 << 56, u64::MAX] {
        let e = err(&raw(T, 0x06, 8, &v.to_be_bytes()), &Limits::default());
        assert!(
            matches!(*e.kind(), ErrorKind::InvalidBoolean(b) if b == v),
            "{e}"
        );
        assert_eq!(e.offset(), Some(0));
    }
}

#[test]
fn invalid_utf8() {
    let bad: [&[u8]; 6] = [
        b"\xFF",
        b"abc\xC3",                    // cut multi-byte sequence
        b"\xC0\x80",                   // overlong NUL
        b"\xED\xA0\x80",               // UTF-16 surrogate
        b"SECRET\xF8\x88\x80\x80\x80", // 5-byte form
        b"\x80abc",                    // lone continuation byte
    ];
    for s in bad {
        let mut value = s.to_vec();
        value.resize(s.len().div_ceil(8) * 8, 0);
        let bytes = structure(OUTER, &raw(T, 0x07, s.len() as u32, &value));
        let e = err(&bytes, &Limits::default());
        assert!(matches!(*e.kind(), ErrorKind::InvalidUtf8), "{e}");
        assert_eq!((e.offset(), e.path()), (Some(8), &[Tag(OUTER), Tag(T)][..]));
        // Messages never carry value bytes.
        assert!(!e.to_string().contains("SECRET"));
        assert!(!format!("{e:?}").contains("SECRET"));
    }
}

#[test]
fn non_zero_padding_anywhere() {
    // (type byte, declared length, value bytes); every padding byte is tried in turn.
    let cases: [(u8, u32, &[u8]); 5] = [
        (0x02, 4, &[0, 0, 0, 1]),
        (0x05, 4, &[0, 0, 0, 1]),
        (0x0A, 4, &[0, 0, 0, 1]),
        (0x07, 3, b"abc"),
        (0x08, 1, &[0x42]),
    ];
    let mut checked = 0;
    for (ty, len, value) in cases {
        for pad_at in value.len()..8 {
            let mut v = value.to_vec();
            v.resize(8, 0);
            v[pad_at] = 0x01;
            let e = err(&raw(T, ty, len, &v), &Limits::default());
            assert!(matches!(*e.kind(), ErrorKind::NonZeroPadding), "{e}");
            assert_eq!(e.offset(), Some(0));
            checked += 1;
        }
    }
    assert_eq!(checked, 4 + 4 + 4 + 5 + 7);
}

#[test]
fn structure_whose_children_do_not_fill_it() {
    // 16 bytes declared; one 16-byte child followed by the header of another claiming 8 more.
    let child = raw(T, 0x02, 4, &[0; 8]);
    let mut body = child.clone();
    body.extend_from_slice(&raw(T, 0x02, 4, &[]));
    let bytes = structure(OUTER, &body);
    let e = err(&bytes, &Limits::default());
    assert!(
        matches!(
            *e.kind(),
            ErrorKind::LengthBeyondFrame {
                declared: 8,
                available: 0
            }
        ),
        "{e}"
    );
    assert_eq!(e.offset(), Some(24));
}
