//! `Debug` of TTLV trees and model types never shows key material or passwords.

use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Ttlv, Value};

const KEY: [u8; 16] = [0xA5; 16];
const PASSWORD: &str = "correct horse battery staple";

#[test]
fn debug_of_a_tree_redacts_key_material_big_integers_and_passwords() {
    let tree = Ttlv::structure(
        Tag::REQUEST_MESSAGE,
        vec![
            Ttlv::structure(
                Tag::KEY_VALUE,
                vec![Ttlv::new(
                    Tag::KEY_MATERIAL,
                    Value::ByteString(KEY.to_vec().into()),
                )],
            ),
            Ttlv::new(Tag::PASSWORD, Value::TextString(PASSWORD.to_owned())),
            Ttlv::new(
                Tag::PRIVATE_EXPONENT,
                Value::BigInteger(KEY.to_vec().into()),
            ),
        ],
    );
    let shown = format!("{tree:?} {:?}", tree.children());
    assert!(!shown.contains(PASSWORD), "password leaked: {shown}");
    for needle in ["a5a5", "A5A5", "165, 165"] {
        assert!(!shown.contains(needle), "key bytes leaked: {shown}");
    }
    // The structure is still visible.
    assert!(
        shown.contains("Key Material") || shown.contains("KeyMaterial"),
        "{shown}"
    );
}

/// The typed forms of the newer operations and objects keep their secrets out of `Debug`, and
/// the pretty-printer redacts them in the tree: transparent private keys, Derivation Data,
/// PKCS#11 parameters, MAC / signature / hash inputs.
#[test]
fn debug_of_typed_secrets_shows_only_lengths() {
    use kmip_codec::enums::{
        CryptographicAlgorithm, DerivationMethod, KeyFormatType, ObjectType, Pkcs11Function,
    };
    use kmip_codec::model::{
        Attributes, CryptographicParameters, DerivationParameters, DeriveKeyRequest, KeyBlock,
        KeyMaterial, KeyValue, MacRequest, ManagedObject, Object, Pkcs11FunctionId, Pkcs11Request,
        PrivateKey, RequestBatchItem, RequestMessage, RequestPayload, Streaming, TransparentKey,
        TransparentRsaPrivateKey,
    };
    use kmip_codec::pretty::Redacted;
    use kmip_codec::version::ProtocolVersion;

    let secret = || kmip_codec::ttlv::Bytes::new(KEY.to_vec());
    let rsa = TransparentKey::RsaPrivate(Box::new(TransparentRsaPrivateKey {
        modulus: secret(),
        private_exponent: Some(secret()),
        ..TransparentRsaPrivateKey::default()
    }));
    let key = Object::PrivateKey(PrivateKey {
        key_block: KeyBlock {
            key_format_type: KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY,
            key_compression_type: None,
            key_value: Some(KeyValue::Plain {
                key_material: KeyMaterial::from_transparent(&rsa),
                attributes: Attributes::new(),
            }),
            cryptographic_algorithm: Some(CryptographicAlgorithm::RSA),
            cryptographic_length: Some(128),
            key_wrapping_data: None,
        },
    });
    let v = ProtocolVersion::V2_1;
    let derive = DeriveKeyRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        unique_identifiers: vec!["k".into()],
        derivation_method: DerivationMethod::PBKDF2,
        derivation_parameters: DerivationParameters {
            derivation_data: vec![kmip_codec::ttlv::Bytes::new(PASSWORD.as_bytes().to_vec())],
            ..DerivationParameters::default()
        },
        attributes: Attributes::new(),
        template_names: Vec::new(),
    };
    let pkcs11 = Pkcs11Request {
        pkcs11_interface: None,
        pkcs11_function: Pkcs11FunctionId::Standard(Pkcs11Function::C_INITIALIZE),
        correlation_value: None,
        pkcs11_input_parameters: Some(kmip_codec::ttlv::Bytes::new(PASSWORD.as_bytes().to_vec())),
    };
    let mac = MacRequest {
        unique_identifier: None,
        cryptographic_parameters: Some(CryptographicParameters::default()),
        data: Some(secret()),
        streaming: Streaming::default(),
    };
    let items: Vec<RequestPayload> = vec![derive.into(), pkcs11.into(), mac.into()];
    let message = RequestMessage::new(v, items.into_iter().map(RequestBatchItem::new).collect());
    let tree = message.to_ttlv();
    let shown = format!(
        "{key:?} {rsa:?} {message:?} {} {:?}",
        Redacted(&tree),
        ManagedObject::from_object(key.clone(), v)
    );
    let password_hex: String = PASSWORD.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(!shown.contains(PASSWORD), "password leaked: {shown}");
    assert!(
        !shown.contains(&password_hex[..16]),
        "password bytes leaked: {shown}"
    );
    for needle in ["a5a5", "A5A5", "165, 165"] {
        assert!(!shown.contains(needle), "key bytes leaked: {shown}");
    }
    assert!(shown.contains("Derivation Data"), "{shown}");
}
