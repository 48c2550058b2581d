//! The typed payloads the OASIS vectors do not exercise (Derive Key, Re-key Key Pair, Certify,
//! Re-certify, Validate, Get Usage Allocation, Obtain Lease, Archive, Recover, Export, Cancel,
//! Adjust Attribute, Set Endpoint Role): each round-trips in the versions that define it, takes
//! each version's form, and malformed ones fail with a typed error that names the field. Objects
//! and Query items: `model_objects.rs`.

use kmip_codec::enums::{
    AdjustmentType, CancellationResult, CertificateRequestType, CertificateType,
    CryptographicAlgorithm, DerivationMethod, EndpointRole, HashingAlgorithm, KeyFormatType,
    ObjectType, Operation, ValidityIndicator,
};
use kmip_codec::error::ErrorKind;
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    AdjustAttributeRequest, ArchiveRequest, Attribute, AttributeName, AttributeValue, Attributes,
    CancelRequest, CancelResponse, Certificate, CertificationRequest, CertificationResponse,
    CertifyRequest, CertifyResponse, CreateKeyPairRequest, CryptographicParameters,
    DerivationParameters, DeriveKeyRequest, DeriveKeyResponse, EndpointRolePayload, ExportRequest,
    GetUsageAllocationRequest, KeyPairAttributes, ObtainLeaseResponse, ProtectionStorageMasks,
    ReCertifyRequest, ReKeyKeyPairRequest, ReKeyKeyPairResponse, RecoverResponse, RequestBatchItem,
    RequestMessage, RequestPayload, ResponseBatchItem, ResponseHeader, ResponseMessage,
    ResponsePayload, SetEndpointRoleRequest, TemplateAttribute, ValidateRequest, ValidateResponse,
    decode_request, decode_response, encode_request, encode_response,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, Ttlv, Value};
use kmip_codec::version::ProtocolVersion;

const V14: ProtocolVersion = ProtocolVersion::V1_4;
const V21: ProtocolVersion = ProtocolVersion::V2_1;

fn text(s: &str) -> AttributeValue {
    AttributeValue::TextString(s.into())
}

fn template(names: &[&str]) -> TemplateAttribute {
    TemplateAttribute {
        names: Vec::new(),
        attributes: names
            .iter()
            .map(|n| Attribute::new(Tag::CONTACT_INFORMATION, text(n)))
            .collect(),
    }
}

fn has_tag(item: &Ttlv, tag: Tag) -> bool {
    item.tag == tag || item.children().iter().any(|c| has_tag(c, tag))
}

/// Encodes a request with one item in `v`, decodes it back, and returns the decoded message and
/// its tree.
fn request_round_trip(v: ProtocolVersion, payload: RequestPayload) -> (RequestMessage, Ttlv) {
    let message = RequestMessage::new(v, vec![RequestBatchItem::new(payload)]);
    let tree = message.to_ttlv();
    let back = decode_request(&encode_request(&message), &Limits::default()).expect("decodes");
    assert_eq!(back, message, "request round trip in {v}");
    assert!(!back.batch_items[0].payload.is_raw());
    (back, tree)
}

fn response_round_trip(v: ProtocolVersion, op: Operation, payload: ResponsePayload) -> Ttlv {
    let request = RequestBatchItem {
        operation: op,
        ephemeral: None,
        unique_batch_item_id: None,
        payload: RequestPayload::Raw(Ttlv::structure(Tag::REQUEST_PAYLOAD, vec![])),
        message_extensions: Vec::new(),
    };
    let message = ResponseMessage::new(
        ResponseHeader::new(v, 1_700_000_000),
        vec![ResponseBatchItem::success(&request, payload)],
    );
    let back = decode_response(&encode_response(&message), &Limits::default()).expect("decodes");
    assert_eq!(back, message, "response round trip in {v} of {op:?}");
    message.to_ttlv(v)
}

fn derivation() -> DeriveKeyRequest {
    DeriveKeyRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        unique_identifiers: vec!["base".into()],
        derivation_method: DerivationMethod::PBKDF2,
        derivation_parameters: DerivationParameters {
            cryptographic_parameters: Some(CryptographicParameters {
                hashing_algorithm: Some(HashingAlgorithm::SHA_256),
                ..CryptographicParameters::default()
            }),
            initialization_vector: None,
            derivation_data: vec![Bytes::new(b"password".to_vec())],
            salt: Some(vec![1; 16]),
            iteration_count: Some(4096),
        },
        attributes: Attributes::new()
            .with(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                AttributeValue::Enumeration(CryptographicAlgorithm::AES.0),
            )
            .with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(256)),
        template_names: Vec::new(),
    }
}

#[test]
fn derive_key_takes_each_versions_attribute_form() {
    let (_, tree14) = request_round_trip(V14, derivation().into());
    assert!(has_tag(&tree14, Tag::TEMPLATE_ATTRIBUTE));
    assert!(!has_tag(&tree14, Tag::ATTRIBUTES));
    let (_, tree21) = request_round_trip(V21, derivation().into());
    assert!(has_tag(&tree21, Tag::ATTRIBUTES));
    assert!(!has_tag(&tree21, Tag::TEMPLATE_ATTRIBUTE));
    // 2.1 lets Derivation Data repeat.
    let mut two = derivation();
    two.derivation_parameters
        .derivation_data
        .push(Bytes::new(b"label".to_vec()));
    request_round_trip(V21, two.into());
    // The 1.x response echoes implicit attributes; 2.x has none.
    let response = DeriveKeyResponse {
        unique_identifier: "derived".into(),
        template_attribute: Some(template(&["a"])),
    };
    let t14 = response_round_trip(V14, Operation::DERIVE_KEY, response.clone().into());
    assert!(has_tag(&t14, Tag::TEMPLATE_ATTRIBUTE));
    let t21 = response_round_trip(
        V21,
        Operation::DERIVE_KEY,
        DeriveKeyResponse {
            template_attribute: None,
            ..response
        }
        .into(),
    );
    assert!(!has_tag(&t21, Tag::TEMPLATE_ATTRIBUTE));
}

#[test]
fn key_pair_requests_take_each_versions_form() {
    let attributes = KeyPairAttributes {
        common: Some(template(&["common"])),
        private_key: Some(template(&["private"])),
        public_key: Some(template(&["public"])),
        common_protection_storage_masks: None,
        private_protection_storage_masks: None,
        public_protection_storage_masks: None,
    };
    let (_, t14) = request_round_trip(
        V14,
        CreateKeyPairRequest {
            attributes: attributes.clone(),
        }
        .into(),
    );
    for tag in [
        Tag::COMMON_TEMPLATE_ATTRIBUTE,
        Tag::PRIVATE_KEY_TEMPLATE_ATTRIBUTE,
        Tag::PUBLIC_KEY_TEMPLATE_ATTRIBUTE,
    ] {
        assert!(has_tag(&t14, tag), "{tag:?}");
    }
    let with_masks = KeyPairAttributes {
        common_protection_storage_masks: Some(ProtectionStorageMasks { masks: vec![1, 3] }),
        public_protection_storage_masks: Some(ProtectionStorageMasks { masks: vec![2] }),
        ..attributes
    };
    let (_, t21) = request_round_trip(
        V21,
        ReKeyKeyPairRequest {
            private_key_unique_identifier: Some("old-private".into()),
            offset: Some(3600),
            attributes: with_masks,
        }
        .into(),
    );
    for tag in [
        Tag::COMMON_ATTRIBUTES,
        Tag::PRIVATE_KEY_ATTRIBUTES,
        Tag::PUBLIC_KEY_ATTRIBUTES,
        Tag::COMMON_PROTECTION_STORAGE_MASKS,
        Tag::PUBLIC_PROTECTION_STORAGE_MASKS,
    ] {
        assert!(has_tag(&t21, tag), "{tag:?}");
    }
    assert!(!has_tag(&t21, Tag::COMMON_TEMPLATE_ATTRIBUTE));
    response_round_trip(
        V14,
        Operation::RE_KEY_KEY_PAIR,
        ReKeyKeyPairResponse {
            private_key_unique_identifier: "private".into(),
            public_key_unique_identifier: "public".into(),
            private_key_template_attribute: Some(template(&["p"])),
            public_key_template_attribute: None,
        }
        .into(),
    );
}

#[test]
fn certificate_request_travels_under_each_versions_tag() {
    let request = CertificationRequest {
        unique_identifier: Some("public-key".into()),
        certificate_request_unique_identifier: None,
        certificate_request_type: Some(CertificateRequestType::PKCS10),
        certificate_request_value: Some(vec![0x30, 0x82, 0x01, 0x00]),
        offset: None,
        template_attribute: Some(template(&["ca"])),
        protection_storage_masks: None,
    };
    let (_, t14) = request_round_trip(V14, CertifyRequest(request.clone()).into());
    assert!(has_tag(&t14, Tag::CERTIFICATE_REQUEST));
    assert!(!has_tag(&t14, Tag::CERTIFICATE_REQUEST_VALUE));
    let renewal = CertificationRequest {
        certificate_request_unique_identifier: Some("csr".into()),
        offset: Some(60),
        protection_storage_masks: Some(ProtectionStorageMasks { masks: vec![1] }),
        ..request
    };
    let (_, t21) = request_round_trip(V21, ReCertifyRequest(renewal).into());
    assert!(has_tag(&t21, Tag::CERTIFICATE_REQUEST_VALUE));
    assert!(!has_tag(&t21, Tag::CERTIFICATE_REQUEST));
    response_round_trip(
        V14,
        Operation::CERTIFY,
        CertifyResponse(CertificationResponse {
            unique_identifier: "cert".into(),
            template_attribute: None,
        })
        .into(),
    );
}

#[test]
fn the_other_operations_round_trip() {
    for v in [V14, V21] {
        request_round_trip(
            v,
            ValidateRequest {
                certificates: vec![Certificate {
                    certificate_type: CertificateType::X_509,
                    certificate_value: vec![0x30, 0x03, 0x02, 0x01, 0x01],
                }],
                unique_identifiers: vec!["ca".into()],
                validity_date: Some(1_700_000_000),
            }
            .into(),
        );
        response_round_trip(
            v,
            Operation::VALIDATE,
            ValidateResponse {
                validity_indicator: ValidityIndicator::VALID,
            }
            .into(),
        );
        request_round_trip(
            v,
            GetUsageAllocationRequest {
                unique_identifier: None,
                usage_limits_count: 500,
            }
            .into(),
        );
        response_round_trip(
            v,
            Operation::OBTAIN_LEASE,
            ObtainLeaseResponse {
                unique_identifier: "k".into(),
                lease_time: 3600,
                last_change_date: 1_700_000_000,
            }
            .into(),
        );
        request_round_trip(
            v,
            ArchiveRequest {
                unique_identifier: Some("k".into()),
            }
            .into(),
        );
        response_round_trip(
            v,
            Operation::RECOVER,
            RecoverResponse {
                unique_identifier: "k".into(),
            }
            .into(),
        );
        request_round_trip(
            v,
            CancelRequest {
                asynchronous_correlation_value: vec![9; 8],
            }
            .into(),
        );
        response_round_trip(
            v,
            Operation::CANCEL,
            CancelResponse {
                asynchronous_correlation_value: vec![9; 8],
                cancellation_result: CancellationResult::CANCELED,
            }
            .into(),
        );
        request_round_trip(
            v,
            ExportRequest {
                unique_identifier: Some("k".into()),
                key_format_type: Some(KeyFormatType::RAW),
                ..ExportRequest::default()
            }
            .into(),
        );
    }
    // 2.x only.
    request_round_trip(
        V21,
        AdjustAttributeRequest {
            unique_identifier: Some("k".into()),
            attribute_reference: AttributeName::Standard(Tag::DEACTIVATION_DATE),
            adjustment_type: AdjustmentType::INCREMENT,
            adjustment_value: Some(Value::Interval(86_400)),
        }
        .into(),
    );
    request_round_trip(
        V21,
        SetEndpointRoleRequest(EndpointRolePayload {
            endpoint_role: EndpointRole::SERVER,
        })
        .into(),
    );
}

/// What an error's kind must match.
type Expect = fn(&ErrorKind) -> bool;

/// Hand-made malformed payloads: each fails with the error that names its field.
#[test]
fn malformed_payloads_name_their_field() {
    fn payload(op: Operation, children: Vec<Ttlv>) -> Ttlv {
        Ttlv::structure(
            Tag::REQUEST_MESSAGE,
            vec![
                Ttlv::structure(
                    Tag::REQUEST_HEADER,
                    vec![
                        Ttlv::structure(
                            Tag::PROTOCOL_VERSION,
                            vec![
                                Ttlv::new(Tag::PROTOCOL_VERSION_MAJOR, Value::Integer(2)),
                                Ttlv::new(Tag::PROTOCOL_VERSION_MINOR, Value::Integer(1)),
                            ],
                        ),
                        Ttlv::new(Tag::BATCH_COUNT, Value::Integer(1)),
                    ],
                ),
                Ttlv::structure(
                    Tag::BATCH_ITEM,
                    vec![
                        Ttlv::new(Tag::OPERATION, Value::Enumeration(op.0)),
                        Ttlv::structure(Tag::REQUEST_PAYLOAD, children),
                    ],
                ),
            ],
        )
    }
    let cases: Vec<(Operation, Vec<Ttlv>, Expect)> = vec![
        // Derive Key without the object to derive from.
        (
            Operation::DERIVE_KEY,
            vec![
                Ttlv::new(Tag::OBJECT_TYPE, Value::Enumeration(2)),
                Ttlv::new(Tag::DERIVATION_METHOD, Value::Enumeration(1)),
                Ttlv::structure(Tag::DERIVATION_PARAMETERS, vec![]),
                Ttlv::structure(Tag::ATTRIBUTES, vec![]),
            ],
            |k| matches!(k, ErrorKind::MissingField(Tag::UNIQUE_IDENTIFIER)),
        ),
        // Hash without its Cryptographic Parameters.
        (
            Operation::HASH,
            vec![Ttlv::new(Tag::DATA, Value::ByteString(vec![1].into()))],
            |k| matches!(k, ErrorKind::MissingField(Tag::CRYPTOGRAPHIC_PARAMETERS)),
        ),
        // An Iteration Count that is not an Integer.
        (
            Operation::DERIVE_KEY,
            vec![
                Ttlv::new(Tag::OBJECT_TYPE, Value::Enumeration(2)),
                Ttlv::new(Tag::UNIQUE_IDENTIFIER, Value::TextString("k".into())),
                Ttlv::new(Tag::DERIVATION_METHOD, Value::Enumeration(1)),
                Ttlv::structure(
                    Tag::DERIVATION_PARAMETERS,
                    vec![Ttlv::new(Tag::ITERATION_COUNT, Value::LongInteger(1))],
                ),
                Ttlv::structure(Tag::ATTRIBUTES, vec![]),
            ],
            |k| {
                matches!(
                    k,
                    ErrorKind::UnexpectedType {
                        tag: Tag::ITERATION_COUNT,
                        ..
                    }
                )
            },
        ),
        // A PKCS#11 Function given as text.
        (
            Operation::PKCS11,
            vec![Ttlv::new(
                Tag::PKCS11_FUNCTION,
                Value::TextString("C_Initialize".into()),
            )],
            |k| {
                matches!(
                    k,
                    ErrorKind::UnexpectedType {
                        tag: Tag::PKCS11_FUNCTION,
                        ..
                    }
                )
            },
        ),
        // A MAC with a field MAC does not have.
        (
            Operation::MAC,
            vec![Ttlv::new(
                Tag::SIGNATURE_DATA,
                Value::ByteString(vec![1].into()),
            )],
            |k| matches!(k, ErrorKind::UnexpectedTag(Tag::SIGNATURE_DATA)),
        ),
        // Interop without its identifier.
        (
            Operation::INTEROP,
            vec![Ttlv::new(Tag::INTEROP_FUNCTION, Value::Enumeration(1))],
            |k| matches!(k, ErrorKind::MissingField(Tag::INTEROP_IDENTIFIER)),
        ),
    ];
    for (op, children, expected) in cases {
        let tree = payload(op, children);
        let err = RequestMessage::from_ttlv(&tree).expect_err("malformed");
        assert!(expected(err.kind()), "{op:?}: {err}");
        assert!(err.path().contains(&Tag::REQUEST_PAYLOAD), "{op:?}: {err}");
    }
}

/// KMIP 2.1 Query asks for Object Groups in an Object Groups structure (section 7.23), not as
/// bare Object Group items.
#[test]
fn query_object_groups_travel_in_their_structure() {
    let query = kmip_codec::model::QueryRequest {
        query_functions: vec![kmip_codec::enums::QueryFunction::QUERY_OBJECTS],
        object_groups: vec!["drives".into(), "tapes".into()],
    };
    let (_, tree) = request_round_trip(V21, query.into());
    let payload = tree
        .child(Tag::BATCH_ITEM)
        .and_then(|b| b.child(Tag::REQUEST_PAYLOAD))
        .expect("payload");
    let groups = payload.child(Tag::OBJECT_GROUPS).expect("Object Groups");
    assert_eq!(groups.children_with(Tag::OBJECT_GROUP).count(), 2);
    assert!(payload.child(Tag::OBJECT_GROUP).is_none());
}
