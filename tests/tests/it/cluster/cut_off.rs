//! A node cut off from the majority serves no admin answer from state that may be stale: the
//! leader is isolated by the fault proxies (still running, its admin API still reachable), the
//! majority elects a new leader and changes the tenant, its client and key K, and then every
//! admin read route of the old leader must answer `503 {"error":"cluster unavailable; try
//! again"}` (one test per route), a write route must not decide on its stale state, and only
//! this node's own views (probes, metrics, node and cluster status, digest) still answer,
//! saying so (`"view": "local"`).

use std::fmt::Debug;
use std::time::Duration;

use client::ClientError;
use client::admin::{AdminClient, AuditQuery, KeyAction, KeyFilter};
use kms_tests::cluster::{CLIENT_NAME, Cluster, ClusterOptions, TENANT};

use super::{cluster_test, connect, create_key};

/// The fixed answer of a node that cannot get a read index.
const UNAVAILABLE: &str = "cluster unavailable; try again";

/// A tenant the majority creates while the old leader is cut off.
const LATE_TENANT: &str = "beta";

/// Time allowed for the rotation job to finish before the cut.
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// What the cut-off node knew before the cut.
struct CutOff {
    /// The old leader, now cut off.
    node: u64,
    /// Key K: Active before the cut, revoked and destroyed by the majority after.
    key: String,
    /// A Domain Key rotation job that ran on the old leader before the cut.
    job: String,
}

/// Bootstraps, creates K and runs a Domain Key rotation through the leader L, waits until every
/// node holds it all, cuts L off, and has the new leader revoke and destroy K, disable the
/// tenant's client, suspend the tenant and create [`LATE_TENANT`].
async fn cut_off_leader(c: &mut Cluster) -> CutOff {
    c.bootstrap().await.expect("bootstrap");
    let node = c.leader().await.expect("leader");
    c.add_tenant(node).await.expect("tenant and client");
    let mut conn = connect(c, node).await;
    let key = create_key(&mut conn).await.expect("create K");
    let admin = c.admin(node).expect("admin client");
    let job = admin
        .rotate_domain_key(TENANT)
        .await
        .expect("rotation starts")
        .job;
    let deadline = tokio::time::Instant::now() + JOB_TIMEOUT;
    while !admin.job(TENANT, &job).await.expect("job").is_finished() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rotation job did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.wait_converged().await.expect("everything on every node");

    c.isolate(node);
    let new = c
        .new_leader(node)
        .await
        .expect("the majority elects a leader");
    let majority = c.admin(new).expect("admin client");
    for action in [KeyAction::Revoke, KeyAction::Destroy] {
        majority
            .key_action(TENANT, &key, action, Some("CessationOfOperation"), None)
            .await
            .unwrap_or_else(|e| panic!("{} K on the majority: {e}", action.as_str()));
    }
    majority
        .set_client_enabled(TENANT, CLIENT_NAME, false)
        .await
        .expect("disable the client on the majority");
    majority
        .suspend(TENANT)
        .await
        .expect("suspend on the majority");
    majority
        .create_tenant(LATE_TENANT)
        .await
        .expect("a tenant created on the majority");
    CutOff { node, key, job }
}

/// Cuts the leader off as [`cut_off_leader`] does, then checks that `read` on it is refused.
fn refuses_on_cut_off_node<T, F>(name: &str, read: F)
where
    T: Debug,
    F: AsyncFnOnce(&AdminClient, &CutOff) -> Result<T, ClientError>,
{
    cluster_test(name, &ClusterOptions::default(), async |c| {
        let cut = cut_off_leader(c).await;
        let admin = c.admin(cut.node).expect("admin client");
        assert_refused(name, read(&admin, &cut).await);
    });
}

/// `answer` must be the fixed 503 of a node that cannot linearize.
fn assert_refused<T: Debug>(what: &str, answer: Result<T, ClientError>) {
    match &answer {
        Err(ClientError::Admin { status, message }) if *status == 503 && message == UNAVAILABLE => {
        }
        other => panic!(
            "{what}: the cut-off node answered {other:?}, not 503 \"{UNAVAILABLE}\" (state that may be stale)"
        ),
    }
}

#[test]
fn cut_off_node_refuses_the_tenant_list() {
    refuses_on_cut_off_node("cut_off_node_refuses_the_tenant_list", async |a, _| {
        a.tenants().await
    });
}

#[test]
fn cut_off_node_refuses_a_tenant() {
    refuses_on_cut_off_node("cut_off_node_refuses_a_tenant", async |a, _| {
        a.tenant(TENANT).await
    });
}

#[test]
fn cut_off_node_refuses_the_client_list() {
    refuses_on_cut_off_node("cut_off_node_refuses_the_client_list", async |a, _| {
        a.clients(TENANT).await
    });
}

#[test]
fn cut_off_node_refuses_the_key_inventory() {
    refuses_on_cut_off_node("cut_off_node_refuses_the_key_inventory", async |a, _| {
        a.keys(TENANT, &KeyFilter::default()).await
    });
}

/// The case the issue names: K revoked and destroyed on the majority was shown `Active`. Once
/// the node is back, it shows K as the majority left it.
#[test]
fn cut_off_node_refuses_a_key_and_shows_it_current_once_back() {
    let name = "cut_off_node_refuses_a_key_and_shows_it_current_once_back";
    cluster_test(name, &ClusterOptions::default(), async |c| {
        let cut = cut_off_leader(c).await;
        let admin = c.admin(cut.node).expect("admin client");
        assert_refused(name, admin.key(TENANT, &cut.key).await);
        c.heal();
        c.wait_rejoined(cut.node).await.expect("the node rejoins");
        let key = admin.key(TENANT, &cut.key).await.expect("K once back");
        assert_eq!(key.state, "Destroyed", "{key:?}");
    });
}

#[test]
fn cut_off_node_refuses_a_rotation_job() {
    refuses_on_cut_off_node("cut_off_node_refuses_a_rotation_job", async |a, cut| {
        a.job(TENANT, &cut.job).await
    });
}

#[test]
fn cut_off_node_refuses_audit_records() {
    refuses_on_cut_off_node("cut_off_node_refuses_audit_records", async |a, _| {
        a.audit_records(&AuditQuery::default(), 0, Some(10)).await
    });
}

#[test]
fn cut_off_node_refuses_audit_checkpoints() {
    refuses_on_cut_off_node("cut_off_node_refuses_audit_checkpoints", async |a, _| {
        a.audit_checkpoints().await
    });
}

#[test]
fn cut_off_node_refuses_the_audit_public_key() {
    refuses_on_cut_off_node("cut_off_node_refuses_the_audit_public_key", async |a, _| {
        a.audit_public_key().await.map(|_| ())
    });
}

/// A write route reads before it writes: enrolling into the tenant the majority created was
/// refused "no such tenant" from the stale store.
#[test]
fn cut_off_node_decides_no_write_on_stale_state() {
    refuses_on_cut_off_node(
        "cut_off_node_decides_no_write_on_stale_state",
        async |a, _| {
            a.enroll(
                LATE_TENANT,
                &client::admin::Enrollment {
                    name: "late".to_owned(),
                    role: None,
                    certificate: None,
                },
            )
            .await
        },
    );
}

/// The probes, the metrics, the node and cluster status, the digest and a certificate reload
/// are this node's own view: answered on the cut-off node, and saying so.
#[test]
fn cut_off_node_still_answers_its_own_view_and_says_so() {
    let name = "cut_off_node_still_answers_its_own_view_and_says_so";
    cluster_test(name, &ClusterOptions::default(), async |c| {
        let cut = cut_off_leader(c).await;
        let a = c.admin(cut.node).expect("admin client");
        let local = Some("local");
        let health = a.healthz().await.expect("/healthz");
        assert_eq!(health.view.as_deref(), local, "/healthz {health:?}");
        let ready = a.readyz().await.expect("/readyz");
        assert_eq!(ready.view.as_deref(), local, "/readyz {ready:?}");
        let metrics = a.metrics().await.expect("/metrics");
        assert!(
            metrics.contains("kms_raft_term"),
            "/metrics: no Raft metrics"
        );
        let node = a.node_status().await.expect("/v1/node/status");
        assert_eq!(node.view.as_deref(), local, "/v1/node/status {node:?}");
        let status = a.cluster_status().await.expect("/v1/cluster");
        assert_eq!(status.view.as_deref(), local, "/v1/cluster {status:?}");
        assert_eq!(status.node_id, cut.node);
        let digest = a.cluster_digest().await.expect("/v1/cluster/digest");
        assert_eq!(
            digest.view.as_deref(),
            local,
            "/v1/cluster/digest {digest:?}"
        );
        // Its own certificate files: reloaded on the cut-off node too (the node certificate
        // and CA of its Raft listener and calls included).
        let reloaded = a
            .reload_certificates()
            .await
            .expect("/v1/node/reload-certificates");
        assert_eq!(
            reloaded.view.as_deref(),
            local,
            "/v1/node/reload-certificates {reloaded:?}"
        );
    });
}
