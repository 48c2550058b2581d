//! Admin API connection limits (issue 14, M1): idle TCP connections cannot lock the operator
//! out of the admin port. One address holds at most `admin.max_connections_per_ip`
//! connections; connections over that (or over `admin.max_connections`) may still take one of
//! the `admin.operator_reserved_connections` slots kept for operators, where an idle
//! connection that has not finished its TLS handshake gives way to a newer one and only a
//! certificate that inspects as an enrolled operator stays; a request body that does not
//! arrive within `admin.body_timeout_secs` ends the request.
//!
//! Linux loopback accepts any 127/8 source address, which stands in for many peers. Every
//! setting keeps its default (64 connections, 16 per address, 4 reserved, 10 s body timeout).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use client::{ClientConfig, IdentityFiles};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use kms_tests::testbed::TestServer;
use rustls_pki_types::ServerName;
use server::store::records::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, sleep, timeout};
use tokio_rustls::TlsConnector;

/// The default cap of the admin listener.
const MAX_CONNECTIONS: usize = 64;

/// How long an answer may take on a loaded 2-core machine: far below the 10 s handshake
/// timeout that would otherwise free a slot.
const PROMPT: Duration = Duration::from_secs(5);

/// A TCP connection to `addr` from `source`.
async fn connect_from(addr: SocketAddr, source: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(source), 0))
        .expect("bind the source address");
    socket.connect(addr).await.expect("TCP connect")
}

/// TLS to the admin port from `source` with `files`' certificate.
async fn tls_from(
    server: &TestServer,
    files: &IdentityFiles,
    source: Ipv4Addr,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let addr = server.admin_addr().expect("admin API enabled");
    let config = ClientConfig::new(addr.to_string(), "127.0.0.1")
        .with_ca_file(server.ca_path())
        .with_identity(files.cert.clone(), files.key.clone())
        .tls_config()
        .map_err(|e| e.to_string())?;
    let tcp = connect_from(addr, source).await;
    let name = ServerName::try_from("127.0.0.1").map_err(|e| e.to_string())?;
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))
}

/// `GET /v1/tenants/acme` (which both the operator and acme's tenant admin may read) from
/// `source` with `files`' certificate: the HTTP status, or why there was none within
/// [`PROMPT`].
async fn status_from(
    server: &TestServer,
    files: &IdentityFiles,
    source: Ipv4Addr,
) -> Result<u16, String> {
    let exchange = async {
        let tls = tls_from(server, files, source).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(conn);
        let request = hyper::Request::builder()
            .method("GET")
            .uri("/v1/tenants/acme")
            .header("host", "kms")
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = response.status().as_u16();
        let _ = response.into_body().collect().await;
        Ok(status)
    };
    timeout(PROMPT, exchange)
        .await
        .map_err(|_| format!("no answer within {PROMPT:?}"))?
}

/// `count` idle TCP connections from `source` that never start a TLS handshake.
async fn idle_from(server: &TestServer, source: Ipv4Addr, count: usize) -> Vec<TcpStream> {
    let addr = server.admin_addr().expect("admin API enabled");
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(connect_from(addr, source).await);
    }
    // Let the accept loop take them all before the next connection arrives.
    sleep(Duration::from_millis(300)).await;
    out
}

kms_tests::server_test! {
    async fn idle_connections_cannot_lock_the_operator_out_of_the_admin_api(server) {
        let operator = server.admin_identity(Role::Operator, None, "ops").await.expect("operator");
        let admin = server
            .admin_identity(Role::TenantAdmin, Some("acme"), "alice")
            .await
            .expect("tenant admin");
        let local = Ipv4Addr::LOCALHOST;
        assert_eq!(status_from(server, &operator, local).await, Ok(200), "served before any flood");

        // One address opens more idle connections than the whole listener takes.
        let crowd = idle_from(server, local, MAX_CONNECTIONS + 16).await;
        assert_eq!(
            status_from(server, &operator, local).await,
            Ok(200),
            "the operator is locked out by idle connections from its own address"
        );
        assert_eq!(
            status_from(server, &admin, Ipv4Addr::new(127, 0, 0, 2)).await,
            Ok(200),
            "one address's idle connections lock out another address"
        );
        drop(crowd);
        sleep(Duration::from_millis(300)).await;

        // Many addresses together fill every slot.
        let mut crowds = Vec::new();
        for host in 2..=10u8 {
            crowds.push(idle_from(server, Ipv4Addr::new(127, 0, 0, host), 16).await);
        }
        assert_eq!(
            status_from(server, &operator, local).await,
            Ok(200),
            "the operator is locked out by idle connections from many addresses"
        );
        assert_eq!(
            status_from(server, &operator, Ipv4Addr::new(127, 0, 0, 11)).await,
            Ok(200),
            "the operator is locked out from a fresh address"
        );
        // The reserved slots are the operators': a tenant admin gets none of them.
        assert!(
            status_from(server, &admin, local).await.is_err(),
            "a tenant admin took a slot reserved for operators"
        );
        drop(crowds);
    }
}

kms_tests::server_test! {
    async fn a_request_body_that_never_arrives_ends_the_request(server) {
        let operator = server.admin_identity(Role::Operator, None, "ops").await.expect("operator");
        let mut tls = tls_from(server, &operator, Ipv4Addr::LOCALHOST).await.expect("TLS");
        tls.write_all(
            b"POST /v1/tenants HTTP/1.1\r\nhost: kms\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"id\":",
        )
        .await
        .expect("write");
        tls.flush().await.expect("flush");
        let started = Instant::now();
        // The default body timeout is 10 s; the answer (408, or a close) must come soon after.
        let mut answer = Vec::new();
        let ended = timeout(Duration::from_secs(25), async {
            let mut buf = [0u8; 1024];
            loop {
                match tls.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        let waited = started.elapsed();
        assert!(ended.is_ok(), "the connection was still held after {waited:?}");
        assert!(waited >= Duration::from_secs(9), "ended after {waited:?}, before the body timeout");
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 408"), "answer: {text:?}");
        assert_eq!(status_from(server, &operator, Ipv4Addr::LOCALHOST).await, Ok(200));
    }
}
