//! KMIP 2.1 Export and Import (issue 18) over real TLS against a real server on a real
//! SoftHSM token: an object leaves with its UID and attributes (plain, or wrapped under a key of
//! the tenant) and comes back under a given UID with its state, dates and names; a UID in use
//! anywhere is refused without saying where, unless Replace Existing names an object of the
//! caller's own tenant, which is then replaced; bad UIDs and impossible states are refused; the
//! trust for wrapping never arrives by import; a private key leaves wrapped and replaces another.

use client::{ClientError, Connection};
use kmip_codec::enums::{
    BlockCipherMode, CryptographicUsageMask, EncodingOption, ObjectType, ResultReason, State,
    WrappingMethod,
};
use kmip_codec::model::{
    Attribute, AttributeValue, Attributes, CryptographicParameters, ExportRequest, ExportResponse,
    ImportRequest, ImportResponse, KeyInformation, KeyWrappingSpecification, ResponsePayload,
};
use kmip_codec::tags::Tag;
use kms_tests::testbed::key_bytes;

use crate::wrapped_keys::connect_as;

const KEY: [u8; 32] = [0x33; 32];
const KEK: [u8; 32] = [0x44; 32];

fn name(value: &str) -> kmip_codec::model::Name {
    kmip_codec::model::Name {
        value: value.to_owned(),
        name_type: kmip_codec::enums::NameType::UNINTERPRETED_TEXT_STRING,
    }
}

/// Registers `bytes` as an active AES-256 key with `usage` and `extra` attributes.
pub(crate) async fn register_key(
    conn: &mut Connection,
    bytes: &[u8],
    usage: CryptographicUsageMask,
    extra: Attributes,
) -> String {
    let object = kmip_codec::model::ManagedObject::SymmetricKey(kmip_codec::model::SymmetricKey {
        key_block: kmip_codec::model::KeyBlock {
            key_format_type: kmip_codec::enums::KeyFormatType::RAW,
            key_compression_type: None,
            key_value: Some(kmip_codec::model::KeyValue::Plain {
                key_material: kmip_codec::model::KeyMaterial::Bytes(kmip_codec::ttlv::Bytes::from(
                    bytes,
                )),
                attributes: Attributes::new(),
            }),
            cryptographic_algorithm: Some(kmip_codec::enums::CryptographicAlgorithm::AES),
            cryptographic_length: Some(256),
            key_wrapping_data: None,
        },
    });
    let mut attributes = Attributes::new().with(
        Tag::CRYPTOGRAPHIC_USAGE_MASK,
        AttributeValue::Integer(usage.0 as i32),
    );
    for a in extra.iter() {
        attributes.push(a.clone());
    }
    let uid = conn.register(object, attributes).await.expect("register");
    conn.activate(&uid).await.expect("activate");
    uid
}

fn reason(e: &ClientError) -> Option<ResultReason> {
    match e {
        ClientError::Kmip { reason, .. } => *reason,
        _ => None,
    }
}

async fn export(
    conn: &mut Connection,
    request: ExportRequest,
) -> Result<ExportResponse, ClientError> {
    conn.call(request, |p| match p {
        ResponsePayload::Export(r) => Some(r),
        _ => None,
    })
    .await
}

async fn import(
    conn: &mut Connection,
    request: ImportRequest,
) -> Result<ImportResponse, ClientError> {
    conn.call(request, |p| match p {
        ResponsePayload::Import(r) => Some(r),
        _ => None,
    })
    .await
}

fn attribute<'a>(attributes: &'a Attributes, name: &str) -> Option<&'a Attribute> {
    attributes
        .iter()
        .find(|a| a.name.to_1x().as_deref() == Some(name))
}

/// The Import of `exported` under `uid`, its attributes as exported.
fn import_of(exported: &ExportResponse, uid: &str) -> ImportRequest {
    ImportRequest {
        unique_identifier: uid.to_owned(),
        object_type: Some(exported.object_type),
        replace_existing: None,
        key_wrap_type: None,
        attributes: exported.attributes.clone(),
        object: exported.object.clone(),
    }
}

kms_tests::server_test! {
    async fn an_exported_key_imports_under_its_uid_with_its_state_dates_and_names(server) {
        let mut conn = connect_as(server, "acme").await;
        let names = Attributes::new()
            .with(Tag::NAME, AttributeValue::Name(name("vm-42-kek")));
        let uid = register_key(&mut conn, &KEY, CryptographicUsageMask::ENCRYPT, names).await;
        conn.add_attribute(&uid, Attribute::custom("x-Vmware-vm", AttributeValue::TextString("vm-42".into())))
            .await
            .expect("x- attribute");
        let initial = conn.get_attributes(&uid, Vec::new()).await.expect("attributes");
        let initial_date = attribute(&initial, "Initial Date").and_then(|a| a.value.as_datetime()).expect("initial date");

        let exported = export(&mut conn, ExportRequest { unique_identifier: Some(uid.clone()), ..ExportRequest::default() })
            .await
            .expect("export");
        assert_eq!(exported.unique_identifier, uid);
        assert_eq!(exported.object_type, ObjectType::SYMMETRIC_KEY);
        assert_eq!(attribute(&exported.attributes, "State").and_then(|a| a.value.as_enumeration()), Some(State::ACTIVE.0));
        assert!(attribute(&exported.attributes, "x-Vmware-vm").is_some());

        // The UID is taken (here, or in any tenant): refused, the same way for every tenant.
        let e = import(&mut conn, import_of(&exported, &uid)).await.expect_err("same tenant");
        assert_eq!(reason(&e), Some(ResultReason::OBJECT_ALREADY_EXISTS), "{e}");
        server.add_tenant("umbrella").await.expect("tenant");
        let mut other = connect_as(server, "umbrella").await;
        let e = import(&mut other, import_of(&exported, &uid)).await.expect_err("another tenant");
        assert_eq!(reason(&e), Some(ResultReason::OBJECT_ALREADY_EXISTS), "{e}");
        assert!(!e.to_string().contains("acme"), "{e}");

        // Imported under a new UID in the other tenant: same bytes, state, dates, names.
        let moved = import(&mut other, import_of(&exported, "acme-vm-42-kek")).await.expect("import");
        assert_eq!(moved.unique_identifier, "acme-vm-42-kek");
        assert_eq!(key_bytes(&mut other, "acme-vm-42-kek").await, KEY);
        let got = other.get_attributes("acme-vm-42-kek", Vec::new()).await.expect("attributes");
        assert_eq!(attribute(&got, "State").and_then(|a| a.value.as_enumeration()), Some(State::ACTIVE.0));
        assert_eq!(attribute(&got, "Initial Date").and_then(|a| a.value.as_datetime()), Some(initial_date));
        assert!(attribute(&got, "x-Vmware-vm").is_some(), "x- attributes kept");
        let name = other.locate(Attributes::new().with(Tag::NAME, AttributeValue::Name(name("vm-42-kek"))), None, None)
            .await
            .expect("locate by name");
        assert_eq!(name.unique_identifiers, vec!["acme-vm-42-kek".to_owned()]);
        // ... and the first tenant never sees it.
        let e = conn.get("acme-vm-42-kek", None).await.expect_err("cross-tenant");
        assert_eq!(reason(&e), Some(ResultReason::OBJECT_NOT_FOUND), "{e}");
    }
}

kms_tests::server_test! {
    async fn a_wrapped_export_imports_unwrapped_in_the_server_and_bad_imports_are_refused(server) {
        let mut conn = connect_as(server, "acme").await;
        let uid = register_key(&mut conn, &KEY, CryptographicUsageMask::ENCRYPT, Attributes::new()).await;
        let kek = register_key(&mut conn, &KEK, CryptographicUsageMask::WRAP_KEY | CryptographicUsageMask::UNWRAP_KEY, Attributes::new()).await;
        let spec = KeyWrappingSpecification {
            wrapping_method: WrappingMethod::ENCRYPT,
            encryption_key_information: Some(KeyInformation {
                unique_identifier: kek.clone(),
                cryptographic_parameters: Some(CryptographicParameters {
                    block_cipher_mode: Some(BlockCipherMode::NISTKEYWRAP),
                    ..CryptographicParameters::default()
                }),
            }),
            mac_signature_key_information: None,
            attribute_names: Vec::new(),
            encoding_option: Some(EncodingOption::NO_ENCODING),
        };
        let exported = export(&mut conn, ExportRequest {
            unique_identifier: Some(uid.clone()),
            key_wrapping_specification: Some(spec),
            ..ExportRequest::default()
        })
        .await
        .expect("wrapped export");
        let imported = import(&mut conn, import_of(&exported, "round-trip")).await.expect("wrapped import");
        assert_eq!(imported.unique_identifier, "round-trip");
        assert_eq!(key_bytes(&mut conn, "round-trip").await, KEY);

        // Refusals, each before anything is stored.
        let plain = export(&mut conn, ExportRequest { unique_identifier: Some(uid.clone()), ..ExportRequest::default() })
            .await
            .expect("export");
        let e = import(&mut conn, import_of(&plain, "  ")).await.expect_err("blank UID");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
        let mut destroyed = import_of(&plain, "destroyed");
        destroyed.attributes = Attributes::new().with(Tag::STATE, AttributeValue::Enumeration(State::DESTROYED.0));
        let e = import(&mut conn, destroyed).await.expect_err("a destroyed object");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
        // The trust for wrapping is this installation's admin's to give, never an import's.
        let mut marked = import_of(&plain, "marked");
        marked.attributes.push(Attribute::custom("y-kms-trusted-for-wrapping", AttributeValue::Boolean(true)));
        import(&mut conn, marked).await.expect("import with a y- attribute");
        let got = conn.get_attributes("marked", Vec::new()).await.expect("attributes");
        assert!(attribute(&got, "y-kms-trusted-for-wrapping").is_none(), "the mark was dropped");
        for refused in ["destroyed"] {
            let e = conn.get(refused, None).await.expect_err("nothing stored");
            assert_eq!(reason(&e), Some(ResultReason::OBJECT_NOT_FOUND), "{refused}: {e}");
        }
    }
}

/// The plain PKCS#8 bytes of private key `uid`.
async fn pkcs8(conn: &mut Connection, uid: &str) -> Vec<u8> {
    crate::wrapped_keys::der(conn, uid, kmip_codec::enums::KeyFormatType::PKCS8).await
}

kms_tests::server_test! {
    async fn import_with_replace_existing_replaces_only_an_object_of_the_same_tenant(server) {
        let mut conn = connect_as(server, "acme").await;
        let old_name = Attributes::new().with(Tag::NAME, AttributeValue::Name(name("to-be-replaced")));
        let old = register_key(&mut conn, &KEY, CryptographicUsageMask::ENCRYPT, old_name).await;
        let new_bytes = [0x55u8; 32];
        let source = register_key(&mut conn, &new_bytes, CryptographicUsageMask::ENCRYPT, Attributes::new()).await;
        let exported = export(&mut conn, ExportRequest { unique_identifier: Some(source.clone()), ..ExportRequest::default() })
            .await
            .expect("export");

        // Another tenant naming the UID, with or without Replace Existing: the same answer as
        // any UID in use, and acme's key untouched.
        server.add_tenant("umbrella").await.expect("tenant");
        let mut other = connect_as(server, "umbrella").await;
        let plain_refusal = import(&mut other, import_of(&exported, &old)).await.expect_err("UID in use");
        let mut replace = import_of(&exported, &old);
        replace.replace_existing = Some(true);
        // The replacement takes the old object's Name: released and taken in one batch.
        replace.attributes.push(Attribute::new(Tag::NAME, AttributeValue::Name(name("to-be-replaced"))));
        let e = import(&mut other, replace.clone()).await.expect_err("another tenant's UID");
        assert_eq!(reason(&e), Some(ResultReason::OBJECT_ALREADY_EXISTS), "{e}");
        assert_eq!(e.to_string(), plain_refusal.to_string(), "indistinguishable from a UID in use");
        assert!(!e.to_string().contains("acme"), "{e}");
        assert_eq!(key_bytes(&mut conn, &old).await, KEY, "the other tenant changed nothing");

        // The same tenant replaces: the new material under the old UID and Name.
        let done = import(&mut conn, replace).await.expect("replace existing");
        assert_eq!(done.unique_identifier, old);
        assert_eq!(key_bytes(&mut conn, &old).await, new_bytes, "the replacement's material");
        let named = conn.locate(Attributes::new().with(Tag::NAME, AttributeValue::Name(name("to-be-replaced"))), None, None)
            .await
            .expect("locate the name");
        assert_eq!(named.unique_identifiers, vec![old.clone()], "one object holds the Name");
        let got = conn.get_attributes(&old, Vec::new()).await.expect("attributes");
        assert_eq!(attribute(&got, "State").and_then(|a| a.value.as_enumeration()), Some(State::ACTIVE.0));

        // Another object type under that UID: refused, the key kept.
        let pair = crate::asymmetric::create_pair(
            &mut conn,
            crate::asymmetric::request(
                crate::asymmetric::Spec::Ec(kmip_codec::enums::RecommendedCurve::P_256),
                CryptographicUsageMask::SIGN,
                CryptographicUsageMask::VERIFY,
                Attributes::new(),
                Attributes::new(),
            ),
        )
        .await
        .expect("EC pair");
        let public = export(&mut conn, ExportRequest { unique_identifier: Some(pair.public_key_unique_identifier.clone()), ..ExportRequest::default() })
            .await
            .expect("export the public key");
        let mut wrong_type = import_of(&public, &old);
        wrong_type.replace_existing = Some(true);
        let e = import(&mut conn, wrong_type).await.expect_err("another object type");
        assert_eq!(reason(&e), Some(ResultReason::INVALID_FIELD), "{e}");
        assert_eq!(key_bytes(&mut conn, &old).await, new_bytes);

        // A private key exported wrapped (RFC 5649 over PKCS#8) replaces another private key,
        // unwrapped in the server.
        let kek = register_key(&mut conn, &KEK, CryptographicUsageMask::WRAP_KEY | CryptographicUsageMask::UNWRAP_KEY, Attributes::new()).await;
        let second = crate::asymmetric::create_pair(
            &mut conn,
            crate::asymmetric::request(
                crate::asymmetric::Spec::Ec(kmip_codec::enums::RecommendedCurve::P_256),
                CryptographicUsageMask::SIGN,
                CryptographicUsageMask::VERIFY,
                Attributes::new(),
                Attributes::new(),
            ),
        )
        .await
        .expect("second EC pair");
        let expected = pkcs8(&mut conn, &second.private_key_unique_identifier).await;
        let first = pair.private_key_unique_identifier;
        assert_ne!(pkcs8(&mut conn, &first).await, expected);
        let spec = KeyWrappingSpecification {
            wrapping_method: WrappingMethod::ENCRYPT,
            encryption_key_information: Some(KeyInformation {
                unique_identifier: kek,
                cryptographic_parameters: Some(CryptographicParameters {
                    block_cipher_mode: Some(BlockCipherMode::AESKEYWRAPPADDING),
                    ..CryptographicParameters::default()
                }),
            }),
            mac_signature_key_information: None,
            attribute_names: Vec::new(),
            encoding_option: Some(EncodingOption::NO_ENCODING),
        };
        let wrapped = export(&mut conn, ExportRequest {
            unique_identifier: Some(second.private_key_unique_identifier.clone()),
            key_format_type: Some(kmip_codec::enums::KeyFormatType::PKCS8),
            key_wrapping_specification: Some(spec),
            ..ExportRequest::default()
        })
        .await
        .expect("wrapped export of a private key");
        let mut replace = import_of(&wrapped, &first);
        replace.replace_existing = Some(true);
        import(&mut conn, replace).await.expect("replace a private key with a wrapped one");
        assert_eq!(pkcs8(&mut conn, &first).await, expected, "the replacement's private key");

        // A backup hold keeps the material: the replacement is refused, nothing changed.
        let ops = crate::admin::operator(server).await;
        for service in ["console", "backup"] {
            let (status, body) = ops.post("/v1/platform/services", serde_json::json!({ "name": service })).await;
            assert_eq!(status, 201, "{body}");
        }
        let console = crate::platform::service(server, "console");
        let (status, body) = console
            .call("PUT", "/v1/tenants/acme/platform/subscription", Some(serde_json::json!({ "advanced_protection": true })))
            .await;
        assert_eq!(status, 200, "{body}");
        let backup = crate::platform::service(server, "backup");
        let hold = serde_json::json!({ "backup_set": "bs-1", "keys": [old.clone()], "retention_until": "2100-01-01T00:00:00Z" });
        let (status, body) = backup.post("/v1/tenants/acme/holds", hold).await;
        assert_eq!(status, 201, "{body}");
        let third = register_key(&mut conn, &[0x66; 32], CryptographicUsageMask::ENCRYPT, Attributes::new()).await;
        let third = export(&mut conn, ExportRequest { unique_identifier: Some(third), ..ExportRequest::default() })
            .await
            .expect("export");
        let mut held = import_of(&third, &old);
        held.replace_existing = Some(true);
        let e = import(&mut conn, held).await.expect_err("a held key replaced");
        assert_eq!(reason(&e), Some(ResultReason::PERMISSION_DENIED), "{e}");
        assert_eq!(key_bytes(&mut conn, &old).await, new_bytes, "the held material stays");

        // A key pending destruction (two-stage destroy) is not replaced: its erasure would
        // later take the replacement's material.
        let alice = crate::admin::Api::new(
            server,
            &server.admin_identity(server::store::records::Role::TenantAdmin, Some("acme"), "alice").await.expect("acme's admin"),
        );
        let (status, body) = alice
            .call("PUT", "/v1/tenants/acme/platform/destroy-grace", Some(serde_json::json!({ "destroy_grace_secs": 3600 })))
            .await;
        assert_eq!(status, 200, "{body}");
        let plain = kmip_codec::model::KeyValue::Plain {
            key_material: kmip_codec::model::KeyMaterial::Bytes(kmip_codec::ttlv::Bytes::from(&KEY[..])),
            attributes: Attributes::new(),
        };
        let pending = conn
            .register(crate::wrapped_keys::aes_object(plain, None), Attributes::new())
            .await
            .expect("register");
        conn.destroy(&pending).await.expect("destroy with a grace");
        let mut over_pending = import_of(&third, &pending);
        over_pending.replace_existing = Some(true);
        let e = import(&mut conn, over_pending).await.expect_err("a key pending destruction replaced");
        assert_eq!(reason(&e), Some(ResultReason::WRONG_KEY_LIFECYCLE_STATE), "{e}");
    }
}
