//! The audit trail of the tests: records of three tenants in one log, checkpoints signed with
//! a software P-256 key, the files an export and a node's audit directory hold, and the
//! `kmsctl` binary's runner.

use std::path::{Path, PathBuf};
use std::process::Command;

use audit_log::{
    AuditEvent, AuditRecord, ChainState, Checkpoint, CheckpointDraft, Kind, Principal,
};
use audit_log::{PublicKey, Status};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::Value;
use time::OffsetDateTime;

/// A software audit key.
pub(super) struct TestKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl TestKey {
    pub(super) fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("generate");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("parse");
        Self { pair, rng }
    }

    pub(super) fn hex(&self) -> String {
        let key = PublicKey::from_sec1(self.pair.public_key().as_ref()).expect("sec1");
        hex::encode(key.as_bytes())
    }

    pub(super) fn sign(&self, draft: CheckpointDraft) -> Checkpoint {
        let sig = self.pair.sign(&self.rng, &draft.message()).expect("sign");
        draft.finish(sig.as_ref()).expect("64 bytes")
    }
}

pub(super) const TENANTS: [Option<&str>; 3] = [Some("acme"), Some("globex"), None];
/// Records in the trail.
pub(super) const N: u64 = 28;
/// Where checkpoints are made: records 26..=28 are chained but not yet signed.
pub(super) const CHECKPOINTS_AT: [u64; 3] = [10, 20, 25];

pub(super) fn event(i: u64) -> AuditEvent {
    AuditEvent {
        time: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_700_000_000 + i as i64),
        node: "node-a".into(),
        tenant: TENANTS[(i % 3) as usize].map(str::to_owned),
        principal: Some(Principal {
            fingerprint: format!("{i:064x}"),
            subject: format!("CN=client-{i},O=Example"),
            issuer: "CN=KMS Client CA".into(),
            client: Some(format!("client-{}", i % 4)),
        }),
        client_addr: Some(format!("192.0.2.{i}:4{i:04}")),
        kind: Kind::Kmip,
        operation: ["Create", "Get", "Destroy", "Locate"][(i % 4) as usize].into(),
        object: Some(format!("uid-{i}")),
        status: if i.is_multiple_of(7) {
            Status::Denied
        } else {
            Status::Success
        },
        reason: i.is_multiple_of(7).then(|| "Permission Denied".into()),
        request_id: Some(format!("{i:08x}")),
        change: None,
    }
}

/// Checkpoints of `records` (re-played from genesis) at [`CHECKPOINTS_AT`], signed by `key`.
pub(super) fn checkpoints(records: &[AuditRecord], key: &TestKey) -> Vec<Checkpoint> {
    let mut state = ChainState::genesis("node-a");
    let mut out = Vec::new();
    for r in records {
        state.advance(r).expect("chains");
        if CHECKPOINTS_AT.contains(&r.seq) {
            let at = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(1_800_000_000);
            out.push(key.sign(CheckpointDraft::new(
                &state,
                at + time::Duration::seconds(r.seq as i64),
            )));
        }
    }
    out
}

/// Records `1..=N` in one chain.
pub(super) fn records() -> Vec<AuditRecord> {
    let mut state = ChainState::genesis("node-a");
    (1..=N)
        .map(|i| {
            let r = state.next(event(i));
            state.advance(&r).expect("chains");
            r
        })
        .collect()
}

/// Re-chains `records` from index `from` on, as a forger without the key would after
/// editing record `from`.
pub(super) fn rechain(records: &mut [AuditRecord], from: usize) {
    let mut state = ChainState::genesis("node-a");
    for (i, r) in records.iter_mut().enumerate() {
        if i >= from {
            *r = state.next(r.event.clone());
        }
        state.advance(r).expect("re-chained");
    }
}

pub(super) fn lines<T>(items: &[T], line: impl Fn(&T) -> String) -> String {
    items.iter().map(|i| line(i) + "\n").collect()
}

pub(super) fn record_lines(records: &[AuditRecord]) -> String {
    lines(records, |r| r.to_json_line().expect("json"))
}

pub(super) fn checkpoint_lines(cps: &[Checkpoint]) -> String {
    lines(cps, |c| c.to_json_line().expect("json"))
}

/// An export directory as `kmsctl audit export` writes it.
pub(super) fn write_export(dir: &Path, records: &str, cps: &[Checkpoint], key: &TestKey) {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::write(dir.join("records.jsonl"), records).expect("records");
    std::fs::write(dir.join("checkpoints.jsonl"), checkpoint_lines(cps)).expect("checkpoints");
    std::fs::write(dir.join("audit-public-key.hex"), key.hex() + "\n").expect("key");
}

/// A node's audit directory: records 1..=10 and 11..=N in two segments, the checkpoints.
pub(super) fn write_node_dir(dir: &Path, records: &[AuditRecord], cps: &[Checkpoint]) {
    std::fs::create_dir_all(dir).expect("dir");
    let (a, b) = records.split_at(10);
    std::fs::write(dir.join(format!("audit-{:020}.jsonl", 1)), record_lines(a)).expect("seg 1");
    std::fs::write(dir.join(format!("audit-{:020}.jsonl", 11)), record_lines(b)).expect("seg 2");
    std::fs::write(dir.join("checkpoints.jsonl"), checkpoint_lines(cps)).expect("checkpoints");
}

/// Runs the `kmsctl` binary; exit status, stdout, stderr.
pub(super) fn kmsctl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kmsctl"))
        .args(args)
        .env_remove("KMSCTL_CONFIG")
        .output()
        .expect("run kmsctl");
    (
        out.status.code().expect("exited"),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

/// `kmsctl audit verify --json --dir DIR [extra]`: exit status and the report.
pub(super) fn verify_json(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let dir = dir.to_str().expect("utf-8 path");
    let mut args = vec!["audit", "verify", "--json", "--dir", dir];
    args.extend_from_slice(extra);
    let (code, out, err) = kmsctl(&args);
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} / {err}"));
    (code, report)
}

pub(super) fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().expect("findings").clone()
}

/// Whether a finding of `kind` on the global chain has every pair of `fields`.
pub(super) fn has_finding(report: &Value, kind: &str, fields: &[(&str, Value)]) -> bool {
    findings(report)
        .iter()
        .any(|f| f["kind"] == kind && fields.iter().all(|(k, v)| f[*k] == *v))
}

pub(super) fn global_chain(report: &Value) -> Value {
    report["chains"]
        .as_array()
        .expect("chains")
        .iter()
        .find(|c| c["chain"] == "global")
        .expect("global chain")
        .clone()
}

pub(super) struct Trail {
    _tmp: tempfile::TempDir,
    pub(super) root: PathBuf,
    pub(super) key: TestKey,
    pub(super) records: Vec<AuditRecord>,
    pub(super) cps: Vec<Checkpoint>,
}

pub(super) fn trail() -> Trail {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().to_path_buf();
    let key = TestKey::new();
    let records = records();
    let cps = checkpoints(&records, &key);
    Trail {
        _tmp: tmp,
        root,
        key,
        records,
        cps,
    }
}

/// The export of `t` with its records file replaced by `records` (lines).
pub(super) fn export_with(t: &Trail, name: &str, records: &str) -> PathBuf {
    let dir = t.root.join(name);
    write_export(&dir, records, &t.cps, &t.key);
    dir
}
