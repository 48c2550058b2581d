//! A key's export protections only tighten, over KMIP, whoever asks: Sensitive goes false ->
//! true and Extractable true -> false, never back, neither may be deleted, and Get keeps
//! refusing the material; Always Sensitive and Never Extractable are the facts the server
//! recorded, not the current values (KMIP 1.4 sections 3.48-3.51, 2.1 sections 4.3, 4.23, 4.33,
//! 4.55; `server/src/ops/protection.rs`).

use client::{ClientError, Connection};
use kmip_codec::enums::{
    BatchErrorContinuationOption, CryptographicAlgorithm, CryptographicUsageMask, ResultReason,
    ResultStatus,
};
use kmip_codec::model::{
    AddAttributeRequest, Attribute, AttributeName, AttributeValue, Attributes, GetRequest,
    ReKeyRequest, RequestBatchItem, ResponsePayload, SetAttributeRequest, TemplateAttribute,
};
use kmip_codec::tags::Tag;
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::TestServer;

const MASK: CryptographicUsageMask =
    CryptographicUsageMask(CryptographicUsageMask::ENCRYPT.0 | CryptographicUsageMask::DECRYPT.0);

async fn connect(server: &TestServer, version: ProtocolVersion) -> Connection {
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

async fn key(conn: &mut Connection, extra: Attributes) -> String {
    conn.create_symmetric_key(CryptographicAlgorithm::AES, 256, MASK, extra)
        .await
        .expect("create")
}

fn flag(tag: Tag, value: bool) -> Attribute {
    Attribute::new(tag, AttributeValue::Boolean(value))
}

/// The object's Boolean `tag`, as Get Attributes reports it.
async fn reported(conn: &mut Connection, uid: &str, tag: Tag) -> Option<bool> {
    let got = conn
        .get_attributes(uid, vec![AttributeName::Standard(tag)])
        .await
        .expect("get attributes");
    got.iter()
        .find(|a| a.tag() == Some(tag))
        .and_then(|a| a.value.as_bool())
}

/// The four protections as reported: (Sensitive, Extractable, Always Sensitive, Never
/// Extractable).
async fn protections(conn: &mut Connection, uid: &str) -> [Option<bool>; 4] {
    let mut out = [None; 4];
    for (slot, tag) in out.iter_mut().zip([
        Tag::SENSITIVE,
        Tag::EXTRACTABLE,
        Tag::ALWAYS_SENSITIVE,
        Tag::NEVER_EXTRACTABLE,
    ]) {
        *slot = reported(conn, uid, tag).await;
    }
    out
}

/// Refused as read-only: Attribute Read Only in 2.x, Permission Denied in 1.x.
fn assert_read_only<T: std::fmt::Debug>(
    result: Result<T, ClientError>,
    version: ProtocolVersion,
    what: &str,
) {
    let e = match result {
        Ok(ok) => panic!("{what}: the server accepted it: {ok:?}"),
        Err(e) => e,
    };
    let want = if version >= ProtocolVersion::V2_0 {
        ResultReason::ATTRIBUTE_READ_ONLY
    } else {
        ResultReason::PERMISSION_DENIED
    };
    assert_eq!(e.result_reason(), Some(want), "{what}: {e}");
}

async fn set(
    conn: &mut Connection,
    uid: &str,
    attribute: Attribute,
) -> Result<kmip_codec::model::SetAttributeResponse, ClientError> {
    conn.call(
        SetAttributeRequest {
            unique_identifier: Some(uid.to_owned()),
            attribute,
        },
        |p| match p {
            ResponsePayload::SetAttribute(r) => Some(r),
            _ => None,
        },
    )
    .await
}

/// Get of the plain material is refused with `want`.
async fn assert_get_refused(conn: &mut Connection, uid: &str, want: ResultReason, what: &str) {
    match conn.get(uid, None).await {
        Ok(_) => panic!("{what}: Get returned the key material"),
        Err(e) => assert_eq!(e.result_reason(), Some(want), "{what}: {e}"),
    }
}

/// Every way a client changes an attribute (Modify, Set in 2.x, Delete, a second Add) is
/// tried on a key made Sensitive and not Extractable; each is refused, the values stay, and Get
/// keeps refusing the material.
async fn assert_cannot_loosen(conn: &mut Connection, uid: &str, version: ProtocolVersion) {
    for (tag, loose) in [(Tag::SENSITIVE, false), (Tag::EXTRACTABLE, true)] {
        let modified = conn.modify_attribute(uid, None, flag(tag, loose)).await;
        assert_read_only(modified, version, &format!("Modify {tag:?}"));
        if version >= ProtocolVersion::V2_0 {
            let set = set(conn, uid, flag(tag, loose)).await;
            assert_read_only(set, version, &format!("Set {tag:?}"));
        }
        let deleted = conn
            .delete_attribute(uid, AttributeName::Standard(tag), None)
            .await;
        assert_read_only(deleted, version, &format!("Delete {tag:?}"));
        let added = conn.add_attribute(uid, flag(tag, loose)).await;
        assert!(added.is_err(), "a second {tag:?} was added: {added:?}");
    }
    let p = protections(conn, uid).await;
    assert_eq!((p[0], p[1]), (Some(true), Some(false)), "{version}");
    assert_get_refused(conn, uid, ResultReason::NOT_EXTRACTABLE, "not extractable").await;
}

kms_tests::server_test! {
    async fn sensitive_and_extractable_only_tighten(server) {
        for version in [ProtocolVersion::V1_4, ProtocolVersion::V2_1] {
            let mut conn = connect(server, version).await;

            // Made with the defaults, then tightened by Add Attribute.
            let uid = key(&mut conn, Attributes::new()).await;
            conn.get(&uid, None).await.expect("a default key is extractable");
            conn.add_attribute(&uid, flag(Tag::SENSITIVE, true))
                .await
                .expect("Sensitive false -> true");
            assert_get_refused(&mut conn, &uid, ResultReason::SENSITIVE, "sensitive").await;
            conn.modify_attribute(&uid, None, flag(Tag::SENSITIVE, true))
                .await
                .expect("restating Sensitive true");
            conn.add_attribute(&uid, flag(Tag::EXTRACTABLE, false))
                .await
                .expect("Extractable true -> false");
            assert_cannot_loosen(&mut conn, &uid, version).await;

            // Made protected.
            let uid = key(
                &mut conn,
                Attributes::new()
                    .with(Tag::SENSITIVE, AttributeValue::Boolean(true))
                    .with(Tag::EXTRACTABLE, AttributeValue::Boolean(false)),
            )
            .await;
            assert_cannot_loosen(&mut conn, &uid, version).await;

            // Tightened by Modify (2.x also by Set) on a key that has the instances.
            let uid = key(
                &mut conn,
                Attributes::new()
                    .with(Tag::SENSITIVE, AttributeValue::Boolean(false))
                    .with(Tag::EXTRACTABLE, AttributeValue::Boolean(true)),
            )
            .await;
            conn.modify_attribute(&uid, None, flag(Tag::SENSITIVE, true))
                .await
                .expect("modify Sensitive false -> true");
            if version >= ProtocolVersion::V2_0 {
                set(&mut conn, &uid, flag(Tag::EXTRACTABLE, false))
                    .await
                    .expect("set Extractable true -> false");
            } else {
                conn.modify_attribute(&uid, None, flag(Tag::EXTRACTABLE, false))
                    .await
                    .expect("modify Extractable true -> false");
            }
            assert_cannot_loosen(&mut conn, &uid, version).await;
        }
    }
}

kms_tests::server_test! {
    async fn always_sensitive_and_never_extractable_are_stored_facts(server) {
        for version in [ProtocolVersion::V1_4, ProtocolVersion::V2_1] {
            let mut conn = connect(server, version).await;
            let protected = key(
                &mut conn,
                Attributes::new()
                    .with(Tag::SENSITIVE, AttributeValue::Boolean(true))
                    .with(Tag::EXTRACTABLE, AttributeValue::Boolean(false)),
            )
            .await;
            assert_eq!(
                protections(&mut conn, &protected).await,
                [Some(true), Some(false), Some(true), Some(true)],
                "made protected: both facts true"
            );

            let plain = key(&mut conn, Attributes::new()).await;
            assert_eq!(
                protections(&mut conn, &plain).await,
                [Some(false), Some(true), Some(false), Some(false)],
                "made with the defaults"
            );
            conn.add_attribute(&plain, flag(Tag::SENSITIVE, true))
                .await
                .expect("tighten Sensitive");
            conn.add_attribute(&plain, flag(Tag::EXTRACTABLE, false))
                .await
                .expect("tighten Extractable");
            // Once Sensitive was false and Extractable true, the facts stay false for good.
            assert_eq!(
                protections(&mut conn, &plain).await,
                [Some(true), Some(false), Some(false), Some(false)],
                "the facts are the history, not the current values"
            );
            // The client cannot write the facts either.
            for tag in [Tag::ALWAYS_SENSITIVE, Tag::NEVER_EXTRACTABLE] {
                let modified = conn.modify_attribute(&plain, None, flag(tag, true)).await;
                assert_read_only(modified, version, &format!("Modify {tag:?}"));
                let added = conn.add_attribute(&plain, flag(tag, true)).await;
                assert_read_only(added, version, &format!("Add {tag:?}"));
            }
            assert_eq!(
                protections(&mut conn, &plain).await,
                [Some(true), Some(false), Some(false), Some(false)]
            );

            // The replacement of a protected key is protected, and its facts are its own: its
            // material has always been Sensitive and never Extractable.
            let replacement = conn.rekey(&plain, None).await.expect("re-key");
            assert_eq!(
                protections(&mut conn, &replacement).await,
                [Some(true), Some(false), Some(true), Some(true)],
                "the new key of a re-key"
            );
            assert_get_refused(&mut conn, &replacement, ResultReason::NOT_EXTRACTABLE, "new key")
                .await;
            // A Re-key template cannot make the replacement extractable.
            let loosened = conn
                .call(
                    ReKeyRequest {
                        unique_identifier: Some(replacement.clone()),
                        template_attribute: Some(TemplateAttribute {
                            names: Vec::new(),
                            attributes: Attributes::new()
                                .with(Tag::EXTRACTABLE, AttributeValue::Boolean(true)),
                        }),
                        ..ReKeyRequest::default()
                    },
                    |p| match p {
                        ResponsePayload::ReKey(r) => Some(r),
                        _ => None,
                    },
                )
                .await;
            assert!(loosened.is_err(), "re-key made an extractable copy: {loosened:?}");
        }
    }
}

kms_tests::server_test! {
    async fn batch_undo_does_not_loosen_protections(server) {
        let mut conn = connect(server, ProtocolVersion::V1_4).await;
        let uid = key(&mut conn, Attributes::new()).await;
        // Add Sensitive, then fail: Undo restores the record from before the batch, but not
        // its looser protection.
        let items = vec![
            RequestBatchItem::new(AddAttributeRequest {
                unique_identifier: Some(uid.clone()),
                attribute: flag(Tag::SENSITIVE, true),
            }),
            RequestBatchItem::new(GetRequest {
                unique_identifier: Some("no-such-object".to_owned()),
                ..GetRequest::default()
            }),
        ];
        let mut request = conn.message(items);
        request.header.batch_error_continuation_option = Some(BatchErrorContinuationOption::UNDO);
        let response = conn.request(&request).await.expect("batch");
        let statuses: Vec<_> = response.batch_items.iter().map(|i| i.result_status).collect();
        assert_eq!(
            statuses,
            [ResultStatus::OPERATION_UNDONE, ResultStatus::OPERATION_FAILED]
        );
        assert_eq!(reported(&mut conn, &uid, Tag::SENSITIVE).await, Some(true));
        assert_get_refused(&mut conn, &uid, ResultReason::SENSITIVE, "after the undo").await;
    }
}
