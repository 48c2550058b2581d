//! Property tests of the binary TTLV codec: any item tree survives encode -> decode unchanged,
//! and the decoder neither panics on arbitrary bytes nor accepts anything it would not
//! re-encode byte for byte (decoding is strict, so the encoding is canonical).

use kmip_codec::limits::Limits;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::decode::decode;
use kmip_codec::ttlv::encode::{encode, encode_into, encoded_len};
use kmip_codec::ttlv::{Bytes, Ttlv, Value};
use proptest::prelude::*;

fn tag() -> impl Strategy<Value = Tag> {
    prop_oneof![
        // Mostly KMIP-looking tags, sometimes any 24-bit value.
        (0x420001u32..0x420160).prop_map(Tag),
        (0u32..=0xFF_FFFF).prop_map(Tag),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::Integer),
        any::<i64>().prop_map(Value::LongInteger),
        // On the wire a Big Integer is a multiple of 8 bytes; the decoder returns it as such.
        (0usize..4)
            .prop_flat_map(|words| proptest::collection::vec(any::<u8>(), words * 8))
            .prop_map(|v| Value::BigInteger(v.into())),
        any::<u32>().prop_map(Value::Enumeration),
        any::<bool>().prop_map(Value::Boolean),
        ".{0,40}".prop_map(Value::TextString),
        proptest::collection::vec(any::<u8>(), 0..48)
            .prop_map(|v| Value::ByteString(Bytes::new(v))),
        any::<i64>().prop_map(Value::DateTime),
        any::<u32>().prop_map(Value::Interval),
        any::<i64>().prop_map(Value::DateTimeExtended),
    ]
}

/// Item trees up to 5 structure levels deep (well inside the default depth limit).
fn item() -> impl Strategy<Value = Ttlv> {
    let leaf_item = (tag(), leaf()).prop_map(|(t, v)| Ttlv::new(t, v));
    leaf_item.prop_recursive(4, 96, 8, |inner| {
        (tag(), proptest::collection::vec(inner, 0..8)).prop_map(|(t, c)| Ttlv::structure(t, c))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_is_identity(t in item()) {
        let bytes = encode(&t);
        prop_assert_eq!(bytes.len(), encoded_len(&t));
        prop_assert_eq!(bytes.len() % 8, 0);
        let back = decode(&bytes, &Limits::default()).expect("own encoding decodes");
        prop_assert_eq!(&back, &t);
        // encode_into appends the same bytes after whatever is there.
        let mut out = vec![0xEE; 3];
        encode_into(&t, &mut out);
        prop_assert_eq!(&out[3..], &bytes[..]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(t) = decode(&bytes, &Limits::default()) {
            prop_assert_eq!(encode(&t), bytes);
        }
    }

    /// Random bytes rarely get past the header; corrupting one byte of a valid encoding
    /// exercises the deeper checks.
    #[test]
    fn corrupted_encodings_never_panic_and_accepted_ones_are_canonical(
        t in item(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = encode(&t);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(back) = decode(&bytes, &Limits::default()) {
            prop_assert_eq!(encode(&back), bytes);
        }
    }

    #[test]
    fn truncated_encodings_are_refused(t in item(), at in any::<prop::sample::Index>()) {
        let bytes = encode(&t);
        let cut = at.index(bytes.len());
        prop_assert!(decode(&bytes[..cut], &Limits::default()).is_err());
    }

    /// The encoder sign-extends a Big Integer of any length; the value is unchanged.
    #[test]
    fn big_integer_sign_extension_keeps_the_value(v in proptest::collection::vec(any::<u8>(), 1..20)) {
        let t = Ttlv::new(Tag(0x420020), Value::BigInteger(v.clone().into()));
        let back = decode(&encode(&t), &Limits::default()).expect("decodes");
        let Value::BigInteger(wire) = back.value else {
            return Err(TestCaseError::fail("not a big integer"));
        };
        prop_assert_eq!(wire.len() % 8, 0);
        prop_assert!(wire.len() - v.len() < 8);
        let (ext, rest) = wire.as_slice().split_at(wire.len() - v.len());
        prop_assert_eq!(rest, &v[..]);
        let fill = if v[0] & 0x80 != 0 { 0xFF } else { 0x00 };
        prop_assert!(ext.iter().all(|&b| b == fill));
    }
}
