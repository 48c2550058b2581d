//! `kmsd enroll-operator` writes the first operator of a node into its store, offline.

use std::process::Command;

const CONFIG: &str = r#"
[server]
data_dir = "data"
[tls]
client_ca = "ca.pem"
ecdsa_cert = "server.pem"
ecdsa_key = "server.key"
[hsm]
module = "/nonexistent/libsofthsm2.so"
token_label = "t"
pin_env = "NOT_USED"
"#;

#[test]
fn enroll_operator_writes_an_enabled_operator_and_refuses_bad_names() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kmsd.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let run = |name: &str| {
        Command::new(env!("CARGO_BIN_EXE_kmsd"))
            .args(["enroll-operator", "--config"])
            .arg(&config)
            .args(["--name", name])
            .env_remove("KMSD_CONFIG")
            .output()
            .unwrap()
    };
    let bad = run("Not A Label");
    assert!(!bad.status.success(), "an invalid name was accepted");
    let ok = run("ops1");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let store = server::store::Store::open(&dir.path().join("data").join(server::node::STORE_FILE))
        .unwrap();
    let op = store
        .client(&server::store::records::client_key(None, "ops1"))
        .unwrap()
        .expect("operator enrolled");
    assert_eq!(op.role, certs::identity::Role::Operator);
    assert!(op.enabled);
    assert_eq!(op.tenant, None);
}

#[test]
fn enroll_operator_leaves_exactly_one_audit_record() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kmsd.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let ok = Command::new(env!("CARGO_BIN_EXE_kmsd"))
        .args(["enroll-operator", "--config"])
        .arg(&config)
        .args(["--name", "olivia"])
        .env_remove("KMSD_CONFIG")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    // The default audit directory, `<data_dir>/audit` (none at all before this change).
    let audit_dir = dir.path().join("data").join("audit");
    let records =
        server::audit::query::read_page(&audit_dir, 0, 100, &audit_log::Filter::default())
            .map(|page| page.records)
            .unwrap_or_default();
    assert_eq!(records.len(), 1, "{records:#?}");
    let event = &records[0].event;
    assert_eq!(event.operation, "kmsd enroll-operator");
    assert_eq!(event.kind, audit_log::Kind::Admin);
    assert_eq!(event.status, audit_log::Status::Success);
    assert_eq!(event.change, Some(1), "carried by the enrollment's change");
}
