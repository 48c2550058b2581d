//! Locate through the store's Locate index, on the real server: what a client changes by Add /
//! Modify / Delete Attribute, Destroy, Re-key and a Batch Undo is what the next Locate finds,
//! by Name, Object Group, Link and custom attribute, alone and together
//! (`server/src/store/locate_index.rs`; the answers against a full scan:
//! `server/src/ops/locate_tests.rs`).

use client::Connection;
use kmip_codec::enums::{
    BatchErrorContinuationOption, CryptographicAlgorithm, CryptographicUsageMask, LinkType,
    NameType, ObjectType, ResultStatus, State,
};
use kmip_codec::model::{
    AddAttributeRequest, Attribute, AttributeName, AttributeValue, Attributes, GetRequest, Link,
    Name, RequestBatchItem,
};
use kmip_codec::tags::Tag;
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::TestServer;

async fn connect(server: &TestServer) -> Connection {
    let config = server
        .client_config("acme")
        .expect("config")
        .with_protocol_version(ProtocolVersion::V1_4);
    client::Connector::new(config)
        .expect("connector")
        .connect()
        .await
        .expect("connect")
}

fn name(value: &str, index: Option<i32>) -> Attribute {
    Attribute {
        index,
        ..Attribute::new(
            Tag::NAME,
            AttributeValue::Name(Name {
                value: value.to_owned(),
                name_type: NameType::UNINTERPRETED_TEXT_STRING,
            }),
        )
    }
}

fn tag(value: &str, index: Option<i32>) -> Attribute {
    Attribute {
        index,
        ..Attribute::custom("x-tag", AttributeValue::TextString(value.to_owned()))
    }
}

fn group(value: &str) -> Attribute {
    Attribute::new(
        Tag::OBJECT_GROUP,
        AttributeValue::TextString(value.to_owned()),
    )
}

fn link(link_type: LinkType, uid: &str) -> Attribute {
    Attribute::new(
        Tag::LINK,
        AttributeValue::Link(Link {
            link_type,
            linked_object_identifier: uid.to_owned(),
        }),
    )
}

/// The answer naming `uid` alone.
fn one(uid: &str) -> Vec<String> {
    vec![uid.to_owned()]
}

/// The UIDs a Locate by `filters` answers.
async fn located(conn: &mut Connection, filters: Vec<Attribute>) -> Vec<String> {
    conn.locate(Attributes(filters), None, None)
        .await
        .expect("locate")
        .unique_identifiers
}

kms_tests::server_test! {
    async fn locate_follows_attribute_changes_rekey_destroy_and_undo(server) {
        let mut conn = connect(server).await;
        let mut attributes = Attributes::new();
        for a in [name("idx-a", None), group("idx-group"), tag("t1", None)] {
            attributes.push(a);
        }
        let k = conn
            .create_symmetric_key(
                CryptographicAlgorithm::AES,
                256,
                CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
                attributes,
            )
            .await
            .expect("create");
        let other = conn
            .create_symmetric_key(
                CryptographicAlgorithm::AES,
                128,
                CryptographicUsageMask::ENCRYPT,
                Attributes(vec![group("idx-group")]),
            )
            .await
            .expect("create");
        let by_type = Attribute::new(
            Tag::OBJECT_TYPE,
            AttributeValue::Enumeration(ObjectType::SYMMETRIC_KEY.0),
        );
        let by_length = Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(256));
        assert_eq!(located(&mut conn, vec![name("idx-a", None)]).await, one(&k));
        assert_eq!(located(&mut conn, vec![tag("t1", None)]).await, one(&k));
        // Both (their order, by Initial Date then UID, is the property test's).
        let mut both = located(&mut conn, vec![group("idx-group"), by_type.clone()]).await;
        both.sort();
        let mut expected = [k.clone(), other.clone()];
        expected.sort();
        assert_eq!(both, expected);
        assert_eq!(
            located(&mut conn, vec![group("idx-group"), by_length]).await,
            one(&k)
        );

        // Add Attribute: a second instance is found too.
        conn.add_attribute(&k, tag("t2", None)).await.expect("add");
        assert_eq!(located(&mut conn, vec![tag("t2", None)]).await, one(&k));
        assert_eq!(
            located(&mut conn, vec![tag("t1", None), tag("t2", None)]).await,
            one(&k)
        );
        // Modify Attribute: the old value is gone, the new one found.
        conn.modify_attribute(&k, None, tag("t3", Some(0))).await.expect("modify");
        assert!(located(&mut conn, vec![tag("t1", None)]).await.is_empty());
        assert_eq!(located(&mut conn, vec![tag("t3", None)]).await, one(&k));
        conn.modify_attribute(&k, None, name("idx-b", Some(0))).await.expect("modify name");
        assert!(located(&mut conn, vec![name("idx-a", None)]).await.is_empty());
        assert_eq!(located(&mut conn, vec![name("idx-b", None)]).await, one(&k));
        // Delete Attribute.
        conn.delete_attribute(&k, AttributeName::from_1x("x-tag"), Some(1))
            .await
            .expect("delete");
        assert!(located(&mut conn, vec![tag("t2", None)]).await.is_empty());
        assert_eq!(located(&mut conn, vec![tag("t3", None)]).await, one(&k));

        // Re-key: the Name moves to the replacement, the custom attribute is on both, the two
        // are linked.
        conn.activate(&k).await.expect("activate");
        let k2 = conn.rekey(&k, None).await.expect("re-key");
        assert_eq!(located(&mut conn, vec![name("idx-b", None)]).await, one(&k2));
        let mut carried = located(&mut conn, vec![tag("t3", None)]).await;
        carried.sort();
        let mut pair = [k.clone(), k2.clone()];
        pair.sort();
        assert_eq!(carried, pair);
        assert_eq!(
            located(&mut conn, vec![link(LinkType::REPLACEMENT_OBJECT_LINK, &k2)]).await,
            one(&k)
        );
        assert_eq!(
            located(&mut conn, vec![link(LinkType::REPLACED_OBJECT_LINK, &k)]).await,
            one(&k2)
        );

        // Destroy: no longer located, unless asked by State.
        conn.revoke(&k, kmip_codec::enums::RevocationReasonCode::CESSATION_OF_OPERATION, None)
            .await
            .expect("revoke");
        conn.destroy(&k).await.expect("destroy");
        // (Re-key carried x-tag t3 over to the replacement.)
        assert_eq!(located(&mut conn, vec![tag("t3", None)]).await, one(&k2));
        let destroyed = Attribute::new(Tag::STATE, AttributeValue::Enumeration(State::DESTROYED.0));
        assert_eq!(located(&mut conn, vec![tag("t3", None), destroyed]).await, one(&k));

        // Batch Undo: the attribute added then undone is not found.
        let items = vec![
            RequestBatchItem::new(AddAttributeRequest {
                unique_identifier: Some(k2.clone()),
                attribute: tag("undone", None),
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
        assert_eq!(statuses, [ResultStatus::OPERATION_UNDONE, ResultStatus::OPERATION_FAILED]);
        assert!(located(&mut conn, vec![tag("undone", None)]).await.is_empty());
        assert_eq!(located(&mut conn, vec![name("idx-b", None)]).await, one(&k2));
    }
}
