//! `kmsctl audit export --from-dir`, `audit verify`: a real audit trail built with the
//! `audit-log` crate and checkpoints signed with a software P-256 key (the server signs with
//! the HSM), written as a node writes it, then checked by the real `kmsctl` binary. Every
//! tamper case asserts the finding `--json` names. Export and tail over the admin API, against
//! the real server: `tests/tests/it/kmsctl.rs`, `kmsctl_audit_exports_over_the_api_and_verifies_offline`.

mod signed_trail;
mod verify_scope;

use audit_log::{AuditRecord, Checkpoint, Status};
use serde_json::Value;

use signed_trail::*;

#[test]
fn a_clean_trail_verifies_and_says_how_far_signatures_reach() {
    let t = trail();
    let dir = export_with(&t, "clean", &record_lines(&t.records));
    let (code, report) = verify_json(&dir, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["clean"], true);
    assert_eq!(report["scope"], "all");
    assert_eq!(report["records"], N);
    assert_eq!(report["valid_checkpoints"], 3);
    let global = global_chain(&report);
    assert_eq!(
        (
            &global["first"],
            &global["last"],
            &global["signed_through"],
            &global["unsigned"]
        ),
        (
            &Value::from(1),
            &Value::from(N),
            &Value::from(25),
            &Value::from(3)
        )
    );
    // one chain per tenant besides the global one
    assert_eq!(report["chains"].as_array().map(Vec::len), Some(4));

    let d = dir.to_str().expect("utf-8");
    let (code, text, _) = kmsctl(&["audit", "verify", "--dir", d]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("OK: no findings"), "{text}");
    // the three files named one by one, the key given as hex
    let (code, _, err) = kmsctl(&[
        "audit",
        "verify",
        "--records",
        &format!("{d}/records.jsonl"),
        "--checkpoints",
        &format!("{d}/checkpoints.jsonl"),
        "--public-key",
        &t.key.hex(),
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_flipped_byte_is_found() {
    let t = trail();
    let mut text = record_lines(&t.records).into_bytes();
    // record 5's operation "Get" becomes "Fet": still a valid, canonical line
    let line5 = t.records[4].to_json_line().expect("json");
    let at = find(&text, line5.as_bytes()) + line5.find("\"operation\":\"Get\"").expect("op") + 13;
    text[at] ^= 1;
    let dir = export_with(&t, "flipped", std::str::from_utf8(&text).expect("ascii"));
    let (code, report) = verify_json(&dir, &[]);
    assert_eq!(code, 5, "{report}");
    assert!(
        has_finding(
            &report,
            "broken_link",
            &[("chain", "global".into()), ("seq", 6.into())]
        ),
        "{report}"
    );

    // a flip that breaks the JSON is a malformed line of that file
    let mut text = record_lines(&t.records).into_bytes();
    let start = find(&text, line5.as_bytes());
    text[start] ^= 0x40;
    let dir = export_with(&t, "malformed", std::str::from_utf8(&text).expect("ascii"));
    let (code, report) = verify_json(&dir, &[]);
    assert_eq!(code, 5);
    assert!(
        has_finding(&report, "malformed_line", &[("line", 5.into())]),
        "{report}"
    );
    let file = findings(&report)
        .iter()
        .find(|f| f["kind"] == "malformed_line")
        .map(|f| f["file"].clone());
    assert_eq!(
        file,
        Some(Value::from(dir.join("records.jsonl").display().to_string()))
    );
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("present")
}

#[test]
fn a_deleted_record_is_found() {
    let t = trail();
    let mut recs = t.records.clone();
    recs.remove(6);
    let dir = export_with(&t, "deleted", &record_lines(&recs));
    let (code, report) = verify_json(&dir, &[]);
    assert_eq!(code, 5);
    let expected = [
        ("chain", Value::from("global")),
        ("expected", 7.into()),
        ("found", 8.into()),
    ];
    assert!(
        has_finding(&report, "unexpected_seq", &expected),
        "{report}"
    );
}

#[test]
fn swapped_records_are_found() {
    let t = trail();
    let mut recs = t.records.clone();
    recs.swap(2, 3);
    let dir = export_with(&t, "swapped", &record_lines(&recs));
    let (code, report) = verify_json(&dir, &[]);
    assert_eq!(code, 5);
    let expected = [
        ("chain", Value::from("global")),
        ("expected", 3.into()),
        ("found", 4.into()),
    ];
    assert!(
        has_finding(&report, "unexpected_seq", &expected),
        "{report}"
    );
}

#[test]
fn truncation_below_a_checkpoint_is_found_and_the_unsigned_tail_is_reported() {
    let t = trail();
    let dir = export_with(&t, "cut", &record_lines(&t.records[..22]));
    let (code, report) = verify_json(&dir, &[]);
    assert_eq!(code, 5);
    let expected = [
        ("chain", Value::from("global")),
        ("checkpoint", 25.into()),
        ("seq", 25.into()),
        ("last", 22.into()),
    ];
    assert!(has_finding(&report, "beyond_end", &expected), "{report}");

    // records after the last checkpoint are not signed yet: cutting them cannot be proven,
    // and the report says how many such records the intact trail has (3, see above)
    let dir = export_with(&t, "cut-unsigned", &record_lines(&t.records[..25]));
    let (code, report) = verify_json(&dir, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(global_chain(&report)["unsigned"], 0);
}

#[test]
fn a_rechained_forgery_is_found_with_the_real_or_a_forged_signature() {
    let t = trail();
    let mut forged = t.records.clone();
    forged[11].event.status = Status::Success;
    forged[11].event.object = Some("innocent".into());
    rechain(&mut forged, 11);
    let dir = export_with(&t, "forged", &record_lines(&forged));
    let (code, report) = verify_json(&dir, &[]);
    assert_eq!(code, 5);
    let expected = [
        ("chain", Value::from("global")),
        ("checkpoint", 20.into()),
        ("seq", 20.into()),
    ];
    assert!(has_finding(&report, "head_mismatch", &expected), "{report}");

    // the forger re-signs every checkpoint with a key of their own
    let forger = TestKey::new();
    let dir = t.root.join("forged-signed");
    write_export(
        &dir,
        &record_lines(&forged),
        &checkpoints(&forged, &forger),
        &t.key,
    );
    let (code, report) = verify_json(&dir, &[]);
    assert_eq!(code, 5);
    for seq in CHECKPOINTS_AT {
        assert!(
            has_finding(&report, "bad_signature", &[("checkpoint", seq.into())]),
            "{report}"
        );
    }
    assert_eq!(report["valid_checkpoints"], 0);
}

#[test]
fn a_tenants_view_verifies_alone_and_its_tampering_is_found() {
    let t = trail();
    let acme: Vec<AuditRecord> = t
        .records
        .iter()
        .filter(|r| r.event.tenant.as_deref() == Some("acme"))
        .cloned()
        .collect();
    let view: Vec<Checkpoint> = t
        .cps
        .iter()
        .map(|c| c.for_tenant(Some("acme")).expect("listed"))
        .collect();
    let dir = t.root.join("acme");
    write_export(&dir, &record_lines(&acme), &view, &t.key);
    let (code, report) = verify_json(&dir, &["--tenant", "acme"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        (&report["scope"], &report["tenant"]),
        (&"tenant".into(), &"acme".into())
    );
    // the files never choose the scope: without --tenant the whole trail is verified, and a
    // tenant's view cannot vouch for it
    let (code, report) = verify_json(&dir, &[]);
    assert_eq!(code, 5, "{report}");
    assert_eq!(report["scope"], "all");
    assert!(
        has_finding(
            &report,
            "missing_tenant_heads",
            &[("chain", "global".into())]
        ),
        "{report}"
    );
    // another tenant's name with acme's view: nothing of globex's is vouched for, and acme's
    // records are outside the scope
    let (code, report) = verify_json(&dir, &["--tenant", "globex"]);
    assert_eq!(code, 5, "{report}");
    assert!(
        has_finding(
            &report,
            "missing_tenant_heads",
            &[("tenant", "globex".into())]
        ),
        "{report}"
    );
    assert!(
        has_finding(&report, "out_of_scope", &[("tenant", "acme".into())]),
        "{report}"
    );

    let mut cut = acme.clone();
    cut.remove(1);
    let dir = t.root.join("acme-cut");
    write_export(&dir, &record_lines(&cut), &view, &t.key);
    let (code, report) = verify_json(&dir, &["--tenant", "acme"]);
    assert_eq!(code, 5);
    let expected = [("chain", Value::from("tenant")), ("tenant", "acme".into())];
    assert!(
        has_finding(&report, "unexpected_seq", &expected),
        "{report}"
    );
}

#[test]
fn export_from_a_node_directory_round_trips_through_verify() {
    let t = trail();
    let node = t.root.join("node");
    write_node_dir(&node, &t.records, &t.cps);
    let out = t.root.join("export");
    let (n, o) = (node.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    let key = t.key.hex();
    let export = [
        "audit",
        "export",
        "--from-dir",
        n,
        "--out",
        o,
        "--public-key",
        &key,
    ];
    let (code, _, err) = kmsctl(&export);
    assert_eq!(code, 0, "{err}");
    let exported = std::fs::read_to_string(out.join("records.jsonl")).expect("records");
    assert_eq!(exported, record_lines(&t.records));
    assert_eq!(
        std::fs::read_to_string(out.join("audit-public-key.hex")).expect("key"),
        key.clone() + "\n"
    );
    let (code, report) = verify_json(&out, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["records"], N);
    assert_eq!(report["manifest"]["scope"], "all", "{report}");
    assert_eq!(report["manifest"]["records"], N, "{report}");
    // an export is evidence: a second export into the same directory is refused
    let (code, _, err) = kmsctl(&export);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        std::fs::read_to_string(out.join("records.jsonl")).expect("records"),
        exported
    );

    // the node directory itself verifies too (the key from the command line)
    let (code, report) = verify_json(&node, &["--public-key", &key]);
    assert_eq!(code, 0, "{report}");

    // a tenant's export: only its records, checkpoints in its view, no other tenant's name
    let acme = t.root.join("acme");
    let a = acme.to_str().expect("utf-8");
    let args = [
        "audit",
        "export",
        "--from-dir",
        n,
        "--out",
        a,
        "--public-key",
        &key,
        "--tenant",
        "acme",
    ];
    let (code, _, err) = kmsctl(&args);
    assert_eq!(code, 0, "{err}");
    for f in ["records.jsonl", "checkpoints.jsonl"] {
        let text = std::fs::read_to_string(acme.join(f)).expect(f);
        assert!(!text.contains("globex"), "{f} leaks another tenant");
    }
    let (code, report) = verify_json(&acme, &["--tenant", "acme"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["tenant"], "acme");
    assert_eq!(report["manifest"]["scope"]["tenant"], "acme", "{report}");
    assert_eq!(
        report["records"],
        t.records
            .iter()
            .filter(|r| r.event.tenant.as_deref() == Some("acme"))
            .count()
    );
}

#[test]
fn a_torn_last_line_is_skipped_by_export_but_reported_by_verify() {
    let t = trail();
    let node = t.root.join("node");
    write_node_dir(&node, &t.records, &t.cps);
    // a write in progress (or cut by a crash) at the end of the newest segment
    let newest = node.join(format!("audit-{:020}.jsonl", 11));
    let mut text = std::fs::read(&newest).expect("segment");
    text.extend_from_slice(b"{\"log\":\"node-a\",\"seq\":29");
    std::fs::write(&newest, text).expect("segment");
    let out = t.root.join("export");
    let (n, o) = (node.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    let key = t.key.hex();
    let (code, _, err) = kmsctl(&[
        "audit",
        "export",
        "--from-dir",
        n,
        "--out",
        o,
        "--public-key",
        &key,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, report) = verify_json(&out, &[]);
    assert_eq!(code, 0, "{report}");
    let (code, report) = verify_json(&node, &["--public-key", &key]);
    assert_eq!(code, 5);
    assert!(
        has_finding(&report, "torn_tail", &[("line", 19.into())]),
        "{report}"
    );

    // a bad line inside an older segment is not exported, and the export says so
    let oldest = node.join(format!("audit-{:020}.jsonl", 1));
    let mut text = std::fs::read_to_string(&oldest).expect("segment");
    text.insert_str(0, "not json\n");
    std::fs::write(&oldest, text).expect("segment");
    let out2 = t.root.join("export2");
    let o2 = out2.to_str().expect("utf-8");
    let (code, _, err) = kmsctl(&[
        "audit",
        "export",
        "--from-dir",
        n,
        "--out",
        o2,
        "--public-key",
        &key,
    ]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("line 1: not a valid entry"), "{err}");
}

#[test]
fn cef_export_writes_one_line_per_record() {
    let t = trail();
    let node = t.root.join("node");
    write_node_dir(&node, &t.records, &t.cps);
    let n = node.to_str().expect("utf-8");
    let file = t.root.join("audit.cef");
    let f = file.to_str().expect("utf-8");
    let (code, _, err) = kmsctl(&[
        "audit",
        "export",
        "--from-dir",
        n,
        "--format",
        "cef",
        "--out",
        f,
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&file).expect("cef");
    assert_eq!(text.lines().count() as u64, N);
    assert!(
        text.lines().all(|l| l.starts_with("CEF:0|kms|kmsd|")),
        "{text}"
    );
    // to stdout, filtered: one line per matching record
    let (code, out, err) = kmsctl(&[
        "audit",
        "export",
        "--from-dir",
        n,
        "--format",
        "cef",
        "--operation",
        "Get",
    ]);
    assert_eq!(code, 0, "{err}");
    let gets = t
        .records
        .iter()
        .filter(|r| r.event.operation == "Get")
        .count();
    assert_eq!(out.lines().count(), gets);
    assert!(out.lines().all(|l| l.contains("act=Get ")), "{out}");
}

#[test]
fn verify_needs_its_inputs() {
    let t = trail();
    let dir = t.root.join("nokey");
    write_export(&dir, &record_lines(&t.records), &t.cps, &t.key);
    std::fs::remove_file(dir.join("audit-public-key.hex")).expect("rm");
    let d = dir.to_str().expect("utf-8");
    let (code, _, err) = kmsctl(&["audit", "verify", "--dir", d]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = kmsctl(&["audit", "verify", "--dir", d, "--public-key", "04abcd"]);
    assert_eq!(code, 1, "{err}");
    let bad_point = format!("05{}", &t.key.hex()[2..]);
    let (code, _, err) = kmsctl(&["audit", "verify", "--dir", d, "--public-key", &bad_point]);
    assert_eq!(code, 2, "{err}");
    // export: jsonl needs a directory; --public-key only goes with --from-dir
    let (code, _, err) = kmsctl(&["audit", "export", "--from-dir", d]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = kmsctl(&["audit", "export", "--out", d, "--public-key", &t.key.hex()]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = kmsctl(&["audit", "tail", "--from", "yesterday"]);
    assert_eq!(code, 2, "{err}");
}
