//! A tenant leaves one installation for another with its keys (issue 18, done-when): tenant acme
//! on installation 1, the three-node loopback cluster, has keys made by the vCenter flow (KMIP
//! 1.1, a new connection per step, the `x-` attributes vCenter adds) and a named key of its own;
//! installation 2 is another server with its own SoftHSM token and Root of Trust, where acme's
//! admin makes the tenant's import key pair. On installation 1 an admin asks for the export
//! wrapped for that key through a follower, a second admin approves it, the first takes the
//! bundle; on installation 2 it is imported, trusting the exporting node's audit key as the
//! auditor's export of that node's trail gives it. Every key then Gets the same bytes under the
//! same UID on installation 2, the vCenter flow finds it Active with its attributes, and every
//! node's trail of both installations verifies offline.

use std::path::Path;

use client::admin::Enrollment;
use client::cli::Exit;
use client::{Connection, IdentityFiles};
use kmip_codec::enums::{CryptographicUsageMask, State};
use kmip_codec::model::{Attribute, AttributeName, AttributeValue};
use kmip_codec::version::ProtocolVersion;
use kms_tests::cluster::{Cluster, ClusterOptions, NODES, TENANT, node_ip};
use kms_tests::testbed::{TestServer, key_bytes, runtime};
use server::store::records::Role;

use crate::tenant_migration::Kmsctl;

/// Keys vCenter makes on installation 1.
const VCENTER_KEYS: usize = 3;

/// `kmsctl` as `files` against node `id` of the cluster.
fn on_node(c: &Cluster, id: u64, files: IdentityFiles) -> Kmsctl {
    Kmsctl {
        admin_addr: c.admin_addr(id).to_string(),
        server_name: node_ip(id).to_string(),
        ca: c.ca_path().to_owned(),
        files,
    }
}

/// One step of vCenter: a new KMIP 1.1 connection to node `id`.
async fn vcenter(c: &Cluster, id: u64) -> Connection {
    c.connector_in(
        id,
        ProtocolVersion::V1_1,
        std::time::Duration::from_secs(10),
    )
    .expect("connector")
    .connect()
    .await
    .expect("connect")
}

/// The vCenter flow's key: Create (AES-256, Encrypt|Decrypt), the product and VM attributes,
/// Activate, each on its own connection; its UID and bytes.
async fn vcenter_key(c: &Cluster, id: u64, vm: &str) -> (String, Vec<u8>) {
    let uid = {
        let mut conn = vcenter(c, id).await;
        kms_tests::testbed::create_aes_key(&mut conn)
            .await
            .expect("create")
    };
    for (name, value) in [
        ("x-Vendor", "VMware, Inc."),
        ("x-Product", "VMware vSphere"),
        ("x-Component", "Virtual Machine"),
        ("x-Name", vm),
    ] {
        let mut conn = vcenter(c, id).await;
        conn.add_attribute(
            &uid,
            Attribute::custom(name, AttributeValue::TextString(value.into())),
        )
        .await
        .expect("add attribute");
    }
    let mut conn = vcenter(c, id).await;
    conn.activate(&uid).await.expect("activate");
    let bytes = key_bytes(&mut conn, &uid).await;
    (uid, bytes)
}

/// Exports node `id`'s trail as its auditor would and verifies it offline; the directory.
async fn audited(operator: &Kmsctl, dir: &Path) {
    let out = dir.display().to_string();
    let (exit, _, err) = operator.run(&["audit", "export", "--out", &out]).await;
    assert_eq!(exit, Exit::Success, "audit export {out}: {err}");
    let (exit, report, err) = kms_tests::kmsctl::run(
        ["audit", "verify", "--dir", &out, "--json"]
            .iter()
            .map(|a| (*a).to_owned()),
    )
    .await;
    assert_eq!(exit, Exit::Success, "{out}: {report}{err}");
    assert!(
        report.contains("\"clean\": true") || report.contains("\"clean\":true"),
        "{report}"
    );
}

#[test]
fn a_tenant_moves_to_another_installation_with_its_keys_under_the_same_uids() {
    let _one = super::ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    kms_tests::softhsm::run(
        "it::cluster::migration::a_tenant_moves_to_another_installation_with_its_keys_under_the_same_uids",
        |env| {
            runtime().block_on(async {
                let c = Cluster::start(&ClusterOptions::default())
                    .await
                    .expect("installation 1");
                c.bootstrap().await.expect("bootstrap");
                let leader = c.leader().await.expect("leader");
                c.add_tenant(leader).await.expect("tenant");
                let follower = (1..=NODES).find(|id| *id != leader).expect("a follower");
                let dir = tempfile::tempdir().expect("temp dir");
                let path = |name: &str| dir.path().join(name).display().to_string();

                // Installation 1: vCenter's keys (through every node) and one of the tenant's own.
                let mut keys = Vec::new();
                for n in 0..VCENTER_KEYS {
                    let node = 1 + (n as u64 % NODES);
                    keys.push(vcenter_key(&c, node, &format!("vm-{n}")).await);
                }
                let mut conn = vcenter(&c, leader).await;
                let own = crate::export_import::register_key(
                    &mut conn,
                    &[0x42; 32],
                    CryptographicUsageMask::ENCRYPT,
                    crate::tenant_migration::named("payroll-db"),
                )
                .await;
                keys.push((own.clone(), vec![0x42; 32]));

                let admin = c.admin(leader).expect("operator");
                for name in ["alice", "bob"] {
                    admin
                        .enroll(
                            TENANT,
                            &Enrollment {
                                name: name.into(),
                                role: Some("tenant-admin".into()),
                                certificate: None,
                            },
                        )
                        .await
                        .expect("enroll tenant admin");
                }
                let alice = on_node(
                    &c,
                    follower,
                    c.issue_identity(certs::Role::TenantAdmin, Some(TENANT), "alice")
                        .unwrap(),
                );
                let bob = on_node(
                    &c,
                    leader,
                    c.issue_identity(certs::Role::TenantAdmin, Some(TENANT), "bob")
                        .unwrap(),
                );

                // Installation 2: its own token and Root of Trust; acme's import key pair.
                let two = TestServer::start(env).await.expect("installation 2");
                let carol = Kmsctl::of(
                    &two,
                    two.admin_identity(Role::TenantAdmin, Some(TENANT), "carol")
                        .await
                        .unwrap(),
                );
                let made = carol
                    .ok(&[
                        "tenant",
                        "import-key",
                        TENANT,
                        "--out",
                        &path("acme-import.pem"),
                    ])
                    .await;
                let unwrap_key = made["private_key"]
                    .as_str()
                    .expect("private key UID")
                    .to_owned();

                // Export from 1 through a follower, wrapped for 2, with the two-person rule.
                let asked = alice
                    .ok(&[
                        "tenant",
                        "export",
                        TENANT,
                        "--wrap-with",
                        &path("acme-import.pem"),
                        "--out",
                        &path("bundle"),
                    ])
                    .await;
                assert_eq!(asked["status"], "awaiting_approval", "{asked}");
                let job = asked["id"].as_str().expect("job").to_owned();
                bob.ok(&["tenant", "approve-export", TENANT, &job]).await;
                alice
                    .ok(&[
                        "tenant",
                        "export",
                        TENANT,
                        "--job",
                        &job,
                        "--out",
                        &path("bundle"),
                    ])
                    .await;

                // The auditor's export of the follower's trail gives the key the bundle must be signed with.
                let operator_on = |id| on_node(&c, id, c.operator_files().clone());
                for id in 1..=NODES {
                    audited(&operator_on(id), &dir.path().join(format!("trail-{id}"))).await;
                }
                let signer = dir
                    .path()
                    .join(format!("trail-{follower}"))
                    .join("audit-public-key.hex");
                assert!(
                    signer.exists(),
                    "the audit export holds the node's public key"
                );

                let imported = carol
                    .ok(&[
                        "tenant",
                        "import",
                        TENANT,
                        &path("bundle"),
                        "--unwrap-key",
                        &unwrap_key,
                        "--signer",
                        &signer.display().to_string(),
                    ])
                    .await;
                let uids: Vec<&str> = imported["imported"]
                    .as_array()
                    .expect("imported")
                    .iter()
                    .filter_map(|u| u.as_str())
                    .collect();
                for (uid, _) in &keys {
                    assert!(
                        uids.contains(&uid.as_str()),
                        "{uid} not imported: {imported}"
                    );
                }

                // Every key: the same bytes under the same UID on 2; vCenter finds its keys.
                let config = two
                    .client_config(TENANT)
                    .expect("config")
                    .with_protocol_version(ProtocolVersion::V1_1);
                let vc2 = client::Connector::new(config).expect("connector");
                for (n, (uid, bytes)) in keys.iter().enumerate() {
                    let mut conn = vc2.connect().await.expect("connect to 2");
                    assert_eq!(
                        &key_bytes(&mut conn, uid).await,
                        bytes,
                        "{uid}: the same bytes on installation 2"
                    );
                    let attributes = conn
                        .get_attributes(
                            uid,
                            vec![
                                AttributeName::from_1x("State"),
                                AttributeName::from_1x("x-Name"),
                            ],
                        )
                        .await
                        .expect("get attributes on 2");
                    assert_eq!(attributes.state(), Some(State::ACTIVE), "{uid}");
                    if n < VCENTER_KEYS {
                        let vm = attributes
                            .get_by_name(&AttributeName::from_1x("x-Name"))
                            .and_then(|v| v.as_text().map(str::to_owned));
                        assert_eq!(
                            vm,
                            Some(format!("vm-{n}")),
                            "{uid}: vCenter's attribute kept"
                        );
                    }
                }

                // Both installations' trails verify offline; installation 2's holds the import.
                let operator_two = Kmsctl::of(
                    &two,
                    two.admin_identity(Role::Operator, None, "ops")
                        .await
                        .unwrap(),
                );
                audited(&operator_two, &dir.path().join("trail-two")).await;
                for id in 1..=NODES {
                    audited(
                        &operator_on(id),
                        &dir.path().join(format!("trail-after-{id}")),
                    )
                    .await;
                }
                let records =
                    std::fs::read_to_string(dir.path().join("trail-two").join("records.jsonl"))
                        .unwrap_or_default();
                assert!(
                    records.contains("/imports"),
                    "the import is in installation 2's trail"
                );
                let exported = std::fs::read_to_string(
                    dir.path()
                        .join(format!("trail-after-{follower}"))
                        .join("records.jsonl"),
                )
                .unwrap_or_default();
                for (uid, _) in &keys {
                    assert!(
                        exported.contains(uid.as_str()),
                        "{uid}: no record on the exporting node"
                    );
                }
            });
        },
    );
}
