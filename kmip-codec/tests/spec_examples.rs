//! The byte-exact TTLV examples of KMIP 1.4 section 9.1.2, decoded to the value the spec states
//! and re-encoded to the same bytes. Tag 0x420020 is the one the spec's examples use.

use kmip_codec::limits::Limits;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::decode::decode;
use kmip_codec::ttlv::encode::{encode, encoded_len};
use kmip_codec::ttlv::{Bytes, Ttlv, Value};

const TAG: Tag = Tag(0x420020);

/// Parses the spec's notation: hex bytes separated by spaces and `|`.
fn hex(s: &str) -> Vec<u8> {
    s.split(|c: char| c.is_whitespace() || c == '|')
        .filter(|w| !w.is_empty())
        .map(|w| u8::from_str_radix(w, 16).expect("hex byte in test vector"))
        .collect()
}

/// Decodes `wire`, checks it equals `expected`, and that both encode back to `wire`.
fn both_ways(wire: &str, expected: Ttlv) {
    let bytes = hex(wire);
    let decoded = decode(&bytes, &Limits::default()).expect("spec example decodes");
    assert_eq!(decoded, expected);
    assert_eq!(encode(&expected), bytes, "encoding of {expected:?}");
    assert_eq!(encoded_len(&expected), bytes.len());
}

#[test]
fn integer_8() {
    both_ways(
        "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00",
        Ttlv::new(TAG, Value::Integer(8)),
    );
}

#[test]
fn long_integer_123456789000000000() {
    both_ways(
        "42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00",
        Ttlv::new(TAG, Value::LongInteger(123_456_789_000_000_000)),
    );
}

const BIG_INTEGER_WIRE: &str =
    "42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 03 FD 35 EB 6B C2 DF 46 18 08 00 00";

#[test]
fn big_integer_1234567890000000000000000000() {
    let value = 1_234_567_890_000_000_000_000_000_000u128
        .to_be_bytes()
        .to_vec();
    // As on the wire: the 16-byte two's complement form.
    both_ways(
        BIG_INTEGER_WIRE,
        Ttlv::new(TAG, Value::BigInteger(value.into())),
    );
}

#[test]
fn big_integer_minimal_form_is_sign_extended_to_the_spec_bytes() {
    // The 12 significant bytes; the encoder must add 4 leading zero bytes.
    let minimal = hex("03 FD 35 EB 6B C2 DF 46 18 08 00 00");
    let item = Ttlv::new(TAG, Value::BigInteger(minimal.into()));
    assert_eq!(encode(&item), hex(BIG_INTEGER_WIRE));
}

#[test]
fn negative_big_integer_is_sign_extended_with_ff() {
    // -2 as 1 byte (0xFE) becomes FF..FE over 8 bytes.
    let item = Ttlv::new(TAG, Value::BigInteger(vec![0xFE].into()));
    assert_eq!(
        encode(&item),
        hex("42 00 20 04 00 00 00 08 FF FF FF FF FF FF FF FE")
    );
}

#[test]
fn enumeration_255() {
    both_ways(
        "42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00",
        Ttlv::new(TAG, Value::Enumeration(255)),
    );
}

#[test]
fn boolean_true() {
    both_ways(
        "42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01",
        Ttlv::new(TAG, Value::Boolean(true)),
    );
}

#[test]
fn text_string_hello_world() {
    both_ways(
        "42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00",
        Ttlv::new(TAG, Value::TextString("Hello World".to_owned())),
    );
}

#[test]
fn byte_string_010203() {
    both_ways(
        "42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00",
        Ttlv::new(TAG, Value::ByteString(Bytes::new(vec![1, 2, 3]))),
    );
}

#[test]
fn date_time_friday_march_14_2008_11_56_40_gmt() {
    both_ways(
        "42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8",
        // 2008-03-14T11:56:40Z in seconds since the Unix epoch.
        Ttlv::new(TAG, Value::DateTime(1_205_495_800)),
    );
}

#[test]
fn interval_10_days() {
    both_ways(
        "42 00 20 | 0A | 00 00 00 04 | 00 0D 2F 00 00 00 00 00",
        Ttlv::new(TAG, Value::Interval(10 * 24 * 3600)),
    );
}

#[test]
fn structure_enumeration_254_integer_255() {
    both_ways(
        "42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00 | \
         42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00",
        Ttlv::structure(
            TAG,
            vec![
                Ttlv::new(Tag(0x420004), Value::Enumeration(254)),
                Ttlv::new(Tag(0x420005), Value::Integer(255)),
            ],
        ),
    );
}

/// KMIP 2.1 has no byte-level example; this one follows its rules (section 10.1: type 0x0B,
/// eight-byte signed microseconds, big-endian) for the same instant as the Date-Time example.
#[test]
fn date_time_extended_march_14_2008_11_56_40_gmt() {
    both_ways(
        "42 00 20 | 0B | 00 00 00 08 | 00 04 48 64 5C EF EE 00",
        Ttlv::new(TAG, Value::DateTimeExtended(1_205_495_800_000_000)),
    );
}

#[test]
fn negative_values_round_trip() {
    both_ways(
        "42 00 20 | 02 | 00 00 00 04 | FF FF FF FE 00 00 00 00",
        Ttlv::new(TAG, Value::Integer(-2)),
    );
    both_ways(
        "42 00 20 | 09 | 00 00 00 08 | FF FF FF FF FF FF FF FF",
        Ttlv::new(TAG, Value::DateTime(-1)),
    );
}

#[test]
fn empty_strings_and_structure_have_no_padding() {
    both_ways(
        "42 00 20 | 07 | 00 00 00 00",
        Ttlv::new(TAG, Value::TextString(String::new())),
    );
    both_ways(
        "42 00 20 | 08 | 00 00 00 00",
        Ttlv::new(TAG, Value::ByteString(Bytes::default())),
    );
    both_ways("42 00 20 | 01 | 00 00 00 00", Ttlv::structure(TAG, vec![]));
}
