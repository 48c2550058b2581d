use super::*;
use crate::enums::{CryptographicUsageMask, ObjectType, Operation, QueryFunction};
use crate::error::ErrorKind;
use crate::limits::Limits;
use crate::tags::Tag;
use crate::ttlv::{Bytes, ItemType, Ttlv, Value};

fn read(json: &str) -> crate::error::Result<Ttlv> {
    from_json(json.as_bytes(), &Limits::default())
}

/// What an error's kind must match.
type Expect = fn(&ErrorKind) -> bool;

fn err(json: &str) -> crate::error::Error {
    read(json).expect_err("malformed")
}

/// The first request of MSGENC-JSON-M-1-14 (KMIP Profiles 1.4, JSON Profile test case),
/// written in the JSON encoding by hand.
const MSGENC_JSON_M_1_14_REQUEST: &str = r#"{"tag":"RequestMessage","value":[
  {"tag":"RequestHeader","value":[
    {"tag":"ProtocolVersion","value":[
      {"tag":"ProtocolVersionMajor","type":"Integer","value":1},
      {"tag":"ProtocolVersionMinor","type":"Integer","value":4}]},
    {"tag":"MaximumResponseSize","type":"Integer","value":256},
    {"tag":"BatchCount","type":"Integer","value":1}]},
  {"tag":"BatchItem","value":[
    {"tag":"Operation","type":"Enumeration","value":"Query"},
    {"tag":"RequestPayload","value":[
      {"tag":"QueryFunction","type":"Enumeration","value":"QueryOperations"},
      {"tag":"QueryFunction","type":"Enumeration","value":"QueryObjects"}]}]}]}"#;

fn int(tag: Tag, v: i32) -> Ttlv {
    Ttlv::new(tag, Value::Integer(v))
}

fn query_request() -> Ttlv {
    Ttlv::structure(
        Tag::REQUEST_MESSAGE,
        vec![
            Ttlv::structure(
                Tag::REQUEST_HEADER,
                vec![
                    Ttlv::structure(
                        Tag::PROTOCOL_VERSION,
                        vec![
                            int(Tag::PROTOCOL_VERSION_MAJOR, 1),
                            int(Tag::PROTOCOL_VERSION_MINOR, 4),
                        ],
                    ),
                    int(Tag::MAXIMUM_RESPONSE_SIZE, 256),
                    int(Tag::BATCH_COUNT, 1),
                ],
            ),
            Ttlv::structure(
                Tag::BATCH_ITEM,
                vec![
                    Ttlv::new(Tag::OPERATION, Value::Enumeration(Operation::QUERY.0)),
                    Ttlv::structure(
                        Tag::REQUEST_PAYLOAD,
                        vec![
                            Ttlv::new(
                                Tag::QUERY_FUNCTION,
                                Value::Enumeration(QueryFunction::QUERY_OPERATIONS.0),
                            ),
                            Ttlv::new(
                                Tag::QUERY_FUNCTION,
                                Value::Enumeration(QueryFunction::QUERY_OBJECTS.0),
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )
}

#[test]
fn msgenc_json_m_1_14_request_reads_and_writes_back() {
    let item = read(MSGENC_JSON_M_1_14_REQUEST).expect("reads");
    assert_eq!(item, query_request());
    let compact: String = MSGENC_JSON_M_1_14_REQUEST
        .chars()
        .filter(|c| *c != '\n' && *c != ' ')
        .collect();
    assert_eq!(to_json(&item), compact);
}

#[test]
fn every_alternative_spelling_reads() {
    // Hex tags, a missing type (Structure), hex and decimal enumerations, hex integers, mask
    // names joined by '|', Long Integers and Date-Times in hex, Booleans in hex.
    let json = r#"{"tag":"0x420079","value":[
      {"tag":"0x420057","type":"Enumeration","value":"0x00000002"},
      {"tag":"ObjectType","type":"Enumeration","value":2},
      {"tag":"ObjectType","type":"Enumeration","value":"2"},
      {"tag":"CryptographicLength","type":"Integer","value":"0x00000100"},
      {"tag":"CryptographicUsageMask","type":"Integer","value":"Encrypt|Decrypt"},
      {"tag":"CryptographicUsageMask","type":"Integer","value":"Encrypt|0x00000008"},
      {"tag":"UsageLimitsCount","type":"LongInteger","value":"0x0000000000000010"},
      {"tag":"ActivationDate","type":"DateTime","value":"0x000000004F9A54E5"},
      {"tag":"ActivationDate","type":"DateTime","value":"2012-04-27T08:12:21Z"},
      {"tag":"Sensitive","type":"Boolean","value":"0x0000000000000001"},
      {"tag":"Modulus","type":"BigInteger","value":-1},
      {"tag":"0x540001","type":"TextString","value":"vendor \"quoted\"\n"}
    ]}"#;
    let item = read(json).expect("reads");
    let mask = (CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT).0 as i32;
    let expected = Ttlv::structure(
        Tag::REQUEST_PAYLOAD,
        vec![
            Ttlv::new(
                Tag::OBJECT_TYPE,
                Value::Enumeration(ObjectType::SYMMETRIC_KEY.0),
            ),
            Ttlv::new(Tag::OBJECT_TYPE, Value::Enumeration(2)),
            Ttlv::new(Tag::OBJECT_TYPE, Value::Enumeration(2)),
            int(Tag::CRYPTOGRAPHIC_LENGTH, 256),
            int(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask),
            int(Tag::CRYPTOGRAPHIC_USAGE_MASK, mask),
            Ttlv::new(Tag::USAGE_LIMITS_COUNT, Value::LongInteger(16)),
            Ttlv::new(Tag::ACTIVATION_DATE, Value::DateTime(1_335_514_341)),
            Ttlv::new(Tag::ACTIVATION_DATE, Value::DateTime(1_335_514_341)),
            Ttlv::new(Tag::SENSITIVE, Value::Boolean(true)),
            Ttlv::new(Tag::MODULUS, Value::BigInteger(Bytes::new(vec![0xFF; 8]))),
            Ttlv::new(
                Tag(0x54_0001),
                Value::TextString("vendor \"quoted\"\n".into()),
            ),
        ],
    );
    assert_eq!(item, expected);
    assert_eq!(read(&to_json(&item)).expect("re-reads"), item);
}

#[test]
fn every_type_round_trips_with_names_and_numbers() {
    let item = Ttlv::structure(
        Tag::TEMPLATE_ATTRIBUTE,
        vec![
            Ttlv::structure(
                Tag::ATTRIBUTE,
                vec![
                    Ttlv::new(
                        Tag::ATTRIBUTE_NAME,
                        Value::TextString("Cryptographic Algorithm".into()),
                    ),
                    Ttlv::new(Tag::ATTRIBUTE_VALUE, Value::Enumeration(3)),
                ],
            ),
            Ttlv::new(Tag::ATTRIBUTE_REFERENCE, Value::Enumeration(Tag::STATE.0)),
            Ttlv::new(Tag::ITERATION_COUNT, Value::LongInteger(i64::MIN)),
            Ttlv::new(Tag::USAGE_LIMITS_TOTAL, Value::LongInteger(42)),
            Ttlv::new(Tag::LEASE_TIME, Value::Interval(u32::MAX)),
            Ttlv::new(
                Tag::KEY_MATERIAL,
                Value::ByteString(Bytes::new(vec![0xAB, 0])),
            ),
            Ttlv::new(Tag::KEY_MATERIAL, Value::ByteString(Bytes::new(vec![]))),
            Ttlv::new(
                Tag::ACTIVATION_DATE,
                Value::DateTimeExtended(1_335_514_341_123_456),
            ),
            Ttlv::new(Tag::OBJECT_TYPE, Value::Enumeration(0x8000_0001)),
            int(Tag::CRYPTOGRAPHIC_USAGE_MASK, 0),
            int(Tag::CRYPTOGRAPHIC_USAGE_MASK, i32::MIN),
            Ttlv::structure(Tag(0x54_0002), vec![]),
        ],
    );
    let json = to_json(&item);
    assert!(
        json.contains(r#""type":"Enumeration","value":"AES""#),
        "{json}"
    );
    assert!(json.contains(r#""value":"State""#), "{json}");
    assert!(json.contains(r#""value":"0x8000000000000000""#), "{json}");
    assert!(
        json.contains(r#""type":"LongInteger","value":42"#),
        "{json}"
    );
    assert!(
        json.contains(r#""value":"2012-04-27T08:12:21.123456+00:00""#),
        "{json}"
    );
    assert!(json.contains(r#"{"tag":"0x540002","value":[]}"#), "{json}");
    assert_eq!(read(&json).expect("re-reads"), item, "{json}");
}

#[test]
fn malformed_json_fails_with_a_located_error() {
    let cases: [(&str, Expect); 17] = [
        (r#"{"tag":"RequestMessage","value":[] "#, |k| {
            matches!(k, ErrorKind::JsonSyntax(_))
        }),
        (r#"{"tag":"RequestMessage","value":[]} x"#, |k| {
            matches!(k, ErrorKind::JsonSyntax(_))
        }),
        (r#"[]"#, |k| {
            matches!(k, ErrorKind::JsonShape(JsonShape::NotAnObject))
        }),
        (r#"{"value":[]}"#, |k| {
            matches!(k, ErrorKind::JsonShape(JsonShape::MissingTag))
        }),
        (r#"{"tag":"RequestMessage"}"#, |k| {
            matches!(k, ErrorKind::JsonShape(JsonShape::MissingValue))
        }),
        (r#"{"tag":"NoSuchTag","value":[]}"#, |k| {
            matches!(k, ErrorKind::JsonShape(JsonShape::InvalidTag))
        }),
        (r#"{"tag":42,"value":[]}"#, |k| {
            matches!(k, ErrorKind::JsonShape(JsonShape::InvalidTag))
        }),
        (
            r#"{"tag":"RequestMessage","type":"Float","value":1}"#,
            |k| matches!(k, ErrorKind::JsonShape(JsonShape::UnknownType)),
        ),
        (r#"{"tag":"RequestMessage","value":[],"name":"x"}"#, |k| {
            matches!(k, ErrorKind::JsonShape(JsonShape::UnexpectedMember))
        }),
        (
            r#"{"tag":"RequestMessage","tag":"RequestMessage","value":[]}"#,
            |k| matches!(k, ErrorKind::JsonShape(JsonShape::UnexpectedMember)),
        ),
        (r#"{"tag":"BatchCount","type":"Integer","value":[]}"#, |k| {
            matches!(k, ErrorKind::JsonShape(JsonShape::StructureValue))
        }),
        (
            r#"{"tag":"BatchCount","type":"Integer","value":null}"#,
            |k| matches!(k, ErrorKind::JsonShape(JsonShape::NullOrObjectValue)),
        ),
        (
            r#"{"tag":"BatchCount","type":"Integer","value":1.5}"#,
            |k| {
                matches!(
                    k,
                    ErrorKind::InvalidJsonValue {
                        item_type: ItemType::Integer
                    }
                )
            },
        ),
        (
            r#"{"tag":"BatchCount","type":"Integer","value":4294967296}"#,
            |k| matches!(k, ErrorKind::InvalidJsonValue { .. }),
        ),
        (
            r#"{"tag":"ObjectType","type":"Enumeration","value":"NoSuchType"}"#,
            |k| {
                matches!(
                    k,
                    ErrorKind::UnknownEnumName {
                        tag: Tag::OBJECT_TYPE
                    }
                )
            },
        ),
        (
            r#"{"tag":"KeyMaterial","type":"ByteString","value":"0xabcd"}"#,
            |k| matches!(k, ErrorKind::InvalidJsonValue { .. }),
        ),
        (
            r#"{"tag":"Sensitive","type":"Boolean","value":"yes"}"#,
            |k| matches!(k, ErrorKind::InvalidJsonValue { .. }),
        ),
    ];
    for (json, expected) in cases {
        let e = err(json);
        assert!(expected(e.kind()), "{json}: {e:?}");
        assert!(e.offset().is_some(), "{json}: no offset");
    }
}

#[test]
fn errors_name_the_path_and_the_offset() {
    let json = "{\"tag\":\"RequestMessage\",\"value\":[\n  {\"tag\":\"BatchItem\",\"value\":[\n    {\"tag\":\"Operation\",\"type\":\"Enumeration\",\"value\":\"NoSuchOp\"}]}]}";
    let e = err(json);
    assert!(
        matches!(e.kind(), ErrorKind::UnknownEnumName { .. }),
        "{e:?}"
    );
    assert_eq!(
        e.path(),
        &[Tag::REQUEST_MESSAGE, Tag::BATCH_ITEM, Tag::OPERATION]
    );
    let offset = e.offset().expect("offset");
    assert!(
        offset > json.find("NoSuchOp").expect("in the text"),
        "offset {offset}"
    );
    // No value bytes in the message.
    assert!(!e.to_string().contains("NoSuchOp"), "{e}");
}

#[test]
fn limits_are_checked_before_allocation() {
    // Size: refused before reading.
    let limits = Limits::default().with_max_message_size(16);
    let e = from_json(MSGENC_JSON_M_1_14_REQUEST.as_bytes(), &limits).expect_err("too big");
    assert!(
        matches!(e.kind(), ErrorKind::MessageTooLarge { .. }),
        "{e:?}"
    );
    // Depth: 17 nested structures where 16 are allowed.
    let deep = (0..17).fold(String::from("[]"), |inner, _| {
        format!(r#"[{{"tag":"BatchItem","value":{inner}}}]"#)
    });
    let deep = format!(r#"{{"tag":"RequestMessage","value":{deep}}}"#);
    let e = err(&deep);
    assert!(
        matches!(e.kind(), ErrorKind::TooDeep { limit: 16 }),
        "{e:?}"
    );
    // Items: the one past the limit is refused.
    let limits = Limits {
        max_items_per_structure: 3,
        ..Limits::default()
    };
    let item = r#"{"tag":"BatchCount","type":"Integer","value":1}"#;
    let three = format!(r#"{{"tag":"RequestMessage","value":[{item},{item},{item}]}}"#);
    assert!(from_json(three.as_bytes(), &limits).is_ok());
    let four = format!(r#"{{"tag":"RequestMessage","value":[{item},{item},{item},{item}]}}"#);
    let e = from_json(four.as_bytes(), &limits).expect_err("too many");
    assert!(
        matches!(e.kind(), ErrorKind::TooManyItems { limit: 3 }),
        "{e:?}"
    );
    // Arrays nested inside a value are refused at once, whatever their depth.
    let arrays = format!(
        r#"{{"tag":"RequestMessage","value":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(read(&arrays).is_err());
}
