//! The vCenter 7.0.3 flow of `shared/docs/VMWARE.md`: protocol 1.1, one request per message
//! (Add Attribute batched by three), 8-byte Unique Batch Item IDs "QLKC" + counter. Each
//! request is built as raw TTLV the way vCenter sends it, encoded to binary, decoded into the
//! typed model, checked field by field, and re-encoded byte for byte. The server's answers are
//! built typed and must come out as a KMIP 1.1 client expects them.

use kmip_codec::enums::{
    CryptographicAlgorithm, ObjectType, Operation, QueryFunction, ResultReason, ResultStatus, State,
};
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    ActivateResponse, AddAttributeResponse, Attribute, AttributeName, AttributeValue, Attributes,
    CreateResponse, GetAttributesResponse, GetResponse, KeyBlock, ManagedObject, QueryResponse,
    RequestMessage, RequestPayload, ResponseBatchItem, ResponseHeader, ResponseMessage,
    SymmetricKey, decode_request, decode_response, encode_request, encode_response,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::encode::encode;
use kmip_codec::ttlv::{Bytes, Ttlv, Value};
use kmip_codec::version::ProtocolVersion;

fn s(tag: Tag, children: Vec<Ttlv>) -> Ttlv {
    Ttlv::structure(tag, children)
}
fn text(tag: Tag, v: &str) -> Ttlv {
    Ttlv::new(tag, Value::TextString(v.into()))
}
fn int(tag: Tag, v: i32) -> Ttlv {
    Ttlv::new(tag, Value::Integer(v))
}
fn en(tag: Tag, v: u32) -> Ttlv {
    Ttlv::new(tag, Value::Enumeration(v))
}

fn batch_id(counter: u32) -> Vec<u8> {
    let mut id = b"QLKC".to_vec();
    id.extend_from_slice(&counter.to_be_bytes());
    id
}

/// A vCenter request: 1.1 header, then one batch item per (operation, payload children).
fn vcenter_request(items: Vec<(Operation, Vec<Ttlv>)>, first_id: u32) -> Vec<u8> {
    let count = i32::try_from(items.len()).expect("few items");
    let header = s(
        Tag::REQUEST_HEADER,
        vec![
            s(
                Tag::PROTOCOL_VERSION,
                vec![
                    int(Tag::PROTOCOL_VERSION_MAJOR, 1),
                    int(Tag::PROTOCOL_VERSION_MINOR, 1),
                ],
            ),
            int(Tag::BATCH_COUNT, count),
        ],
    );
    let mut children = vec![header];
    for (i, (op, payload)) in items.into_iter().enumerate() {
        let id = first_id + u32::try_from(i).expect("few items");
        children.push(s(
            Tag::BATCH_ITEM,
            vec![
                en(Tag::OPERATION, op.0),
                Ttlv::new(
                    Tag::UNIQUE_BATCH_ITEM_ID,
                    Value::ByteString(Bytes::new(batch_id(id))),
                ),
                s(Tag::REQUEST_PAYLOAD, payload),
            ],
        ));
    }
    encode(&s(Tag::REQUEST_MESSAGE, children))
}

fn attribute_1x(name: &str, value: Value) -> Ttlv {
    s(
        Tag::ATTRIBUTE,
        vec![
            text(Tag::ATTRIBUTE_NAME, name),
            Ttlv::new(Tag::ATTRIBUTE_VALUE, value),
        ],
    )
}

/// Decodes, checks the version and batch IDs, and checks byte-identical re-encoding.
fn decode_and_reencode(bytes: &[u8], first_id: u32) -> RequestMessage {
    let req = decode_request(bytes, &Limits::default()).expect("vCenter request decodes");
    assert_eq!(req.version(), ProtocolVersion::V1_1);
    for (i, item) in req.batch_items.iter().enumerate() {
        let id = first_id + u32::try_from(i).expect("few items");
        assert_eq!(
            item.unique_batch_item_id.as_deref(),
            Some(&batch_id(id)[..])
        );
        assert!(!item.payload.is_raw(), "{:?} kept raw", item.operation);
    }
    assert_eq!(encode_request(&req), bytes, "re-encoding differs");
    req
}

fn reply(req: &RequestMessage, items: Vec<ResponseBatchItem>) -> ResponseMessage {
    let mut m = ResponseMessage::new(ResponseHeader::new(req.version(), 1_700_000_000), items);
    m.header.protocol_version = req.version();
    // Through the wire and back, as the client would read it.
    let bytes = encode_response(&m);
    decode_response(&bytes, &Limits::default()).expect("our response decodes")
}

#[test]
fn discover_versions_and_query() {
    let bytes = vcenter_request(vec![(Operation::DISCOVER_VERSIONS, vec![])], 1);
    let req = decode_and_reencode(&bytes, 1);
    assert!(matches!(
        &req.batch_items[0].payload,
        RequestPayload::DiscoverVersions(d) if d.protocol_versions.is_empty()
    ));

    let bytes = vcenter_request(
        vec![(
            Operation::QUERY,
            vec![en(
                Tag::QUERY_FUNCTION,
                QueryFunction::QUERY_SERVER_INFORMATION.0,
            )],
        )],
        2,
    );
    let req = decode_and_reencode(&bytes, 2);
    let RequestPayload::Query(q) = &req.batch_items[0].payload else {
        panic!("not a Query payload");
    };
    assert_eq!(
        q.query_functions,
        vec![QueryFunction::QUERY_SERVER_INFORMATION]
    );
    let answer = QueryResponse {
        vendor_identification: Some("kms".into()),
        operations: vec![Operation::CREATE, Operation::SET_ATTRIBUTE],
        ..QueryResponse::default()
    };
    let resp = reply(
        &req,
        vec![ResponseBatchItem::success(&req.batch_items[0], answer)],
    );
    let item = &resp.batch_items[0];
    assert_eq!(item.unique_batch_item_id.as_deref(), Some(&batch_id(2)[..]));
    let Some(kmip_codec::model::ResponsePayload::Query(q)) = &item.payload else {
        panic!("no Query response payload");
    };
    // Set Attribute is a 2.0 operation: a 1.1 client must not see it.
    assert_eq!(q.operations, vec![Operation::CREATE]);
}

#[test]
fn create_with_usage_mask_12_then_get_the_raw_key() {
    let bytes = vcenter_request(
        vec![(
            Operation::CREATE,
            vec![
                en(Tag::OBJECT_TYPE, ObjectType::SYMMETRIC_KEY.0),
                s(
                    Tag::TEMPLATE_ATTRIBUTE,
                    vec![
                        attribute_1x(
                            "Cryptographic Algorithm",
                            Value::Enumeration(CryptographicAlgorithm::AES.0),
                        ),
                        attribute_1x("Cryptographic Length", Value::Integer(256)),
                        attribute_1x("Cryptographic Usage Mask", Value::Integer(12)),
                    ],
                ),
            ],
        )],
        3,
    );
    let req = decode_and_reencode(&bytes, 3);
    let RequestPayload::Create(create) = &req.batch_items[0].payload else {
        panic!("not a Create payload");
    };
    assert_eq!(create.object_type, ObjectType::SYMMETRIC_KEY);
    assert_eq!(
        create.attributes.cryptographic_algorithm(),
        Some(CryptographicAlgorithm::AES)
    );
    assert_eq!(create.attributes.cryptographic_length(), Some(256));
    assert_eq!(create.attributes.cryptographic_usage_mask(), Some(12));
    assert!(create.attributes.names().next().is_none());

    let resp = reply(
        &req,
        vec![ResponseBatchItem::success(
            &req.batch_items[0],
            CreateResponse {
                object_type: ObjectType::SYMMETRIC_KEY,
                unique_identifier: "key-1".into(),
                template_attribute: None,
            },
        )],
    );
    assert_eq!(resp.batch_items[0].result_status, ResultStatus::SUCCESS);

    let bytes = vcenter_request(
        vec![(Operation::GET, vec![text(Tag::UNIQUE_IDENTIFIER, "key-1")])],
        4,
    );
    let req = decode_and_reencode(&bytes, 4);
    let key = Bytes::new(vec![0x2a; 32]);
    let get = GetResponse {
        object_type: ObjectType::SYMMETRIC_KEY,
        unique_identifier: "key-1".into(),
        object: ManagedObject::SymmetricKey(SymmetricKey {
            key_block: KeyBlock::raw(key.clone(), CryptographicAlgorithm::AES, 256),
        }),
    };
    let m = ResponseMessage::new(
        ResponseHeader::new(ProtocolVersion::V1_1, 1_700_000_000),
        vec![ResponseBatchItem::success(&req.batch_items[0], get.clone())],
    );
    // The Key Value holds exactly the Key Material: no attributes for a 1.x client.
    let tree = m.to_ttlv(ProtocolVersion::V1_1);
    let key_value = find(&tree, Tag::KEY_VALUE).expect("a Key Value");
    assert_eq!(key_value.children().len(), 1);
    assert_eq!(
        key_value.children()[0].value,
        Value::ByteString(key.clone())
    );
    let back = reply(&req, m.batch_items);
    assert_eq!(
        back.batch_items[0].payload,
        Some(kmip_codec::model::ResponsePayload::Get(get))
    );
    assert!(
        !format!("{back:?}").contains("42, 42"),
        "key bytes in Debug"
    );
}

fn find(item: &Ttlv, tag: Tag) -> Option<&Ttlv> {
    if item.tag == tag {
        return Some(item);
    }
    item.children().iter().find_map(|c| find(c, tag))
}

#[test]
fn custom_attributes_get_and_add_in_one_batch() {
    for (n, name) in ["x-Product_Version", "x-Vendor", "x-Product"]
        .iter()
        .enumerate()
    {
        let id = 10 + u32::try_from(n).expect("small");
        let bytes = vcenter_request(
            vec![(
                Operation::GET_ATTRIBUTES,
                vec![
                    text(Tag::UNIQUE_IDENTIFIER, "key-1"),
                    text(Tag::ATTRIBUTE_NAME, name),
                ],
            )],
            id,
        );
        let req = decode_and_reencode(&bytes, id);
        let RequestPayload::GetAttributes(g) = &req.batch_items[0].payload else {
            panic!("not Get Attributes");
        };
        assert_eq!(g.attribute_names, vec![AttributeName::from_1x(name)]);
        assert!(g.attribute_names[0].is_custom());
        // Absent attribute: Success with just the Unique Identifier.
        let resp = reply(
            &req,
            vec![ResponseBatchItem::success(
                &req.batch_items[0],
                GetAttributesResponse {
                    unique_identifier: "key-1".into(),
                    attributes: Attributes::new(),
                },
            )],
        );
        let item = &resp.batch_items[0];
        assert_eq!(
            item.unique_batch_item_id.as_deref(),
            Some(&batch_id(id)[..])
        );
    }

    let values = [
        ("x-Product_Version", "7.0.3 build-19480866"),
        ("x-Vendor", "VMware, Inc."),
        ("x-Product", "VMware vSphere"),
    ];
    let items = values
        .iter()
        .map(|(name, value)| {
            (
                Operation::ADD_ATTRIBUTE,
                vec![
                    text(Tag::UNIQUE_IDENTIFIER, "key-1"),
                    attribute_1x(name, Value::TextString((*value).into())),
                ],
            )
        })
        .collect();
    let bytes = vcenter_request(items, 20);
    let req = decode_and_reencode(&bytes, 20);
    assert_eq!(req.batch_items.len(), 3);
    let mut answers = Vec::new();
    for (item, (name, value)) in req.batch_items.iter().zip(values) {
        let RequestPayload::AddAttribute(add) = &item.payload else {
            panic!("not Add Attribute");
        };
        assert_eq!(add.attribute.name, AttributeName::from_1x(name));
        assert_eq!(
            add.attribute.value,
            AttributeValue::TextString(value.into())
        );
        answers.push(ResponseBatchItem::success(
            item,
            AddAttributeResponse {
                unique_identifier: "key-1".into(),
                attribute: Some(Attribute {
                    index: Some(0),
                    ..add.attribute.clone()
                }),
            },
        ));
    }
    let resp = reply(&req, answers);
    let ids: Vec<_> = resp
        .batch_items
        .iter()
        .map(|b| b.unique_batch_item_id.clone())
        .collect();
    assert_eq!(
        ids,
        vec![Some(batch_id(20)), Some(batch_id(21)), Some(batch_id(22))]
    );
}

#[test]
fn state_then_activate() {
    let bytes = vcenter_request(
        vec![(
            Operation::GET_ATTRIBUTES,
            vec![
                text(Tag::UNIQUE_IDENTIFIER, "key-1"),
                text(Tag::ATTRIBUTE_NAME, "State"),
            ],
        )],
        30,
    );
    let req = decode_and_reencode(&bytes, 30);
    let resp = reply(
        &req,
        vec![ResponseBatchItem::success(
            &req.batch_items[0],
            GetAttributesResponse {
                unique_identifier: "key-1".into(),
                attributes: Attributes::new()
                    .with(Tag::STATE, AttributeValue::Enumeration(State::PRE_ACTIVE.0)),
            },
        )],
    );
    let Some(kmip_codec::model::ResponsePayload::GetAttributes(g)) = &resp.batch_items[0].payload
    else {
        panic!("no Get Attributes payload");
    };
    assert_eq!(g.attributes.state(), Some(State::PRE_ACTIVE));

    let bytes = vcenter_request(
        vec![(
            Operation::ACTIVATE,
            vec![text(Tag::UNIQUE_IDENTIFIER, "key-1")],
        )],
        31,
    );
    let req = decode_and_reencode(&bytes, 31);
    let ok = reply(
        &req,
        vec![ResponseBatchItem::success(
            &req.batch_items[0],
            ActivateResponse {
                unique_identifier: "key-1".into(),
            },
        )],
    );
    assert_eq!(ok.batch_items[0].result_status, ResultStatus::SUCCESS);
    // A 2.0-only reason (Wrong Key Lifecycle State) reaches a 1.1 client as a 1.x reason.
    let failed = reply(
        &req,
        vec![ResponseBatchItem::failure(
            &req.batch_items[0],
            ResultReason::WRONG_KEY_LIFECYCLE_STATE,
            None,
        )],
    );
    assert_eq!(
        failed.batch_items[0].result_reason,
        Some(ResultReason::PERMISSION_DENIED)
    );
    assert_eq!(failed.header.protocol_version, ProtocolVersion::V1_1);
}
