//! The verifier's scope gaps, end to end through the real `kmsctl` binary: exports made by
//! `kmsctl audit export`, then tampered with by someone who controls the files but not the
//! audit key.
//!
//! - A checkpoint stripped of the tenant's head no longer lets records it covers be cut.
//! - The scope is the auditor's: a full export whose checkpoints were swapped for one tenant's
//!   view is still verified whole, and other tenants' records are findings in a tenant's scope.
//! - An export states its own scope: a tenant's export taken before any checkpoint covers the
//!   tenant verifies clean, and a cut of its (unsigned) records is still found.

use std::path::Path;

use audit_log::{AuditRecord, ChainState, Checkpoint};
use serde_json::Value;

use super::signed_trail::*;

/// `kmsctl audit export --from-dir node --out out --public-key K [extra]`, which must succeed.
fn export(t: &Trail, node: &Path, out: &Path, extra: &[&str]) {
    let key = t.key.hex();
    let mut args = vec![
        "audit",
        "export",
        "--from-dir",
        node.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--public-key",
        &key,
    ];
    args.extend_from_slice(extra);
    let (code, _, err) = kmsctl(&args);
    assert_eq!(code, 0, "{err}");
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .expect("write");
}

#[test]
fn a_tenant_export_cut_behind_stripped_checkpoints_is_found() {
    let t = trail();
    let node = t.root.join("node");
    write_node_dir(&node, &t.records, &t.cps);
    let acme = t.root.join("acme");
    export(&t, &node, &acme, &["--tenant", "acme"]);
    let (code, report) = verify_json(&acme, &["--tenant", "acme"]);
    assert_eq!(code, 0, "{report}");

    // acme's records after log record 19 cut (21 and 24 are signed by the checkpoint at 25,
    // 27 is not signed yet); that checkpoint's proof of acme's head removed; the manifest,
    // which would tell, deleted
    let records: Vec<String> = read_lines(&acme.join("records.jsonl"))
        .into_iter()
        .filter(|l| {
            let r: AuditRecord = serde_json::from_str(l).expect("record");
            r.seq <= 19
        })
        .collect();
    write_lines(&acme.join("records.jsonl"), &records);
    let checkpoints: Vec<String> = read_lines(&acme.join("checkpoints.jsonl"))
        .into_iter()
        .map(|l| {
            let mut cp: Value = serde_json::from_str(&l).expect("checkpoint");
            if cp["seq"] == 25 {
                cp.as_object_mut().expect("object").remove("proof");
            }
            cp.to_string()
        })
        .collect();
    write_lines(&acme.join("checkpoints.jsonl"), &checkpoints);
    let _ = std::fs::remove_file(acme.join("manifest.json"));

    let (code, report) = verify_json(&acme, &["--tenant", "acme"]);
    assert_eq!(code, 5, "the cut went unnoticed: {report}");
    assert!(
        has_finding(
            &report,
            "missing_tenant_heads",
            &[("checkpoint", 25.into()), ("tenant", "acme".into())]
        ),
        "{report}"
    );
}

#[test]
fn a_full_export_verified_whole_whatever_its_checkpoints_say() {
    let t = trail();
    let node = t.root.join("node");
    write_node_dir(&node, &t.records, &t.cps);
    let full = t.root.join("full");
    export(&t, &node, &full, &[]);

    // every checkpoint replaced by acme's view, a globex record forged, the manifest deleted
    let views: Vec<Checkpoint> = t
        .cps
        .iter()
        .map(|c| c.for_tenant(Some("acme")).expect("listed"))
        .collect();
    std::fs::write(full.join("checkpoints.jsonl"), checkpoint_lines(&views)).expect("write");
    let mut records = t.records.clone();
    assert_eq!(records[3].event.tenant.as_deref(), Some("globex"));
    records[3].event.operation = "Locate".into();
    records[3].event.object = Some("innocent".into());
    std::fs::write(full.join("records.jsonl"), record_lines(&records)).expect("write");
    let _ = std::fs::remove_file(full.join("manifest.json"));

    // the operator's command names no scope: the whole trail, and the forgery shows
    let (code, report) = verify_json(&full, &[]);
    assert_eq!(code, 5, "the forged record went unnoticed: {report}");
    assert_eq!(report["scope"], "all");
    assert!(
        has_finding(
            &report,
            "broken_link",
            &[("chain", "global".into()), ("seq", 5.into())]
        ),
        "{report}"
    );
    assert!(
        has_finding(
            &report,
            "missing_tenant_heads",
            &[("chain", "global".into())]
        ),
        "{report}"
    );
    // verified as acme's, every other tenant's record is a finding, not skipped
    let (code, report) = verify_json(&full, &["--tenant", "acme"]);
    assert_eq!(code, 5, "{report}");
    assert!(
        has_finding(&report, "out_of_scope", &[("tenant", "globex".into())]),
        "{report}"
    );
}

#[test]
fn a_tenant_export_before_any_checkpoint_covers_the_tenant_states_its_scope() {
    let t = trail();
    // initech's first records come after the last checkpoint (at 25)
    let mut records = t.records.clone();
    let mut state = ChainState::genesis("node-a");
    for r in &records {
        state.advance(r).expect("chains");
    }
    for i in N + 1..=N + 3 {
        let mut e = event(i);
        e.tenant = Some("initech".into());
        let r = state.next(e);
        state.advance(&r).expect("chains");
        records.push(r);
    }
    let node = t.root.join("node");
    write_node_dir(&node, &records, &t.cps);
    let ini = t.root.join("initech");
    export(&t, &node, &ini, &["--tenant", "initech"]);
    assert_eq!(read_lines(&ini.join("checkpoints.jsonl")).len(), 0);

    // the tenant auditor's command verifies it clean, and the export says whose it is
    let (code, report) = verify_json(&ini, &["--tenant", "initech"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["records"], 3);
    assert_eq!(report["manifest"]["scope"]["tenant"], "initech", "{report}");
    assert_eq!(report["manifest"]["start"]["seq"], 0, "{report}");
    // verified as anything else, the manifest says so
    let (code, report) = verify_json(&ini, &[]);
    assert_eq!(code, 5, "{report}");
    assert!(
        has_finding(&report, "scope_mismatch", &[("tenant", "initech".into())]),
        "{report}"
    );

    // none of its records is signed yet, yet cutting the last one is found
    let mut lines = read_lines(&ini.join("records.jsonl"));
    lines.pop();
    write_lines(&ini.join("records.jsonl"), &lines);
    let (code, report) = verify_json(&ini, &["--tenant", "initech"]);
    assert_eq!(code, 5, "the cut went unnoticed: {report}");
    assert!(
        has_finding(&report, "manifest_mismatch", &[("what", "end".into())]),
        "{report}"
    );
}
