//! `kmsctl audit verify`: offline verification of exported (or a node's own) audit files with
//! `audit_log::verify`, reported for people or, with `--json`, for scripts.
//!
//! The scope is the auditor's: `--tenant T` for a tenant's export, else the whole trail. It is
//! never guessed from the files (which whoever holds them can rewrite); an export's manifest
//! that states another scope is a finding.

use std::path::{Path, PathBuf};

use audit_log::{ChainSummary, Finding, Manifest, Report, Scope};
use serde_json::{Value, json};

use super::files::{self, Issue};
use super::{Console, Exit, key_fingerprint, public_key_arg, public_key_file};
use crate::cli::output::{self, Table, clean};
use crate::cli::settings::Global;
use crate::error::{ClientError, Result};

/// `kmsctl audit verify`.
#[derive(Debug, clap::Args)]
pub(super) struct VerifyArgs {
    /// An export directory (records.jsonl, checkpoints.jsonl, audit-public-key.hex), or a
    /// node's audit directory (its segments and checkpoints.jsonl; give --public-key). The
    /// options below override its files.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The records, JSON Lines, in log order.
    #[arg(long, value_name = "FILE")]
    records: Option<PathBuf>,
    /// The signed checkpoints, JSON Lines.
    #[arg(long, value_name = "FILE")]
    checkpoints: Option<PathBuf>,
    /// The audit public key: a file holding its hex, or the hex itself (130 digits). Check
    /// its fingerprint (printed) against the one recorded at the key ceremony.
    #[arg(long, value_name = "FILE|HEX")]
    public_key: Option<String>,
    /// Verify this tenant's chain: for a tenant's export (`audit export --tenant T`, or any
    /// export made by a tenant admin or auditor). Every checkpoint must carry the tenant's
    /// head; records of other tenants are findings.
    #[arg(long, conflicts_with = "all")]
    tenant: Option<String>,
    /// Verify the whole trail: every log's global chain and every tenant chain. The default
    /// when --tenant is not given; the files never choose the scope.
    #[arg(long)]
    all: bool,
}

pub(super) fn run(args: VerifyArgs, global: &Global, console: &mut Console<'_>) -> Result<Exit> {
    let dir = args.dir.as_deref();
    let record_files = match (&args.records, dir) {
        (Some(f), _) => vec![f.clone()],
        (None, Some(d)) => files::record_files(d)?,
        (None, None) => return Err(ClientError::Usage("give --records FILE or --dir DIR")),
    };
    let checkpoint_file = match (&args.checkpoints, dir) {
        (Some(f), _) => f.clone(),
        (None, Some(d)) => d.join(files::CHECKPOINTS),
        (None, None) => return Err(ClientError::Usage("give --checkpoints FILE or --dir DIR")),
    };
    let key = match (&args.public_key, dir) {
        (Some(k), _) => public_key_arg(k)?,
        (None, Some(d)) if d.join(files::PUBLIC_KEY).is_file() => {
            public_key_file(&d.join(files::PUBLIC_KEY))?
        }
        _ => {
            return Err(ClientError::Usage(
                "give --public-key (a node's audit directory holds no key)",
            ));
        }
    };
    let (checkpoints, mut issues) = files::read_checkpoints(&checkpoint_file)?;
    let (records, record_issues) = files::read_records(&record_files)?;
    issues.extend(record_issues);
    // an export directory's manifest describes its own records file
    let (manifest, manifest_issue) = match (dir, &args.records) {
        (Some(d), None) => files::read_manifest(d)?,
        _ => (None, None),
    };
    issues.extend(manifest_issue);
    let scope = args.tenant.map_or(Scope::All, |t| Scope::Tenant(Some(t)));
    let mut report = audit_log::verify(&records, &checkpoints, &key, &scope);
    if let Some(m) = &manifest {
        report
            .findings
            .extend(m.check(&scope, &records, checkpoints.len()));
    }
    let fingerprint = key_fingerprint(&key);
    let seen = Seen {
        checkpoints: checkpoints.len(),
        manifest: manifest.as_ref(),
        key: &fingerprint,
    };
    if global.json {
        output::json(console.out, &report_json(&report, &issues, &seen))?;
    } else {
        write_text(console, &report, &issues, &seen)?;
    }
    Ok(if report.is_clean() && issues.is_empty() {
        Exit::Success
    } else {
        Exit::AuditFindings
    })
}

/// What was read besides the records: the checkpoint count, the export's manifest, the key's
/// fingerprint.
struct Seen<'a> {
    checkpoints: usize,
    manifest: Option<&'a Manifest>,
    key: &'a str,
}

/// Records after the last signed one (all of them when none is signed).
fn unsigned(c: &ChainSummary) -> u64 {
    match (c.last, c.signed_through) {
        (Some(last), Some(signed)) => last.saturating_sub(signed),
        (Some(_), None) => c.records,
        (None, _) => 0,
    }
}

fn chain_json(log: &str, tenant: &Option<Option<String>>) -> Value {
    match tenant {
        None => json!({ "log": log, "chain": "global" }),
        Some(t) => json!({ "log": log, "chain": "tenant", "tenant": t }),
    }
}

/// A finding as JSON: `kind`, where (`file` and `line`, or `log`, `chain`, `tenant`, `seq`),
/// the numbers of its kind, and the sentence `message`.
fn finding_json(f: &Finding, file: Option<&Path>) -> Value {
    let mut v = match f {
        Finding::TornTail { line, bytes } => {
            json!({ "kind": "torn_tail", "line": line, "bytes": bytes })
        }
        Finding::LineTooLong { line } => json!({ "kind": "line_too_long", "line": line }),
        Finding::MalformedLine { line } => json!({ "kind": "malformed_line", "line": line }),
        Finding::NonCanonicalLine { line } => {
            json!({ "kind": "non_canonical_line", "line": line })
        }
        Finding::UnexpectedSeq {
            log,
            tenant,
            expected,
            found,
        } => {
            let mut v = chain_json(log, tenant);
            v["kind"] = json!("unexpected_seq");
            v["expected"] = json!(expected);
            v["found"] = json!(found);
            v
        }
        Finding::BrokenLink { log, tenant, seq } => {
            let mut v = chain_json(log, tenant);
            v["kind"] = json!("broken_link");
            v["seq"] = json!(seq);
            v
        }
        Finding::UnanchoredStart { log, tenant, seq } => {
            let mut v = chain_json(log, tenant);
            v["kind"] = json!("unanchored_start");
            v["seq"] = json!(seq);
            v
        }
        Finding::BadSignature { log, seq } => {
            json!({ "kind": "bad_signature", "log": log, "checkpoint": seq })
        }
        Finding::BadTenantHeads { log, seq } => {
            json!({ "kind": "bad_tenant_heads", "log": log, "checkpoint": seq })
        }
        Finding::HeadMismatch {
            log,
            tenant,
            checkpoint,
            seq,
        } => {
            let mut v = chain_json(log, tenant);
            v["kind"] = json!("head_mismatch");
            v["checkpoint"] = json!(checkpoint);
            v["seq"] = json!(seq);
            v
        }
        Finding::MissingTenantHeads { log, seq, tenant } => {
            let mut v = match tenant {
                None => json!({ "log": log, "chain": "global" }),
                Some(t) => json!({ "log": log, "chain": "tenant", "tenant": t }),
            };
            v["kind"] = json!("missing_tenant_heads");
            v["checkpoint"] = json!(seq);
            v
        }
        Finding::OutOfScope {
            log,
            tenant,
            records,
            first,
        } => json!({
            "kind": "out_of_scope", "log": log, "chain": "tenant", "tenant": tenant,
            "records": records, "seq": first,
        }),
        Finding::ScopeMismatch { stated } => {
            let mut v = scope_json(stated);
            v["kind"] = json!("scope_mismatch");
            v
        }
        Finding::ManifestMismatch {
            what,
            stated,
            found,
        } => json!({ "kind": "manifest_mismatch", "what": what, "stated": stated, "found": found }),
        Finding::BeyondEnd {
            log,
            tenant,
            checkpoint,
            seq,
            last,
        } => {
            let mut v = chain_json(log, tenant);
            v["kind"] = json!("beyond_end");
            v["checkpoint"] = json!(checkpoint);
            v["seq"] = json!(seq);
            v["last"] = json!(last);
            v
        }
    };
    if let Some(file) = file {
        v["file"] = json!(file.display().to_string());
    }
    v["message"] = json!(f.to_string());
    v
}

fn kind_of(f: &Finding) -> String {
    finding_json(f, None)["kind"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn scope_json(scope: &Scope) -> Value {
    match scope {
        Scope::All => json!({ "scope": "all" }),
        Scope::Tenant(t) => json!({ "scope": "tenant", "tenant": t }),
    }
}

fn report_json(report: &Report, issues: &[Issue], seen: &Seen<'_>) -> Value {
    let mut findings: Vec<Value> = issues
        .iter()
        .map(|i| finding_json(&i.finding, Some(&i.file)))
        .collect();
    findings.extend(report.findings.iter().map(|f| finding_json(f, None)));
    let chains: Vec<Value> = report
        .chains
        .iter()
        .map(|c| {
            let mut v = chain_json(&c.log, &c.tenant);
            v["records"] = json!(c.records);
            v["first"] = json!(c.first);
            v["last"] = json!(c.last);
            v["signed_through"] = json!(c.signed_through);
            v["unsigned"] = json!(unsigned(c));
            v
        })
        .collect();
    let mut v = json!({
        "clean": findings.is_empty(),
        "public_key_sha256": seen.key,
        "records": report.records,
        "checkpoints": seen.checkpoints,
        "valid_checkpoints": report.valid_checkpoints,
        "manifest": seen.manifest,
        "chains": chains,
        "findings": findings,
    });
    v["scope"] = scope_json(&report.scope)["scope"].clone();
    if let Scope::Tenant(t) = &report.scope {
        v["tenant"] = json!(t);
    }
    v
}

/// A scope in words.
fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::All => "every log and tenant".to_owned(),
        Scope::Tenant(Some(t)) => format!("tenant {}", clean(t)),
        Scope::Tenant(None) => "records without a tenant".to_owned(),
    }
}

fn write_text(
    console: &mut Console<'_>,
    report: &Report,
    issues: &[Issue],
    seen: &Seen<'_>,
) -> Result<()> {
    let out = &mut *console.out;
    let manifest = match seen.manifest {
        Some(m) => format!(
            "export manifest: {}, {} records, {} checkpoints{}",
            scope_text(&m.scope),
            m.records,
            m.checkpoints,
            if m.filtered {
                " (filtered: the chains have gaps)"
            } else {
                ""
            }
        ),
        None => "export manifest: none".to_owned(),
    };
    let lines = [
        format!(
            "audit key sha256 {} (compare with the key ceremony's record)",
            seen.key
        ),
        format!("scope: {}", scope_text(&report.scope)),
        manifest,
        format!(
            "{} records, {} of {} checkpoints validly signed",
            report.records, report.valid_checkpoints, seen.checkpoints
        ),
    ];
    for l in lines {
        output::line(out, &l)?;
    }
    let mut table = Table::new(&[
        "LOG", "CHAIN", "RECORDS", "FIRST", "LAST", "SIGNED", "UNSIGNED",
    ]);
    for c in &report.chains {
        let chain = match &c.tenant {
            None => "global".to_owned(),
            Some(None) => "no tenant".to_owned(),
            Some(Some(t)) => format!("tenant {t}"),
        };
        table.row(vec![
            Some(c.log.clone()),
            Some(chain),
            Some(c.records.to_string()),
            c.first.map(|n| n.to_string()),
            c.last.map(|n| n.to_string()),
            c.signed_through.map(|n| n.to_string()),
            Some(unsigned(c).to_string()),
        ]);
    }
    table.write(out)?;
    if report.records > 0 && report.chains.iter().all(|c| c.signed_through.is_none()) {
        output::line(
            out,
            "WARNING: no record is covered by a valid checkpoint signature",
        )?;
    }
    if report.chains.is_empty() {
        output::line(
            out,
            "WARNING: nothing in scope: no record, no checkpoint naming it",
        )?;
    }
    let total = issues.len() + report.findings.len();
    if total == 0 {
        return output::line(out, "OK: no findings");
    }
    output::line(out, &format!("FAILED: {total} findings"))?;
    for i in issues {
        let text = format!(
            "  {}: {}: {}",
            kind_of(&i.finding),
            i.file.display(),
            i.finding
        );
        output::line(out, &clean(&text))?;
    }
    for f in &report.findings {
        output::line(out, &clean(&format!("  {}: {f}", kind_of(f))))?;
    }
    Ok(())
}
