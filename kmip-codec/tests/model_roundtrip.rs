//! Hand-built typed messages in KMIP 1.1, 1.4 and 2.1 survive typed -> TTLV -> binary ->
//! TTLV -> typed unchanged, and the typed model never prints secrets.

use kmip_codec::enums::{
    BatchErrorContinuationOption, BlockCipherMode, CredentialType, CryptographicAlgorithm,
    HashingAlgorithm, KeyFormatType, LinkType, NameType, ObjectType, OpaqueDataType, PaddingMethod,
    ResultReason, RevocationReasonCode, SecretDataType, WrappingMethod,
};
use kmip_codec::limits::Limits;
use kmip_codec::model::*;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, Ttlv, Value};
use kmip_codec::version::ProtocolVersion;

const V11: ProtocolVersion = ProtocolVersion::V1_1;
const V14: ProtocolVersion = ProtocolVersion::V1_4;
const V21: ProtocolVersion = ProtocolVersion::V2_1;

/// Attributes every version under test defines, plus the 1.4 ones from 1.4 on.
fn attributes(v: ProtocolVersion) -> Attributes {
    let mut a = Attributes::new()
        .with(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            AttributeValue::Enumeration(CryptographicAlgorithm::AES.0),
        )
        .with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(256))
        .with(Tag::CRYPTOGRAPHIC_USAGE_MASK, AttributeValue::Integer(12))
        .with(
            Tag::NAME,
            AttributeValue::Name(Name {
                value: "disk-key".into(),
                name_type: NameType::UNINTERPRETED_TEXT_STRING,
            }),
        )
        .with(
            Tag::LINK,
            AttributeValue::Link(Link {
                link_type: LinkType::REPLACEMENT_OBJECT_LINK,
                linked_object_identifier: "kek-1".into(),
            }),
        )
        .with(
            Tag::CRYPTOGRAPHIC_PARAMETERS,
            AttributeValue::CryptographicParameters(Box::new(CryptographicParameters {
                block_cipher_mode: Some(BlockCipherMode::CBC),
                padding_method: Some(PaddingMethod::PKCS5),
                ..CryptographicParameters::default()
            })),
        )
        .with(
            Tag::DIGEST,
            AttributeValue::Digest(Digest {
                hashing_algorithm: HashingAlgorithm::SHA_256,
                digest_value: Some(vec![1, 2, 3]),
                key_format_type: Some(KeyFormatType::RAW),
            }),
        )
        .with(
            Tag::ACTIVATION_DATE,
            AttributeValue::DateTime(1_700_000_000),
        )
        .with(Tag::LEASE_TIME, AttributeValue::Interval(3600))
        .with(Tag::OBJECT_GROUP, AttributeValue::TextString("vms".into()))
        .with(
            Tag::CONTACT_INFORMATION,
            AttributeValue::TextString("ops@example.com".into()),
        )
        .with(Tag::FRESH, AttributeValue::Boolean(true))
        .with(
            Tag::APPLICATION_SPECIFIC_INFORMATION,
            AttributeValue::ApplicationSpecificInformation(ApplicationSpecificInformation {
                namespace: "ssl".into(),
                data: Some("www.example.com".into()),
            }),
        )
        .with(
            Tag::USAGE_LIMITS,
            AttributeValue::UsageLimits(UsageLimits {
                total: 10,
                count: Some(9),
                unit: kmip_codec::enums::UsageLimitsUnit::OBJECT,
            }),
        );
    a.push(Attribute::custom(
        "x-Product",
        AttributeValue::TextString("VMware vSphere".into()),
    ));
    a.push(Attribute::custom(
        "y-Blob",
        AttributeValue::Structure(vec![Ttlv::new(
            Tag::NAME_VALUE,
            Value::TextString("blob".into()),
        )]),
    ));
    if v >= V14 {
        a = a
            .with(Tag::SENSITIVE, AttributeValue::Boolean(false))
            .with(Tag::DESCRIPTION, AttributeValue::TextString("d".into()))
            .with(
                Tag::ALTERNATIVE_NAME,
                AttributeValue::AlternativeName(AlternativeName {
                    value: "alt".into(),
                    name_type: kmip_codec::enums::AlternativeNameType::UNINTERPRETED_TEXT_STRING,
                }),
            );
    }
    if !v.is_2x() {
        // Attribute Index exists only in 1.x.
        if let Some(first) = a.0.first_mut() {
            first.index = Some(0);
        }
    }
    a
}

fn requests(v: ProtocolVersion) -> RequestMessage {
    let mut header = RequestHeader::new(v);
    header.maximum_response_size = Some(65536);
    header.batch_error_continuation_option = Some(BatchErrorContinuationOption::STOP);
    header.authentication = Some(Authentication {
        credentials: vec![Credential::UsernameAndPassword {
            username: "vcenter".into(),
            password: Some(Password::new("hunter2-secret".into())),
        }],
    });
    if v >= V14 {
        header.client_correlation_value = Some("corr".into());
    }
    let secret = ManagedObject::SecretData(SecretData {
        secret_data_type: SecretDataType::PASSWORD,
        key_block: KeyBlock {
            key_format_type: KeyFormatType::OPAQUE,
            key_compression_type: None,
            key_value: Some(KeyValue::Plain {
                key_material: KeyMaterial::Bytes(Bytes::new(b"secret-bytes".to_vec())),
                attributes: Attributes::new(),
            }),
            cryptographic_algorithm: None,
            cryptographic_length: None,
            key_wrapping_data: None,
        },
    });
    let items: Vec<RequestBatchItem> = vec![
        RequestBatchItem::new(DiscoverVersionsRequest {
            protocol_versions: vec![V21, V14, V11],
        }),
        RequestBatchItem::new(CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: attributes(v),
            template_names: Vec::new(),
            protection_storage_masks: None,
        }),
        RequestBatchItem::new(RegisterRequest {
            object_type: ObjectType::SECRET_DATA,
            attributes: attributes(v),
            template_names: Vec::new(),
            object: secret,
            protection_storage_masks: None,
        }),
        RequestBatchItem::new(RegisterRequest {
            object_type: ObjectType::OPAQUE_OBJECT,
            attributes: Attributes::new(),
            template_names: Vec::new(),
            object: ManagedObject::OpaqueObject(OpaqueObject {
                opaque_data_type: OpaqueDataType(0x8000_0001),
                opaque_data_value: Bytes::new(vec![9; 5]),
            }),
            protection_storage_masks: None,
        }),
        RequestBatchItem::new(GetRequest {
            unique_identifier: Some("key-1".into()),
            key_format_type: Some(KeyFormatType::RAW),
            key_wrapping_specification: Some(KeyWrappingSpecification {
                wrapping_method: WrappingMethod::ENCRYPT,
                encryption_key_information: Some(KeyInformation {
                    unique_identifier: "kek-1".into(),
                    cryptographic_parameters: Some(CryptographicParameters {
                        block_cipher_mode: Some(BlockCipherMode::NISTKEYWRAP),
                        ..CryptographicParameters::default()
                    }),
                }),
                mac_signature_key_information: None,
                attribute_names: vec![],
                encoding_option: None,
            }),
            ..GetRequest::default()
        }),
        RequestBatchItem::new(GetAttributesRequest {
            unique_identifier: Some("key-1".into()),
            attribute_names: vec![
                AttributeName::Standard(Tag::STATE),
                AttributeName::from_1x("x-Product"),
            ],
        }),
        RequestBatchItem::new(ModifyAttributeRequest {
            unique_identifier: None,
            current_attribute: None,
            attribute: Attribute::new(
                Tag::CONTACT_INFORMATION,
                AttributeValue::TextString("new".into()),
            ),
        }),
        RequestBatchItem::new(LocateRequest {
            maximum_items: Some(10),
            attributes: Attributes::new().with(
                Tag::OBJECT_TYPE,
                AttributeValue::Enumeration(ObjectType::SYMMETRIC_KEY.0),
            ),
            ..LocateRequest::default()
        }),
        RequestBatchItem::new(RevokeRequest {
            unique_identifier: Some("key-1".into()),
            revocation_reason: RevocationReason {
                code: RevocationReasonCode::KEY_COMPROMISE,
                message: Some("lost laptop".into()),
            },
            compromise_occurrence_date: Some(1_600_000_000),
        }),
        RequestBatchItem::new(ActivateRequest {
            unique_identifier: Some("key-1".into()),
        }),
        RequestBatchItem::new(DestroyRequest::default()),
        RequestBatchItem::new(ReKeyRequest {
            unique_identifier: Some("key-1".into()),
            offset: Some(60),
            ..ReKeyRequest::default()
        }),
    ];
    let mut items = items;
    if v >= ProtocolVersion::V1_2 {
        // Encrypt and RNG Retrieve are 1.2 operations.
        items.push(RequestBatchItem::new(EncryptRequest {
            unique_identifier: Some("key-1".into()),
            cryptographic_parameters: Some(CryptographicParameters {
                block_cipher_mode: Some(BlockCipherMode::CBC),
                ..CryptographicParameters::default()
            }),
            data: Some(Bytes::new(b"plaintext".to_vec())),
            iv_counter_nonce: Some(vec![0; 16]),
            ..EncryptRequest::default()
        }));
        items.push(RequestBatchItem::new(RngRetrieveRequest {
            data_length: 32,
        }));
    }
    let mut m = RequestMessage::new(v, items);
    m.header = header;
    for (i, item) in m.batch_items.iter_mut().enumerate() {
        item.unique_batch_item_id = Some(vec![u8::try_from(i).expect("few items")]);
    }
    // An operation without a typed payload (Poll) stays raw and lossless.
    m.batch_items.push(RequestBatchItem {
        operation: kmip_codec::enums::Operation::POLL,
        ephemeral: None,
        unique_batch_item_id: Some(vec![0xFF]),
        payload: RequestPayload::Raw(Ttlv::structure(
            Tag::REQUEST_PAYLOAD,
            vec![Ttlv::new(
                Tag::ASYNCHRONOUS_CORRELATION_VALUE,
                Value::ByteString(vec![1, 2].into()),
            )],
        )),
        message_extensions: Vec::new(),
    });
    m
}

fn responses(v: ProtocolVersion) -> ResponseMessage {
    let req = requests(v);
    let r = &req.batch_items;
    let op = |o: kmip_codec::enums::Operation| {
        r.iter().find(|b| b.operation == o).expect("request item")
    };
    let key = KeyBlock::raw(Bytes::new(vec![0x5a; 32]), CryptographicAlgorithm::AES, 256);
    let echo = |a: Attribute| if v.is_2x() { None } else { Some(a) };
    let mut items = vec![
        ResponseBatchItem::success(
            &r[0],
            DiscoverVersionsResponse {
                protocol_versions: vec![V14, V11],
            },
        ),
        ResponseBatchItem::success(
            &r[1],
            CreateResponse {
                object_type: ObjectType::SYMMETRIC_KEY,
                unique_identifier: "key-1".into(),
                template_attribute: None,
            },
        ),
        ResponseBatchItem::failure(&r[2], ResultReason::PERMISSION_DENIED, Some("no".into())),
        ResponseBatchItem::success(
            &r[4],
            GetResponse {
                object_type: ObjectType::SYMMETRIC_KEY,
                unique_identifier: "key-1".into(),
                object: ManagedObject::SymmetricKey(SymmetricKey { key_block: key }),
            },
        ),
        ResponseBatchItem::success(
            &r[5],
            GetAttributesResponse {
                unique_identifier: "key-1".into(),
                attributes: attributes(v),
            },
        ),
        ResponseBatchItem::success(
            &r[6],
            ModifyAttributeResponse {
                unique_identifier: "key-1".into(),
                attribute: echo(Attribute::new(
                    Tag::CONTACT_INFORMATION,
                    AttributeValue::TextString("new".into()),
                )),
            },
        ),
        ResponseBatchItem::success(
            &r[7],
            LocateResponse {
                located_items: None,
                unique_identifiers: vec!["a".into(), "b".into()],
            },
        ),
    ];
    if v >= ProtocolVersion::V1_2 {
        items.push(ResponseBatchItem::success(
            op(kmip_codec::enums::Operation::ENCRYPT),
            EncryptResponse {
                unique_identifier: "key-1".into(),
                data: Some(Bytes::new(vec![1; 16])),
                ..EncryptResponse::default()
            },
        ));
        items.push(ResponseBatchItem::success(
            op(kmip_codec::enums::Operation::RNG_RETRIEVE),
            RngRetrieveResponse {
                data: Bytes::new(vec![7; 32]),
            },
        ));
    }
    ResponseMessage::new(ResponseHeader::new(v, 1_700_000_000), items)
}

fn round_trip_request(v: ProtocolVersion) {
    let m = requests(v);
    let bytes = encode_request(&m);
    let back = decode_request(&bytes, &Limits::default()).expect("decodes");
    assert_eq!(back, m, "request in {v}");
    assert!(back.batch_items.last().is_some_and(|b| b.payload.is_raw()));
    assert!(
        back.batch_items
            .iter()
            .rev()
            .skip(1)
            .all(|b| !b.payload.is_raw())
    );
}

fn round_trip_response(v: ProtocolVersion) {
    let m = responses(v);
    let bytes = encode_response(&m);
    let back = decode_response(&bytes, &Limits::default()).expect("decodes");
    assert_eq!(back, m, "response in {v}");
}

#[test]
fn requests_round_trip_in_1_1_1_4_and_2_1() {
    for v in [V11, V14, V21] {
        round_trip_request(v);
    }
}

#[test]
fn responses_round_trip_in_1_1_1_4_and_2_1() {
    for v in [V11, V14, V21] {
        round_trip_response(v);
    }
}

#[test]
fn the_1x_and_2x_forms_differ_on_the_wire() {
    let t11 = requests(V11).to_ttlv();
    let t21 = requests(V21).to_ttlv();
    let has = |t: &Ttlv, tag: Tag| contains(t, tag);
    assert!(has(&t11, Tag::TEMPLATE_ATTRIBUTE) && !has(&t11, Tag::ATTRIBUTES));
    assert!(has(&t21, Tag::ATTRIBUTES) && !has(&t21, Tag::TEMPLATE_ATTRIBUTE));
    assert!(has(&t11, Tag::ATTRIBUTE_INDEX) && !has(&t21, Tag::ATTRIBUTE_INDEX));
    // 2.x custom attributes travel as Vendor Attributes.
    assert!(has(&t21, Tag::VENDOR_IDENTIFICATION) && !has(&t11, Tag::VENDOR_IDENTIFICATION));
}

fn contains(item: &Ttlv, tag: Tag) -> bool {
    item.tag == tag || item.children().iter().any(|c| contains(c, tag))
}

#[test]
fn debug_output_holds_no_secrets() {
    let req = format!("{:?}", requests(V14));
    assert!(!req.contains("hunter2"), "password in Debug");
    assert!(req.contains("Password(<redacted>)"));
    let resp = format!("{:?}", responses(V14));
    assert!(!resp.contains("90, 90"), "key bytes in Debug");
    assert!(resp.contains("<32 bytes>"));
    let other = Credential::Other {
        credential_type: CredentialType::DEVICE,
        value: Ttlv::new(Tag::CREDENTIAL_VALUE, Value::TextString("device-pw".into())),
    };
    assert!(!format!("{other:?}").contains("device-pw"));
}

#[test]
fn a_response_is_as_long_as_its_fields_and_items_measured_one_by_one() {
    for v in [V11, V14, V21] {
        let m = responses(v);
        let empty = ResponseMessage::new(m.header.clone(), Vec::new()).encoded_len(v);
        let items: usize = m.batch_items.iter().map(|i| i.encoded_len(v)).sum();
        let whole = encode_response(&m).len();
        assert_eq!(m.encoded_len(v), whole, "in {v}");
        // Measured item by item before the version filter, never less than what is sent.
        assert!(
            empty + items >= whole,
            "in {v}: {empty} + {items} < {whole}"
        );
        if v == V14 {
            assert_eq!(empty + items, whole, "nothing filtered in 1.4");
        }
    }
}
