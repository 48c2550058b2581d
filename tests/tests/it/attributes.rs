//! What a client may change in an existing object's attributes: the "Modifiable by client" and
//! "Deletable by client" rows of the attribute rule tables (KMIP 1.4 section 3, 2.1 section 4),
//! and the server-maintained Usage Limits Count (1.4 section 3.21, 2.1 section 4.59).

use client::{CipherOptions, ClientError, Connection};
use kmip_codec::enums::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, PaddingMethod, ResultReason,
    UsageLimitsUnit,
};
use kmip_codec::model::{
    Attribute, AttributeName, AttributeValue, Attributes, CryptographicParameters, ResponsePayload,
    SetAttributeRequest, UsageLimits,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::TestServer;

/// A Deactivation Date far in the future (2100-01-01), so the key stays Pre-Active / Active.
const LATER: i64 = 4_102_444_800;

const MASK: CryptographicUsageMask =
    CryptographicUsageMask(CryptographicUsageMask::ENCRYPT.0 | CryptographicUsageMask::DECRYPT.0);

pub(crate) async fn connect(server: &TestServer, version: ProtocolVersion) -> Connection {
    let config = server
        .client_config("acme")
        .expect("config")
        .with_protocol_version(version);
    client::Connector::new(config)
        .expect("connector")
        .connect()
        .await
        .expect("connect")
}

/// A Pre-Active AES key with the usage mask [`MASK`] and the `extra` attributes.
async fn key(conn: &mut Connection, extra: Attributes) -> String {
    conn.create_symmetric_key(CryptographicAlgorithm::AES, 256, MASK, extra)
        .await
        .expect("create")
}

/// The object's value of `tag`, if it has one.
async fn value(conn: &mut Connection, uid: &str, tag: Tag) -> Option<AttributeValue> {
    let got = conn
        .get_attributes(uid, vec![AttributeName::Standard(tag)])
        .await
        .expect("get attributes");
    got.iter()
        .find(|a| a.tag() == Some(tag))
        .map(|a| a.value.clone())
}

/// Refused as read-only: Attribute Read Only in 2.x, Permission Denied in 1.x.
fn assert_read_only<T: std::fmt::Debug>(result: Result<T, ClientError>, version: ProtocolVersion) {
    let e = result.expect_err("the server must refuse");
    let want = if version >= ProtocolVersion::V2_0 {
        ResultReason::ATTRIBUTE_READ_ONLY
    } else {
        ResultReason::PERMISSION_DENIED
    };
    assert_eq!(e.result_reason(), Some(want), "{e}");
}

/// Refused with General Failure (a Quantum Safe claim the server does not hold true).
fn assert_general_failure<T: std::fmt::Debug>(result: Result<T, ClientError>) {
    let e = result.expect_err("the server must refuse");
    assert_eq!(
        e.result_reason(),
        Some(ResultReason::GENERAL_FAILURE),
        "{e}"
    );
}

fn mask_value(mask: CryptographicUsageMask) -> AttributeValue {
    AttributeValue::Integer(i32::from_be_bytes(mask.0.to_be_bytes()))
}

fn limits(total: i64, count: Option<i64>) -> AttributeValue {
    AttributeValue::UsageLimits(UsageLimits {
        total,
        count,
        unit: UsageLimitsUnit::OBJECT,
    })
}

fn count_of(v: Option<AttributeValue>) -> (i64, Option<i64>) {
    match v {
        Some(AttributeValue::UsageLimits(u)) => (u.total, u.count),
        other => panic!("no Usage Limits: {other:?}"),
    }
}

kms_tests::server_test! {
    async fn lifecycle_dates_and_usage_mask_are_not_deletable(server) {
        for version in [ProtocolVersion::V1_4, ProtocolVersion::V2_1] {
            let mut conn = connect(server, version).await;
            let uid = key(
                &mut conn,
                Attributes::new()
                    .with(Tag::DEACTIVATION_DATE, AttributeValue::DateTime(LATER))
                    .with(Tag::PROCESS_START_DATE, AttributeValue::DateTime(LATER))
                    .with(Tag::PROTECT_STOP_DATE, AttributeValue::DateTime(LATER)),
            )
            .await;
            // Activation Date: added while Pre-Active (allowed), then not deletable.
            conn.add_attribute(
                &uid,
                Attribute::new(Tag::ACTIVATION_DATE, AttributeValue::DateTime(LATER)),
            )
            .await
            .expect("add activation date");
            for tag in [
                Tag::ACTIVATION_DATE,
                Tag::DEACTIVATION_DATE,
                Tag::PROCESS_START_DATE,
                Tag::PROTECT_STOP_DATE,
                Tag::CRYPTOGRAPHIC_USAGE_MASK,
            ] {
                let before = value(&mut conn, &uid, tag).await;
                assert!(before.is_some(), "{tag:?} set before the delete");
                let deleted = conn
                    .delete_attribute(&uid, AttributeName::Standard(tag), None)
                    .await;
                assert_read_only(deleted, version);
                assert_eq!(value(&mut conn, &uid, tag).await, before, "{tag:?} kept");
            }
        }
    }
}

kms_tests::server_test! {
    async fn usage_mask_is_not_modifiable_by_a_client(server) {
        for version in [ProtocolVersion::V1_4, ProtocolVersion::V2_1] {
            let mut conn = connect(server, version).await;
            let uid = key(&mut conn, Attributes::new()).await;
            let wider = Attribute::new(
                Tag::CRYPTOGRAPHIC_USAGE_MASK,
                mask_value(CryptographicUsageMask(u32::MAX >> 1)),
            );
            let modified = conn.modify_attribute(&uid, None, wider.clone()).await;
            assert_read_only(modified, version);
            if version >= ProtocolVersion::V2_0 {
                let set = conn
                    .call(
                        SetAttributeRequest {
                            unique_identifier: Some(uid.clone()),
                            attribute: wider.clone(),
                        },
                        |p| match p {
                            ResponsePayload::SetAttribute(r) => Some(r),
                            _ => None,
                        },
                    )
                    .await;
                assert_read_only(set, version);
            }
            assert_eq!(
                value(&mut conn, &uid, Tag::CRYPTOGRAPHIC_USAGE_MASK).await,
                Some(mask_value(MASK))
            );
            // The dates stay modifiable: a Deactivation Date can be added and changed.
            let date = |t| Attribute::new(Tag::DEACTIVATION_DATE, AttributeValue::DateTime(t));
            conn.add_attribute(&uid, date(LATER)).await.expect("add date");
            conn.modify_attribute(&uid, None, date(LATER + 60))
                .await
                .expect("modify date");
            assert_eq!(
                value(&mut conn, &uid, Tag::DEACTIVATION_DATE).await,
                Some(AttributeValue::DateTime(LATER + 60))
            );
        }
    }
}

kms_tests::server_test! {
    async fn usage_limits_count_is_server_maintained(server) {
        let mut conn = connect(server, ProtocolVersion::V1_4).await;
        let uid = key(
            &mut conn,
            Attributes::new().with(Tag::USAGE_LIMITS, limits(2, None)),
        )
        .await;
        conn.activate(&uid).await.expect("activate");
        let options = || CipherOptions {
            parameters: Some(CryptographicParameters {
                block_cipher_mode: Some(BlockCipherMode::CBC),
                padding_method: Some(PaddingMethod::PKCS5),
                cryptographic_algorithm: Some(CryptographicAlgorithm::AES),
                ..CryptographicParameters::default()
            }),
            iv: Some(vec![7; 16]),
            ..CipherOptions::default()
        };
        let data = || Bytes::new(b"sixteen byte msg".to_vec());
        conn.encrypt(&uid, data(), options()).await.expect("first use");
        conn.encrypt(&uid, data(), options()).await.expect("second use");
        assert_eq!(count_of(value(&mut conn, &uid, Tag::USAGE_LIMITS).await), (2, Some(0)));
        // The client restates the Total with a fresh Count: the Count stays the server's.
        let reset = Attribute::new(Tag::USAGE_LIMITS, limits(2, Some(2)));
        conn.modify_attribute(&uid, None, reset).await.expect("modify usage limits");
        assert_eq!(count_of(value(&mut conn, &uid, Tag::USAGE_LIMITS).await), (2, Some(0)));
        assert!(conn.encrypt(&uid, data(), options()).await.is_err(), "still exhausted");
        // Nor can it drop the spent limits and start over.
        let deleted = conn
            .delete_attribute(&uid, AttributeName::Standard(Tag::USAGE_LIMITS), None)
            .await;
        assert_read_only(deleted, ProtocolVersion::V1_4);
        // Raising the Total grants exactly the extra uses.
        let raised = Attribute::new(Tag::USAGE_LIMITS, limits(3, Some(3)));
        conn.modify_attribute(&uid, None, raised).await.expect("raise the total");
        assert_eq!(count_of(value(&mut conn, &uid, Tag::USAGE_LIMITS).await), (3, Some(1)));
        conn.encrypt(&uid, data(), options()).await.expect("the granted use");
        assert!(conn.encrypt(&uid, data(), options()).await.is_err(), "exhausted again");
    }
}

kms_tests::server_test! {
    async fn unused_usage_limits_may_be_set_and_deleted(server) {
        let mut conn = connect(server, ProtocolVersion::V2_1).await;
        let uid = key(&mut conn, Attributes::new()).await;
        conn.add_attribute(&uid, Attribute::new(Tag::USAGE_LIMITS, limits(5, Some(1))))
            .await
            .expect("add usage limits");
        assert_eq!(count_of(value(&mut conn, &uid, Tag::USAGE_LIMITS).await), (5, Some(5)));
        conn.call(
            SetAttributeRequest {
                unique_identifier: Some(uid.clone()),
                attribute: Attribute::new(Tag::USAGE_LIMITS, limits(7, Some(0))),
            },
            |p| match p {
                ResponsePayload::SetAttribute(r) => Some(r),
                _ => None,
            },
        )
        .await
        .expect("set usage limits");
        assert_eq!(count_of(value(&mut conn, &uid, Tag::USAGE_LIMITS).await), (7, Some(7)));
        conn.delete_attribute(&uid, AttributeName::Standard(Tag::USAGE_LIMITS), None)
            .await
            .expect("delete unused usage limits");
        assert_eq!(value(&mut conn, &uid, Tag::USAGE_LIMITS).await, None);
    }
}

kms_tests::server_test! {
    async fn quantum_safe_is_accepted_only_for_keys_the_server_holds_quantum_safe(server) {
        let mut conn = connect(server, ProtocolVersion::V2_1).await;
        let quantum_safe = |on| Attribute::new(Tag::QUANTUM_SAFE, AttributeValue::Boolean(on));
        // An AES-256 key may be Quantum Safe; the flag is kept.
        let aes_256 = conn
            .create_symmetric_key(
                CryptographicAlgorithm::AES,
                256,
                MASK,
                Attributes::new().with(Tag::QUANTUM_SAFE, AttributeValue::Boolean(true)),
            )
            .await
            .expect("create a quantum-safe AES-256 key");
        assert_eq!(
            value(&mut conn, &aes_256, Tag::QUANTUM_SAFE).await,
            Some(AttributeValue::Boolean(true))
        );
        // An AES-128 key may not (QS-M-2): nothing is made.
        let before = conn.locate(Attributes::new(), None, None).await.expect("locate").unique_identifiers.len();
        assert_general_failure(
            conn.create_symmetric_key(
                CryptographicAlgorithm::AES,
                128,
                MASK,
                Attributes::new().with(Tag::QUANTUM_SAFE, AttributeValue::Boolean(true)),
            )
            .await,
        );
        assert_eq!(conn.locate(Attributes::new(), None, None).await.expect("locate").unique_identifiers.len(), before);
        // Nor become so later, by Add, Modify or Set Attribute; Quantum Safe false is fine.
        let aes_128 = conn
            .create_symmetric_key(
                CryptographicAlgorithm::AES,
                128,
                MASK,
                Attributes::new().with(Tag::QUANTUM_SAFE, AttributeValue::Boolean(false)),
            )
            .await
            .expect("create an AES-128 key that claims nothing");
        assert_general_failure(conn.add_attribute(&aes_128, quantum_safe(true)).await);
        assert_general_failure(conn.modify_attribute(&aes_128, None, quantum_safe(true)).await);
        assert_general_failure(
            conn.call(
                SetAttributeRequest {
                    unique_identifier: Some(aes_128.clone()),
                    attribute: quantum_safe(true),
                },
                |p| match p {
                    ResponsePayload::SetAttribute(r) => Some(r),
                    _ => None,
                },
            )
            .await,
        );
        assert_eq!(
            value(&mut conn, &aes_128, Tag::QUANTUM_SAFE).await,
            Some(AttributeValue::Boolean(false))
        );
    }
}
