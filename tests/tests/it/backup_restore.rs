//! Backup and restore of the KMS itself (issue 20), with real parts: a real server on a real
//! SoftHSM token, `kmsctl backup create` through the admin API while another task keeps
//! creating keys, `kmsctl backup verify` offline (and its refusals: an altered manifest, a
//! flipped byte, a missing or truncated file), `kmsd restore` (the real binary; refusals also
//! through the library) into a NEW data directory of a node on the same token, then the
//! restored node serving every key acknowledged before the backup with the same bytes under
//! the same UID, its audit trail continuing from the backup's checkpoint, recording the
//! restore, and verifying. A cluster's backup restored into a new cluster: `cluster.rs`; a
//! restore onto a new token given the root from custodian shares: `new_token.rs`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use client::cli::Exit;
use kmip_codec::enums::CryptographicUsageMask;
use kmip_codec::model::Attributes;
use kms_tests::testbed::{TestServer, create_aes_key, key_bytes, runtime};
use serde_json::Value;
use server::store::records::Role;

use crate::export_import::register_key;
use crate::tenant_migration::Kmsctl;

mod cluster;
mod new_token;

/// A key registered with known bytes: they must never appear in the backup.
const KNOWN: [u8; 32] = [0x5c; 32];

/// `kmsctl` offline (no admin flags): exit, stdout, stderr.
async fn offline(args: &[&str]) -> (Exit, String, String) {
    kms_tests::kmsctl::run(args.iter().map(|a| (*a).to_owned())).await
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Copies the backup in `from` to `to` (a fresh directory) for a tampering case.
fn copy_backup(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for name in ["backup.bin", "manifest.json", "manifest.sig", "signer.pem"] {
        std::fs::copy(from.join(name), to.join(name)).expect("copy");
    }
}

/// `kmsctl backup verify` on `dir` must fail; its error text.
async fn verify_refused(dir: &Path, signer: &Path) -> String {
    let (exit, out, err) = offline(&["backup", "verify", &s(dir), "--signer", &s(signer)]).await;
    assert_eq!(exit, Exit::Failure, "verify accepted a bad backup: {out}");
    err
}

/// `kmsctl audit export --out DIR`, which must succeed.
async fn export_audit(ops: &Kmsctl, dir: &Path) {
    let (exit, _, err) = ops.run(&["audit", "export", "--out", &s(dir)]).await;
    assert_eq!(exit, Exit::Success, "audit export: {err}");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_backup_taken_under_writes_verifies_offline_and_restores_into_a_new_data_directory() {
    kms_tests::softhsm::run(
        concat!(
            module_path!(),
            "::",
            "a_backup_taken_under_writes_verifies_offline_and_restores_into_a_new_data_directory"
        ),
        |env| runtime().block_on(drill(env)),
    );
}

async fn drill(env: &kms_tests::softhsm::Env) {
    let work = env.dir().join("drill");
    std::fs::create_dir_all(&work).expect("work dir");
    let backup = work.join("backup");
    let audit_before = work.join("audit-before");

    // A node with tenants and keys.
    let server = TestServer::start(env).await.expect("server");
    let ops_files = server
        .admin_identity(Role::Operator, None, "ops")
        .await
        .expect("operator");
    let ops = Kmsctl::of(&server, ops_files.clone());
    let mut acme = server
        .client("acme")
        .expect("acme")
        .connect()
        .await
        .expect("connect");
    let mut globex = server
        .client("globex")
        .expect("globex")
        .connect()
        .await
        .expect("connect");
    let known = register_key(
        &mut acme,
        &KNOWN,
        CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
        Attributes::new(),
    )
    .await;
    let mut before: Vec<(String, &str, Vec<u8>)> = vec![(known, "acme", KNOWN.to_vec())];
    for _ in 0..3 {
        let uid = create_aes_key(&mut acme).await.expect("create");
        let bytes = key_bytes(&mut acme, &uid).await;
        before.push((uid, "acme", bytes));
        let uid = create_aes_key(&mut globex).await.expect("create");
        let bytes = key_bytes(&mut globex, &uid).await;
        before.push((uid, "globex", bytes));
    }
    // The audit public key, as an auditor gets it out of band.
    export_audit(&ops, &audit_before).await;
    let signer = audit_before.join("audit-public-key.hex");
    assert!(signer.is_file(), "no audit public key exported");

    // Writes keep going while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let connector = server.client("acme").expect("acme");
        tokio::spawn(async move {
            let mut conn = connector.connect().await.expect("connect");
            let mut made: Vec<(Instant, String)> = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let uid = create_aes_key(&mut conn)
                    .await
                    .expect("create under backup");
                made.push((Instant::now(), uid));
            }
            made
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let asked = Instant::now();
    let created = ops.ok(&["backup", "create", "--out", &s(&backup)]).await;
    let answered = Instant::now();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let made = writer.await.expect("writer");
    let acked_before: Vec<&String> = made
        .iter()
        .filter(|(t, _)| *t < asked)
        .map(|(_, u)| u)
        .collect();
    let after: Vec<&String> = made
        .iter()
        .filter(|(t, _)| *t > answered)
        .map(|(_, u)| u)
        .collect();
    assert!(!acked_before.is_empty(), "no write before the backup");
    assert!(
        !after.is_empty(),
        "writes stopped while the backup was taken"
    );
    let during = made
        .iter()
        .filter(|(t, _)| *t >= asked && *t <= answered)
        .count();
    eprintln!(
        "backup took {} ms while {} keys were created",
        (answered - asked).as_millis(),
        during
    );
    assert_eq!(created["manifest"]["format"], "kms-backup-1", "{created}");
    assert_eq!(created["manifest"]["cluster"], Value::Null, "{created}");
    let status = ops.ok(&["node", "status"]).await;
    assert_eq!(
        created["manifest"]["root_kcv"][0], status["root_kcv"],
        "the manifest names the Root of Trust: {created} vs {status}"
    );
    let objects = created["manifest"]["tables"]["objects"]
        .as_u64()
        .expect("objects");
    assert!(
        objects >= (before.len() + acked_before.len()) as u64,
        "{created}"
    );
    assert!(
        created["manifest"]["audit_checkpoints"][0]["seq"].as_u64() > Some(0),
        "the backup follows a checkpoint: {created}"
    );

    // Offline verification, against the signer known out of band.
    let (exit, out, err) =
        offline(&["backup", "verify", &s(&backup), "--signer", &s(&signer)]).await;
    assert_eq!(exit, Exit::Success, "{err}");
    assert!(
        out.contains("backup verified: signature valid (given signer)"),
        "{out}"
    );
    assert!(!contains(
        &std::fs::read(backup.join("backup.bin")).expect("read"),
        &KNOWN
    ));
    for (uid, _, bytes) in &before {
        assert!(
            !contains(
                &std::fs::read(backup.join("backup.bin")).expect("read"),
                bytes
            ),
            "plaintext of {uid} in backup.bin"
        );
    }

    // Refusals: an altered manifest, a flipped byte, a missing file, a truncated file.
    let case = work.join("altered-manifest");
    copy_backup(&backup, &case);
    let text = std::fs::read_to_string(case.join("manifest.json")).expect("manifest");
    std::fs::write(
        case.join("manifest.json"),
        text.replacen("\"objects\": ", "\"objects\": 1", 1),
    )
    .expect("write");
    assert!(
        verify_refused(&case, &signer)
            .await
            .contains("signature does not verify")
    );
    let case = work.join("flipped-byte");
    copy_backup(&backup, &case);
    let mut bytes = std::fs::read(case.join("backup.bin")).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(case.join("backup.bin"), &bytes).expect("write");
    assert!(
        verify_refused(&case, &signer)
            .await
            .contains("SHA-256 differs")
    );
    let case = work.join("truncated");
    copy_backup(&backup, &case);
    let bytes = std::fs::read(case.join("backup.bin")).expect("read");
    std::fs::write(case.join("backup.bin"), &bytes[..bytes.len() - 100]).expect("write");
    assert!(verify_refused(&case, &signer).await.contains("truncated"));
    let case = work.join("missing-file");
    copy_backup(&backup, &case);
    std::fs::remove_file(case.join("backup.bin")).expect("rm");
    assert!(
        verify_refused(&case, &signer)
            .await
            .contains("backup.bin is missing")
    );
    let case = work.join("other-signer");
    copy_backup(&backup, &case);
    let foreign = "04".to_owned() + &"11".repeat(64);
    let (exit, _, err) = offline(&["backup", "verify", &s(&case), "--signer", &foreign]).await;
    assert_eq!(exit, Exit::Failure, "{err}");

    // The backup call's own audit record names the backup as the restore's will.
    let manifest_sha256 =
        server::backup::sha256_hex(&std::fs::read(backup.join("manifest.json")).expect("manifest"));
    let audit_mid = work.join("audit-mid");
    export_audit(&ops, &audit_mid).await;
    let records = std::fs::read_to_string(audit_mid.join("records.jsonl")).expect("records");
    assert!(
        records.contains(&format!("backup:{manifest_sha256}")),
        "the backup call's record does not name the backup"
    );

    let config = server.layout().config();
    let server_layout = server.layout().clone();
    let old_data = server.layout().dir.join("data");
    drop(acme);
    drop(globex);
    server.shutdown().await;

    // Restore into a NEW data directory of a node on the same token.
    let new_data = work.join("restored-data");
    let overrides = [
        ("KMSD_SERVER__DATA_DIR", s(&new_data)),
        ("KMSD_ADMIN__LISTEN", "127.0.0.1:0".to_owned()),
    ];
    let settings_with = |data: &Path| {
        let o = overrides.clone();
        let mut o = o.map(|(k, v)| (k.to_owned(), v));
        o[0].1 = s(data);
        server::config::Settings::load(&config, o).expect("settings")
    };
    // refused: a data directory holding state; a manifest altered; a file missing
    if old_data.is_dir() {
        let refused =
            server::backup::restore(&settings_with(&old_data), &backup, &s(&signer)).await;
        assert!(
            matches!(
                refused,
                Err(server::backup::BackupError::DataDirNotEmpty(_))
            ),
            "{refused:?}"
        );
    }
    let refused = server::backup::restore(
        &settings_with(&work.join("never")),
        &work.join("altered-manifest"),
        &s(&signer),
    )
    .await;
    assert!(
        matches!(refused, Err(server::backup::BackupError::BadSignature)),
        "{refused:?}"
    );
    assert!(
        !work.join("never").exists(),
        "a refused restore wrote a data directory"
    );
    let refused = server::backup::restore(
        &settings_with(&work.join("never")),
        &work.join("flipped-byte"),
        &s(&signer),
    )
    .await;
    assert!(
        matches!(refused, Err(server::backup::BackupError::DigestMismatch)),
        "{refused:?}"
    );

    // refused: a token whose Root of Trust is another (a second token, its own root made by
    // `kmsd ceremony init-root`)
    let pin = std::fs::read_to_string(server_layout.pin_file()).expect("pin");
    let so_pin = std::fs::read_to_string(server_layout.so_pin_file()).expect("so pin");
    softhsm_support::init_token(&env.softhsm_conf(), "other-root", pin.trim(), so_pin.trim())
        .expect("second token");
    let other = work.join("other-root.toml");
    std::fs::write(
        &other,
        format!(
            "[hsm]\nmodule = {:?}\ntoken_label = \"other-root\"\npin_file = {:?}\n",
            softhsm_support::module().expect("module"),
            server_layout.pin_file()
        ),
    )
    .expect("other token config");
    let made = std::process::Command::new(kms_tests::cluster::kmsd_path().expect("kmsd"))
        .args(["ceremony", "init-root", "--config", &s(&other)])
        .output()
        .expect("kmsd ceremony init-root");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    // (the real binary: SoftHSM in this process lists only the tokens it found at start)
    let refused = std::process::Command::new(kms_tests::cluster::kmsd_path().expect("kmsd"))
        .args(["restore", "--backup", &s(&backup), "--signer", &s(&signer)])
        .args(["--config", &s(&config)])
        .env("KMSD_SERVER__DATA_DIR", s(&work.join("never")))
        .env("KMSD_HSM__TOKEN_LABEL", "other-root")
        .output()
        .expect("run kmsd restore");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "restored under another root");
    assert!(said.contains("Root of Trust KCV"), "{said}");
    assert!(
        !work.join("never").exists(),
        "a refused restore wrote a data directory"
    );

    // The restore itself: the real `kmsd restore`, offline, before the node first starts.
    let started = Instant::now();
    let kmsd = kms_tests::cluster::kmsd_path().expect("kmsd built (cargo build -p server --bins)");
    let ran = std::process::Command::new(kmsd)
        .args(["restore", "--backup", &s(&backup), "--signer", &s(&signer)])
        .args(["--config", &s(&config)])
        .env("KMSD_SERVER__DATA_DIR", s(&new_data))
        .output()
        .expect("run kmsd restore");
    let restore_ms = started.elapsed().as_millis();
    let said = String::from_utf8_lossy(&ran.stdout).into_owned();
    assert!(
        ran.status.success(),
        "kmsd restore: {said} {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let continued = said
        .lines()
        .find_map(|l| l.strip_prefix("audit log continues from checkpoint "))
        .and_then(|c| c.rsplit_once('#'))
        .and_then(|(_, seq)| seq.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("the audit log does not continue: {said}"));
    assert!(
        said.contains(&format!(
            "restore recorded as audit record {} (backup:{manifest_sha256})",
            continued + 1
        )),
        "{said}"
    );
    // a second restore into the now restored directory is refused
    let again = std::process::Command::new(kms_tests::cluster::kmsd_path().expect("kmsd"))
        .args(["restore", "--backup", &s(&backup), "--signer", &s(&signer)])
        .args(["--config", &s(&config)])
        .env("KMSD_SERVER__DATA_DIR", s(&new_data))
        .output()
        .expect("run kmsd restore");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));

    let overrides: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = TestServer::start_restored(env, &overrides)
        .await
        .expect("restored node");
    eprintln!(
        "restore took {restore_ms} ms, restore and start {} ms",
        started.elapsed().as_millis()
    );
    let mut acme = server
        .client("acme")
        .expect("acme")
        .connect()
        .await
        .expect("connect");
    let mut globex = server
        .client("globex")
        .expect("globex")
        .connect()
        .await
        .expect("connect");
    for (uid, tenant, bytes) in &before {
        let conn = if *tenant == "acme" {
            &mut acme
        } else {
            &mut globex
        };
        assert_eq!(&key_bytes(conn, uid).await, bytes, "key {uid} of {tenant}");
    }
    for uid in &acked_before {
        assert_eq!(
            key_bytes(&mut acme, uid).await.len(),
            32,
            "key {uid} acknowledged before"
        );
    }
    // the state is the backup's: a key made after it is not there
    let later = after.last().expect("a later key");
    assert!(
        acme.get(later, None).await.is_err(),
        "a key made after the backup is served"
    );
    // and the restored node takes writes
    create_aes_key(&mut acme)
        .await
        .expect("create after restore");

    // The audit trail records the restore and verifies, continuing from the checkpoint.
    let ops = Kmsctl::of(&server, ops_files);
    let audit_after = work.join("audit-after");
    export_audit(&ops, &audit_after).await;
    let records = std::fs::read_to_string(audit_after.join("records.jsonl")).expect("records");
    let restore_line = records
        .lines()
        .find(|l| l.contains("\"kmsd restore\""))
        .expect("the restore is recorded");
    assert!(
        restore_line.contains(&format!("backup:{manifest_sha256}")),
        "{restore_line}"
    );
    let (exit, out, err) = offline(&["audit", "verify", "--dir", &s(&audit_after), "--json"]).await;
    assert_eq!(exit, Exit::Success, "audit verify: {out} {err}");
    let report: Value = serde_json::from_str(&out).expect("verify JSON");
    assert_eq!(report["clean"], true, "{report}");
    drop(acme);
    drop(globex);
    server.shutdown().await;
}

/// Writes a backup as the admin API answers it, as `kmsctl backup create` does.
fn write_files(dir: &Path, files: &server::backup::BackupFiles) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("manifest.json"), &files.manifest).expect("manifest");
    std::fs::write(
        dir.join("manifest.sig"),
        b64.decode(&files.signature).expect("base64"),
    )
    .expect("signature");
    std::fs::write(dir.join("signer.pem"), &files.signer).expect("signer");
    std::fs::write(
        dir.join("backup.bin"),
        b64.decode(&files.snapshot).expect("base64"),
    )
    .expect("snapshot");
}
