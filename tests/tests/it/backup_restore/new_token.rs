//! The HSM lost too: a new token gets the Root of Trust from custodian shares (`kmsd ceremony
//! backup-create / backup-restore`, the real binary), and the backup restores onto it.

use kms_tests::testbed::{TestServer, create_aes_key, key_bytes, runtime};

use super::{s, write_files};
/// PINs of the two ceremony tokens.
const USER_PIN: &str = "user-pin-2468";
const SO_PIN: &str = "so-pin-1357";

/// Runs `kmsd <args>` (the real binary) with `env` added; panics unless it succeeds.
fn kmsd(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = std::process::Command::new(kms_tests::cluster::kmsd_path().expect("kmsd"));
    command.args(args).env("RUST_LOG", "warn");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("run kmsd");
    assert!(
        out.status.success(),
        "kmsd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

kms_tests::softhsm_test! {
    /// The HSM is lost too: a new token gets the Root of Trust from two of three custodian
    /// shares (`kmsd ceremony backup-restore`), and the backup restores onto it with every key.
    fn a_backup_restores_on_a_new_token_holding_the_root_from_custodian_shares(env) {
        runtime().block_on(new_token_drill(env));
    }
}

async fn new_token_drill(env: &kms_tests::softhsm::Env) {
    // Two tokens made before this process opens the HSM library (it lists tokens once): the
    // source with an exportable root, the new one restored from custodian shares.
    let lab = env.dir().join("ceremony");
    std::fs::create_dir_all(&lab).expect("lab");
    let pin = lab.join("user.pin");
    std::fs::write(&pin, format!("{USER_PIN}\n")).expect("pin");
    let module = softhsm_support::module().expect("SoftHSM2 module");
    let mut configs = Vec::new();
    for label in ["src", "dst"] {
        softhsm_support::init_token(&env.softhsm_conf(), label, USER_PIN, SO_PIN).expect("token");
        let config = lab.join(format!("{label}.toml"));
        std::fs::write(
            &config,
            format!("[hsm]\nmodule = {module:?}\ntoken_label = {label:?}\npin_file = {pin:?}\n"),
        )
        .expect("token config");
        configs.push(s(&config));
    }
    kmsd(
        &[
            "ceremony",
            "init-root",
            "--exportable",
            "--config",
            &configs[0],
        ],
        &[],
    );
    let shares = lab.join("shares");
    kmsd(
        &[
            "ceremony",
            "backup-create",
            "--threshold",
            "2",
            "--shares",
            "3",
            "--out-dir",
            &s(&shares),
            "--config",
            &configs[0],
        ],
        &[("KMSD_SO_PIN", SO_PIN)],
    );
    kmsd(
        &[
            "ceremony",
            "backup-restore",
            "--backup",
            &s(&shares.join("backup.json")),
            "--share",
            &s(&shares.join("share-1.txt")),
            "--share",
            &s(&shares.join("share-3.txt")),
            "--config",
            &configs[1],
        ],
        &[],
    );

    // A node on the source token, with keys; a backup.
    let pin_s = s(&pin);
    let on = |label: &'static str| {
        [
            ("KMSD_HSM__TOKEN_LABEL", label),
            ("KMSD_HSM__PIN_FILE", pin_s.as_str()),
        ]
    };
    let server = TestServer::start_with(env, &on("src"))
        .await
        .expect("server on src");
    let mut acme = server
        .client("acme")
        .expect("acme")
        .connect()
        .await
        .expect("connect");
    let mut keys = Vec::new();
    for _ in 0..3 {
        let uid = create_aes_key(&mut acme).await.expect("create");
        let bytes = key_bytes(&mut acme, &uid).await;
        keys.push((uid, bytes));
    }
    drop(acme);
    let files = server::backup::create(server.kms()).await.expect("backup");
    let backup = env.dir().join("token-backup");
    write_files(&backup, &files);
    let config = server.layout().config();
    server.shutdown().await;

    // Restore onto the new token, into a new data directory, with the real binary.
    let new_data = env.dir().join("on-new-token");
    let said = kmsd(
        &[
            "restore",
            "--backup",
            &s(&backup),
            "--signer",
            &s(&backup.join("signer.pem")),
            "--config",
            &s(&config),
        ],
        &[
            ("KMSD_SERVER__DATA_DIR", &s(&new_data)),
            ("KMSD_HSM__TOKEN_LABEL", "dst"),
            ("KMSD_HSM__PIN_FILE", &pin_s),
        ],
    );
    assert!(said.contains("restore recorded as audit record"), "{said}");
    let data = s(&new_data);
    let mut overrides = on("dst").to_vec();
    overrides.push(("KMSD_SERVER__DATA_DIR", data.as_str()));
    let server = TestServer::start_restored(env, &overrides)
        .await
        .expect("node on dst");
    let mut acme = server
        .client("acme")
        .expect("acme")
        .connect()
        .await
        .expect("connect");
    for (uid, bytes) in &keys {
        assert_eq!(
            &key_bytes(&mut acme, uid).await,
            bytes,
            "key {uid} on the new token"
        );
    }
    drop(acme);
    server.shutdown().await;
}
