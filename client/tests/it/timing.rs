//! Handshake cost with and without session resumption (ignored by default; run with
//! `cargo test -p client --test it timing -- --ignored --nocapture`). Asserts that the
//! resumed runs really resumed, and prints the mean time per connect + one request.

use std::time::{Duration, Instant};

use client::{HandshakeKind, SessionResumption, TlsVersions};
use kmip_codec::model::{DiscoverVersionsResponse, ResponseBatchItem};

use crate::scripted_server::{answer, connector, settings, start};

const CONNECTIONS: u32 = 200;

#[tokio::test]
#[ignore = "timing; run on demand"]
async fn timing_full_versus_resumed_handshakes() {
    let server = start(|request| {
        answer(request, |item| {
            ResponseBatchItem::success(item, DiscoverVersionsResponse::default())
        })
    })
    .await;
    for versions in [TlsVersions::Tls13Only, TlsVersions::Tls12Only] {
        for resumption in [SessionResumption::Disabled, SessionResumption::default()] {
            let connector = connector(
                settings(&server)
                    .with_tls_versions(versions)
                    .with_resumption(resumption),
            );
            // Warm up (and fill the session cache).
            let mut conn = connector.connect().await.expect("connect");
            conn.discover_versions(&[]).await.expect("call");
            let mut resumed = 0;
            let started = Instant::now();
            for _ in 0..CONNECTIONS {
                let mut conn = connector.connect().await.expect("connect");
                conn.discover_versions(&[]).await.expect("call");
                resumed += u32::from(conn.handshake_kind() == Some(HandshakeKind::Resumed));
            }
            let per: Duration = started.elapsed() / CONNECTIONS;
            println!(
                "{versions:?} {resumption:?}: {per:?} per connect+request, {resumed}/{CONNECTIONS} resumed"
            );
            let expected = if resumption == SessionResumption::Disabled {
                0
            } else {
                CONNECTIONS
            };
            assert_eq!(resumed, expected);
        }
    }
}
