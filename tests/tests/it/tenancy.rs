//! Tenant isolation end to end: an object of one tenant is, for another tenant, exactly like an
//! object that does not exist, for every operation that names an object (same Result Status,
//! Reason and Message), and Locate never finds it. Disabling a client or suspending a tenant
//! refuses the very next request, on connections already open.

use client::{CipherOptions, ClientError, Connection};
use kmip_codec::enums::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, NameType, PaddingMethod,
    ResultReason, ResultStatus, RevocationReasonCode, State,
};
use kmip_codec::model::{
    ActivateRequest, AddAttributeRequest, Attribute, AttributeName, AttributeValue, Attributes,
    CryptographicParameters, DecryptRequest, DeleteAttributeRequest, DestroyRequest,
    EncryptRequest, GetAttributeListRequest, GetAttributesRequest, GetRequest, GetResponse,
    ModifyAttributeRequest, Name, ReKeyRequest, RequestBatchItem, RequestPayload,
    ResponseBatchItem, RevocationReason, RevokeRequest,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::{CLIENT_NAME, TestServer};
use server::store::records::{ClientIdentity, ClientRecord, Role};

/// A Unique Identifier no object has, in the server's UID format.
const MISSING: &str = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";

/// acme's keys carry this Name (Locate by name must not find it for globex).
const ACME_NAME: &str = "acme-payroll-key";

/// The custom attribute acme sets (Modify / Delete Attribute target it).
const NOTE: &str = "x-Note";

pub(crate) const IV: [u8; 16] = [7; 16];

pub(crate) fn cbc() -> CryptographicParameters {
    CryptographicParameters {
        block_cipher_mode: Some(BlockCipherMode::CBC),
        padding_method: Some(PaddingMethod::PKCS5),
        cryptographic_algorithm: Some(CryptographicAlgorithm::AES),
        ..CryptographicParameters::default()
    }
}

pub(crate) fn note(value: &str) -> Attribute {
    Attribute::custom(NOTE, AttributeValue::TextString(value.to_owned()))
}

/// Every operation that names an object, aimed at `uid`, with what it needs besides.
fn every_operation(uid: &str, ciphertext: &[u8]) -> Vec<(&'static str, RequestPayload)> {
    let uid = Some(uid.to_owned());
    vec![
        (
            "Get",
            GetRequest {
                unique_identifier: uid.clone(),
                ..GetRequest::default()
            }
            .into(),
        ),
        (
            "Get Attributes",
            GetAttributesRequest {
                unique_identifier: uid.clone(),
                attribute_names: Vec::new(),
            }
            .into(),
        ),
        (
            "Get Attribute List",
            GetAttributeListRequest {
                unique_identifier: uid.clone(),
            }
            .into(),
        ),
        (
            "Add Attribute",
            AddAttributeRequest {
                unique_identifier: uid.clone(),
                attribute: Attribute::custom(
                    "x-Owner",
                    AttributeValue::TextString("globex".into()),
                ),
            }
            .into(),
        ),
        (
            "Modify Attribute",
            ModifyAttributeRequest {
                unique_identifier: uid.clone(),
                current_attribute: None,
                attribute: note("globex was here"),
            }
            .into(),
        ),
        (
            "Delete Attribute",
            DeleteAttributeRequest {
                unique_identifier: uid.clone(),
                current_attribute: None,
                attribute_name: Some(AttributeName::from_1x(NOTE)),
                attribute_index: None,
            }
            .into(),
        ),
        (
            "Activate",
            ActivateRequest {
                unique_identifier: uid.clone(),
            }
            .into(),
        ),
        (
            "Revoke",
            RevokeRequest {
                unique_identifier: uid.clone(),
                revocation_reason: RevocationReason {
                    code: RevocationReasonCode::CESSATION_OF_OPERATION,
                    message: None,
                },
                compromise_occurrence_date: None,
            }
            .into(),
        ),
        (
            "Destroy",
            DestroyRequest {
                unique_identifier: uid.clone(),
            }
            .into(),
        ),
        (
            "Re-Key",
            ReKeyRequest {
                unique_identifier: uid.clone(),
                ..ReKeyRequest::default()
            }
            .into(),
        ),
        (
            "Encrypt",
            EncryptRequest {
                unique_identifier: uid.clone(),
                cryptographic_parameters: Some(cbc()),
                data: Some(Bytes::new(b"sixteen byte msg".to_vec())),
                iv_counter_nonce: Some(IV.to_vec()),
                ..EncryptRequest::default()
            }
            .into(),
        ),
        (
            "Sign",
            kmip_codec::model::SignRequest {
                unique_identifier: uid.clone(),
                cryptographic_parameters: Some(CryptographicParameters {
                    digital_signature_algorithm: Some(
                        kmip_codec::enums::DigitalSignatureAlgorithm::ECDSA_WITH_SHA256,
                    ),
                    ..CryptographicParameters::default()
                }),
                data: Some(Bytes::new(b"sixteen byte msg".to_vec())),
                ..kmip_codec::model::SignRequest::default()
            }
            .into(),
        ),
        (
            "Signature Verify",
            kmip_codec::model::SignatureVerifyRequest {
                unique_identifier: uid.clone(),
                cryptographic_parameters: Some(CryptographicParameters {
                    digital_signature_algorithm: Some(
                        kmip_codec::enums::DigitalSignatureAlgorithm::ECDSA_WITH_SHA256,
                    ),
                    ..CryptographicParameters::default()
                }),
                data: Some(Bytes::new(b"sixteen byte msg".to_vec())),
                signature_data: Some(Bytes::new(vec![0x30, 0x00])),
                ..kmip_codec::model::SignatureVerifyRequest::default()
            }
            .into(),
        ),
        (
            "MAC",
            kmip_codec::model::MacRequest {
                unique_identifier: uid.clone(),
                data: Some(Bytes::new(b"sixteen byte msg".to_vec())),
                ..kmip_codec::model::MacRequest::default()
            }
            .into(),
        ),
        (
            "MAC Verify",
            kmip_codec::model::MacVerifyRequest {
                unique_identifier: uid.clone(),
                data: Some(Bytes::new(b"sixteen byte msg".to_vec())),
                mac_data: Some(Bytes::new(vec![0; 32])),
                ..kmip_codec::model::MacVerifyRequest::default()
            }
            .into(),
        ),
        (
            "Decrypt",
            DecryptRequest {
                unique_identifier: uid,
                cryptographic_parameters: Some(cbc()),
                data: Some(Bytes::new(ciphertext.to_vec())),
                iv_counter_nonce: Some(IV.to_vec()),
                ..DecryptRequest::default()
            }
            .into(),
        ),
    ]
}

/// The reason for a UID that names nothing: KMIP 2.0 added Object Not Found for it.
fn not_found(version: ProtocolVersion) -> ResultReason {
    if version.is_2x() {
        ResultReason::OBJECT_NOT_FOUND
    } else {
        ResultReason::ITEM_NOT_FOUND
    }
}

/// Sends one item and returns the reply item, whatever its status.
pub(crate) async fn answer(conn: &mut Connection, payload: RequestPayload) -> ResponseBatchItem {
    let request = conn.message(vec![RequestBatchItem::new(payload)]);
    let response = conn.request(&request).await.expect("a reply");
    let [item] = <[ResponseBatchItem; 1]>::try_from(response.batch_items).expect("one reply item");
    item
}

/// What globex may learn from a refusal: status, reason, message (the UID it sent replaced
/// by a placeholder) and whether a payload came back.
fn refusal(
    item: &ResponseBatchItem,
    uid: &str,
) -> (ResultStatus, Option<ResultReason>, Option<String>, bool) {
    (
        item.result_status,
        item.result_reason,
        item.result_message
            .as_ref()
            .map(|m| m.replace(uid, "<uid>")),
        item.payload.is_some(),
    )
}

/// acme's view of its key: the object and every attribute.
async fn snapshot(acme: &mut Connection, uid: &str) -> (GetResponse, Attributes) {
    let object = acme.get(uid, None).await.expect("acme reads its key");
    let attributes = acme
        .get_attributes(uid, Vec::new())
        .await
        .expect("acme reads its attributes");
    (object, attributes)
}

/// An acme AES key named `name` with an `x-Note`, activated or not.
async fn acme_key(acme: &mut Connection, name: &str, activate: bool) -> String {
    let attributes = Attributes::new().with(
        Tag::NAME,
        AttributeValue::Name(Name {
            value: name.to_owned(),
            name_type: NameType::UNINTERPRETED_TEXT_STRING,
        }),
    );
    let uid = acme
        .create_symmetric_key(
            CryptographicAlgorithm::AES,
            256,
            CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
            attributes,
        )
        .await
        .expect("acme creates a key");
    acme.add_attribute(&uid, note("acme's"))
        .await
        .expect("acme adds a note");
    if activate {
        acme.activate(&uid).await.expect("acme activates its key");
    }
    uid
}

async fn connect(server: &TestServer, tenant: &str, version: ProtocolVersion) -> Connection {
    let config = server
        .client_config(tenant)
        .expect("config")
        .with_protocol_version(version);
    client::Connector::new(config)
        .expect("connector")
        .connect()
        .await
        .expect("connect")
}

kms_tests::server_test! {
    async fn another_tenants_key_is_answered_as_a_missing_one_by_every_operation(server) {
        for version in [ProtocolVersion::V1_4, ProtocolVersion::V2_1] {
            let mut acme = connect(server, "acme", version).await;
            let mut globex = connect(server, "globex", version).await;
            let active = acme_key(&mut acme, &format!("{ACME_NAME}-{version}-a"), true).await;
            let pre_active = acme_key(&mut acme, &format!("{ACME_NAME}-{version}-p"), false).await;
            let ciphertext = acme
                .encrypt(
                    &active,
                    Bytes::new(b"sixteen byte msg".to_vec()),
                    CipherOptions {
                        parameters: Some(cbc()),
                        iv: Some(IV.to_vec()),
                        ..CipherOptions::default()
                    },
                )
                .await
                .expect("acme encrypts")
                .data
                .expect("ciphertext");
            for uid in [&active, &pre_active] {
                let before = snapshot(&mut acme, uid).await;
                let theirs_ops = every_operation(uid, ciphertext.as_slice());
                let missing_ops = every_operation(MISSING, ciphertext.as_slice());
                for ((op, theirs), (_, missing)) in theirs_ops.into_iter().zip(missing_ops) {
                    let what = format!("KMIP {version} {op} on acme's key");
                    let theirs = answer(&mut globex, theirs).await;
                    let missing = answer(&mut globex, missing).await;
                    assert_eq!(
                        refusal(&theirs, uid),
                        refusal(&missing, MISSING),
                        "{what}: differs from a missing UID"
                    );
                    assert_eq!(theirs.result_status, ResultStatus::OPERATION_FAILED, "{what}");
                    assert_eq!(theirs.result_reason, Some(not_found(version)), "{what}");
                }
                let after = snapshot(&mut acme, uid).await;
                assert_eq!(before, after, "KMIP {version}: acme's key changed");
            }
            let state = acme.get_attributes(&pre_active, vec![AttributeName::Standard(Tag::STATE)]).await;
            assert_eq!(state.expect("state").state(), Some(State::PRE_ACTIVE));
        }
    }
}

kms_tests::server_test! {
    async fn locate_never_finds_another_tenants_objects(server) {
        let mut acme = connect(server, "acme", ProtocolVersion::V1_4).await;
        let mut globex = connect(server, "globex", ProtocolVersion::V1_4).await;
        let theirs = acme_key(&mut acme, ACME_NAME, true).await;
        let ours = globex
            .create_symmetric_key(
                CryptographicAlgorithm::AES,
                256,
                CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
                Attributes::new(),
            )
            .await
            .expect("globex creates a key");
        let by_name = |name: &str| {
            Attributes::new().with(
                Tag::NAME,
                AttributeValue::Name(Name {
                    value: name.to_owned(),
                    name_type: NameType::UNINTERPRETED_TEXT_STRING,
                }),
            )
        };
        // By acme's Name: nothing, exactly as for a Name nobody uses; acme itself finds it.
        let found = globex.locate(by_name(ACME_NAME), None, None).await.expect("locate");
        let none = globex.locate(by_name("no-such-name"), None, None).await.expect("locate");
        assert!(found.unique_identifiers.is_empty(), "globex located acme's key by name");
        assert_eq!(found, none);
        let acme_found = acme.locate(by_name(ACME_NAME), None, None).await.expect("locate");
        assert_eq!(acme_found.unique_identifiers, std::slice::from_ref(&theirs), "acme finds its own key");

        // By attributes both keys share: only globex's own.
        for attributes in [
            Attributes::new(),
            Attributes::new().with(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                AttributeValue::Enumeration(CryptographicAlgorithm::AES.0),
            ),
            Attributes::new().with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(256)),
        ] {
            let found = globex.locate(attributes.clone(), None, None).await.expect("locate");
            assert_eq!(found.unique_identifiers, std::slice::from_ref(&ours), "globex locates {attributes:?}");
        }
        let mut by_note = Attributes::new();
        by_note.push(note("acme's"));
        let found = globex.locate(by_note.clone(), None, None).await.expect("locate");
        assert!(found.unique_identifiers.is_empty(), "globex located acme's key by x-Note");
        let acme_found = acme.locate(by_note, None, None).await.expect("locate");
        assert_eq!(acme_found.unique_identifiers, [theirs], "acme finds its key by x-Note");
    }
}

kms_tests::server_test! {
    async fn another_tenants_key_is_not_found(server) {
        let mut acme = server.client("acme").expect("acme").connect().await.expect("connect");
        let uid = acme
            .create_symmetric_key(
                CryptographicAlgorithm::AES,
                256,
                CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
                Attributes::new(),
            )
            .await
            .expect("acme creates a key");
        acme.get(&uid, None).await.expect("acme reads its key");

        let mut globex = server.client("globex").expect("globex").connect().await.expect("connect");
        let theirs = globex.get(&uid, None).await.expect_err("globex must not read acme's key");
        let missing = globex.get(MISSING, None).await.expect_err("no such key");
        assert_eq!(theirs.result_reason(), Some(ResultReason::ITEM_NOT_FOUND));
        assert_eq!(theirs.result_reason(), missing.result_reason());
        assert_eq!(theirs.to_string(), missing.to_string().replace(MISSING, &uid));
    }
}

/// True when the request was refused: a KMIP failure or a closed connection, never an answer.
fn refused(result: &Result<String, ClientError>) -> bool {
    match result {
        Ok(_) => false,
        Err(ClientError::Kmip { status, .. }) => *status != ResultStatus::SUCCESS,
        Err(_) => true,
    }
}

async fn create(conn: &mut Connection) -> Result<String, ClientError> {
    conn.create_symmetric_key(
        CryptographicAlgorithm::AES,
        128,
        CryptographicUsageMask::ENCRYPT,
        Attributes::new(),
    )
    .await
}

fn vcenter(tenant: &str, enabled: bool) -> ClientRecord {
    ClientRecord {
        tenant: Some(tenant.to_owned()),
        name: CLIENT_NAME.to_owned(),
        role: Role::KmipClient,
        identity: ClientIdentity::CaIssued,
        enabled,
        password_hash: None,
        created_at: 0,
    }
}

kms_tests::server_test! {
    async fn a_disabled_client_is_refused_on_its_open_connection(server) {
        let mut acme = connect(server, "acme", ProtocolVersion::V1_4).await;
        let mut globex = connect(server, "globex", ProtocolVersion::V1_4).await;
        create(&mut acme).await.expect("enabled client served");

        server.kms().tenancy().enroll_client(&server.setup(), vcenter("acme", false)).await.expect("disable");
        let result = create(&mut acme).await;
        assert!(refused(&result), "disabled client served on its open connection: {result:?}");
        // A fresh connection (possibly resuming the TLS session) is refused too.
        let mut fresh = server.client("acme").expect("connector").connect().await;
        if let Ok(conn) = fresh.as_mut() {
            let result = create(conn).await;
            assert!(refused(&result), "disabled client served on a new connection: {result:?}");
        }
        create(&mut globex).await.expect("another tenant's client still served");

        server.kms().tenancy().enroll_client(&server.setup(), vcenter("acme", true)).await.expect("enable");
        let mut again = connect(server, "acme", ProtocolVersion::V1_4).await;
        create(&mut again).await.expect("re-enabled client served");
    }
}

kms_tests::server_test! {
    async fn a_suspended_tenant_is_refused_on_its_open_connection(server) {
        let mut acme = connect(server, "acme", ProtocolVersion::V1_4).await;
        let mut globex = connect(server, "globex", ProtocolVersion::V1_4).await;
        let uid = create(&mut acme).await.expect("tenant served");

        let record = server.kms().tenancy().set_tenant_suspended(&server.setup(), "acme", true).await.expect("suspend");
        assert!(record.suspended);
        let result = create(&mut acme).await;
        assert!(refused(&result), "suspended tenant served on its open connection: {result:?}");
        if acme.is_usable() {
            let read = acme.get(&uid, None).await;
            assert!(read.is_err(), "suspended tenant read its key");
        }
        create(&mut globex).await.expect("another tenant still served");

        server.kms().tenancy().set_tenant_suspended(&server.setup(), "acme", false).await.expect("resume");
        let mut again = connect(server, "acme", ProtocolVersion::V1_4).await;
        again.get(&uid, None).await.expect("resumed tenant reads its key");
    }
}
