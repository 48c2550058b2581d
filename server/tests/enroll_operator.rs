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
