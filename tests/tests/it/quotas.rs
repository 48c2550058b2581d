//! Per-tenant and per-client quotas (issue 14, H1): a tenant stores at most
//! `limits.max_objects_per_tenant` objects, exactly, however many of its clients create at
//! once and on whichever nodes of a cluster; a client sends at most `limits.client_requests_per_second` batch items per second
//! (bursts up to `limits.client_request_burst`). Both refuse with Server Limit Exceeded (a
//! 1.x client receives General Failure) and a fixed message, count the refusal in the
//! metrics, and leave other tenants and clients untouched.

use std::time::Duration;

use client::ClientError;
use kmip_codec::enums::{BatchErrorContinuationOption, ResultReason, ResultStatus};
use kmip_codec::model::{DiscoverVersionsRequest, RequestBatchItem};
use kmip_codec::version::ProtocolVersion;
use kms_tests::testbed::{CLIENT_NAME, create_aes_key, runtime};
use server::dev::{self, DevLayout};
use server::store::records::Role;
use tokio::time::sleep;

use crate::replication::{connector, three_node_cluster};

/// The quota under test.
const QUOTA: usize = 6;

/// The Result Reason and message of a refused request.
fn refusal(e: &ClientError) -> (Option<ResultReason>, Option<&str>) {
    match e {
        ClientError::Kmip {
            reason, message, ..
        } => (*reason, message.as_deref()),
        other => panic!("not a KMIP refusal: {other}"),
    }
}

kms_tests::server_test! {
    async fn a_tenant_cannot_store_more_objects_than_its_quota(
        server,
        &[("KMSD_LIMITS__MAX_OBJECTS_PER_TENANT", "6")]
    ) {
        // Eight connections creating three keys each at once: exactly QUOTA are made.
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let connector = server.client("acme").expect("connector");
            tasks.push(tokio::spawn(async move {
                let mut conn = connector.connect().await.expect("connect");
                let mut outcomes = Vec::new();
                for _ in 0..3 {
                    outcomes.push(create_aes_key(&mut conn).await);
                }
                outcomes
            }));
        }
        let mut made = Vec::new();
        let mut refused = 0;
        for t in tasks {
            for outcome in t.await.expect("task") {
                match outcome {
                    Ok(uid) => made.push(uid),
                    Err(e) => {
                        // KMIP 1.4 has no Server Limit Exceeded: General Failure, with the
                        // fixed message.
                        assert_eq!(
                            refusal(&e),
                            (Some(ResultReason::GENERAL_FAILURE), Some("object quota of the tenant reached"))
                        );
                        refused += 1;
                    }
                }
            }
        }
        assert_eq!(made.len(), QUOTA, "objects made past the quota");
        assert_eq!(refused, 24 - QUOTA);
        assert_eq!(server.kms().metrics().limit_refusals("object_quota"), (24 - QUOTA) as u64);

        // KMIP 2.1 names the reason.
        let config = server
            .client_config("acme")
            .expect("config")
            .with_protocol_version(ProtocolVersion::V2_1);
        let mut v21 = client::Connector::new(config)
            .expect("connector")
            .connect()
            .await
            .expect("connect");
        let e = create_aes_key(&mut v21).await.expect_err("made past the quota");
        assert_eq!(refusal(&e).0, Some(ResultReason::SERVER_LIMIT_EXCEEDED));

        // Re-key makes an object too; a destroyed object still counts (its record stays).
        let mut conn = server.client("acme").expect("connector").connect().await.expect("connect");
        let e = conn.rekey(&made[0], None).await.expect_err("re-keyed past the quota");
        assert_eq!(refusal(&e).1, Some("object quota of the tenant reached"));
        conn.destroy(&made[1]).await.expect("destroy a pre-active key");
        assert!(create_aes_key(&mut conn).await.is_err(), "a destroyed key freed a place");

        // Another tenant is not affected.
        let mut other = server.client("globex").expect("connector").connect().await.expect("connect");
        for _ in 0..QUOTA {
            create_aes_key(&mut other).await.expect("globex has its own quota");
        }
    }
}

kms_tests::server_test! {
    async fn a_client_sending_too_fast_is_refused_item_by_item(
        server,
        &[
            ("KMSD_LIMITS__CLIENT_REQUESTS_PER_SECOND", "2"),
            ("KMSD_LIMITS__CLIENT_REQUEST_BURST", "10"),
        ]
    ) {
        let mut conn = server.client("acme").expect("connector").connect().await.expect("connect");
        let batch = |n: usize| {
            (0..n)
                .map(|_| RequestBatchItem::new(DiscoverVersionsRequest::default()))
                .collect::<Vec<_>>()
        };
        let mut request = conn.message(batch(20));
        request.header.batch_error_continuation_option = Some(BatchErrorContinuationOption::CONTINUE);
        let answer = conn.request(&request).await.expect("answer");
        let admitted = answer
            .batch_items
            .iter()
            .filter(|i| i.result_status == ResultStatus::SUCCESS)
            .count();
        // The burst (10), and perhaps one more token refilled meanwhile on a slow machine.
        assert!((10..=11).contains(&admitted), "{admitted} of 20 items admitted");
        for item in answer.batch_items.iter().filter(|i| i.result_status != ResultStatus::SUCCESS) {
            assert_eq!(item.result_reason, Some(ResultReason::GENERAL_FAILURE));
            assert_eq!(item.result_message.as_deref(), Some("request rate limit reached; slow down"));
        }
        assert_eq!(
            server.kms().metrics().limit_refusals("request_rate"),
            (20 - admitted) as u64
        );
        conn.discover_versions(&[]).await.expect_err("still empty");
        // Another client is not slowed.
        let mut other = server.client("globex").expect("connector").connect().await.expect("connect");
        for _ in 0..10 {
            other.discover_versions(&[]).await.expect("globex has its own bucket");
        }
        // The bucket refills at 2 per second.
        sleep(Duration::from_millis(1600)).await;
        conn.discover_versions(&[]).await.expect("refilled");
    }
}

kms_tests::softhsm_test! {
    fn a_tenant_quota_is_exact_across_a_cluster(env) {
        runtime().block_on(async {
            let layout = DevLayout::new(env.dir()).expect("layout");
            let config = dev::prepare(&layout, "127.0.0.1:0").expect("dev environment");
            let mut text = std::fs::read_to_string(&config).expect("config");
            text.push_str("\n[limits]\nmax_objects_per_tenant = 5\n");
            std::fs::write(&config, text).expect("config");
            let (nodes, _) = three_node_cluster(&layout, &config).await;
            let now = kms_tests::vectors::unix_now();
            nodes[0].kms().tenancy().create_tenant(&server::command_log::AuditScope::offline(nodes[0].kms().log_name(), "test setup"), "acme", now).await.expect("tenant");
            nodes[0]
                .kms()
                .tenancy().enroll_ca_issued(&server::command_log::AuditScope::offline(nodes[0].kms().log_name(), "test setup"), "acme", CLIENT_NAME, Role::KmipClient, now)
                .await
                .expect("enroll");
            // Four creates at once on each node (two of them forward to the leader): the
            // replicated log orders them, and every node's apply refuses past the fifth.
            let mut tasks = Vec::new();
            for node in &nodes {
                for _ in 0..4 {
                    let c = connector(&layout, node, "acme");
                    tasks.push(tokio::spawn(async move {
                        let mut conn = c.connect().await.expect("connect");
                        create_aes_key(&mut conn).await
                    }));
                }
            }
            let mut made = 0;
            for t in tasks {
                match t.await.expect("task") {
                    Ok(_) => made += 1,
                    Err(e) => assert!(e.to_string().contains("object quota of the tenant reached"), "{e}"),
                }
            }
            assert_eq!(made, 5, "objects made past the quota across the cluster");
            let mut digests = Vec::new();
            for node in &nodes {
                let cluster = node.kms().cluster().expect("clustered");
                cluster.linearize().await.expect("linearize");
                digests.push(cluster.state_machine().digest().expect("digest"));
                let mut count = 0;
                node.kms().store().for_each_object_of("acme", |_| { count += 1; true }).expect("scan");
                assert_eq!(count, 5);
            }
            assert!(digests.iter().all(|d| d == &digests[0]), "nodes disagree: {digests:?}");
            for node in nodes {
                node.shutdown().await;
            }
        });
    }
}
