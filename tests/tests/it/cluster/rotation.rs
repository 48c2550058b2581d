//! A Domain Key rotation job survives its leader (issue 17): on the three-node loopback
//! cluster, a rotation of a tenant with many keys starts through the leader; as soon as the job
//! is seen with some keys re-sealed, the leader is killed (SIGKILL). The new leader finds the job in the
//! replicated store and completes it from where the old leader stopped: every key re-sealed under the new version, the old one
//! retired, every key still served with the same bytes, the job's progress answered by every
//! surviving node.

use std::time::Duration;

use kms_tests::cluster::{ClusterOptions, NODES, TENANT};

use super::{cluster_test, connect, create_key, get_key};

/// Keys of the tenant: enough that re-sealing them takes a while on a small machine.
const KEYS: usize = 800;
/// Connections creating them at once.
const WRITERS: usize = 4;
/// Polls of the job before it must be seen running / finished (20 ms apart): bounds on a
/// failure, not measurements.
const POLLS: usize = 3000;

#[test]
fn a_rotation_job_is_completed_by_the_next_leader_after_its_leader_is_killed() {
    cluster_test(
        "a_rotation_job_is_completed_by_the_next_leader_after_its_leader_is_killed",
        &ClusterOptions::default(),
        async |c| {
            c.bootstrap().await.expect("bootstrap");
            let leader = c.leader().await.expect("leader");
            c.add_tenant(leader).await.expect("tenant");
            let follower = (1..=NODES).find(|id| *id != leader).expect("a follower");

            let mut writers = Vec::new();
            for w in 0..WRITERS {
                let mut conn = connect(c, 1 + (w as u64 % NODES)).await;
                writers.push(tokio::spawn(async move {
                    let mut made = Vec::new();
                    for _ in 0..KEYS / WRITERS {
                        made.push(create_key(&mut conn).await.expect("create"));
                    }
                    made
                }));
            }
            let mut uids = Vec::new();
            for w in writers {
                uids.extend(w.await.expect("writer"));
            }
            let mut conn = connect(c, follower).await;
            let sample: Vec<(String, Vec<u8>)> = {
                let mut out = Vec::new();
                for uid in uids.iter().step_by(KEYS / 16) {
                    out.push((uid.clone(), get_key(&mut conn, uid).await.expect("get").1));
                }
                out
            };

            let started = c
                .admin(leader)
                .expect("admin API of the leader")
                .rotate_domain_key(TENANT)
                .await
                .expect("rotation starts");
            let watcher = c.admin(follower).expect("admin API of a follower");
            let mut seen = None;
            for _ in 0..POLLS {
                let job = watcher.job(TENANT, &started.job).await.expect("job");
                if job.is_finished() {
                    panic!("the job finished before the leader could be killed: {job:?}");
                }
                // Some keys re-sealed (and recorded) by the leader: the job is in the middle.
                if job.resealed > 0 {
                    seen = Some(job);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let seen = seen.expect("the job is seen running, driven by the leader");
            c.kill9(leader).await.expect("the leader is killed");
            println!(
                "leader {leader} killed with the job at {}/{}",
                seen.resealed, seen.total
            );
            let new = c.new_leader(leader).await.expect("a new leader");

            let admin = c.admin(new).expect("admin API of the new leader");
            let mut done = None;
            for _ in 0..POLLS {
                let job = admin.job(TENANT, &started.job).await.expect("job");
                if job.is_finished() {
                    done = Some(job);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let done = done.expect("the new leader finishes the job");
            assert_eq!(done.state, "completed", "{done:?}");
            assert_eq!(done.total, KEYS as u64, "{done:?}");
            assert_eq!(done.resealed, done.total, "{done:?}");
            assert!(
                seen.resealed > 0 && seen.resealed < done.total,
                "killed in the middle: {seen:?}"
            );

            // Every surviving node answers the same job, every key is on the new version, the
            // old version is retired, and the keys keep their bytes.
            c.wait_converged().await.expect("the survivors converge");
            for id in (1..=NODES).filter(|id| *id != leader) {
                let job = c
                    .admin(id)
                    .expect("admin")
                    .job(TENANT, &started.job)
                    .await
                    .expect("job");
                assert_eq!(
                    (job.state.as_str(), job.resealed),
                    ("completed", KEYS as u64),
                    "node {id}"
                );
                let mut conn = connect(c, id).await;
                for (uid, bytes) in &sample {
                    let (_, got) = get_key(&mut conn, uid)
                        .await
                        .expect("served after rotation");
                    assert!(got == *bytes, "node {id} serves other bytes for {uid}");
                }
            }
            let tenant = admin.tenant(TENANT).await.expect("tenant");
            assert_eq!(
                tenant.domain_key_versions,
                vec![started.domain_key_version],
                "only the new version is left"
            );
            c.start_node(leader)
                .await
                .expect("the killed node comes back");
        },
    );
}
