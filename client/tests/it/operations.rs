//! Typed operations and batches: what goes on the wire, how answers are checked.

use client::{CipherOptions, ClientError};
use kmip_codec::enums::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, ObjectType, Operation,
    ResultReason, ResultStatus,
};
use kmip_codec::model::{
    Attribute, AttributeName, AttributeValue, Attributes, CreateResponse, Credential,
    CryptographicParameters, DecryptResponse, EncryptResponse, GetAttributesResponse, Password,
    RequestBatchItem, RequestMessage, RequestPayload, ResponseBatchItem,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;

use crate::scripted_server::{Reply, answer, connector, settings, start};

/// Answers Create with "key-<n>" where n is the batch position, and everything else with
/// Item Not Found.
fn create_server(request: &RequestMessage) -> Reply {
    let mut n = 0;
    answer(request, |item| match &item.payload {
        RequestPayload::Create(_) => {
            n += 1;
            ResponseBatchItem::success(
                item,
                CreateResponse {
                    object_type: ObjectType::SYMMETRIC_KEY,
                    unique_identifier: format!("key-{n}"),
                    template_attribute: None,
                },
            )
        }
        _ => ResponseBatchItem::failure(
            item,
            ResultReason::ITEM_NOT_FOUND,
            Some("no such object".to_owned()),
        ),
    })
}

#[tokio::test]
async fn create_symmetric_key_sends_the_attributes_in_each_protocol_version() {
    for version in [
        ProtocolVersion::V1_1,
        ProtocolVersion::V1_4,
        ProtocolVersion::V2_1,
    ] {
        let server = start(create_server).await;
        let mut conn = connector(settings(&server).with_protocol_version(version))
            .connect()
            .await
            .expect("connect");
        let name = Attributes::new().with(
            Tag::OBJECT_GROUP,
            AttributeValue::TextString("vm-42".to_owned()),
        );
        let uid = conn
            .create_symmetric_key(
                CryptographicAlgorithm::AES,
                256,
                CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
                name,
            )
            .await
            .expect("create");
        assert_eq!(uid, "key-1");

        let requests = server.requests();
        let request = requests.first().expect("one request");
        assert_eq!(request.version(), version);
        let item = request.batch_items.first().expect("one item");
        assert_eq!(item.operation, Operation::CREATE);
        assert_eq!(
            item.unique_batch_item_id.as_deref(),
            Some(&[0, 0, 0, 1][..])
        );
        let RequestPayload::Create(create) = &item.payload else {
            panic!("not a Create: {:?}", item.payload);
        };
        assert_eq!(create.object_type, ObjectType::SYMMETRIC_KEY);
        let attrs = &create.attributes;
        assert_eq!(
            attrs.cryptographic_algorithm(),
            Some(CryptographicAlgorithm::AES)
        );
        assert_eq!(attrs.cryptographic_length(), Some(256));
        assert_eq!(attrs.cryptographic_usage_mask(), Some(0x0C));
        assert_eq!(
            attrs
                .get(Tag::OBJECT_GROUP)
                .and_then(AttributeValue::as_text),
            Some("vm-42")
        );
    }
}

#[tokio::test]
async fn a_failed_item_is_a_kmip_error_with_reason_and_message() {
    let server = start(create_server).await;
    let mut conn = connector(settings(&server))
        .connect()
        .await
        .expect("connect");
    let err = conn.get("nope", None).await.unwrap_err();
    match &err {
        ClientError::Kmip {
            operation,
            status,
            reason,
            message,
        } => {
            assert_eq!(*operation, Operation::GET);
            assert_eq!(*status, ResultStatus::OPERATION_FAILED);
            assert_eq!(*reason, Some(ResultReason::ITEM_NOT_FOUND));
            assert_eq!(message.as_deref(), Some("no such object"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.result_reason(), Some(ResultReason::ITEM_NOT_FOUND));
    // A KMIP failure leaves the connection usable.
    assert!(conn.is_usable());
    assert_eq!(
        conn.activate("x").await.unwrap_err().result_reason(),
        Some(ResultReason::ITEM_NOT_FOUND)
    );
}

#[tokio::test]
async fn every_header_carries_the_version_and_credential() {
    let server = start(create_server).await;
    let settings = settings(&server)
        .with_protocol_version(ProtocolVersion::V1_1)
        .with_username_password("vc01", Password::new("s3cret-pw".to_owned()));
    assert!(!format!("{settings:?}").contains("s3cret-pw"));
    let mut conn = connector(settings).connect().await.expect("connect");
    conn.create_symmetric_key(
        CryptographicAlgorithm::AES,
        128,
        CryptographicUsageMask::ENCRYPT,
        Attributes::new(),
    )
    .await
    .expect("create");
    let _ = conn.destroy("key-1").await;
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.header.protocol_version, ProtocolVersion::V1_1);
        let auth = r.header.authentication.as_ref().expect("authentication");
        match auth.credentials.as_slice() {
            [Credential::UsernameAndPassword { username, password }] => {
                assert_eq!(username, "vc01");
                assert_eq!(password.as_ref().map(Password::expose), Some("s3cret-pw"));
            }
            other => panic!("unexpected credentials {other:?}"),
        }
    }
}

fn three_creates() -> Vec<RequestBatchItem> {
    (0..3)
        .map(|_| {
            RequestBatchItem::new(kmip_codec::model::CreateRequest {
                object_type: ObjectType::SYMMETRIC_KEY,
                attributes: Attributes::new(),
                template_names: Vec::new(),
                protection_storage_masks: None,
            })
        })
        .collect()
}

#[tokio::test]
async fn batch_items_get_distinct_ids_and_answers_may_come_in_any_order() {
    let server = start(|request| {
        let Reply::Message(mut m) = create_server(request) else {
            unreachable!()
        };
        m.batch_items.reverse();
        Reply::Message(m)
    })
    .await;
    let mut conn = connector(settings(&server))
        .connect()
        .await
        .expect("connect");
    let answers = conn.batch(three_creates()).await.expect("batch");
    let ids: Vec<_> = answers
        .iter()
        .map(|a| a.unique_batch_item_id.clone().expect("id"))
        .collect();
    assert_eq!(
        ids,
        vec![vec![0, 0, 0, 3], vec![0, 0, 0, 2], vec![0, 0, 0, 1]]
    );
    // The counter goes on across requests of the connection.
    conn.batch(three_creates()).await.expect("second batch");
    let sent: Vec<_> = server.requests()[1]
        .batch_items
        .iter()
        .map(|i| i.unique_batch_item_id.clone().expect("id"))
        .collect();
    assert_eq!(
        sent,
        vec![vec![0, 0, 0, 4], vec![0, 0, 0, 5], vec![0, 0, 0, 6]]
    );
}

#[tokio::test]
async fn answers_with_wrong_missing_or_repeated_ids_are_refused() {
    type Mangle = fn(&mut Vec<ResponseBatchItem>);
    let cases: [(Mangle, &str); 4] = [
        (
            |items| items[0].unique_batch_item_id = Some(b"zzzz".to_vec()),
            "batch item ID not in the request",
        ),
        (
            |items| items[1].unique_batch_item_id = None,
            "batch item ID not echoed",
        ),
        (
            |items| items[2].unique_batch_item_id = items[0].unique_batch_item_id.clone(),
            "batch item answered twice",
        ),
        (
            |items| {
                items[1].operation = Some(Operation::ACTIVATE);
                items[1].payload = None;
            },
            "batch item answers another operation",
        ),
    ];
    for (mangle, expected) in cases {
        let server = start(move |request| {
            let Reply::Message(mut m) = create_server(request) else {
                unreachable!()
            };
            mangle(&mut m.batch_items);
            Reply::Message(m)
        })
        .await;
        let mut conn = connector(settings(&server))
            .connect()
            .await
            .expect("connect");
        let err = conn.batch(three_creates()).await.unwrap_err();
        assert!(
            matches!(err, ClientError::UnexpectedResponse(m) if m == expected),
            "{expected}: {err:?}"
        );
    }
}

#[tokio::test]
async fn without_ids_a_batch_is_matched_by_position() {
    let server = start(create_server).await;
    let mut conn = connector(settings(&server).with_batch_item_ids(false))
        .connect()
        .await
        .expect("connect");
    let answers = conn.batch(three_creates()).await.expect("batch");
    assert_eq!(answers.len(), 3);
    assert!(
        server.requests()[0]
            .batch_items
            .iter()
            .all(|i| i.unique_batch_item_id.is_none())
    );
}

#[tokio::test]
async fn encrypt_and_decrypt_carry_parameters_iv_aad_and_tag() {
    let server = start(|request| {
        answer(request, |item| match &item.payload {
            RequestPayload::Encrypt(e) => ResponseBatchItem::success(
                item,
                EncryptResponse {
                    unique_identifier: e.unique_identifier.clone().unwrap_or_default(),
                    data: e.data.clone(),
                    iv_counter_nonce: Some(vec![9; 12]),
                    correlation_value: None,
                    authenticated_encryption_tag: Some(vec![7; 16]),
                },
            ),
            RequestPayload::Decrypt(d) => ResponseBatchItem::success(
                item,
                DecryptResponse {
                    unique_identifier: d.unique_identifier.clone().unwrap_or_default(),
                    data: d.data.clone(),
                    correlation_value: None,
                },
            ),
            _ => ResponseBatchItem::failure(item, ResultReason::OPERATION_NOT_SUPPORTED, None),
        })
    })
    .await;
    let mut conn = connector(settings(&server))
        .connect()
        .await
        .expect("connect");
    let gcm = CryptographicParameters {
        block_cipher_mode: Some(BlockCipherMode::GCM),
        tag_length: Some(16),
        ..CryptographicParameters::default()
    };
    let sealed = conn
        .encrypt(
            "k1",
            Bytes::from(&b"plain"[..]),
            CipherOptions {
                parameters: Some(gcm.clone()),
                aad: Some(b"header".to_vec()),
                ..CipherOptions::default()
            },
        )
        .await
        .expect("encrypt");
    assert_eq!(sealed.iv_counter_nonce, Some(vec![9; 12]));
    assert_eq!(sealed.authenticated_encryption_tag, Some(vec![7; 16]));
    let opened = conn
        .decrypt(
            "k1",
            sealed.data.clone().expect("data"),
            CipherOptions {
                parameters: Some(gcm.clone()),
                iv: sealed.iv_counter_nonce.clone(),
                aad: Some(b"header".to_vec()),
                tag: sealed.authenticated_encryption_tag.clone(),
            },
        )
        .await
        .expect("decrypt");
    assert_eq!(opened.as_slice(), b"plain");

    let requests = server.requests();
    let RequestPayload::Decrypt(d) = &requests[1].batch_items[0].payload else {
        panic!("not a Decrypt");
    };
    assert_eq!(d.unique_identifier.as_deref(), Some("k1"));
    assert_eq!(d.cryptographic_parameters.as_ref(), Some(&gcm));
    assert_eq!(d.iv_counter_nonce, Some(vec![9; 12]));
    assert_eq!(
        d.authenticated_encryption_additional_data,
        Some(b"header".to_vec())
    );
    assert_eq!(d.authenticated_encryption_tag, Some(vec![7; 16]));
    // Key and data bytes never show in Debug output.
    assert!(!format!("{d:?}").contains("plain"));
}

#[tokio::test]
async fn get_attributes_round_trips_in_1x_and_2x() {
    for version in [ProtocolVersion::V1_4, ProtocolVersion::V2_1] {
        let server = start(|request| {
            answer(request, |item| {
                let RequestPayload::GetAttributes(g) = &item.payload else {
                    return ResponseBatchItem::failure(item, ResultReason::INVALID_MESSAGE, None);
                };
                let attributes = g
                    .attribute_names
                    .iter()
                    .map(|n| Attribute {
                        name: n.clone(),
                        index: None,
                        value: AttributeValue::Integer(128),
                    })
                    .collect();
                ResponseBatchItem::success(
                    item,
                    GetAttributesResponse {
                        unique_identifier: g.unique_identifier.clone().unwrap_or_default(),
                        attributes,
                    },
                )
            })
        })
        .await;
        let mut conn = connector(settings(&server).with_protocol_version(version))
            .connect()
            .await
            .expect("connect");
        let attrs = conn
            .get_attributes(
                "k9",
                vec![AttributeName::Standard(Tag::CRYPTOGRAPHIC_LENGTH)],
            )
            .await
            .expect("get attributes");
        assert_eq!(attrs.cryptographic_length(), Some(128), "{version}");
    }
}

#[tokio::test]
async fn an_answer_of_another_operation_is_refused() {
    let server = start(create_server).await;
    let mut conn = connector(settings(&server).with_batch_item_ids(false))
        .connect()
        .await
        .expect("connect");
    // The caller expects a Query payload but the Create is answered with a Create payload.
    let err = conn
        .call(
            kmip_codec::model::CreateRequest {
                object_type: ObjectType::SYMMETRIC_KEY,
                attributes: Attributes::new(),
                template_names: Vec::new(),
                protection_storage_masks: None,
            },
            |p| match p {
                kmip_codec::model::ResponsePayload::Query(q) => Some(q),
                _ => None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::UnexpectedResponse("payload of another operation")
        ),
        "{err:?}"
    );
}
