//! vCenter's Standard Key Provider, replayed as the public capture shows it
//! (`shared/docs/VMWARE.md`): KMIP 1.1 request headers without Authentication, Unique Batch
//! Item IDs "QLKC" + a 4-byte counter, a NEW TLS connection per step that starts with Discover
//! Versions twice, then Query, Create, Get Attributes / Add Attribute of the `x-` attributes,
//! Get, State, Activate.
//!
//! Every reply is checked on the wire: protocol version 1.1 in the header, every batch item ID
//! echoed in order, and no tag, item type, enumeration value, mask flag or attribute name that
//! KMIP 1.1 does not define (KMIP 1.1 clients break on them).

use client::{Connection, Connector, TlsVersions};
use kmip_codec::enums::{
    CryptographicAlgorithm, KeyFormatType, ObjectType, Operation, QueryFunction, ResultReason,
    ResultStatus, State,
};
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    ActivateRequest, AddAttributeRequest, Attribute, AttributeName, AttributeValue, Attributes,
    CreateRequest, DiscoverVersionsRequest, GetAttributeListRequest, GetAttributesRequest,
    GetRequest, KeyMaterial, KeyValue, ManagedObject, QueryRequest, RequestBatchItem,
    RequestMessage, RequestPayload, ResponseBatchItem, ResponseMessage, ResponsePayload,
    encode_request,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Ttlv;
use kmip_codec::ttlv::decode::decode;
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::TestServer;

mod version_check;

use version_check::undefined_in;

/// The version every vCenter request header carries.
const V1_1: ProtocolVersion = ProtocolVersion::V1_1;

/// vCenter's batch item ID prefix.
const ID_PREFIX: &[u8; 4] = b"QLKC";

/// The attributes vCenter tags a key with right after creating it (step 4/5).
const PRODUCT: [(&str, &str); 3] = [
    ("x-Product_Version", "7.0.3 build-19480866"),
    ("x-Vendor", "VMware, Inc."),
    ("x-Product", "VMware vSphere"),
];

/// The attributes vCenter tags a key with after activating it (step 9).
const CONSUMER: [(&str, &str); 3] = [
    ("x-Identifier", "564d7a2c-1b5e-8a4f-0c9d-3e2f1a0b9c8d"),
    ("x-Component", "Virtual Machine"),
    ("x-Name", "vm-finance-01"),
];

/// One reply: the decoded TTLV tree (for wire-level checks) and its typed batch items.
struct Reply {
    tree: Ttlv,
    items: Vec<ResponseBatchItem>,
}

/// A vCenter: one connector (TLS version fixed) and the batch item ID counter.
struct VCenter {
    connector: Connector,
    tls: rustls::ProtocolVersion,
    counter: u32,
    /// How each step's TLS handshake went, in order.
    handshakes: Vec<Option<client::HandshakeKind>>,
}

impl VCenter {
    fn new(server: &TestServer, tls: TlsVersions) -> Self {
        let config = server
            .client_config("acme")
            .expect("client config")
            .with_protocol_version(V1_1)
            .with_tls_versions(tls);
        let expected = match tls {
            TlsVersions::Tls12Only => rustls::ProtocolVersion::TLSv1_2,
            TlsVersions::Tls13Only | TlsVersions::Tls12And13 => rustls::ProtocolVersion::TLSv1_3,
        };
        Self {
            connector: Connector::new(config).expect("connector"),
            tls: expected,
            counter: 0,
            handshakes: Vec::new(),
        }
    }

    /// A batch item with the next "QLKC" + counter ID.
    fn item(&mut self, payload: RequestPayload) -> RequestBatchItem {
        self.counter += 1;
        let mut id = ID_PREFIX.to_vec();
        id.extend_from_slice(&self.counter.to_be_bytes());
        RequestBatchItem::new(payload).with_id(id)
    }

    /// One logical step as vCenter makes it: a new TLS connection, Discover Versions twice,
    /// then `payloads` as the batch items of ONE request message. Returns that message's reply.
    async fn step(&mut self, payloads: Vec<RequestPayload>) -> Reply {
        let mut conn = self.connector.connect().await.expect("TLS handshake");
        assert_eq!(conn.tls_version(), Some(self.tls), "negotiated TLS version");
        self.handshakes.push(conn.handshake_kind());
        for _ in 0..2 {
            let item = self.item(DiscoverVersionsRequest::default().into());
            let reply = exchange(&mut conn, vec![item]).await;
            check_discover_versions(&reply);
        }
        let items = payloads.into_iter().map(|p| self.item(p)).collect();
        let reply = exchange(&mut conn, items).await;
        // The reply is in; a failed close_notify changes nothing for vCenter.
        let _ = conn.close().await;
        reply
    }

    /// Step 4 / 9a: Get Attributes of each name in its own message (and connection); the
    /// attribute is absent, so each answer is Success with only the Unique Identifier.
    async fn get_absent_attributes(&mut self, uid: &str, names: &[(&str, &str)]) {
        for (name, _) in names {
            let reply = self.step(vec![get_attributes(uid, &[name])]).await;
            let item = only_success(&reply);
            let Some(ResponsePayload::GetAttributes(r)) = &item.payload else {
                panic!("Get Attributes {name}: payload {:?}", item.payload);
            };
            assert_eq!(r.unique_identifier, uid, "Get Attributes {name}: UID");
            assert!(
                r.attributes.is_empty(),
                "Get Attributes {name}: {:?}",
                r.attributes
            );
            let payload = payload_of(&reply.tree, 0);
            let tags: Vec<Tag> = payload.children().iter().map(|c| c.tag).collect();
            assert_eq!(
                tags,
                [Tag::UNIQUE_IDENTIFIER],
                "Get Attributes {name}: payload on the wire"
            );
        }
    }

    /// Step 5 / 9b: one Add Attribute message with one batch item per attribute; each item
    /// succeeds, is echoed under its own ID (checked by `exchange`) and names its attribute.
    async fn add_attributes(&mut self, uid: &str, values: &[(&str, &str)]) {
        let payloads = values
            .iter()
            .map(|(name, value)| {
                AddAttributeRequest {
                    unique_identifier: Some(uid.to_owned()),
                    attribute: text_attribute(name, value),
                }
                .into()
            })
            .collect();
        let reply = self.step(payloads).await;
        assert_eq!(
            reply.items.len(),
            values.len(),
            "one answer per Add Attribute item"
        );
        for (item, (name, value)) in reply.items.iter().zip(values) {
            assert_eq!(
                item.result_status,
                ResultStatus::SUCCESS,
                "Add Attribute {name}: {item:?}"
            );
            let Some(ResponsePayload::AddAttribute(r)) = &item.payload else {
                panic!("Add Attribute {name}: payload {:?}", item.payload);
            };
            assert_eq!(r.unique_identifier, uid, "Add Attribute {name}: UID");
            // KMIP 1.1 section 4.13: the response carries the attribute that was added.
            let echoed = r
                .attribute
                .as_ref()
                .expect("Add Attribute response names the attribute");
            assert_eq!(
                echoed.name,
                AttributeName::from_1x(name),
                "Add Attribute {name}: name"
            );
            assert_eq!(
                echoed.value.as_text(),
                Some(*value),
                "Add Attribute {name}: value"
            );
        }
    }

    /// Get Attributes of `State`.
    async fn state(&mut self, uid: &str) -> Option<State> {
        let reply = self.step(vec![get_attributes(uid, &["State"])]).await;
        let item = only_success(&reply);
        let Some(ResponsePayload::GetAttributes(r)) = &item.payload else {
            panic!("Get Attributes State: payload {:?}", item.payload);
        };
        assert_eq!(r.unique_identifier, uid);
        assert_eq!(
            r.attributes.len(),
            1,
            "exactly the State: {:?}",
            r.attributes
        );
        r.attributes.state()
    }
}

/// Sends `items` as one KMIP 1.1 request message (no Authentication) over `conn` and checks
/// the reply on the wire: decodes, protocol version 1.1, only what 1.1 defines, one item per
/// request item in order, each echoing its batch item ID and operation.
async fn exchange(conn: &mut Connection, items: Vec<RequestBatchItem>) -> Reply {
    let request = RequestMessage::new(V1_1, items);
    assert!(request.header.authentication.is_none());
    let answer = conn
        .send_raw(&encode_request(&request))
        .await
        .expect("an answer");
    let tree = decode(&answer, &Limits::DEFAULT).expect("the answer is TTLV");
    assert_eq!(tree.tag, Tag::RESPONSE_MESSAGE);
    let undefined = undefined_in(&tree, V1_1);
    assert!(
        undefined.is_empty(),
        "the reply to a 1.1 request holds what 1.1 does not define: {undefined:#?}"
    );
    let response = ResponseMessage::from_ttlv(&tree).expect("a Response Message");
    assert_eq!(
        response.header.protocol_version, V1_1,
        "reply's protocol version"
    );
    assert_eq!(
        response.batch_items.len(),
        request.batch_items.len(),
        "one reply item per request item"
    );
    for (sent, got) in request.batch_items.iter().zip(&response.batch_items) {
        assert_eq!(
            got.unique_batch_item_id, sent.unique_batch_item_id,
            "batch item ID echoed in place"
        );
        assert_eq!(got.operation, Some(sent.operation), "operation echoed");
    }
    Reply {
        tree,
        items: response.batch_items,
    }
}

/// The Response Payload of the `index`th batch item of a Response Message tree.
fn payload_of(tree: &Ttlv, index: usize) -> &Ttlv {
    tree.children_with(Tag::BATCH_ITEM)
        .nth(index)
        .and_then(|item| item.child(Tag::RESPONSE_PAYLOAD))
        .expect("a Response Payload")
}

/// The one batch item of a reply, which must have succeeded.
fn only_success(reply: &Reply) -> &ResponseBatchItem {
    let [item] = reply.items.as_slice() else {
        panic!("expected one batch item, got {}", reply.items.len());
    };
    assert_eq!(item.result_status, ResultStatus::SUCCESS, "{item:?}");
    item
}

/// Discover Versions: Success, 1.1 among the versions, newest first.
fn check_discover_versions(reply: &Reply) {
    let item = only_success(reply);
    let Some(ResponsePayload::DiscoverVersions(r)) = &item.payload else {
        panic!("Discover Versions: payload {:?}", item.payload);
    };
    assert!(
        r.protocol_versions.contains(&V1_1),
        "1.1 not offered: {:?}",
        r.protocol_versions
    );
    assert!(
        r.protocol_versions.windows(2).all(|w| w[0] > w[1]),
        "not newest first: {:?}",
        r.protocol_versions
    );
}

fn text_attribute(name: &str, value: &str) -> Attribute {
    Attribute::custom(name, AttributeValue::TextString(value.to_owned()))
}

fn get_attributes(uid: &str, names: &[&str]) -> RequestPayload {
    GetAttributesRequest {
        unique_identifier: Some(uid.to_owned()),
        attribute_names: names.iter().map(|n| AttributeName::from_1x(n)).collect(),
    }
    .into()
}

/// The whole flow of `docs/VMWARE.md` over TLS `tls`, then the added attributes read back.
async fn vcenter_flow(server: &TestServer, tls: TlsVersions) {
    let mut vc = VCenter::new(server, tls);

    // 1-2. Discover Versions (twice, inside `step`) and Query Server Information.
    let reply = vc
        .step(vec![
            QueryRequest {
                query_functions: vec![QueryFunction::QUERY_SERVER_INFORMATION],
                object_groups: Vec::new(),
            }
            .into(),
        ])
        .await;
    let item = only_success(&reply);
    let Some(ResponsePayload::Query(q)) = &item.payload else {
        panic!("Query: payload {:?}", item.payload);
    };
    assert!(
        q.vendor_identification
            .as_deref()
            .is_some_and(|v| !v.is_empty()),
        "Query Server Information without Vendor Identification"
    );

    // 3. Create: AES-256, Encrypt|Decrypt (12), no Name, no Activation Date.
    let attributes = Attributes::new()
        .with(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            AttributeValue::Enumeration(CryptographicAlgorithm::AES.0),
        )
        .with(Tag::CRYPTOGRAPHIC_LENGTH, AttributeValue::Integer(256))
        .with(Tag::CRYPTOGRAPHIC_USAGE_MASK, AttributeValue::Integer(12));
    let reply = vc
        .step(vec![
            CreateRequest {
                object_type: ObjectType::SYMMETRIC_KEY,
                attributes,
                template_names: Vec::new(),
                protection_storage_masks: None,
            }
            .into(),
        ])
        .await;
    let item = only_success(&reply);
    let Some(ResponsePayload::Create(created)) = &item.payload else {
        panic!("Create: payload {:?}", item.payload);
    };
    assert_eq!(created.object_type, ObjectType::SYMMETRIC_KEY);
    let uid = created.unique_identifier.clone();
    assert!(!uid.is_empty(), "empty Unique Identifier");

    // 4-5. The product attributes: absent, then added in one three-item message.
    vc.get_absent_attributes(&uid, &PRODUCT).await;
    vc.add_attributes(&uid, &PRODUCT).await;

    // 6. Get with the Unique Identifier only: Raw, 32 bytes, AES, 256, no attributes inside.
    let reply = vc
        .step(vec![
            GetRequest {
                unique_identifier: Some(uid.clone()),
                ..GetRequest::default()
            }
            .into(),
        ])
        .await;
    let item = only_success(&reply);
    let Some(ResponsePayload::Get(got)) = &item.payload else {
        panic!("Get: payload {:?}", item.payload);
    };
    assert_eq!(got.object_type, ObjectType::SYMMETRIC_KEY);
    assert_eq!(got.unique_identifier, uid);
    let ManagedObject::SymmetricKey(key) = &got.object else {
        panic!("Get: not a Symmetric Key");
    };
    let block = &key.key_block;
    assert_eq!(block.key_format_type, KeyFormatType::RAW, "Key Format Type");
    assert_eq!(
        block.cryptographic_algorithm,
        Some(CryptographicAlgorithm::AES)
    );
    assert_eq!(block.cryptographic_length, Some(256));
    assert!(
        block.key_wrapping_data.is_none(),
        "key wrapped without being asked"
    );
    match &block.key_value {
        Some(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(bytes),
            attributes,
        }) => {
            assert_eq!(bytes.len(), 32, "AES-256 key material length");
            assert!(attributes.is_empty(), "attributes inside the Key Value");
        }
        other => panic!("Get: Key Value {other:?}"),
    }
    let key_value = payload_of(&reply.tree, 0)
        .child(Tag::SYMMETRIC_KEY)
        .and_then(|k| k.child(Tag::KEY_BLOCK))
        .and_then(|b| b.child(Tag::KEY_VALUE))
        .expect("Key Value on the wire");
    let tags: Vec<Tag> = key_value.children().iter().map(|c| c.tag).collect();
    assert_eq!(
        tags,
        [Tag::KEY_MATERIAL],
        "Key Value on the wire holds only Key Material"
    );

    // 7-8. Pre-Active until Activate, Active after.
    assert_eq!(
        vc.state(&uid).await,
        Some(State::PRE_ACTIVE),
        "state after Create"
    );
    let reply = vc
        .step(vec![
            ActivateRequest {
                unique_identifier: Some(uid.clone()),
            }
            .into(),
        ])
        .await;
    only_success(&reply);
    assert_eq!(
        vc.state(&uid).await,
        Some(State::ACTIVE),
        "state after Activate"
    );

    // 9. The consumer attributes, as in 4-5.
    vc.get_absent_attributes(&uid, &CONSUMER).await;
    vc.add_attributes(&uid, &CONSUMER).await;

    // Read back: every added value is stored (vCenter would not notice a lost one).
    let all: Vec<&str> = PRODUCT.iter().chain(&CONSUMER).map(|(n, _)| *n).collect();
    let reply = vc.step(vec![get_attributes(&uid, &all)]).await;
    let item = only_success(&reply);
    let Some(ResponsePayload::GetAttributes(r)) = &item.payload else {
        panic!("Get Attributes: payload {:?}", item.payload);
    };
    for (name, value) in PRODUCT.iter().chain(&CONSUMER) {
        let stored = r.attributes.get_by_name(&AttributeName::from_1x(name));
        assert_eq!(
            stored.and_then(AttributeValue::as_text),
            Some(*value),
            "{name} read back"
        );
    }
    assert_eq!(
        r.attributes.len(),
        all.len(),
        "one instance each: {:?}",
        r.attributes
    );

    // Not vCenter's, but what other 1.x clients do: every attribute, and the attribute list,
    // hold only what 1.1 defines (checked by `exchange`), the x- attributes among them.
    let reply = vc.step(vec![get_attributes(&uid, &[])]).await;
    let item = only_success(&reply);
    let Some(ResponsePayload::GetAttributes(r)) = &item.payload else {
        panic!("Get Attributes (all): payload {:?}", item.payload);
    };
    assert_eq!(r.attributes.state(), Some(State::ACTIVE));
    for (name, value) in PRODUCT.iter().chain(&CONSUMER) {
        let stored = r.attributes.get_by_name(&AttributeName::from_1x(name));
        assert_eq!(
            stored.and_then(AttributeValue::as_text),
            Some(*value),
            "{name} among all"
        );
    }
    let reply = vc
        .step(vec![
            GetAttributeListRequest {
                unique_identifier: Some(uid.clone()),
            }
            .into(),
        ])
        .await;
    let item = only_success(&reply);
    let Some(ResponsePayload::GetAttributeList(list)) = &item.payload else {
        panic!("Get Attribute List: payload {:?}", item.payload);
    };
    assert!(
        list.attribute_names
            .contains(&AttributeName::Standard(Tag::STATE))
    );
    assert!(
        list.attribute_names
            .contains(&AttributeName::from_1x("x-Vendor"))
    );

    // A connection per step is affordable only with resumption: after the first full
    // handshake, every later connection resumes the session.
    let (first, rest) = vc.handshakes.split_first().expect("connections were made");
    assert_eq!(*first, Some(client::HandshakeKind::Full), "first handshake");
    let full = rest
        .iter()
        .filter(|k| **k != Some(client::HandshakeKind::Resumed))
        .count();
    assert_eq!(
        full,
        0,
        "{full} of {} later handshakes not resumed",
        rest.len()
    );
}

kms_tests::server_test! {
    async fn vcenter_flow_over_tls12(server) {
        vcenter_flow(server, TlsVersions::Tls12Only).await;
    }
}

kms_tests::server_test! {
    async fn vcenter_flow_over_tls13(server) {
        vcenter_flow(server, TlsVersions::Tls13Only).await;
    }
}

kms_tests::server_test! {
    async fn a_failure_in_1_1_is_answered_in_1_1_with_the_batch_id(server) {
        let mut vc = VCenter::new(server, TlsVersions::Tls12Only);
        let missing = "00000000-0000-0000-0000-00000000beef";
        // `step` checks the version, the echoed ID and that 1.1 defines everything in it.
        let reply = vc
            .step(vec![
                GetRequest {
                    unique_identifier: Some(missing.to_owned()),
                    ..GetRequest::default()
                }
                .into(),
            ])
            .await;
        let [item] = reply.items.as_slice() else {
            panic!("one reply item expected");
        };
        assert_eq!(item.result_status, ResultStatus::OPERATION_FAILED);
        assert_eq!(item.result_reason, Some(ResultReason::ITEM_NOT_FOUND));
        assert_eq!(item.operation, Some(Operation::GET));
        let id = item.unique_batch_item_id.as_deref().expect("batch item ID echoed");
        assert_eq!(id.get(..4), Some(&ID_PREFIX[..]), "vCenter's prefix kept");
        assert!(item.payload.is_none(), "a failed item carries no payload");
    }
}
