//! Backup holds on a real three-node cluster (issue 17): a destroy racing a hold is decided
//! once, in the replicated log, the same way on every node; with the node that led lost as a
//! zone is lost, the other AZs still answer that the backup set is restorable, serve its key,
//! and refuse to destroy it; then, still without that AZ, a destroy with a short grace is
//! pending on every survivor and erased by the new leader's time-driven task.

use client::ClientError;
use kmip_codec::enums::{ResultReason, RevocationReasonCode};
use kms_tests::cluster::{ClusterOptions, NODES, TENANT};

use super::{cluster_test, connect, create_key, get_key};

/// Keys raced (each: a hold through one node, a Destroy through another, at once).
const RACES: usize = 6;

const UNTIL: &str = "2100-01-01T00:00:00Z";

#[test]
fn a_destroy_racing_a_hold_is_decided_once_and_a_hold_outlives_its_leader() {
    cluster_test(
        "a_destroy_racing_a_hold_is_decided_once_and_a_hold_outlives_its_leader",
        &ClusterOptions::default(),
        async |c| {
            c.bootstrap().await.expect("bootstrap");
            let leader = c.leader().await.expect("leader");
            c.add_tenant(leader).await.expect("tenant");
            let mut n1 = connect(c, 1).await;
            let mut n3 = connect(c, 3).await;
            let admin2 = c.admin(2).expect("admin API of node 2");

            // Each race: a revoked key, then a hold via node 2 and a Destroy via node 3 at once.
            let (mut held, mut destroyed) = (0, 0);
            for i in 0..RACES {
                let uid = create_key(&mut n1).await.expect("create");
                n1.revoke(&uid, RevocationReasonCode::CESSATION_OF_OPERATION, None)
                    .await
                    .expect("revoke");
                let set = format!("race-{i}");
                let keys = [uid.clone()];
                let (hold, destroy) = tokio::join!(
                    admin2.place_hold(TENANT, &set, &keys, UNTIL),
                    n3.destroy(&uid)
                );
                match (hold, destroy) {
                    (Ok(_), Err(e)) => {
                        assert_eq!(
                            e.result_reason(),
                            Some(ResultReason::PERMISSION_DENIED),
                            "{e}"
                        );
                        held += 1;
                    }
                    (
                        Err(ClientError::Admin {
                            status: 409,
                            message,
                        }),
                        Ok(()),
                    ) => {
                        assert_eq!(message, "key destroyed");
                        destroyed += 1;
                    }
                    (hold, destroy) => {
                        panic!("race {i}: both or neither won: {hold:?} / {destroy:?}")
                    }
                }
            }
            println!("races: the hold won {held}, the destroy won {destroyed}");
            // Every node holds the same outcome.
            let digest = c.wait_converged().await.expect("the nodes converge");
            for id in 1..=NODES {
                assert_eq!(
                    c.digest(id).await.expect("digest").digest,
                    digest.digest,
                    "node {id}"
                );
            }

            // A backup made while node `leader` led; then that AZ is lost.
            let uid = create_key(&mut n1).await.expect("create");
            let (_, bytes) = get_key(&mut n1, &uid).await.expect("get");
            c.admin(leader)
                .expect("admin API of the leader")
                .place_hold(TENANT, "bs-az", std::slice::from_ref(&uid), UNTIL)
                .await
                .expect("hold placed through the leader");
            c.lose_zone(leader).await.expect("the leader's AZ is lost");
            c.new_leader(leader).await.expect("a new leader");
            for id in (1..=NODES).filter(|id| *id != leader) {
                let shown = c
                    .admin(id)
                    .expect("admin API")
                    .hold(TENANT, "bs-az")
                    .await
                    .unwrap_or_else(|e| panic!("node {id} answers the restore query: {e}"));
                assert_eq!(shown["restorable"], true, "node {id}: {shown}");
                assert!(shown["served_by"].as_str().is_some_and(|s| !s.is_empty()));
                let mut conn = connect(c, id).await;
                let (_, got) = get_key(&mut conn, &uid)
                    .await
                    .expect("the held key is served");
                assert!(got == bytes, "node {id} serves other bytes");
                conn.revoke(&uid, RevocationReasonCode::CESSATION_OF_OPERATION, None)
                    .await
                    .ok();
                let refused = conn.destroy(&uid).await.expect_err("held: not destroyed");
                assert_eq!(
                    refused.result_reason(),
                    Some(ResultReason::PERMISSION_DENIED)
                );
            }

            // Two-stage destroy run by the cluster, with the old leader still lost: a short
            // grace, a destroy through one node, pending on every survivor, then erased by the
            // new leader's task once the grace ends, on every survivor, with one erase event.
            let survivors: Vec<u64> = (1..=NODES).filter(|id| *id != leader).collect();
            let admin = c.admin(survivors[0]).expect("admin API");
            admin.set_destroy_grace(TENANT, 2).await.expect("grace set");
            let mut conn = connect(c, survivors[1]).await;
            let uid = create_key(&mut conn).await.expect("create");
            conn.revoke(&uid, RevocationReasonCode::CESSATION_OF_OPERATION, None)
                .await
                .expect("revoke");
            conn.destroy(&uid).await.expect("destroy answers Success");
            for id in &survivors {
                let key = c
                    .admin(*id)
                    .expect("admin")
                    .key(TENANT, &uid)
                    .await
                    .expect("key");
                assert_eq!(key.state, "Destroyed", "node {id}: {key:?}");
                assert!(
                    key.erase_at.is_some() && key.domain_key_version.is_some(),
                    "node {id} pending: {key:?}"
                );
            }
            for id in &survivors {
                let node = c.admin(*id).expect("admin");
                let mut erased = false;
                for _ in 0..300 {
                    let key = node.key(TENANT, &uid).await.expect("key");
                    if key.erase_at.is_none() && key.domain_key_version.is_none() {
                        erased = true;
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                assert!(erased, "node {id}: the material is erased after the grace");
            }
            let feed = admin.events(TENANT, 0, 0).await.expect("events");
            let about: Vec<&str> = feed["events"]
                .as_array()
                .expect("events")
                .iter()
                .filter(|e| e["object"] == uid.as_str())
                .filter_map(|e| e["kind"].as_str())
                .collect();
            assert_eq!(
                about,
                ["key_revoked", "key_destroy_pending", "key_erased"],
                "{feed}"
            );
            c.start_node(leader).await.expect("the lost AZ comes back");
        },
    );
}
