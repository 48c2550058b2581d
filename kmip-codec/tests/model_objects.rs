//! The typed objects and Query items the OASIS vectors do not exercise: Split Keys, PGP Keys,
//! Templates, Certificate Requests, transparent EC and RSA keys, and the Profile / Capability /
//! Validation / Extension / Defaults Information of a Query response. Each converts both ways
//! and round-trips in the versions that define it; malformed ones fail with a typed error that
//! names the field.

use kmip_codec::enums::{
    CertificateRequestType, CryptographicAlgorithm, KeyFormatType, ObjectType, Operation,
    ProfileName, RecommendedCurve, RngAlgorithm, SecretDataType, SplitKeyMethod,
    ValidationAuthorityType, ValidationType,
};
use kmip_codec::error::ErrorKind;
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    AttributeValue, Attributes, CapabilityInformation, CertificateRequest, DefaultsInformation,
    ExportResponse, ExtensionInformation, ImportRequest, KeyBlock, KeyMaterial, KeyValue,
    ManagedObject, Name, Object, ObjectDefaults, PgpKey, PrivateKey, ProfileInformation,
    ProfileVersion, ProtectionStorageMasks, QueryInformation, QueryResponse, RequestBatchItem,
    RequestMessage, RequestPayload, ResponseBatchItem, ResponseHeader, ResponseMessage,
    ResponsePayload, RngParameters, SecretData, SplitKey, Template, TransparentEcPrivateKey,
    TransparentKey, TransparentRsaPrivateKey, ValidationInformation, decode_request,
    decode_response, encode_request, encode_response,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Bytes, Ttlv, Value};
use kmip_codec::version::ProtocolVersion;

const V14: ProtocolVersion = ProtocolVersion::V1_4;
const V21: ProtocolVersion = ProtocolVersion::V2_1;

fn text(s: &str) -> AttributeValue {
    AttributeValue::TextString(s.into())
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

fn secret() -> SecretData {
    SecretData {
        secret_data_type: SecretDataType::PASSWORD,
        key_block: KeyBlock {
            key_format_type: KeyFormatType::OPAQUE,
            key_compression_type: None,
            key_value: Some(KeyValue::Plain {
                key_material: KeyMaterial::Bytes(Bytes::new(b"hunter2".to_vec())),
                attributes: Attributes::new(),
            }),
            cryptographic_algorithm: None,
            cryptographic_length: None,
            key_wrapping_data: None,
        },
    }
}

fn ec_private_key() -> Object {
    let material =
        KeyMaterial::from_transparent(&TransparentKey::EcPrivate(TransparentEcPrivateKey {
            recommended_curve: RecommendedCurve::P_256,
            d: Bytes::new(vec![0x42; 32]),
        }));
    Object::PrivateKey(PrivateKey {
        key_block: KeyBlock {
            key_format_type: KeyFormatType::TRANSPARENT_EC_PRIVATE_KEY,
            key_compression_type: None,
            key_value: Some(KeyValue::Plain {
                key_material: material,
                attributes: Attributes::new(),
            }),
            cryptographic_algorithm: Some(CryptographicAlgorithm::EC),
            cryptographic_length: Some(256),
            key_wrapping_data: None,
        },
    })
}

#[test]
fn every_object_type_converts_both_ways() {
    let block = secret().key_block;
    let objects = [
        (V14, Object::SecretData(secret())),
        (
            V14,
            Object::SplitKey(SplitKey {
                split_key_parts: 3,
                key_part_identifier: 1,
                split_key_threshold: 2,
                split_key_method: SplitKeyMethod::POLYNOMIAL_SHARING_PRIME_FIELD,
                prime_field_size: Some(Bytes::new(vec![0, 0, 0, 0, 0, 0, 0, 0x65])),
                key_block: block.clone(),
            }),
        ),
        (
            V14,
            Object::PgpKey(PgpKey {
                pgp_key_version: 4,
                key_block: block,
            }),
        ),
        (
            V14,
            Object::Template(Template {
                attributes: Attributes::new().with(Tag::OBJECT_GROUP, text("drives")),
            }),
        ),
        (
            V21,
            Object::CertificateRequest(CertificateRequest {
                certificate_request_type: CertificateRequestType::PKCS10,
                certificate_request_value: vec![0x30, 0x00],
            }),
        ),
        (V21, ec_private_key()),
    ];
    for (v, object) in objects {
        let managed = ManagedObject::from_object(object.clone(), v);
        assert_eq!(managed.object_type(), object.object_type());
        assert_eq!(managed.to_object(v).expect("typed form"), object);
        // Export carries any object with its attributes.
        let response = ExportResponse {
            object_type: object.object_type(),
            unique_identifier: "x".into(),
            attributes: Attributes::new().with(
                Tag::NAME,
                AttributeValue::Name(Name {
                    value: "n".into(),
                    name_type: kmip_codec::enums::NameType::UNINTERPRETED_TEXT_STRING,
                }),
            ),
            object: managed.clone(),
        };
        response_round_trip(v, Operation::EXPORT, response.into());
        request_round_trip(
            v,
            ImportRequest {
                unique_identifier: "x".into(),
                object_type: v.is_2x().then(|| object.object_type()),
                replace_existing: Some(false),
                key_wrap_type: None,
                attributes: Attributes::new(),
                object: managed,
            }
            .into(),
        );
    }
}

#[test]
fn transparent_keys_are_checked_against_their_format() {
    let Object::PrivateKey(key) = ec_private_key() else {
        unreachable!()
    };
    let material = match &key.key_block.key_value {
        Some(KeyValue::Plain { key_material, .. }) => key_material.clone(),
        _ => unreachable!(),
    };
    // The EC structure read as RSA: the Modulus is missing.
    let err = material
        .transparent(KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY)
        .expect_err("not an RSA key");
    assert!(
        matches!(err.kind(), ErrorKind::MissingField(Tag::MODULUS)),
        "{err}"
    );
    // A Byte String under a transparent format.
    let bytes = KeyMaterial::Bytes(Bytes::new(vec![1; 32]));
    assert!(matches!(
        bytes
            .transparent(KeyFormatType::TRANSPARENT_EC_PRIVATE_KEY)
            .expect_err("needs a structure")
            .kind(),
        ErrorKind::InvalidValue { .. }
    ));
    // Byte-string formats have no transparent form.
    assert_eq!(bytes.transparent(KeyFormatType::PKCS8).expect("ok"), None);
    // An RSA private key given by its CRT values only.
    let rsa = TransparentKey::RsaPrivate(Box::new(TransparentRsaPrivateKey {
        modulus: Bytes::new(vec![0xC5; 16]),
        p: Some(Bytes::new(vec![0x0B; 8])),
        q: Some(Bytes::new(vec![0x0D; 8])),
        ..TransparentRsaPrivateKey::default()
    }));
    let m = KeyMaterial::from_transparent(&rsa);
    assert_eq!(
        m.transparent(KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY)
            .expect("decodes"),
        Some(rsa)
    );
}

/// A Register request of a Private Key whose transparent material lacks a field fails to
/// decode, naming the field and where it sits.
#[test]
fn a_malformed_transparent_key_fails_the_request() {
    let Object::PrivateKey(mut key) = ec_private_key() else {
        unreachable!()
    };
    if let Some(KeyValue::Plain { key_material, .. }) = &mut key.key_block.key_value {
        *key_material = KeyMaterial::Structure(vec![Ttlv::new(
            Tag::RECOMMENDED_CURVE,
            Value::Enumeration(RecommendedCurve::P_256.0),
        )]);
    }
    let request = RequestMessage::new(
        V21,
        vec![RequestBatchItem::new(kmip_codec::model::RegisterRequest {
            object_type: ObjectType::PRIVATE_KEY,
            attributes: Attributes::new(),
            template_names: Vec::new(),
            object: ManagedObject::Other(Object::PrivateKey(key).encode(V21)),
            protection_storage_masks: None,
        })],
    );
    let err = decode_request(&encode_request(&request), &Limits::default()).expect_err("no D");
    assert!(
        matches!(err.kind(), ErrorKind::MissingField(Tag::D)),
        "{err}"
    );
    assert!(err.path().contains(&Tag::KEY_MATERIAL), "{err}");
    assert!(err.path().contains(&Tag::PRIVATE_KEY), "{err}");
}

fn query_items() -> Vec<QueryInformation> {
    vec![
        QueryInformation::Extension(ExtensionInformation {
            extension_name: "x-vendor".into(),
            extension_tag: Some(0x54_0001),
            extension_type: Some(7),
            extension_enumeration: None,
            extension_attribute: None,
            extension_parent_structure_tag: None,
            extension_description: None,
        }),
        QueryInformation::RngParameters(RngParameters::new(RngAlgorithm::DRBG)),
        QueryInformation::Profile(ProfileInformation {
            profile_name: ProfileName::COMPLETE_SERVER_BASIC,
            profile_version: Some(ProfileVersion { major: 2, minor: 1 }),
            server_uri: Some("kms.example".into()),
            server_port: Some(5696),
        }),
        QueryInformation::Validation(ValidationInformation {
            validation_authority_type: ValidationAuthorityType::NIST_CMVP,
            validation_authority_country: Some("US".into()),
            validation_authority_uri: None,
            validation_version_major: 140,
            validation_version_minor: Some(2),
            validation_type: ValidationType::HARDWARE,
            validation_level: 3,
            validation_certificate_identifier: None,
            validation_certificate_uri: None,
            validation_vendor_uri: None,
            validation_profiles: vec!["a".into(), "b".into()],
        }),
        QueryInformation::Capability(CapabilityInformation {
            batch_undo_capability: Some(true),
            batch_continue_capability: Some(true),
            quantum_safe_capability: Some(false),
            ..CapabilityInformation::default()
        }),
        QueryInformation::Defaults(DefaultsInformation {
            object_defaults: vec![ObjectDefaults {
                object_type: ObjectType::SYMMETRIC_KEY,
                attributes: Attributes::new().with(
                    Tag::CRYPTOGRAPHIC_ALGORITHM,
                    AttributeValue::Enumeration(CryptographicAlgorithm::AES.0),
                ),
                object_groups: Some(vec!["g".into()]),
            }],
        }),
        QueryInformation::ProtectionStorageMasks(ProtectionStorageMasks { masks: vec![1] }),
    ]
}

/// A 1.4 Query response after the version filter (which drops the 2.x items, so it is not
/// equal to what was built).
fn query14_tree(query: QueryResponse) -> Ttlv {
    let request = RequestBatchItem::new(kmip_codec::model::QueryRequest::default());
    ResponseMessage::new(
        ResponseHeader::new(V14, 1_700_000_000),
        vec![ResponseBatchItem::success(&request, query)],
    )
    .to_ttlv(V14)
}

#[test]
fn query_information_is_typed_in_each_version() {
    let mut query = QueryResponse::default();
    for item in query_items() {
        query.push_information(&item, V21);
    }
    let tree = response_round_trip(V21, Operation::QUERY, query.clone().into());
    let back = ResponseMessage::from_ttlv(&tree).expect("decodes");
    let Some(ResponsePayload::Query(q)) = &back.batch_items[0].payload else {
        panic!("a Query payload")
    };
    assert_eq!(q.information(V21).expect("typed"), query_items());
    // 1.4: Extension Type is an Integer; Defaults Information, Protection Storage Masks and
    // Profile Version are 2.x and the version filter drops them.
    let mut query14 = QueryResponse::default();
    for mut item in query_items() {
        // Profile names are per version: 1.3 and 1.4 have their own.
        if let QueryInformation::Profile(p) = &mut item {
            p.profile_name = ProfileName::BASELINE_SERVER_BASIC_KMIP_V1_2;
        }
        query14.push_information(&item, V14);
    }
    let tree = query14_tree(query14);
    let back = ResponseMessage::from_ttlv(&tree).expect("decodes");
    let Some(ResponsePayload::Query(q)) = &back.batch_items[0].payload else {
        panic!("a Query payload")
    };
    let items = q.information(V14).expect("typed");
    assert!(has_tag(&tree, Tag::EXTENSION_TYPE));
    assert!(!has_tag(&tree, Tag::DEFAULTS_INFORMATION));
    assert!(!has_tag(&tree, Tag::PROFILE_VERSION));
    assert_eq!(items.len(), 5, "{items:?}");
    // A malformed item fails the response.
    let mut bad = QueryResponse::default();
    bad.other
        .push(Ttlv::structure(Tag::PROFILE_INFORMATION, vec![]));
    let message = ResponseMessage::new(
        ResponseHeader::new(V21, 1),
        vec![ResponseBatchItem::success(
            &RequestBatchItem::new(kmip_codec::model::QueryRequest::default()),
            bad,
        )],
    );
    let err = ResponseMessage::from_ttlv(&message.to_ttlv(V21)).expect_err("no Profile Name");
    assert!(matches!(
        err.kind(),
        ErrorKind::MissingField(Tag::PROFILE_NAME)
    ));
}
