//! The node's files are its own (issue 14, L1): the data and audit directories are created
//! 0700 and every file in them 0600 (the store holds Argon2 hashes, the trail names every
//! client), and a node refuses to start on a data or audit directory, or a store or audit
//! file, that the group or others may access, naming the path and its mode.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask};
use kmip_codec::model::Attributes;
use kms_tests::testbed::TestServer;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Every directory and file under `root`, with `root` first.
fn tree(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_owned()];
    let mut i = 0;
    while i < out.len() {
        if out[i].is_dir() {
            let entries: Vec<PathBuf> = std::fs::read_dir(&out[i])
                .expect("list")
                .map(|e| e.expect("entry").path())
                .collect();
            out.extend(entries);
        }
        i += 1;
    }
    out
}

/// Makes a key, so that the store and the audit trail have content, and waits until a
/// signed checkpoint is on disk.
async fn some_work(server: &TestServer) {
    let mut acme = server.client("acme").unwrap().connect().await.unwrap();
    acme.create_symmetric_key(
        CryptographicAlgorithm::AES,
        256,
        CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
        Attributes::new(),
    )
    .await
    .expect("create");
    let checkpoints = server.kms().audit().dir().join("checkpoints.jsonl");
    for _ in 0..100 {
        if checkpoints.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no checkpoint was written");
}

kms_tests::server_test! {
    async fn the_node_creates_its_directories_0700_and_its_files_0600(
        server,
        &[("KMSD_AUDIT__CHECKPOINT_INTERVAL_SECS", "1")]
    ) {
        some_work(server).await;
        let data = server.layout().dir.join("data");
        let all = tree(&data);
        let files: Vec<&PathBuf> = all.iter().filter(|p| p.is_file()).collect();
        for name in ["kms.redb", "audit/LOCK", "audit/checkpoints.jsonl"] {
            assert!(files.contains(&&data.join(name)), "{name} missing: {all:?}");
        }
        assert!(
            files.iter().any(|p| p.to_string_lossy().ends_with(".jsonl") && p.to_string_lossy().contains("/audit-")),
            "no audit segment: {all:?}"
        );
        for path in &all {
            let want = if path.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode(path), want, "{} has mode {:o}", path.display(), mode(path));
        }
    }
}

#[test]
fn the_node_refuses_to_start_on_a_looser_directory_or_file() {
    kms_tests::softhsm::run(
        concat!(
            module_path!(),
            "::the_node_refuses_to_start_on_a_looser_directory_or_file"
        ),
        |env| kms_tests::testbed::runtime().block_on(refuses(env)),
    );
}

async fn refuses(env: &kms_tests::softhsm::Env) {
    // The audit directory apart from the data directory, so that each is checked on its own.
    let audit = env.dir().join("audit-elsewhere");
    let audit_text = audit.display().to_string();
    let overrides = [
        ("KMSD_AUDIT__DIR", audit_text.as_str()),
        ("KMSD_AUDIT__CHECKPOINT_INTERVAL_SECS", "1"),
    ];
    let server = TestServer::start_with(env, &overrides)
        .await
        .expect("the test server starts");
    some_work(&server).await;
    let config = server.layout().config();
    let data = server.layout().dir.join("data");
    server.shutdown().await;
    let segment = std::fs::read_dir(&audit)
        .expect("audit directory")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("audit-"))
        })
        .expect("a segment");

    let start = || async {
        let env = overrides
            .iter()
            .chain(&[("KMSD_ADMIN__LISTEN", "127.0.0.1:0")])
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        let settings = server::config::Settings::load(&config, env).expect("settings");
        server::node::Node::start(settings).await
    };
    for (path, loose, private) in [
        (data.clone(), 0o755, 0o700),
        (audit.clone(), 0o750, 0o700),
        (data.join("kms.redb"), 0o644, 0o600),
        (segment.clone(), 0o640, 0o600),
        (audit.join("checkpoints.jsonl"), 0o604, 0o600),
    ] {
        chmod(&path, loose);
        match start().await {
            Ok(node) => {
                node.shutdown().await;
                panic!("the node started with {} at {loose:o}", path.display());
            }
            Err(e) => {
                let line = e.to_string();
                assert!(
                    line.contains(&path.display().to_string())
                        && line.contains(&format!("{loose:04o}")),
                    "the refusal names neither the path nor the mode: {line}"
                );
                assert!(!line.contains('\n'), "one line: {line}");
            }
        }
        chmod(&path, private);
    }
    let node = start()
        .await
        .expect("starts again once every mode is private");
    node.shutdown().await;
}
