//! KMIP over HTTPS on the KMIP port (issue 19, the MSGENC profiles): `POST /kmip` in binary
//! TTLV, XML and JSON against a real server over mutual TLS, answered in the request's
//! encoding through the same pipeline (a key made over HTTPS in JSON is read over TTLV), and
//! every request that is not a KMIP message refused with a clean HTTP error. The OASIS MSGENC
//! vectors are replayed this way by `conformance`.

use std::sync::Arc;

use kmip_codec::enums::{Operation, ResultStatus};
use kmip_codec::limits::Limits;
use kmip_codec::model::{ResponsePayload, decode_response};
use kmip_codec::ttlv::encode::encode;
use kms_tests::testbed::{TestServer, key_bytes};
use kms_tests::transport::{HttpEncoding, HttpsTransport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One KMIP 2.1 request message with one batch item, in TTLV, from its XML encoding.
fn request(operation: &str, payload: &str) -> Vec<u8> {
    let xml = format!(
        r#"<RequestMessage><RequestHeader><ProtocolVersion><ProtocolVersionMajor type="Integer" value="2"/><ProtocolVersionMinor type="Integer" value="1"/></ProtocolVersion><BatchCount type="Integer" value="1"/></RequestHeader><BatchItem><Operation type="Enumeration" value="{operation}"/><RequestPayload>{payload}</RequestPayload></BatchItem></RequestMessage>"#
    );
    encode(&kmip_codec::xml::from_xml(&xml).expect("request XML"))
}

/// A Create of an AES-256 key.
fn create_request() -> Vec<u8> {
    request(
        "Create",
        r#"<ObjectType type="Enumeration" value="SymmetricKey"/><Attributes><CryptographicAlgorithm type="Enumeration" value="AES"/><CryptographicLength type="Integer" value="256"/><CryptographicUsageMask type="Integer" value="12"/></Attributes>"#,
    )
}

/// The UID a Create answer (TTLV) carries.
fn created_uid(answer: &[u8]) -> String {
    let response = decode_response(answer, &Limits::DEFAULT).expect("KMIP response");
    let item = response.batch_items.first().expect("one item");
    assert_eq!(item.result_status, ResultStatus::SUCCESS, "{item:?}");
    match &item.payload {
        Some(ResponsePayload::Create(c)) => c.unique_identifier.clone(),
        other => panic!("not a Create answer: {other:?}"),
    }
}

/// Sends `head` (and `body`) on a fresh mutual-TLS connection to the KMIP port; the first line
/// of the answer.
async fn raw(server: &TestServer, head: &str, body: &[u8]) -> String {
    let config = server.client_config("acme").expect("config");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config.tls_config().expect("TLS")));
    let tcp = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let mut tls = tls.connect(name, tcp).await.expect("handshake");
    tls.write_all(head.as_bytes()).await.expect("write head");
    tls.write_all(body).await.expect("write body");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tls.read_to_end(&mut answer),
    )
    .await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    text.lines().next().unwrap_or_default().to_owned()
}

kms_tests::server_test! {
    async fn kmip_is_answered_over_https_in_the_encoding_it_was_posted_in(server) {
        let mut conn = server.client("acme").expect("client").connect().await.expect("connect");
        let config = || server.client_config("acme").expect("config");
        for encoding in [HttpEncoding::Ttlv, HttpEncoding::Xml, HttpEncoding::Json] {
            let https = HttpsTransport::new(config(), encoding).expect("transport");
            let answer = kms_tests::vectors::Transport::send_raw(&https, &create_request())
                .await
                .unwrap_or_else(|e| panic!("{encoding:?}: {e}"));
            let uid = created_uid(&answer);
            // The same store, tenant and pipeline: the key is read back over TTLV.
            assert_eq!(key_bytes(&mut conn, &uid).await.len(), 32, "{encoding:?}");
        }
        // The body really is in the encoding named: XML text, JSON text.
        let https = HttpsTransport::new(config(), HttpEncoding::Json).expect("transport");
        let tree = kmip_codec::ttlv::decode::decode(&create_request(), &Limits::DEFAULT).expect("decode");
        let json = kmip_codec::json::to_json(&tree).into_bytes();
        let (status, kind, body) = https.post("/kmip", "application/json", json).await.expect("post");
        assert_eq!((status, kind.as_deref()), (200, Some("application/json")));
        assert!(body.starts_with(b"{"), "{}", String::from_utf8_lossy(&body));
        let xml = kmip_codec::xml::to_xml(&tree).into_bytes();
        let (status, kind, body) = https.post("/kmip", "text/xml; charset=utf-8", xml).await.expect("post");
        assert_eq!((status, kind.as_deref()), (200, Some("text/xml")));
        assert!(String::from_utf8_lossy(&body).contains("<ResponseMessage>"));
        // A KMIP failure is a KMIP answer: Get of a missing key, 200 with Operation Failed.
        let get = request("Get", r#"<UniqueIdentifier type="TextString" value="no-such-key"/>"#);
        let https = HttpsTransport::new(config(), HttpEncoding::Ttlv).expect("transport");
        let answer = kms_tests::vectors::Transport::send_raw(&https, &get).await.expect("answer");
        let response = decode_response(&answer, &Limits::DEFAULT).expect("response");
        let item = &response.batch_items[0];
        assert_eq!((item.operation, item.result_status), (Some(Operation::GET), ResultStatus::OPERATION_FAILED));
    }
}

kms_tests::server_test! {
    async fn what_is_not_a_kmip_message_gets_a_clean_http_error(server) {
        let https = HttpsTransport::new(server.client_config("acme").expect("config"), HttpEncoding::Xml)
            .expect("transport");
        let (status, _, _) = https.post("/other", "text/xml", b"<x/>".to_vec()).await.expect("post");
        assert_eq!(status, 404);
        let (status, _, _) = https.post("/kmip", "text/plain", b"hello".to_vec()).await.expect("post");
        assert_eq!(status, 415);
        let (status, _, body) = https.post("/kmip", "text/xml", b"<RequestMessage".to_vec()).await.expect("post");
        assert_eq!(status, 400);
        assert!(!String::from_utf8_lossy(&body).contains("error:"), "no parser details leak");
        let (status, _, _) = https.post("/kmip", "application/json", b"[1,2".to_vec()).await.expect("post");
        assert_eq!(status, 400);
        // Method, length and size are judged from the head, before any body is read.
        let line = raw(server, "GET /kmip HTTP/1.1\r\nHost: kms\r\nConnection: close\r\n\r\n", b"").await;
        assert!(line.contains(" 405 "), "{line}");
        let line = raw(server, "POST /kmip HTTP/1.1\r\nHost: kms\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n", b"").await;
        assert!(line.contains(" 411 "), "{line}");
        let line = raw(
            server,
            "POST /kmip HTTP/1.1\r\nHost: kms\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000000\r\nConnection: close\r\n\r\n",
            b"",
        )
        .await;
        assert!(line.contains(" 413 "), "{line}");
        // The TTLV side of the same port is unchanged, and still answers after all this.
        let mut conn = server.client("acme").expect("client").connect().await.expect("connect");
        let answer = conn.send_raw(&create_request()).await.expect("create over TTLV");
        created_uid(&answer);
    }
}
