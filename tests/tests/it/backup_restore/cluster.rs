//! A cluster's backup, taken on a follower, restored into the first node of a NEW cluster
//! (`cluster init`, the other nodes added by snapshot), in this process over real
//! node-to-node mutual TLS (`replication.rs`'s helpers).

use kms_tests::testbed::{create_aes_key, key_bytes, runtime};
use serde_json::Value;
use server::store::records::Role;

use super::{offline, s, write_files};
use client::cli::Exit;
kms_tests::softhsm_test! {
    /// A backup taken on a follower of a three-node cluster (at one applied index, naming the
    /// incarnation) restores into the first node of a NEW cluster; `cluster init` there, then
    /// two empty nodes added take the restored state by snapshot and serve the same keys.
    fn a_cluster_backup_restores_into_a_new_cluster(env) {
        runtime().block_on(cluster_drill(env));
    }
}

async fn cluster_drill(env: &kms_tests::softhsm::Env) {
    use crate::replication::{connector, free_port, node_settings, three_node_cluster};
    use server::command_log::AuditScope;
    use server::node::Node;

    let layout = server::dev::DevLayout::new(env.dir()).expect("layout");
    let config = server::dev::prepare(&layout, "127.0.0.1:0").expect("dev environment");
    let (nodes, _) = three_node_cluster(&layout, &config).await;
    let now = kms_tests::vectors::unix_now();
    let scope = || AuditScope::offline(nodes[0].kms().log_name(), "test setup");
    let tenancy = nodes[0].kms().tenancy();
    tenancy
        .create_tenant(&scope(), "acme", now)
        .await
        .expect("tenant");
    tenancy
        .enroll_ca_issued(
            &scope(),
            "acme",
            kms_tests::testbed::CLIENT_NAME,
            Role::KmipClient,
            now,
        )
        .await
        .expect("enroll");
    let mut keys = Vec::new();
    let mut conn = connector(&layout, &nodes[1], "acme")
        .connect()
        .await
        .expect("connect");
    for _ in 0..4 {
        let uid = create_aes_key(&mut conn).await.expect("create");
        let bytes = key_bytes(&mut conn, &uid).await;
        keys.push((uid, bytes));
    }
    drop(conn);

    // The backup, on a follower (node 3), after a read index as the admin API waits for.
    let follower = nodes[2].kms();
    follower
        .cluster()
        .expect("clustered")
        .linearize()
        .await
        .expect("linearize");
    let files = server::backup::create(follower)
        .await
        .expect("backup on a follower");
    let manifest: Value = serde_json::from_str(&files.manifest).expect("manifest");
    assert!(
        manifest["cluster"]["applied_index"].as_u64() > Some(0),
        "{manifest}"
    );
    assert!(manifest["cluster"]["incarnation"].is_string(), "{manifest}");
    let backup = env.dir().join("cluster-backup");
    write_files(&backup, &files);
    let signer = backup.join("signer.pem");
    let (exit, out, err) =
        offline(&["backup", "verify", &s(&backup), "--signer", &s(&signer)]).await;
    assert_eq!(exit, Exit::Success, "{out} {err}");
    assert!(out.contains("at applied index"), "{out}");
    for node in nodes {
        node.shutdown().await;
    }

    // A new cluster: node 1 restored into new directories, then init, then two empty nodes.
    let ports = [free_port(), free_port(), free_port()];
    let settings = node_settings(&layout, &config, 1, ports[0], "restored");
    let restored = server::backup::restore(&settings, &backup, &s(&signer))
        .await
        .expect("restore into the first node");
    // node 1's log continues from its checkpoint when the backup holds one; else (the backup
    // was taken on node 3, before node 1 signed any) it starts with the restore record
    let has_own = restored
        .manifest
        .audit_checkpoints
        .iter()
        .any(|c| c.log == "node-1");
    assert_eq!(restored.continued_from.is_some(), has_own, "{restored:?}");
    if !has_own {
        assert_eq!(restored.audit_seq, 1, "{restored:?}");
    }
    let first = Node::start(settings).await.expect("restored node starts");
    let raft = first.kms().cluster().expect("clustered").clone();
    raft.init().await.expect("init a new cluster");
    let mut others = Vec::new();
    for (id, port) in [(2, ports[1]), (3, ports[2])] {
        let node = Node::start(node_settings(&layout, &config, id, port, "restored"))
            .await
            .expect("empty node starts");
        raft.add_node(&format!("127.0.0.1:{port}"))
            .await
            .expect("add node");
        others.push(node);
    }
    let incarnation = raft.state_machine().incarnation().expect("incarnation");
    assert_ne!(
        incarnation.map(|i| i.to_string()).as_deref(),
        manifest["cluster"]["incarnation"].as_str(),
        "the restored cluster is a new incarnation"
    );
    for node in std::iter::once(&first).chain(&others) {
        let mut conn = connector(&layout, node, "acme")
            .connect()
            .await
            .expect("connect");
        for (uid, bytes) in &keys {
            assert_eq!(&key_bytes(&mut conn, uid).await, bytes, "key {uid}");
        }
    }
    let mut digests = Vec::new();
    for node in std::iter::once(&first).chain(&others) {
        let cluster = node.kms().cluster().expect("clustered");
        cluster.linearize().await.expect("linearize");
        digests.push(cluster.state_machine().digest().expect("digest"));
    }
    assert!(digests.iter().all(|d| d == &digests[0]), "{digests:?}");
    for node in others {
        node.shutdown().await;
    }
    first.shutdown().await;
}
