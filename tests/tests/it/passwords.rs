//! KMIP Credential passwords under attack (issue 14, M2). Argon2 verification runs on a
//! bounded blocking pool, not on the async workers; repeated wrong passwords lock the client
//! and the source address out for a while (refused without running Argon2, and audited when
//! the lockout starts); a connection that proved its password pays Argon2 once, not on every
//! request.
//!
//! With the default settings: a lockout starts at the 5th failure of a client (20th of an
//! address) and lasts 300 s.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use audit_log::{AuditRecord, Filter, Status};
use client::{ClientError, Connector};
use kmip_codec::enums::{ResultReason, ResultStatus};
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    Authentication, Credential, DiscoverVersionsRequest, Password, RequestBatchItem,
    RequestMessage, decode_response, encode_request,
};
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::{TestServer, create_aes_key};
use rustls_pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio::time::{Instant, sleep, timeout};

/// The password enrolled for `acme`'s KMIP client.
const PASSWORD: &str = "correct horse battery staple";

/// Connections guessing at once.
const GUESSERS: usize = 16;

/// Guesses each connection sends.
const GUESSES: usize = 6;

/// The longest another tenant's Get may take while the guesses run: generous for a loaded
/// 2-core machine, far below what Argon2 on the async workers costs (about a second of CPU
/// per guess in a debug build, sixteen at a time).
const PROMPT: Duration = Duration::from_secs(2);

/// Every record of the server's audit log.
fn audit_records(server: &TestServer) -> Vec<AuditRecord> {
    let dir = server.kms().audit().dir().to_owned();
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = server::audit::query::read_page(&dir, after, 10_000, &Filter::default())
            .expect("read the audit files");
        out.extend(page.records);
        if !page.more {
            return out;
        }
        after = page.next;
    }
}

/// `acme`'s client sending `password` with every request.
fn with_password(server: &TestServer, password: &str) -> Connector {
    let config = server
        .client_config("acme")
        .expect("config")
        .with_username_password("vcenter", Password::new(password.to_owned()));
    Connector::new(config).expect("connector")
}

/// The Result Reason of a refused request.
fn reason(e: &ClientError) -> Option<ResultReason> {
    match e {
        ClientError::Kmip { reason, .. } => *reason,
        _ => None,
    }
}

async fn enroll_password(server: &TestServer) {
    server
        .kms()
        .tenancy()
        .set_client_password(
            &server.setup(),
            Some("acme"),
            "vcenter",
            Some(zeroize::Zeroizing::new(PASSWORD.to_owned())),
        )
        .await
        .expect("set the password");
}

/// Another tenant's client asking Get every 50 ms until stopped; returns every latency and
/// every failure.
async fn canary(
    server: &TestServer,
) -> (
    watch::Sender<bool>,
    tokio::task::JoinHandle<(Vec<Duration>, Vec<String>)>,
) {
    let mut conn = server
        .client("globex")
        .expect("connector")
        .connect()
        .await
        .expect("connect");
    let uid = create_aes_key(&mut conn).await.expect("the canary's key");
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let (mut took, mut failures) = (Vec::new(), Vec::new());
        while !*stopped.borrow() {
            let start = Instant::now();
            match timeout(Duration::from_secs(120), conn.get(&uid, None)).await {
                Ok(Ok(_)) => took.push(start.elapsed()),
                Ok(Err(e)) => failures.push(e.to_string()),
                Err(_) => failures.push("no answer within 120 s".to_owned()),
            }
            sleep(Duration::from_millis(50)).await;
        }
        (took, failures)
    });
    (stop, task)
}

kms_tests::server_test! {
    async fn password_guessing_locks_out_without_slowing_other_tenants(server) {
        enroll_password(server).await;
        // The right password works before the attack.
        let mut rightful = with_password(server, PASSWORD).connect().await.expect("connect");
        rightful.discover_versions(&[]).await.expect("the right password is accepted");
        drop(rightful);

        let (stop, canary) = canary(server).await;
        let started = Instant::now();
        let mut guessers = Vec::new();
        for g in 0..GUESSERS {
            let connector = with_password(server, &format!("guess-{g}"));
            guessers.push(tokio::spawn(async move {
                let mut conn = connector.connect().await.expect("connect");
                let mut reasons = Vec::new();
                for _ in 0..GUESSES {
                    match conn.discover_versions(&[]).await {
                        Ok(_) => panic!("a wrong password was accepted"),
                        Err(e) => reasons.push(reason(&e)),
                    }
                }
                reasons
            }));
        }
        for g in guessers {
            let reasons = timeout(Duration::from_secs(600), g)
                .await
                .expect("the guesses were answered within 600 s")
                .expect("guesser task");
            assert!(
                reasons.iter().all(|r| *r == Some(ResultReason::AUTHENTICATION_NOT_SUCCESSFUL)),
                "{reasons:?}"
            );
        }
        let guessing = started.elapsed();
        let _ = stop.send(true);
        let (took, failures) = canary.await.expect("canary task");
        let slowest = took.iter().max().copied().unwrap_or_default();
        eprintln!(
            "{} guesses in {guessing:?}; canary: {} answers, slowest {slowest:?}",
            GUESSERS * GUESSES,
            took.len()
        );
        assert!(failures.is_empty(), "the other tenant was failed: {failures:?}");
        assert!(!took.is_empty(), "the other tenant was never answered");
        assert!(
            slowest < PROMPT,
            "the other tenant waited {slowest:?} for a Get while passwords were guessed"
        );

        // Locked out: even the right password is refused now, on a new connection.
        let mut rightful = with_password(server, PASSWORD).connect().await.expect("connect");
        let refused = rightful
            .discover_versions(&[])
            .await
            .expect_err("the right password accepted during the lockout");
        assert_eq!(reason(&refused), Some(ResultReason::AUTHENTICATION_NOT_SUCCESSFUL));

        // The lockout is in acme's audit trail, once (the refusals while it lasts are not
        // counted, so they start no other), with the address and the principal; never the
        // password.
        let records = audit_records(server);
        let lockouts = lockout_records(&records);
        let [lockout] = lockouts.as_slice() else {
            panic!("one lockout record expected: {lockouts:?}");
        };
        assert!(
            lockout.event.reason.as_deref().is_some_and(|s| s.starts_with("client locked out")),
            "{lockout:?}"
        );
        assert_eq!(lockout.event.tenant.as_deref(), Some("acme"));
        assert_eq!(lockout.event.status, Status::Denied);
        assert!(lockout.event.client_addr.as_deref().is_some_and(|a| a.starts_with("127.0.0.1:")));
        assert!(lockout.event.principal.as_ref().is_some_and(|p| p.client.as_deref() == Some("vcenter")));
        let dump = format!("{records:?}");
        assert!(!dump.contains(PASSWORD) && !dump.contains("guess-"), "a password in the audit trail");
    }
}

/// The records of lockouts.
fn lockout_records(records: &[AuditRecord]) -> Vec<&AuditRecord> {
    records
        .iter()
        .filter(|r| r.event.operation == "Credential Lockout")
        .collect()
}

/// One Discover Versions from `source` as `tenant`'s client sending `password`: its Result
/// Reason, `None` on success.
async fn answer_from(
    server: &TestServer,
    tenant: &str,
    password: &str,
    source: Ipv4Addr,
) -> Option<ResultReason> {
    let config = server
        .client_config(tenant)
        .expect("config")
        .tls_config()
        .expect("TLS");
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(source), 0))
        .expect("bind the source address");
    let tcp = socket.connect(server.addr()).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1".to_owned()).expect("server name");
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let mut request = RequestMessage::new(
        ProtocolVersion::V1_4,
        vec![RequestBatchItem::new(DiscoverVersionsRequest::default())],
    );
    request.header.authentication = Some(Authentication {
        credentials: vec![Credential::UsernameAndPassword {
            username: "vcenter".to_owned(),
            password: Some(Password::new(password.to_owned())),
        }],
    });
    tls.write_all(&encode_request(&request))
        .await
        .expect("write");
    let bytes = timeout(
        Duration::from_secs(120),
        client::frame::read_message(&mut tls, &Limits::DEFAULT),
    )
    .await
    .expect("an answer in time")
    .expect("an answer");
    let response = decode_response(&bytes, &Limits::DEFAULT).expect("a response");
    let [item] = response.batch_items.as_slice() else {
        panic!("one item expected");
    };
    match item.result_status {
        ResultStatus::SUCCESS => None,
        _ => Some(item.result_reason.expect("a reason")),
    }
}

kms_tests::server_test! {
    async fn wrong_passwords_of_many_clients_lock_their_address_out(server) {
        // Five clients with passwords, four wrong guesses each from 127.0.0.1: no client
        // reaches its 5, the address reaches its 20.
        let tenants = ["t1", "t2", "t3", "t4", "t5", "t6"];
        for t in tenants {
            server.add_tenant(t).await.expect("tenant");
            server
                .kms()
                .tenancy().set_client_password(&server.setup(), Some(t), "vcenter", Some(zeroize::Zeroizing::new(PASSWORD.to_owned())))
                .await
                .expect("password");
        }
        let home = Ipv4Addr::LOCALHOST;
        for t in &tenants[..5] {
            for _ in 0..4 {
                assert_eq!(
                    answer_from(server, t, "wrong", home).await,
                    Some(ResultReason::AUTHENTICATION_NOT_SUCCESSFUL)
                );
            }
        }
        // The address is locked out for every client, even one that never failed, even with
        // the right password; another address is not.
        assert_eq!(
            answer_from(server, "t6", PASSWORD, home).await,
            Some(ResultReason::AUTHENTICATION_NOT_SUCCESSFUL),
            "the right password accepted from a locked-out address"
        );
        assert_eq!(
            answer_from(server, "t6", PASSWORD, Ipv4Addr::new(127, 0, 0, 2)).await,
            None,
            "another address is refused too"
        );
        let records = audit_records(server);
        let lockouts = lockout_records(&records);
        let [lockout] = lockouts.as_slice() else {
            panic!("one lockout record expected: {lockouts:?}");
        };
        assert!(
            lockout.event.reason.as_deref().is_some_and(|s| s.starts_with("source address locked out")),
            "{lockout:?}"
        );
        assert_eq!(lockout.event.tenant.as_deref(), Some("t5"), "filed with the client whose guess started it");
        assert!(lockout.event.client_addr.as_deref().is_some_and(|a| a.starts_with("127.0.0.1:")));
    }
}

kms_tests::server_test! {
    async fn a_connection_pays_argon2_once_and_a_lockout_pays_none(server) {
        enroll_password(server).await;
        let metrics = server.kms().metrics().clone();
        let ran = || metrics.password_verifications();
        let mut proven = with_password(server, PASSWORD).connect().await.expect("connect");
        for _ in 0..20 {
            proven.discover_versions(&[]).await.expect("the right password is accepted");
        }
        assert_eq!(ran(), 1, "Argon2 ran more than once for one connection");
        let mut second = with_password(server, PASSWORD).connect().await.expect("connect");
        second.discover_versions(&[]).await.expect("accepted");
        assert_eq!(ran(), 2, "each connection proves its password");

        // Sixteen connections guessing at once: Argon2 runs until the lockout starts (at the
        // 5th failure), plus at most the checks already running then (2), and never after.
        let mut guessers = Vec::new();
        for g in 0..GUESSERS {
            let connector = with_password(server, &format!("guess-{g}"));
            guessers.push(tokio::spawn(async move {
                let mut conn = connector.connect().await.expect("connect");
                for _ in 0..GUESSES {
                    assert!(conn.discover_versions(&[]).await.is_err(), "a guess accepted");
                }
            }));
        }
        for g in guessers {
            g.await.expect("guesser");
        }
        let guessed = ran() - 2;
        assert!(guessed <= 5 + 2, "Argon2 ran {guessed} times for {} guesses", GUESSERS * GUESSES);
        assert!(metrics.limit_refusals("password_lockout") > 0, "no refusal counted");
        let locked = with_password(server, PASSWORD).connect().await.expect("connect").discover_versions(&[]).await;
        assert!(locked.is_err(), "a new connection got in during the lockout");
        assert_eq!(ran() - 2, guessed, "Argon2 ran during the lockout");
        // A connection that proved the password before is not guessing: it goes on.
        proven.discover_versions(&[]).await.expect("the proven connection is served");
        assert_eq!(ran() - 2, guessed);
    }
}
