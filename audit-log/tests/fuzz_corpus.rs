//! The seed corpora of the audit-log fuzz targets (`audit-log/fuzz`), replayed on stable Rust
//! with the targets' own checks, so they are exercised where nightly is not installed.
//! `cargo test -p audit-log --test fuzz_corpus -- --ignored write_seed_corpus` rewrites the
//! valid seeds from the library itself (a chain with two tenants, a signed checkpoint, the
//! manifest of a tenant export); the `bad-*` seeds are kept as written.

use std::path::{Path, PathBuf};

use audit_log::{
    AuditEvent, ChainState, CheckpointDraft, Kind, Manifest, PublicKey, Scope, Status,
    read_checkpoints, read_records, verify,
};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

/// The P-256 base point, SEC1 uncompressed: a valid key that signed nothing here.
const KEY: &str = "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(corpus(target))
        .expect("corpus directory")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("seed"))
        })
        .collect();
    out.sort();
    out
}

/// The checks of `fuzz_targets/records.rs`; the number of records read.
fn check_records(data: &[u8]) -> usize {
    let parsed = read_records(data).expect("reading from memory does not fail");
    for record in &parsed.items {
        let line = record.to_json_line().expect("writes");
        let again: audit_log::AuditRecord = serde_json::from_str(&line).expect("reads");
        assert_eq!(&again, record);
        assert_eq!(again.hash(), record.hash());
    }
    let key = PublicKey::from_hex(KEY).expect("the P-256 base point");
    let _ = verify(&parsed.items, &[], &key, &Scope::All);
    let _ = verify(
        &parsed.items,
        &[],
        &key,
        &Scope::Tenant(Some("acme".into())),
    );
    parsed.items.len()
}

/// The checks of `fuzz_targets/checkpoints.rs`; the number of checkpoints read.
fn check_checkpoints(data: &[u8]) -> usize {
    let parsed = read_checkpoints(data).expect("reading from memory does not fail");
    for cp in &parsed.items {
        let line = cp.to_json_line().expect("writes");
        let again = read_checkpoints(format!("{line}\n").as_bytes()).expect("reads");
        assert_eq!(again.items.first(), Some(cp));
        let _ = cp.proven_heads();
        let _ = cp.for_tenant(Some("acme"));
        let _ = cp.for_tenant(None);
    }
    parsed.items.len()
}

/// The checks of `fuzz_targets/manifest.rs`; whether the manifest was read.
fn check_manifest(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    match Manifest::from_json(text) {
        Some(m) => {
            let json = m.to_json().expect("writes");
            assert_eq!(Manifest::from_json(&json), Some(m));
            true
        }
        None => false,
    }
}

#[test]
fn every_seed_passes_its_targets_checks_and_only_the_valid_ones_are_read() {
    let records = seeds("records");
    assert!(records.iter().any(|(n, _)| n.starts_with("ok-")));
    for (name, data) in records {
        let n = check_records(&data);
        assert_eq!(n > 0, name.starts_with("ok-"), "{name}: {n} records read");
    }
    let checkpoints = seeds("checkpoints");
    assert!(checkpoints.iter().any(|(n, _)| n.starts_with("ok-")));
    for (name, data) in checkpoints {
        let n = check_checkpoints(&data);
        assert_eq!(
            n > 0,
            name.starts_with("ok-"),
            "{name}: {n} checkpoints read"
        );
    }
    let manifests = seeds("manifest");
    assert!(manifests.iter().any(|(n, _)| n.starts_with("ok-")));
    for (name, data) in manifests {
        assert_eq!(check_manifest(&data), name.starts_with("ok-"), "{name}");
    }
}

fn event(i: u32) -> AuditEvent {
    AuditEvent {
        time: time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(i64::from(i)),
        node: "node-1".into(),
        tenant: [Some("acme".into()), Some("globex".into()), None][i as usize % 3].clone(),
        principal: None,
        client_addr: Some("192.0.2.7:50000".into()),
        kind: Kind::Kmip,
        operation: "Get".into(),
        object: Some(format!("uid-{i}")),
        status: Status::Success,
        reason: None,
        request_id: None,
        change: None,
    }
}

#[test]
#[ignore = "rewrites the seed corpus"]
fn write_seed_corpus() {
    let mut state = ChainState::genesis("node-1");
    let mut lines = String::new();
    let mut manifest = Manifest::new(Scope::Tenant(Some("acme".into())), false);
    for i in 0..6 {
        let record = state.next(event(i));
        state.advance(&record).expect("advance");
        lines.push_str(&record.to_json_line().expect("line"));
        lines.push('\n');
        manifest.note(&record);
    }
    std::fs::write(corpus("records").join("ok-chain-of-two-tenants"), &lines).expect("write");
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .expect("key");
    let draft = CheckpointDraft::new(&state, time::OffsetDateTime::UNIX_EPOCH);
    let signature = pair.sign(&rng, &draft.message()).expect("sign");
    let cp = draft.finish(signature.as_ref()).expect("checkpoint");
    std::fs::write(
        corpus("checkpoints").join("ok-signed-two-tenants"),
        format!("{}\n", cp.to_json_line().expect("line")),
    )
    .expect("write");
    std::fs::write(
        corpus("manifest").join("ok-tenant-export"),
        manifest.to_json().expect("json"),
    )
    .expect("write");
}
