//! The remaining typed operations, each against a server that answers it in kind: what each
//! call puts in its request and what it returns.

use client::ClientError;
use kmip_codec::enums::{
    CryptographicAlgorithm, KeyFormatType, ObjectType, Operation, QueryFunction, ResultReason,
    RevocationReasonCode,
};
use kmip_codec::model::{
    ActivateResponse, AddAttributeResponse, Attribute, AttributeName, AttributeValue, Attributes,
    DeleteAttributeResponse, DestroyResponse, GetAttributeListResponse, GetResponse, KeyBlock,
    LocateResponse, ManagedObject, ModifyAttributeResponse, QueryResponse, ReKeyResponse,
    RegisterResponse, RequestBatchItem, RequestMessage, RequestPayload, ResponseBatchItem,
    ResponsePayload, RevokeResponse, RngRetrieveResponse, SymmetricKey,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Bytes;
use kmip_codec::version::ProtocolVersion;

use crate::scripted_server::{Reply, answer, connector, settings, start};

const KEY: [u8; 16] = [0xA5; 16];

fn aes_key() -> ManagedObject {
    ManagedObject::SymmetricKey(SymmetricKey {
        key_block: KeyBlock::raw(Bytes::from(&KEY[..]), CryptographicAlgorithm::AES, 128),
    })
}

fn uid(u: &Option<String>) -> String {
    u.clone().unwrap_or_default()
}

/// Answers every operation the client has a typed call for.
fn respond(item: &RequestBatchItem) -> ResponseBatchItem {
    let payload: ResponsePayload = match &item.payload {
        RequestPayload::Register(_) => RegisterResponse {
            unique_identifier: "reg-1".to_owned(),
            template_attribute: None,
        }
        .into(),
        RequestPayload::Get(g) => GetResponse {
            object_type: ObjectType::SYMMETRIC_KEY,
            unique_identifier: uid(&g.unique_identifier),
            object: aes_key(),
        }
        .into(),
        RequestPayload::Query(_) => QueryResponse {
            vendor_identification: Some("test".to_owned()),
            ..QueryResponse::default()
        }
        .into(),
        RequestPayload::GetAttributeList(g) => GetAttributeListResponse {
            unique_identifier: uid(&g.unique_identifier),
            attribute_names: vec![AttributeName::Standard(Tag::STATE)],
        }
        .into(),
        RequestPayload::AddAttribute(a) => AddAttributeResponse {
            unique_identifier: uid(&a.unique_identifier),
            attribute: None,
        }
        .into(),
        RequestPayload::ModifyAttribute(m) => ModifyAttributeResponse {
            unique_identifier: uid(&m.unique_identifier),
            attribute: None,
        }
        .into(),
        RequestPayload::DeleteAttribute(d) => DeleteAttributeResponse {
            unique_identifier: uid(&d.unique_identifier),
            attribute: None,
        }
        .into(),
        RequestPayload::Locate(_) => LocateResponse {
            located_items: Some(2),
            unique_identifiers: vec!["a".to_owned(), "b".to_owned()],
        }
        .into(),
        RequestPayload::Activate(a) => ActivateResponse {
            unique_identifier: uid(&a.unique_identifier),
        }
        .into(),
        RequestPayload::Revoke(r) => RevokeResponse {
            unique_identifier: uid(&r.unique_identifier),
        }
        .into(),
        RequestPayload::Destroy(d) => DestroyResponse {
            unique_identifier: uid(&d.unique_identifier),
        }
        .into(),
        RequestPayload::ReKey(_) => ReKeyResponse {
            unique_identifier: "rekeyed".to_owned(),
            template_attribute: None,
        }
        .into(),
        RequestPayload::RngRetrieve(r) => RngRetrieveResponse {
            data: Bytes::new(vec![1; usize::try_from(r.data_length).unwrap_or(0)]),
        }
        .into(),
        _ => return ResponseBatchItem::failure(item, ResultReason::OPERATION_NOT_SUPPORTED, None),
    };
    ResponseBatchItem::success(item, payload)
}

fn server(request: &RequestMessage) -> Reply {
    answer(request, respond)
}

/// The payload of the `n`th request the server saw.
fn nth(requests: &[RequestMessage], n: usize) -> &RequestPayload {
    &requests[n].batch_items[0].payload
}

#[tokio::test]
async fn each_typed_call_sends_its_payload_and_returns_the_answer() {
    for version in [
        ProtocolVersion::V1_1,
        ProtocolVersion::V1_4,
        ProtocolVersion::V2_1,
    ] {
        // RNG Retrieve and Offset Items are KMIP 1.3+.
        let with_rng = version >= ProtocolVersion::V1_3;
        let server = start(server).await;
        let mut c = connector(settings(&server).with_protocol_version(version))
            .connect()
            .await
            .expect("connect");
        let name = Attributes::new().with(
            Tag::OBJECT_GROUP,
            AttributeValue::TextString("g".to_owned()),
        );
        assert_eq!(
            c.register(aes_key(), name.clone()).await.expect("register"),
            "reg-1"
        );
        let got = c.get("reg-1", Some(KeyFormatType::RAW)).await.expect("get");
        let ManagedObject::SymmetricKey(k) = &got.object else {
            panic!("not a symmetric key");
        };
        let material = k.key_block.key_value.as_ref().and_then(|v| match v {
            kmip_codec::model::KeyValue::Plain { key_material, .. } => key_material.bytes(),
            _ => None,
        });
        assert_eq!(material.map(Bytes::as_slice), Some(&KEY[..]));
        assert!(
            !format!("{got:?}").contains("165"),
            "key bytes in Debug: {got:?}"
        );
        assert_eq!(
            c.query(&[QueryFunction::QUERY_OPERATIONS])
                .await
                .expect("query")
                .vendor_identification
                .as_deref(),
            Some("test")
        );
        assert_eq!(
            c.get_attribute_list("reg-1").await.expect("list"),
            vec![AttributeName::Standard(Tag::STATE)]
        );
        let contact = Attribute::new(
            Tag::CONTACT_INFORMATION,
            AttributeValue::TextString("ops".to_owned()),
        );
        c.add_attribute("reg-1", contact.clone())
            .await
            .expect("add");
        c.modify_attribute("reg-1", None, contact.clone())
            .await
            .expect("modify");
        c.delete_attribute(
            "reg-1",
            AttributeName::Standard(Tag::CONTACT_INFORMATION),
            None,
        )
        .await
        .expect("delete");
        let found = c.locate(name, Some(10), Some(1)).await.expect("locate");
        assert_eq!(found.unique_identifiers, vec!["a", "b"]);
        c.activate("reg-1").await.expect("activate");
        c.revoke(
            "reg-1",
            RevocationReasonCode::KEY_COMPROMISE,
            Some("lost".to_owned()),
        )
        .await
        .expect("revoke");
        assert_eq!(c.rekey("reg-1", Some(60)).await.expect("rekey"), "rekeyed");
        c.destroy("reg-1").await.expect("destroy");
        if with_rng {
            assert_eq!(c.rng_retrieve(24).await.expect("rng").len(), 24);
        } else {
            let err = c.rng_retrieve(24).await.unwrap_err();
            assert!(
                matches!(err, ClientError::NotInVersion { operation, .. } if operation == Operation::RNG_RETRIEVE),
                "{err:?}"
            );
            assert!(c.is_usable());
        }

        let r = server.requests();
        assert_eq!(r.len(), if with_rng { 13 } else { 12 }, "{version}");
        let RequestPayload::Register(reg) = nth(&r, 0) else {
            panic!("register")
        };
        assert_eq!(reg.object_type, ObjectType::SYMMETRIC_KEY);
        assert_eq!(reg.object, aes_key());
        assert!(reg.attributes.get(Tag::OBJECT_GROUP).is_some());
        let RequestPayload::Get(g) = nth(&r, 1) else {
            panic!("get")
        };
        assert_eq!(
            (g.unique_identifier.as_deref(), g.key_format_type),
            (Some("reg-1"), Some(KeyFormatType::RAW))
        );
        let RequestPayload::AddAttribute(a) = nth(&r, 4) else {
            panic!("add")
        };
        assert_eq!(a.attribute.value, contact.value);
        let RequestPayload::DeleteAttribute(d) = nth(&r, 6) else {
            panic!("delete")
        };
        assert_eq!(
            d.attribute_name,
            Some(AttributeName::Standard(Tag::CONTACT_INFORMATION))
        );
        let RequestPayload::Locate(l) = nth(&r, 7) else {
            panic!("locate")
        };
        // Offset Items is KMIP 1.3+.
        let offset = with_rng.then_some(1);
        assert_eq!((l.maximum_items, l.offset_items), (Some(10), offset));
        assert_eq!(
            l.attributes
                .get(Tag::OBJECT_GROUP)
                .and_then(AttributeValue::as_text),
            Some("g")
        );
        let RequestPayload::Revoke(rv) = nth(&r, 9) else {
            panic!("revoke")
        };
        assert_eq!(
            rv.revocation_reason.code,
            RevocationReasonCode::KEY_COMPROMISE
        );
        assert_eq!(rv.revocation_reason.message.as_deref(), Some("lost"));
        let RequestPayload::ReKey(rk) = nth(&r, 10) else {
            panic!("rekey")
        };
        assert_eq!(
            (rk.unique_identifier.as_deref(), rk.offset),
            (Some("reg-1"), Some(60))
        );
        if with_rng {
            let RequestPayload::RngRetrieve(rng) = nth(&r, 12) else {
                panic!("rng")
            };
            assert_eq!(rng.data_length, 24);
        }
    }
}
