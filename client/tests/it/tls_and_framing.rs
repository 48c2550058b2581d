//! TLS and framing: versions, resumption, certificate checks, timeouts, size limits,
//! connections that end early, connection policies.

use std::time::{Duration, Instant};

use client::{
    Client, ClientConfig, ClientError, HandshakeKind, SessionResumption, Step, TlsVersions,
};
use kmip_codec::enums::{Operation, ResultStatus};
use kmip_codec::error::ErrorKind;
use kmip_codec::model::{
    DiscoverVersionsResponse, RequestBatchItem, RequestMessage, ResponseBatchItem, encode_request,
};
use kmip_codec::version::ProtocolVersion;

use crate::scripted_server::{self, Reply, answer, connector, settings, start, start_with};

/// Answers Discover Versions with 1.4 only.
fn versions_server(request: &RequestMessage) -> Reply {
    answer(request, |item| {
        ResponseBatchItem::success(
            item,
            DiscoverVersionsResponse {
                protocol_versions: vec![ProtocolVersion::V1_4],
            },
        )
    })
}

async fn one_call(conn: &mut client::Connection) -> Vec<ProtocolVersion> {
    conn.discover_versions(&[])
        .await
        .expect("discover versions")
}

#[tokio::test]
async fn sessions_resume_across_connections_of_one_connector_in_tls12_and_tls13() {
    for versions in [TlsVersions::Tls12Only, TlsVersions::Tls13Only] {
        let server = start(versions_server).await;
        let connector = connector(settings(&server).with_tls_versions(versions));
        let mut first = connector.connect().await.expect("connect");
        assert_eq!(one_call(&mut first).await, vec![ProtocolVersion::V1_4]);
        assert_eq!(first.handshake_kind(), Some(HandshakeKind::Full));
        // A clone shares the session cache.
        let mut second = connector.clone().connect().await.expect("reconnect");
        one_call(&mut second).await;
        assert_eq!(
            second.handshake_kind(),
            Some(HandshakeKind::Resumed),
            "{versions:?}"
        );
        let kinds: Vec<_> = server.handshakes().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            kinds,
            vec![Some(HandshakeKind::Full), Some(HandshakeKind::Resumed)],
            "{versions:?}"
        );
    }
}

#[tokio::test]
async fn disabled_resumption_makes_full_handshakes() {
    let server = start(versions_server).await;
    let connector = connector(settings(&server).with_resumption(SessionResumption::Disabled));
    for _ in 0..2 {
        let mut conn = connector.connect().await.expect("connect");
        one_call(&mut conn).await;
        assert_eq!(conn.handshake_kind(), Some(HandshakeKind::Full));
    }
}

#[tokio::test]
async fn separate_connectors_do_not_share_sessions() {
    let server = start(versions_server).await;
    for _ in 0..2 {
        let mut conn = connector(settings(&server))
            .connect()
            .await
            .expect("connect");
        one_call(&mut conn).await;
        assert_eq!(conn.handshake_kind(), Some(HandshakeKind::Full));
    }
}

#[tokio::test]
async fn tls_version_restrictions_are_what_gets_negotiated() {
    let server = start(versions_server).await;
    for (versions, expected) in [
        (TlsVersions::Tls12Only, rustls::ProtocolVersion::TLSv1_2),
        (TlsVersions::Tls13Only, rustls::ProtocolVersion::TLSv1_3),
        (TlsVersions::Tls12And13, rustls::ProtocolVersion::TLSv1_3),
    ] {
        let mut conn = connector(settings(&server).with_tls_versions(versions))
            .connect()
            .await
            .expect("connect");
        one_call(&mut conn).await;
        assert_eq!(conn.tls_version(), Some(expected));
    }
    let seen: Vec<_> = server.handshakes().into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        seen,
        vec![
            Some(rustls::ProtocolVersion::TLSv1_2),
            Some(rustls::ProtocolVersion::TLSv1_3),
            Some(rustls::ProtocolVersion::TLSv1_3)
        ]
    );
}

#[tokio::test]
async fn tls13_only_client_fails_against_a_tls12_only_server() {
    let server = start_with(
        scripted_server::server_tls(TlsVersions::Tls12Only, true),
        versions_server,
    )
    .await;
    let err = connector(settings(&server).with_tls_versions(TlsVersions::Tls13Only))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Tls(_)), "{err:?}");
    // The same server with TLS 1.2 and its RSA certificate works.
    let mut conn = connector(settings(&server).with_tls_versions(TlsVersions::Tls12Only))
        .connect()
        .await
        .expect("connect");
    one_call(&mut conn).await;
}

#[tokio::test]
async fn server_certificate_from_another_ca_is_refused() {
    let server = start(versions_server).await;
    let other = scripted_server::other_pki();
    let settings = ClientConfig {
        ca_files: vec![other.ca.cert.clone()],
        ..settings(&server)
    };
    let err = connector(settings).connect().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Tls(rustls::Error::InvalidCertificate(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_name_must_match_the_certificate() {
    let server = start(versions_server).await;
    let settings = ClientConfig {
        server_name: "kms.example.com".to_owned(),
        ..settings(&server)
    };
    let err = connector(settings).connect().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Tls(rustls::Error::InvalidCertificate(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn oversized_length_header_is_refused_and_breaks_the_connection() {
    // A Response Message header declaring 2 GiB - 8 bytes, and nothing behind it.
    let server = start(|_| Reply::Raw(vec![0x42, 0x00, 0x7B, 0x01, 0x7F, 0xFF, 0xFF, 0xF8])).await;
    let mut conn = connector(settings(&server))
        .connect()
        .await
        .expect("connect");
    let err = conn.discover_versions(&[]).await.unwrap_err();
    match &err {
        ClientError::Codec(e) => assert!(
            matches!(
                e.kind(),
                ErrorKind::MessageTooLarge {
                    size: 0x8000_0000,
                    ..
                }
            ),
            "{e}"
        ),
        other => panic!("unexpected {other:?}"),
    }
    assert!(!conn.is_usable());
    let again = conn.discover_versions(&[]).await.unwrap_err();
    assert!(matches!(again, ClientError::Broken), "{again:?}");
}

#[tokio::test]
async fn a_smaller_configured_limit_is_enforced() {
    let server = start(versions_server).await;
    let mut conn = connector(
        settings(&server)
            .with_limits(kmip_codec::limits::Limits::default().with_max_message_size(64)),
    )
    .connect()
    .await
    .expect("connect");
    let err = conn.discover_versions(&[]).await.unwrap_err();
    assert!(matches!(err, ClientError::Codec(_)), "{err:?}");
}

#[tokio::test]
async fn silent_server_hits_the_request_timeout() {
    let server = start(|_| Reply::Silence).await;
    let limit = Duration::from_millis(300);
    let mut conn = connector(settings(&server).with_timeouts(Duration::from_secs(5), limit))
        .connect()
        .await
        .expect("connect");
    let started = Instant::now();
    let err = conn.discover_versions(&[]).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Timeout { step: Step::Read, after } if after == limit),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(!conn.is_usable());
}

#[tokio::test]
async fn server_that_never_handshakes_hits_the_connect_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let _open = listener.accept().await;
        std::future::pending::<()>().await;
    });
    let pki = scripted_server::pki();
    let limit = Duration::from_millis(300);
    let settings = ClientConfig::new(addr.to_string(), "localhost")
        .with_ca_file(&pki.ca.cert)
        .with_timeouts(limit, Duration::from_secs(5));
    let err = connector(settings).connect().await.unwrap_err();
    hold.abort();
    assert!(
        matches!(err, ClientError::Timeout { step: Step::Handshake, after } if after == limit),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_closing_before_answering_is_reported() {
    let server = start(|_| Reply::Close).await;
    let mut conn = connector(settings(&server))
        .connect()
        .await
        .expect("connect");
    let err = conn.discover_versions(&[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Closed {
                received: 0,
                expected: 8
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn send_raw_returns_exactly_the_one_answer() {
    let server = start(versions_server).await;
    let mut conn = connector(settings(&server))
        .connect()
        .await
        .expect("connect");
    let request = RequestMessage::new(
        ProtocolVersion::V1_1,
        vec![RequestBatchItem::new(
            kmip_codec::model::DiscoverVersionsRequest::default(),
        )],
    );
    let bytes = conn.send_raw(&encode_request(&request)).await.expect("raw");
    let response = kmip_codec::model::decode_response(&bytes, &Default::default()).expect("decode");
    assert_eq!(response.header.protocol_version, ProtocolVersion::V1_1);
    let item = response.batch_items.first().expect("item");
    assert_eq!(item.operation, Some(Operation::DISCOVER_VERSIONS));
    assert_eq!(item.result_status, ResultStatus::SUCCESS);
    // The raw request went out as given: no batch item ID was added.
    assert_eq!(
        server.requests()[0].batch_items[0].unique_batch_item_id,
        None
    );
    // The connection is still in step.
    assert_eq!(one_call(&mut conn).await, vec![ProtocolVersion::V1_4]);
}

#[tokio::test]
async fn per_call_client_connects_each_time_and_persistent_client_once() {
    let server = start(versions_server).await;
    let mut per_call = Client::per_call(connector(settings(&server)));
    for _ in 0..3 {
        one_call(per_call.connection().await.expect("connection")).await;
    }
    assert_eq!(server.handshakes().len(), 3);
    // Later per-call connections resume the first one's session.
    assert!(
        server.handshakes()[1..]
            .iter()
            .all(|(k, _)| *k == Some(HandshakeKind::Resumed))
    );

    let server = start(versions_server).await;
    let mut persistent = Client::persistent(connector(settings(&server)));
    for _ in 0..3 {
        let items = vec![RequestBatchItem::new(
            kmip_codec::model::DiscoverVersionsRequest::default(),
        )];
        let answers = persistent.batch(items).await.expect("batch");
        assert_eq!(answers.len(), 1);
    }
    assert_eq!(server.handshakes().len(), 1);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn persistent_client_reconnects_after_a_broken_connection() {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let server = start(move |request| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Reply::Close
        } else {
            versions_server(request)
        }
    })
    .await;
    let mut client = Client::persistent(connector(settings(&server)));
    let request = RequestMessage::new(
        ProtocolVersion::V1_4,
        vec![RequestBatchItem::new(
            kmip_codec::model::DiscoverVersionsRequest::default(),
        )],
    );
    assert!(client.call(&request).await.is_err());
    let response = client.call(&request).await.expect("second call");
    assert_eq!(response.batch_items.len(), 1);
    assert_eq!(server.handshakes().len(), 2);
}
