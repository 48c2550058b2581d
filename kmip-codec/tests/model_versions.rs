//! Version-aware encoding and strict decoding: the same typed response encoded in 1.1, 1.4 and
//! 2.1 carries only what each version defines; a 1.1 Template-Attribute Create and a 2.1
//! Attributes Create are the same typed request; malformed messages fail with typed errors.

use kmip_codec::enums::{
    CryptographicAlgorithm, LinkType, ObjectType, Operation, ResultReason, State,
};
use kmip_codec::error::ErrorKind;
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    Attribute, AttributeName, AttributeValue, Attributes, GetAttributesRequest,
    GetAttributesResponse, Link, RequestBatchItem, RequestMessage, RequestPayload,
    ResponseBatchItem, ResponseHeader, ResponseMessage, ResponsePayload,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{ItemType, Ttlv, Value};
use kmip_codec::version::ProtocolVersion;

const V11: ProtocolVersion = ProtocolVersion::V1_1;
const V14: ProtocolVersion = ProtocolVersion::V1_4;
const V21: ProtocolVersion = ProtocolVersion::V2_1;

fn s(tag: Tag, children: Vec<Ttlv>) -> Ttlv {
    Ttlv::structure(tag, children)
}
fn v(tag: Tag, value: Value) -> Ttlv {
    Ttlv::new(tag, value)
}
fn text(tag: Tag, t: &str) -> Ttlv {
    v(tag, Value::TextString(t.into()))
}

fn contains(item: &Ttlv, pred: &dyn Fn(&Ttlv) -> bool) -> bool {
    pred(item) || item.children().iter().any(|c| contains(c, pred))
}

fn has_tag(item: &Ttlv, tag: Tag) -> bool {
    contains(item, &|t| t.tag == tag)
}

fn has_name(item: &Ttlv, name: &str) -> bool {
    contains(item, &|t| {
        t.tag == Tag::ATTRIBUTE_NAME && t.value == Value::TextString(name.into())
    })
}

/// One Get Attributes answer holding a 1.0, a 1.4 and a 2.0 attribute, plus a Link whose
/// type is 1.2 and an algorithm that is 2.0.
fn answer() -> ResponseMessage {
    let request = RequestBatchItem::new(GetAttributesRequest::default());
    let attributes = Attributes::new()
        .with(Tag::STATE, AttributeValue::Enumeration(State::ACTIVE.0))
        .with(Tag::SENSITIVE, AttributeValue::Boolean(true))
        .with(Tag::QUANTUM_SAFE, AttributeValue::Boolean(false))
        .with(
            Tag::LINK,
            AttributeValue::Link(Link {
                link_type: LinkType::PARENT_LINK,
                linked_object_identifier: "kek".into(),
            }),
        )
        .with(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            AttributeValue::Enumeration(CryptographicAlgorithm::ARIA.0),
        );
    ResponseMessage::new(
        ResponseHeader::new(V21, 1_700_000_000),
        vec![ResponseBatchItem::success(
            &request,
            GetAttributesResponse {
                unique_identifier: "k".into(),
                attributes,
            },
        )],
    )
}

fn attributes_after_round_trip(version: ProtocolVersion) -> Attributes {
    let tree = answer().to_ttlv(version);
    let back = ResponseMessage::from_ttlv(&tree).expect("filtered response still decodes");
    assert_eq!(back.header.protocol_version, version);
    match back.batch_items.into_iter().next().and_then(|b| b.payload) {
        Some(ResponsePayload::GetAttributes(g)) => g.attributes,
        other => panic!("unexpected payload {other:?}"),
    }
}

#[test]
fn a_1_1_reply_carries_only_1_1_attributes() {
    let tree = answer().to_ttlv(V11);
    assert!(has_name(&tree, "State"));
    assert!(
        !has_name(&tree, "Sensitive"),
        "1.4 attribute in a 1.1 reply"
    );
    assert!(
        !has_name(&tree, "Quantum Safe"),
        "2.0 attribute in a 1.1 reply"
    );
    assert!(!has_tag(&tree, Tag::QUANTUM_SAFE));
    // Parent Link (1.2) and ARIA (2.0) values: their attributes go entirely.
    assert!(!has_name(&tree, "Link"));
    assert!(!has_name(&tree, "Cryptographic Algorithm"));
    assert!(!has_tag(&tree, Tag::ATTRIBUTES));
    let names: Vec<_> = attributes_after_round_trip(V11)
        .iter()
        .map(|a| a.name.clone())
        .collect();
    assert_eq!(names, vec![AttributeName::Standard(Tag::STATE)]);
}

#[test]
fn a_1_4_reply_adds_the_1_4_attributes_and_a_2_1_reply_has_all() {
    let tags = |v| -> Vec<Option<Tag>> {
        attributes_after_round_trip(v)
            .iter()
            .map(Attribute::tag)
            .collect()
    };
    assert_eq!(
        tags(V14),
        vec![Some(Tag::STATE), Some(Tag::SENSITIVE), Some(Tag::LINK)]
    );
    assert_eq!(
        tags(V21),
        vec![
            Some(Tag::STATE),
            Some(Tag::SENSITIVE),
            Some(Tag::QUANTUM_SAFE),
            Some(Tag::LINK),
            Some(Tag::CRYPTOGRAPHIC_ALGORITHM)
        ]
    );
    let tree = answer().to_ttlv(V21);
    assert!(has_tag(&tree, Tag::ATTRIBUTES) && !has_tag(&tree, Tag::ATTRIBUTE_NAME));
}

#[test]
fn result_reasons_are_mapped_per_version() {
    let request = RequestBatchItem::new(GetAttributesRequest::default());
    let m = ResponseMessage::new(
        ResponseHeader::new(V21, 0),
        vec![ResponseBatchItem::failure(
            &request,
            ResultReason::OBJECT_NOT_FOUND,
            None,
        )],
    );
    let reason = |version| {
        let back = ResponseMessage::from_ttlv(&m.to_ttlv(version)).expect("decodes");
        back.batch_items[0].result_reason
    };
    assert_eq!(reason(V11), Some(ResultReason::ITEM_NOT_FOUND));
    assert_eq!(reason(V21), Some(ResultReason::OBJECT_NOT_FOUND));
}

fn header(major: i32, minor: i32, count: i32) -> Ttlv {
    s(
        Tag::REQUEST_HEADER,
        vec![
            s(
                Tag::PROTOCOL_VERSION,
                vec![
                    v(Tag::PROTOCOL_VERSION_MAJOR, Value::Integer(major)),
                    v(Tag::PROTOCOL_VERSION_MINOR, Value::Integer(minor)),
                ],
            ),
            v(Tag::BATCH_COUNT, Value::Integer(count)),
        ],
    )
}

fn create_item(payload: Vec<Ttlv>) -> Ttlv {
    s(
        Tag::BATCH_ITEM,
        vec![
            v(Tag::OPERATION, Value::Enumeration(Operation::CREATE.0)),
            s(Tag::REQUEST_PAYLOAD, payload),
        ],
    )
}

#[test]
fn template_attribute_1_1_and_attributes_2_1_decode_to_the_same_create() {
    let attr = |name: &str, value: Value| {
        s(
            Tag::ATTRIBUTE,
            vec![
                text(Tag::ATTRIBUTE_NAME, name),
                v(Tag::ATTRIBUTE_VALUE, value),
            ],
        )
    };
    let name_value = || {
        vec![
            text(Tag::NAME_VALUE, "k1"),
            v(Tag::NAME_TYPE, Value::Enumeration(1)),
        ]
    };
    let m11 = s(
        Tag::REQUEST_MESSAGE,
        vec![
            header(1, 1, 1),
            create_item(vec![
                v(
                    Tag::OBJECT_TYPE,
                    Value::Enumeration(ObjectType::SYMMETRIC_KEY.0),
                ),
                s(
                    Tag::TEMPLATE_ATTRIBUTE,
                    vec![
                        attr("Cryptographic Algorithm", Value::Enumeration(3)),
                        attr("Cryptographic Length", Value::Integer(256)),
                        attr("Name", Value::Structure(name_value())),
                        attr("x-Product", Value::TextString("p".into())),
                    ],
                ),
            ]),
        ],
    );
    let m21 = s(
        Tag::REQUEST_MESSAGE,
        vec![
            header(2, 1, 1),
            create_item(vec![
                v(
                    Tag::OBJECT_TYPE,
                    Value::Enumeration(ObjectType::SYMMETRIC_KEY.0),
                ),
                s(
                    Tag::ATTRIBUTES,
                    vec![
                        v(Tag::CRYPTOGRAPHIC_ALGORITHM, Value::Enumeration(3)),
                        v(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
                        s(Tag::NAME, name_value()),
                        s(
                            Tag::ATTRIBUTE,
                            vec![
                                text(Tag::VENDOR_IDENTIFICATION, "x"),
                                text(Tag::ATTRIBUTE_NAME, "Product"),
                                v(Tag::ATTRIBUTE_VALUE, Value::TextString("p".into())),
                            ],
                        ),
                    ],
                ),
            ]),
        ],
    );
    let r11 = RequestMessage::from_ttlv(&m11).expect("1.1 decodes");
    let r21 = RequestMessage::from_ttlv(&m21).expect("2.1 decodes");
    assert_eq!(r11.batch_items, r21.batch_items);
    let RequestPayload::Create(c) = &r11.batch_items[0].payload else {
        panic!("not Create");
    };
    assert_eq!(c.attributes.len(), 4);
    assert_eq!(
        c.attributes.names().next().map(|n| n.value.as_str()),
        Some("k1")
    );
    // Each re-encodes in its own form.
    assert_eq!(r11.to_ttlv(), m11);
    assert_eq!(r21.to_ttlv(), m21);
}

fn decode_err(m: &Ttlv) -> kmip_codec::error::Error {
    RequestMessage::from_ttlv(m).expect_err("must be rejected")
}

#[test]
fn batch_count_must_match_and_is_capped() {
    let item = || create_item(vec![v(Tag::OBJECT_TYPE, Value::Enumeration(2))]);
    let m = s(Tag::REQUEST_MESSAGE, vec![header(1, 1, 2), item()]);
    assert!(matches!(
        decode_err(&m).kind(),
        ErrorKind::BatchCountMismatch {
            declared: 2,
            actual: 1
        }
    ));
    let m = s(
        Tag::REQUEST_MESSAGE,
        vec![header(1, 1, 3), item(), item(), item()],
    );
    let limits = Limits {
        max_batch_items: 2,
        ..Limits::default()
    };
    let e = RequestMessage::from_ttlv_with(&m, &limits).expect_err("over the cap");
    assert!(matches!(
        e.kind(),
        ErrorKind::TooManyBatchItems { limit: 2 }
    ));
}

#[test]
fn wrong_types_missing_and_unknown_fields_are_typed_errors() {
    // Cryptographic Length as a Text String.
    let m = s(
        Tag::REQUEST_MESSAGE,
        vec![
            header(2, 1, 1),
            create_item(vec![
                v(Tag::OBJECT_TYPE, Value::Enumeration(2)),
                s(
                    Tag::ATTRIBUTES,
                    vec![text(Tag::CRYPTOGRAPHIC_LENGTH, "256")],
                ),
            ]),
        ],
    );
    let e = decode_err(&m);
    assert!(matches!(
        e.kind(),
        ErrorKind::UnexpectedType {
            tag: Tag::CRYPTOGRAPHIC_LENGTH,
            expected: ItemType::Integer,
            found: ItemType::TextString
        }
    ));
    assert_eq!(
        e.path(),
        &[
            Tag::REQUEST_MESSAGE,
            Tag::BATCH_ITEM,
            Tag::REQUEST_PAYLOAD,
            Tag::ATTRIBUTES,
            Tag::CRYPTOGRAPHIC_LENGTH
        ]
    );
    // Create without Object Type.
    let m = s(
        Tag::REQUEST_MESSAGE,
        vec![
            header(2, 1, 1),
            create_item(vec![s(Tag::ATTRIBUTES, vec![])]),
        ],
    );
    assert!(matches!(
        decode_err(&m).kind(),
        ErrorKind::MissingField(Tag::OBJECT_TYPE)
    ));
    // A field Create does not have.
    let m = s(
        Tag::REQUEST_MESSAGE,
        vec![
            header(2, 1, 1),
            create_item(vec![
                v(Tag::OBJECT_TYPE, Value::Enumeration(2)),
                s(Tag::ATTRIBUTES, vec![]),
                text(Tag::UNIQUE_IDENTIFIER, "x"),
            ]),
        ],
    );
    assert!(matches!(
        decode_err(&m).kind(),
        ErrorKind::UnexpectedTag(Tag::UNIQUE_IDENTIFIER)
    ));
    // Not a request at all.
    let m = s(Tag::RESPONSE_MESSAGE, vec![]);
    assert!(matches!(
        decode_err(&m).kind(),
        ErrorKind::UnexpectedTag(Tag::RESPONSE_MESSAGE)
    ));
}

#[test]
fn unknown_1x_attribute_names_and_operations_are_kept_verbatim() {
    let odd = s(
        Tag::ATTRIBUTE,
        vec![
            text(Tag::ATTRIBUTE_NAME, "Activation   Date"),
            v(Tag::ATTRIBUTE_VALUE, Value::DateTime(5)),
        ],
    );
    let m = s(
        Tag::REQUEST_MESSAGE,
        vec![
            header(1, 0, 2),
            s(
                Tag::BATCH_ITEM,
                vec![
                    v(Tag::OPERATION, Value::Enumeration(Operation::LOCATE.0)),
                    s(Tag::REQUEST_PAYLOAD, vec![odd]),
                ],
            ),
            s(
                Tag::BATCH_ITEM,
                vec![
                    v(Tag::OPERATION, Value::Enumeration(0x8000_0042)),
                    s(
                        Tag::REQUEST_PAYLOAD,
                        vec![text(Tag::UNIQUE_IDENTIFIER, "u")],
                    ),
                ],
            ),
        ],
    );
    let r = RequestMessage::from_ttlv(&m).expect("decodes");
    let RequestPayload::Locate(l) = &r.batch_items[0].payload else {
        panic!("not Locate");
    };
    assert_eq!(
        l.attributes.0[0].name,
        AttributeName::Other("Activation   Date".into())
    );
    assert!(r.batch_items[1].payload.is_raw());
    assert_eq!(r.to_ttlv(), m);
}

#[test]
fn a_malformed_request_still_yields_its_version_and_batch_ids() {
    let m = s(
        Tag::REQUEST_MESSAGE,
        vec![
            header(1, 1, 1),
            s(
                Tag::BATCH_ITEM,
                vec![
                    v(Tag::OPERATION, Value::Enumeration(Operation::CREATE.0)),
                    v(
                        Tag::UNIQUE_BATCH_ITEM_ID,
                        Value::ByteString(b"QLKC\0\0\0\x07".as_slice().into()),
                    ),
                    // Create without Object Type: the message does not decode.
                    s(Tag::REQUEST_PAYLOAD, vec![]),
                ],
            ),
        ],
    );
    assert!(RequestMessage::from_ttlv(&m).is_err());
    assert_eq!(RequestMessage::peek_version(&m), Some(V11));
    assert_eq!(
        RequestMessage::peek_batch_items(&m, &Limits::default()),
        vec![(Some(Operation::CREATE), Some(b"QLKC\0\0\0\x07".to_vec()))]
    );
    assert_eq!(
        RequestMessage::peek_version(&s(Tag::REQUEST_MESSAGE, vec![])),
        None
    );
}

#[test]
fn the_version_of_a_request_is_read_from_bytes_that_do_not_decode() {
    use kmip_codec::model::{DiscoverVersionsRequest, RequestBatchItem, encode_request};
    let request = RequestMessage::new(
        ProtocolVersion::V1_1,
        vec![RequestBatchItem::new(DiscoverVersionsRequest::default())],
    );
    let mut bytes = encode_request(&request);
    // Break the message after the header: it no longer decodes, the version is still there.
    let last = bytes.len() - 1;
    bytes[last] = 0xFF;
    assert!(kmip_codec::ttlv::decode::decode(&bytes, &Limits::DEFAULT).is_err());
    assert_eq!(
        RequestMessage::peek_version_bytes(&bytes),
        Some(ProtocolVersion::V1_1)
    );
    // Anything not shaped like a request header gives nothing.
    assert_eq!(RequestMessage::peek_version_bytes(&bytes[..30]), None);
    assert_eq!(RequestMessage::peek_version_bytes(&[0x42; 64]), None);
    let mut wrong_tag = bytes.clone();
    wrong_tag[2] = 0x7B; // Response Message instead of Request Message
    assert_eq!(RequestMessage::peek_version_bytes(&wrong_tag), None);
}
