//! Three nodes of one cluster in this process, on loopback, over real node-to-node mutual TLS
//! (all three use the test's one SoftHSM token, so they share its Root of Trust): bootstrap,
//! membership, writes on any node, linearizable reads on every node. Faults with real
//! processes (kill -9, partitions) are in `cluster.rs`.

use std::net::TcpListener;
use std::path::Path;

use certs::files::PemPaths;
use certs::{KeyAlgorithm, NodeRequest};
use client::{ClientConfig, Connector};
use kmip_codec::enums::RevocationReasonCode;
use kms_tests::testbed::{CLIENT_NAME, key_bytes, runtime};
use server::dev::{self, DevLayout};
use server::node::Node;
use server::store::records::Role;

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Starts node `id` of the cluster from the dev configuration, with its own node certificate,
/// data and audit directories, and a Raft listener on `raft_port`.
async fn start_node(layout: &DevLayout, config: &Path, id: u64, raft_port: u16) -> Node {
    let settings = node_settings(layout, config, id, raft_port, "node");
    Node::start(settings).await.expect("node starts")
}

/// The settings of node `id` with its files under `<layout>/<base>-<id>` (its node
/// certificate made there on first use), a Raft listener on `raft_port`.
pub(crate) fn node_settings(
    layout: &DevLayout,
    config: &Path,
    id: u64,
    raft_port: u16,
    base: &str,
) -> server::config::Settings {
    let ca = certs::files::load_ca(&PemPaths::in_dir(&layout.pki(), "ca")).expect("CA");
    let pair = ca
        .issue_node(&NodeRequest {
            node_id: id,
            hosts: vec!["127.0.0.1".parse().expect("host")],
            algorithm: KeyAlgorithm::EcdsaP256,
            days: 2,
        })
        .expect("node certificate");
    let dir = layout.dir.join(format!("{base}-{id}"));
    certs::files::create_private_dir(&dir).expect("node dir");
    let paths = PemPaths::in_dir(&dir, "node");
    if !paths.both_exist().expect("stat") {
        certs::files::write_certified_key(&paths, &pair, false).expect("write node cert");
    }
    let raft = format!("127.0.0.1:{raft_port}");
    let s = |p: &Path| p.display().to_string();
    let overrides = [
        ("KMSD_SERVER__NODE_ID", id.to_string()),
        ("KMSD_SERVER__DATA_DIR", s(&dir.join("data"))),
        ("KMSD_AUDIT__DIR", s(&dir.join("audit"))),
        ("KMSD_TLS__ECDSA_CERT", s(&paths.cert)),
        ("KMSD_TLS__ECDSA_KEY", s(&paths.key)),
        ("KMSD_ADMIN__LISTEN", "127.0.0.1:0".to_owned()),
        ("KMSD_CLUSTER__LISTEN", raft.clone()),
        ("KMSD_CLUSTER__HEARTBEAT_MS", "50".to_owned()),
        ("KMSD_CLUSTER__ELECTION_TIMEOUT_MS", "300".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v));
    server::config::Settings::load(config, overrides).expect("settings")
}

pub(crate) fn connector(layout: &DevLayout, node: &Node, tenant: &str) -> Connector {
    let (_, cert, key) = dev::client_files(layout)
        .into_iter()
        .find(|(t, _, _)| t.starts_with(tenant))
        .expect("dev client files");
    let config = ClientConfig::new(node.addr().to_string(), "127.0.0.1")
        .with_ca_file(layout.pki().join("ca.pem"))
        .with_identity(cert, key);
    Connector::new(config).expect("connector")
}

/// Three started nodes, bootstrapped into one cluster (node 1 leads at first), with the dev
/// tenant `acme` and its KMIP client enrolled through the cluster.
pub(crate) async fn three_node_cluster(layout: &DevLayout, config: &Path) -> (Vec<Node>, [u16; 3]) {
    let ports = [free_port(), free_port(), free_port()];
    seed_stale_client(&layout.dir.join("node-3").join("data")).await;
    let mut nodes = Vec::new();
    for (id, port) in (1..).zip(ports) {
        nodes.push(start_node(layout, config, id, port).await);
    }
    let first = nodes[0].kms().cluster().expect("clustered").clone();
    first.init().await.expect("init");
    for port in &ports[1..] {
        first
            .add_node(&format!("127.0.0.1:{port}"))
            .await
            .expect("add node");
    }
    (nodes, ports)
}

/// The name of a client written into node 3's store before it joins.
const STALE_CLIENT: &str = "before-joining";

/// Writes an operator enrollment straight into the store in `data_dir`, as `kmsd
/// enroll-operator` does before a node first starts: state no log entry holds.
async fn seed_stale_client(data_dir: &Path) {
    // 0700, as the node and `kmsd enroll-operator` make it (a looser one is refused)
    server::permissions::create_private_dir(data_dir).expect("data dir");
    let store =
        server::store::Store::open(&data_dir.join(server::node::STORE_FILE)).expect("store");
    let committer = store.committer(()).expect("committer");
    let record = server::store::records::ClientRecord {
        tenant: None,
        name: STALE_CLIENT.to_owned(),
        role: Role::Operator,
        identity: server::store::records::ClientIdentity::CaIssued,
        enabled: true,
        password_hash: None,
        created_at: 1,
    };
    committer
        .apply(server::store::Command::PutClient(record))
        .await
        .expect("store")
        .outcome
        .expect("applied");
    committer.shutdown().await;
}

async fn create_key(c: &Connector) -> Result<String, client::ClientError> {
    let mut conn = c.connect().await?;
    kms_tests::testbed::create_aes_key(&mut conn).await
}

kms_tests::softhsm_test! {
    fn three_nodes_replicate_keys_and_refuse_revoked_ones_everywhere(env) {
        runtime().block_on(async {
            let layout = DevLayout::new(env.dir()).expect("layout");
            let config = dev::prepare(&layout, "127.0.0.1:0").expect("dev environment");
            let (nodes, ports) = three_node_cluster(&layout, &config).await;
            let first = nodes[0].kms().cluster().expect("clustered").clone();
            // A second init is refused: the node belongs to a cluster.
            assert!(first.init().await.is_err(), "second init accepted");
            let voters: Vec<u64> = first.metrics().membership_config.membership().voter_ids().collect();
            assert_eq!(voters, [1, 2, 3]);
            // What node 3 held before it joined is gone: it took the cluster's state.
            let stale = server::store::records::client_key(None, STALE_CLIENT);
            assert!(nodes[2].kms().store().client(&stale).expect("read").is_none());
            // Adding a member again is refused.
            assert!(first.add_node(&format!("127.0.0.1:{}", ports[1])).await.is_err());

            // Admin changes go through the log, from any node.
            let now = kms_tests::vectors::unix_now();
            nodes[1].kms().tenancy().create_tenant(&server::command_log::AuditScope::offline(nodes[1].kms().log_name(), "test setup"), "acme", now).await.expect("tenant via a follower");
            nodes[2]
                .kms()
                .tenancy().enroll_ca_issued(&server::command_log::AuditScope::offline(nodes[2].kms().log_name(), "test setup"), "acme", CLIENT_NAME, Role::KmipClient, now)
                .await
                .expect("enroll via a follower");

            // A key created on a follower is forwarded, then readable with the same UID and
            // bytes on every node.
            let uid = create_key(&connector(&layout, &nodes[2], "acme")).await.expect("create on node 3");
            let mut bytes = Vec::new();
            for node in &nodes {
                let mut conn = connector(&layout, node, "acme").connect().await.expect("connect");
                bytes.push(key_bytes(&mut conn, &uid).await);
            }
            assert!(bytes.iter().all(|b| b == &bytes[0] && b.len() == 32), "nodes disagree on the key");

            // Revoked and destroyed on node 2: every node refuses it at once (linearizable
            // reads; the other nodes had it in their unsealed-key caches).
            let mut n2 = connector(&layout, &nodes[1], "acme").connect().await.expect("connect");
            n2.revoke(&uid, RevocationReasonCode::KEY_COMPROMISE, None).await.expect("revoke");
            n2.destroy(&uid).await.expect("destroy");
            for node in &nodes {
                let mut conn = connector(&layout, node, "acme").connect().await.expect("connect");
                assert!(conn.get(&uid, None).await.is_err(), "a destroyed key was served");
            }

            // Every node holds the same state.
            let mut digests = Vec::new();
            for node in &nodes {
                let cluster = node.kms().cluster().expect("clustered");
                cluster.linearize().await.expect("linearize");
                digests.push(cluster.state_machine().digest().expect("digest"));
            }
            assert!(digests.iter().all(|d| d == &digests[0]), "{digests:?}");

            // A removed node's ID is retired for good.
            first.remove_node(3).await.expect("remove node 3");
            let voters: Vec<u64> = first.metrics().membership_config.membership().voter_ids().collect();
            assert_eq!(voters, [1, 2]);
            let again = first.add_node(&format!("127.0.0.1:{}", ports[2])).await;
            assert!(
                matches!(&again, Err(e) if e.to_string().contains("never reused") || e.to_string().contains("another cluster")),
                "{again:?}"
            );
            for node in nodes {
                node.shutdown().await;
            }
        });
    }
}

kms_tests::softhsm_test! {
    /// Replicated Create throughput with the load tool (issue 8's replicated Create target):
    /// `cargo test --release -p kms-tests --test it replicated_create_throughput -- --ignored
    /// --nocapture` (BENCH_SECS, BENCH_CONNECTIONS, BENCH_NODE: which node the load goes to).
    /// All three nodes and the load run in this one process on the machine's cores.
    #[ignore = "benchmark: run on a quiet machine, in release"]
    fn replicated_create_throughput(env) {
        runtime().block_on(async {
            let layout = DevLayout::new(env.dir()).expect("layout");
            let config = dev::prepare(&layout, "127.0.0.1:0").expect("dev environment");
            let (nodes, _) = three_node_cluster(&layout, &config).await;
            let now = kms_tests::vectors::unix_now();
            nodes[0].kms().tenancy().create_tenant(&server::command_log::AuditScope::offline(nodes[0].kms().log_name(), "test setup"), "acme", now).await.expect("tenant");
            nodes[0]
                .kms()
                .tenancy().enroll_ca_issued(&server::command_log::AuditScope::offline(nodes[0].kms().log_name(), "test setup"), "acme", CLIENT_NAME, Role::KmipClient, now)
                .await
                .expect("enroll");
            let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
            let node: usize = var("BENCH_NODE", "1").parse().expect("BENCH_NODE");
            let target = &nodes[node - 1];
            let (_, cert, key) = dev::client_files(&layout)
                .into_iter()
                .find(|(t, _, _)| t.starts_with("acme"))
                .expect("client files");
            let ca = layout.pki().join("ca.pem");
            let args = [
                "bench", "--addr", &target.addr().to_string(), "--server-name", "127.0.0.1",
                "--ca", &ca.display().to_string(), "--cert", &cert.display().to_string(),
                "--key", &key.display().to_string(), "--workload", "create",
                "--connections", &var("BENCH_CONNECTIONS", "32"), "--warmup", "2s",
                "--duration", &format!("{}s", var("BENCH_SECS", "15")),
            ];
            let (exit, out, err) = kms_tests::kmsctl::run(args.iter().map(|a| (*a).to_owned())).await;
            println!("{out}{err}");
            assert_eq!(exit, client::cli::Exit::Success, "bench failed");
            for node in nodes {
                node.shutdown().await;
            }
        });
    }
}

/// Sends one envelope to the Raft listener at `raft_port` over mutual TLS with node `cert`'s
/// certificate, and returns the reply (`None`: the connection was closed without one).
async fn raw_call(
    layout: &DevLayout,
    cert_node: u64,
    raft_port: u16,
    envelope: &server::cluster::rpc::Envelope,
) -> Option<server::cluster::rpc::Reply> {
    use std::time::Duration;
    let dir = layout.dir.join(format!("node-{cert_node}"));
    let paths = PemPaths::in_dir(&dir, "node");
    let files = server::config::TlsFiles {
        client_ca: layout.pki().join("ca.pem"),
        ecdsa_cert: paths.cert,
        ecdsa_key: paths.key,
        rsa_cert: None,
        rsa_key: None,
        session_cache_entries: 1,
    };
    let tls = server::cluster::peer_tls::PeerTls::new(&files).expect("peer TLS");
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", raft_port))
        .await
        .expect("connect");
    let mut stream = tokio_rustls::TlsConnector::from(tls.client.clone())
        .connect(server::cluster::peer_tls::PeerTls::server_name(), tcp)
        .await
        .expect("handshake");
    server::cluster::rpc::write_frame(&mut stream, envelope)
        .await
        .expect("send");
    let t = Duration::from_secs(10);
    server::cluster::rpc::read_frame(&mut stream, t, t)
        .await
        .ok()
        .flatten()
}

kms_tests::softhsm_test! {
    fn peers_must_be_the_node_their_certificate_names_and_share_the_root_of_trust(env) {
        use server::cluster::rpc::{Call, Envelope, Refusal, Reply};
        runtime().block_on(async {
            let layout = DevLayout::new(env.dir()).expect("layout");
            let config = dev::prepare(&layout, "127.0.0.1:0").expect("dev environment");
            let (nodes, ports) = three_node_cluster(&layout, &config).await;
            let kcv = nodes[0].kms().keys().hsm().root_kcv().to_string();

            // Node 2's certificate, its own ID and KCV: answered.
            let hello = Envelope { from: 2, kcv: kcv.clone(), call: Call::Hello };
            let reply = raw_call(&layout, 2, ports[0], &hello).await;
            assert!(matches!(&reply, Some(Reply::Hello(info)) if info.id == 1), "{reply:?}");

            // Node 2's certificate claiming to be node 3: refused and cut off.
            let impostor = Envelope { from: 3, kcv: kcv.clone(), call: Call::Hello };
            let reply = raw_call(&layout, 2, ports[0], &impostor).await;
            assert!(matches!(reply, Some(Reply::Refused(Refusal::WrongNode))), "{reply:?}");

            // The right node with another Root of Trust: refused (it could neither join nor
            // take part in elections or replication).
            let other_root = Envelope { from: 2, kcv: "000000".into(), call: Call::ReadIndex };
            let reply = raw_call(&layout, 2, ports[0], &other_root).await;
            assert!(matches!(reply, Some(Reply::Refused(Refusal::KcvMismatch))), "{reply:?}");
            for node in nodes {
                node.shutdown().await;
            }
        });
    }
}
