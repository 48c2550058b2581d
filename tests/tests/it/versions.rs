//! Answers stay in the request's protocol version: an operation the version does not define is
//! refused (not performed), and a message whose TTLV is broken past its header is answered in
//! the version its header names (vCenter breaks on anything but 1.1).

use kmip_codec::enums::{Operation, Pkcs11Function, QueryFunction, ResultReason, ResultStatus};
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    Pkcs11FunctionId, Pkcs11Request, QueryRequest, RequestBatchItem, RequestMessage,
    ResponseMessage, ResponsePayload, RngRetrieveRequest, decode_response, encode_request,
};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Ttlv, Value};
use kmip_codec::version::ProtocolVersion;

/// The same request bytes with another Protocol Version Minor.
fn relabel_minor(bytes: &[u8], minor: i32) -> Vec<u8> {
    let mut tree = kmip_codec::ttlv::decode::decode(bytes, &Limits::DEFAULT).expect("request");
    let set = |t: &mut Ttlv| -> Option<()> {
        let Value::Structure(top) = &mut t.value else {
            return None;
        };
        let header = top.iter_mut().find(|c| c.tag == Tag::REQUEST_HEADER)?;
        let Value::Structure(h) = &mut header.value else {
            return None;
        };
        let version = h.iter_mut().find(|c| c.tag == Tag::PROTOCOL_VERSION)?;
        let Value::Structure(v) = &mut version.value else {
            return None;
        };
        let m = v
            .iter_mut()
            .find(|c| c.tag == Tag::PROTOCOL_VERSION_MINOR)?;
        m.value = Value::Integer(minor);
        Some(())
    };
    set(&mut tree).expect("a request header with a version");
    kmip_codec::ttlv::encode::encode(&tree)
}

async fn exchange(server: &kms_tests::testbed::TestServer, bytes: &[u8]) -> ResponseMessage {
    let mut c = server
        .client("acme")
        .expect("client")
        .connect()
        .await
        .expect("connect");
    let answer = c.send_raw(bytes).await.expect("answer");
    decode_response(&answer, &Limits::DEFAULT).expect("a KMIP response")
}

kms_tests::server_test! {
    async fn an_operation_the_version_lacks_is_refused_in_that_version(server) {
        // Our encoder would drop the operation 1.1 lacks, so build it in 1.2 and relabel.
        let request = RequestMessage::new(
            ProtocolVersion::V1_2,
            vec![RequestBatchItem::new(RngRetrieveRequest { data_length: 16 }).with_id(*b"QLKC\0\0\0\x01")],
        );
        let bytes = relabel_minor(&encode_request(&request), 1);
        let response = exchange(server, &bytes).await;
        assert_eq!(response.header.protocol_version, ProtocolVersion::V1_1);
        let item = &response.batch_items[0];
        assert_eq!(item.operation, Some(Operation::RNG_RETRIEVE));
        assert_eq!(item.result_status, ResultStatus::OPERATION_FAILED);
        assert_eq!(item.result_reason, Some(ResultReason::OPERATION_NOT_SUPPORTED));
        assert_eq!(item.unique_batch_item_id.as_deref(), Some(&b"QLKC\0\0\0\x01"[..]));
        // The same request in 1.2, where RNG Retrieve exists, succeeds.
        let request = RequestMessage::new(
            ProtocolVersion::V1_2,
            vec![RequestBatchItem::new(RngRetrieveRequest { data_length: 16 })],
        );
        let response = exchange(server, &encode_request(&request)).await;
        assert_eq!(response.batch_items[0].result_status, ResultStatus::SUCCESS);
    }
}

kms_tests::server_test! {
    async fn broken_ttlv_after_a_1_1_header_is_answered_in_1_1(server) {
        let request = RequestMessage::new(
            ProtocolVersion::V1_1,
            vec![RequestBatchItem::new(RngRetrieveRequest { data_length: 16 })],
        );
        let mut bytes = encode_request(&request);
        let last = bytes.len() - 1;
        bytes[last] = 0xFF; // non-zero padding: the frame is fine, the TTLV inside is not
        let response = exchange(server, &bytes).await;
        assert_eq!(response.header.protocol_version, ProtocolVersion::V1_1);
        assert_eq!(
            response.batch_items[0].result_reason,
            Some(ResultReason::INVALID_MESSAGE)
        );
    }
}

kms_tests::server_test! {
    async fn pkcs11_is_refused_as_not_supported_and_query_does_not_list_it(server) {
        // The PKCS11 profile's C_Initialize (KMIP 2.0 / 2.1): the server offers no PKCS#11
        // interface, so it answers the specification's refusal, not Success.
        for version in [ProtocolVersion::V2_0, ProtocolVersion::V2_1] {
            let request = RequestMessage::new(
                version,
                vec![RequestBatchItem::new(Pkcs11Request {
                    pkcs11_interface: None,
                    pkcs11_function: Pkcs11FunctionId::Standard(Pkcs11Function::C_INITIALIZE),
                    correlation_value: None,
                    pkcs11_input_parameters: None,
                })],
            );
            let response = exchange(server, &encode_request(&request)).await;
            let refused = &response.batch_items[0];
            assert_eq!(refused.operation, Some(Operation::PKCS11));
            assert_eq!(refused.result_status, ResultStatus::OPERATION_FAILED);
            assert_eq!(refused.result_reason, Some(ResultReason::OPERATION_NOT_SUPPORTED));
            let request = RequestMessage::new(
                version,
                vec![RequestBatchItem::new(QueryRequest {
                    query_functions: vec![QueryFunction::QUERY_OPERATIONS],
                    object_groups: Vec::new(),
                })],
            );
            let response = exchange(server, &encode_request(&request)).await;
            let Some(ResponsePayload::Query(query)) = &response.batch_items[0].payload
            else {
                panic!("a Query answer: {:?}", response.batch_items[0]);
            };
            assert!(query.operations.contains(&Operation::CREATE), "{version:?}");
            assert!(!query.operations.contains(&Operation::PKCS11), "{version:?}");
        }
    }
}
