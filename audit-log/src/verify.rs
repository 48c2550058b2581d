//! Offline verification: records and checkpoints (as exported) plus the audit public key in,
//! a [`Report`] out that names every problem by log, sequence number and kind.
//!
//! For each log, the global chain (operator view, [`Scope::All`]) or one tenant's chain
//! ([`Scope::Tenant`]) is walked in file order: sequence numbers must step by one, each
//! record must name the hash of the one before, and the first record must start the chain
//! (sequence 1, genesis `prev`) or continue from a head that a validly signed checkpoint
//! vouches for (what retention leaves). Every validly signed checkpoint's head must then match
//! the record it names; a checkpoint beyond the last record means records were cut off.
//! Records after the last checkpoint are chained but not yet signed: the report says how far
//! the signatures reach.
//!
//! The scope is the auditor's to give, never read from the files: in a tenant's scope every
//! record of another tenant is a finding ([`Finding::OutOfScope`]), and every validly signed
//! checkpoint must prove the tenant's head (or, with its full list of heads, that the tenant
//! had no records yet); in the whole trail's scope every checkpoint must carry the full list.
//! A checkpoint stripped of what the scope needs is a finding ([`Finding::MissingTenantHeads`]),
//! not a checkpoint that vouches for nothing: otherwise records it covers could be cut.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use crate::checkpoint::{Checkpoint, PublicKey};
use crate::hash::Hash;
use crate::record::AuditRecord;

/// Which chains to verify. In an export's manifest it is written `"all"` or
/// `{"tenant": "acme"}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every record of every log: the global chains and every tenant chain.
    All,
    /// One tenant's chain only (`None`: records without a tenant). Another tenant's record in
    /// the input is a finding.
    Tenant(Option<String>),
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// The file's last line has no newline: a torn write (`bytes` long).
    TornTail {
        /// 1-based line number.
        line: u64,
        /// Length of the torn bytes.
        bytes: u64,
    },
    /// A line longer than [`crate::MAX_LINE_LEN`] (records) or
    /// [`crate::MAX_CHECKPOINT_LINE_LEN`] (checkpoints).
    LineTooLong {
        /// 1-based line number.
        line: u64,
    },
    /// A line that is not a record or checkpoint.
    MalformedLine {
        /// 1-based line number.
        line: u64,
    },
    /// A record line not in its canonical spelling (edited, even if its values still hash).
    NonCanonicalLine {
        /// 1-based line number.
        line: u64,
    },
    /// A record's sequence number is not the previous one plus one (deleted, inserted,
    /// duplicated or reordered records).
    UnexpectedSeq {
        /// The log.
        log: String,
        /// The tenant chain, or `None` for the global chain.
        tenant: Option<Option<String>>,
        /// What should have come.
        expected: u64,
        /// What came.
        found: u64,
    },
    /// A record's `prev` (or `tenant_prev`) is not the hash of the record before it: a
    /// record before it was changed, removed or swapped.
    BrokenLink {
        /// The log.
        log: String,
        /// The tenant chain, or `None` for the global chain.
        tenant: Option<Option<String>>,
        /// The record's (tenant) sequence number.
        seq: u64,
    },
    /// The first record neither starts the chain nor continues from a signed checkpoint:
    /// records before it are missing.
    UnanchoredStart {
        /// The log.
        log: String,
        /// The tenant chain, or `None` for the global chain.
        tenant: Option<Option<String>>,
        /// The first record's (tenant) sequence number.
        seq: u64,
    },
    /// A checkpoint whose signature is not the audit key's (forged or altered).
    BadSignature {
        /// The checkpoint's log.
        log: String,
        /// The checkpoint's sequence number.
        seq: u64,
    },
    /// A validly signed checkpoint whose tenant list or proof does not match its root.
    BadTenantHeads {
        /// The checkpoint's log.
        log: String,
        /// The checkpoint's sequence number.
        seq: u64,
    },
    /// A validly signed checkpoint names a head the records do not have at that position:
    /// the records were rewritten.
    HeadMismatch {
        /// The log.
        log: String,
        /// The tenant chain, or `None` for the global chain.
        tenant: Option<Option<String>>,
        /// The checkpoint's sequence number.
        checkpoint: u64,
        /// The (tenant) sequence number it names.
        seq: u64,
    },
    /// A validly signed checkpoint lacks the tenant heads the scope needs: the full list (the
    /// whole trail's scope) or the tenant's head with its proof (a tenant's scope). Stripped,
    /// or the checkpoints of another scope's export.
    MissingTenantHeads {
        /// The checkpoint's log.
        log: String,
        /// The checkpoint's sequence number.
        seq: u64,
        /// The tenant whose head is missing, or `None` when the full list is.
        tenant: Option<Option<String>>,
    },
    /// Records of a tenant outside the scope verified (in a tenant's scope): not what the
    /// export says it holds, and not checked.
    OutOfScope {
        /// The log.
        log: String,
        /// Their tenant.
        tenant: Option<String>,
        /// How many.
        records: u64,
        /// The first one's sequence number in the log.
        first: u64,
    },
    /// The export's manifest states another scope than the one verified.
    ScopeMismatch {
        /// The scope the manifest states.
        stated: Scope,
    },
    /// The export's manifest disagrees with the files (records cut or added, checkpoints
    /// removed): `what` names the fact.
    ManifestMismatch {
        /// `records`, `checkpoints`, `start` or `end`.
        what: &'static str,
        /// What the manifest states.
        stated: String,
        /// What the files hold.
        found: String,
    },
    /// A validly signed checkpoint names a record past the last one: records were cut off.
    BeyondEnd {
        /// The log.
        log: String,
        /// The tenant chain, or `None` for the global chain.
        tenant: Option<Option<String>>,
        /// The checkpoint's sequence number.
        checkpoint: u64,
        /// The (tenant) sequence number it names.
        seq: u64,
        /// The last (tenant) sequence number present (0: none).
        last: u64,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn chain(log: &str, tenant: &Option<Option<String>>) -> String {
            match tenant {
                None => format!("log {log}"),
                Some(None) => format!("log {log}, records without tenant"),
                Some(Some(t)) => format!("log {log}, tenant {t}"),
            }
        }
        match self {
            Self::TornTail { line, bytes } => {
                write!(f, "line {line}: torn last line ({bytes} bytes, no newline)")
            }
            Self::LineTooLong { line } => write!(f, "line {line}: too long"),
            Self::MalformedLine { line } => write!(f, "line {line}: not a valid entry"),
            Self::NonCanonicalLine { line } => {
                write!(f, "line {line}: not in canonical form (edited)")
            }
            Self::UnexpectedSeq {
                log,
                tenant,
                expected,
                found,
            } => write!(
                f,
                "{}: expected sequence {expected}, found {found}",
                chain(log, tenant)
            ),
            Self::BrokenLink { log, tenant, seq } => write!(
                f,
                "{}: record {seq} does not chain to the record before it",
                chain(log, tenant)
            ),
            Self::UnanchoredStart { log, tenant, seq } => write!(
                f,
                "{}: starts at {seq} with no signed checkpoint before it (records missing)",
                chain(log, tenant)
            ),
            Self::BadSignature { log, seq } => write!(
                f,
                "log {log}: checkpoint at {seq} is not signed by the audit key"
            ),
            Self::BadTenantHeads { log, seq } => write!(
                f,
                "log {log}: checkpoint at {seq} has tenant heads that do not match its signed root"
            ),
            Self::MissingTenantHeads {
                log,
                seq,
                tenant: None,
            } => write!(
                f,
                "log {log}: checkpoint at {seq} lacks the full list of tenant heads (stripped, or a tenant's view)"
            ),
            Self::MissingTenantHeads {
                log,
                seq,
                tenant: Some(t),
            } => write!(
                f,
                "log {log}: checkpoint at {seq} lacks the head of {} (stripped, or another tenant's view)",
                tenant_name(t)
            ),
            Self::OutOfScope {
                log,
                tenant,
                records,
                first,
            } => write!(
                f,
                "log {log}: {records} records of {} (the first at {first}) are outside the scope verified",
                tenant_name(tenant)
            ),
            Self::ScopeMismatch { stated } => write!(
                f,
                "the export's manifest says it holds {}, not what is verified",
                scope_name(stated)
            ),
            Self::ManifestMismatch {
                what,
                stated,
                found,
            } => write!(
                f,
                "the export's manifest states {what} {stated}, the files hold {found}"
            ),
            Self::HeadMismatch {
                log,
                tenant,
                checkpoint,
                seq,
            } => write!(
                f,
                "{}: record {seq} differs from what checkpoint {checkpoint} signed",
                chain(log, tenant)
            ),
            Self::BeyondEnd {
                log,
                tenant,
                checkpoint,
                seq,
                last,
            } => write!(
                f,
                "{}: checkpoint {checkpoint} covers record {seq} but the records end at {last} (truncated)",
                chain(log, tenant)
            ),
        }
    }
}

fn tenant_name(tenant: &Option<String>) -> String {
    match tenant {
        Some(t) => format!("tenant {t}"),
        None => "records without tenant".to_owned(),
    }
}

/// The scope in words: `the whole trail`, `tenant acme`.
pub(crate) fn scope_name(scope: &Scope) -> String {
    match scope {
        Scope::All => "the whole trail".to_owned(),
        Scope::Tenant(t) => tenant_name(t),
    }
}

/// How far one chain goes and how much of it signatures cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSummary {
    /// The log.
    pub log: String,
    /// The tenant chain, or `None` for the global chain.
    pub tenant: Option<Option<String>>,
    /// Number of records walked.
    pub records: u64,
    /// First (tenant) sequence number present.
    pub first: Option<u64>,
    /// Last (tenant) sequence number present.
    pub last: Option<u64>,
    /// The furthest record a valid checkpoint vouches for; records after it are chained but
    /// not yet signed.
    pub signed_through: Option<u64>,
}

/// The outcome of [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// What was verified.
    pub scope: Scope,
    /// Records in scope.
    pub records: u64,
    /// Checkpoints with a valid signature.
    pub valid_checkpoints: u64,
    /// One entry per chain walked.
    pub chains: Vec<ChainSummary>,
    /// Every problem; empty when everything verifies.
    pub findings: Vec<Finding>,
}

impl Report {
    /// True when nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// A link in a chain, reduced to what the walk needs.
struct Link {
    pos: u64,
    prev: Hash,
    hash: Hash,
}

/// A head a valid checkpoint vouches for: (checkpoint seq, position, hash).
type Vouch = (u64, u64, Hash);

/// Verifies `records` (in file order) against `checkpoints` and `key` within `scope`.
pub fn verify(
    records: &[AuditRecord],
    checkpoints: &[Checkpoint],
    key: &PublicKey,
    scope: &Scope,
) -> Report {
    let mut findings = Vec::new();
    let valid: Vec<&Checkpoint> = checkpoints
        .iter()
        .filter(|cp| {
            let ok = cp.signature_valid(key);
            if !ok {
                findings.push(Finding::BadSignature {
                    log: cp.log.clone(),
                    seq: cp.seq,
                });
            }
            ok
        })
        .collect();
    // per log: the tenant heads each valid checkpoint proves
    let mut proven: BTreeMap<&str, Vec<(u64, Vec<crate::TenantHead>)>> = BTreeMap::new();
    for cp in &valid {
        let heads = cp.proven_heads();
        let claims_list = !cp.tenants.is_empty() || cp.proof.is_some();
        if heads.is_empty() && claims_list && cp.tenant_count > 0 {
            findings.push(Finding::BadTenantHeads {
                log: cp.log.clone(),
                seq: cp.seq,
            });
        } else if let Some(tenant) = missing_heads(cp, &heads, scope) {
            findings.push(Finding::MissingTenantHeads {
                log: cp.log.clone(),
                seq: cp.seq,
                tenant,
            });
        }
        proven.entry(&cp.log).or_default().push((cp.seq, heads));
    }

    let in_scope: Vec<&AuditRecord> = records.iter().filter(|r| scope.holds(r)).collect();
    findings.extend(out_of_scope(records, scope));
    let mut logs: BTreeSet<&str> = in_scope.iter().map(|r| r.log.as_str()).collect();
    match scope {
        Scope::All => logs.extend(valid.iter().map(|cp| cp.log.as_str())),
        Scope::Tenant(t) => logs.extend(proven.iter().filter_map(|(log, cps)| {
            cps.iter()
                .any(|(_, heads)| heads.iter().any(|h| h.tenant == *t))
                .then_some(*log)
        })),
    }

    let mut chains = Vec::new();
    for log in logs {
        let of_log: Vec<&AuditRecord> = in_scope.iter().copied().filter(|r| r.log == log).collect();
        let cps = proven.get(log).map(Vec::as_slice).unwrap_or_default();
        if *scope == Scope::All {
            let links: Vec<Link> = of_log
                .iter()
                .map(|r| Link {
                    pos: r.seq,
                    prev: r.prev,
                    hash: r.hash(),
                })
                .collect();
            let vouches: Vec<Vouch> = valid
                .iter()
                .filter(|cp| cp.log == log)
                .map(|cp| (cp.seq, cp.seq, cp.head))
                .collect();
            chains.push(walk(log, None, &links, &vouches, &mut findings));
        }
        let tenants: BTreeSet<Option<String>> = match scope {
            Scope::All => of_log.iter().map(|r| r.event.tenant.clone()).collect(),
            Scope::Tenant(t) => BTreeSet::from([t.clone()]),
        };
        for tenant in tenants {
            let links: Vec<Link> = of_log
                .iter()
                .filter(|r| r.event.tenant == tenant)
                .map(|r| Link {
                    pos: r.tenant_seq,
                    prev: r.tenant_prev,
                    hash: r.hash(),
                })
                .collect();
            let vouches: Vec<Vouch> = cps
                .iter()
                .flat_map(|(cp_seq, heads)| {
                    heads
                        .iter()
                        .filter(|h| h.tenant == tenant)
                        .map(move |h| (*cp_seq, h.tenant_seq, h.head))
                })
                .collect();
            chains.push(walk(log, Some(tenant), &links, &vouches, &mut findings));
        }
    }
    Report {
        scope: scope.clone(),
        records: in_scope.len() as u64,
        valid_checkpoints: valid.len() as u64,
        chains,
        findings,
    }
}

impl Scope {
    /// Whether `record` belongs to this scope.
    pub fn holds(&self, record: &AuditRecord) -> bool {
        match self {
            Scope::All => true,
            Scope::Tenant(t) => record.event.tenant == *t,
        }
    }

    /// The position of `record` in this scope's chain: the log's sequence number for the
    /// whole trail, the tenant sequence number for a tenant; and the hash it continues from.
    pub fn position(&self, record: &AuditRecord) -> (u64, Hash) {
        match self {
            Scope::All => (record.seq, record.prev),
            Scope::Tenant(_) => (record.tenant_seq, record.tenant_prev),
        }
    }
}

/// What `scope` needs of a validly signed checkpoint that `heads` (what it proves) lacks:
/// `Some(None)` the full list (whole trail), `Some(Some(t))` tenant `t`'s head.
fn missing_heads(
    cp: &Checkpoint,
    heads: &[crate::TenantHead],
    scope: &Scope,
) -> Option<Option<Option<String>>> {
    // the full list, matching the signed root, also proves a tenant it leaves out had no
    // records yet
    if cp.has_full_tenants() {
        return None;
    }
    match scope {
        Scope::All => Some(None),
        Scope::Tenant(t) if !heads.iter().any(|h| h.tenant == *t) => Some(Some(t.clone())),
        Scope::Tenant(_) => None,
    }
}

/// One finding per log and foreign tenant with records in the input, in a tenant's scope.
fn out_of_scope(records: &[AuditRecord], scope: &Scope) -> Vec<Finding> {
    if *scope == Scope::All {
        return Vec::new();
    }
    let mut outside: BTreeMap<(&str, &Option<String>), (u64, u64)> = BTreeMap::new();
    for r in records.iter().filter(|r| !scope.holds(r)) {
        let entry = outside
            .entry((r.log.as_str(), &r.event.tenant))
            .or_insert((0, r.seq));
        entry.0 += 1;
    }
    outside
        .into_iter()
        .map(|((log, tenant), (records, first))| Finding::OutOfScope {
            log: log.to_owned(),
            tenant: tenant.clone(),
            records,
            first,
        })
        .collect()
}

/// Walks one chain and checks the vouched heads against it.
fn walk(
    log: &str,
    tenant: Option<Option<String>>,
    links: &[Link],
    vouches: &[Vouch],
    findings: &mut Vec<Finding>,
) -> ChainSummary {
    let log_s = log.to_owned();
    let mut hashes: HashMap<u64, Hash> = HashMap::with_capacity(links.len());
    let first = links.first();
    if let Some(f) = first {
        if f.pos <= 1 {
            if f.pos == 0 {
                findings.push(Finding::UnexpectedSeq {
                    log: log_s.clone(),
                    tenant: tenant.clone(),
                    expected: 1,
                    found: 0,
                });
            } else if f.prev != Hash::GENESIS {
                findings.push(Finding::BrokenLink {
                    log: log_s.clone(),
                    tenant: tenant.clone(),
                    seq: f.pos,
                });
            }
        } else if !vouches
            .iter()
            .any(|(_, pos, head)| pos.checked_add(1) == Some(f.pos) && *head == f.prev)
        {
            findings.push(Finding::UnanchoredStart {
                log: log_s.clone(),
                tenant: tenant.clone(),
                seq: f.pos,
            });
        }
    }
    for pair in links.windows(2) {
        let [a, b] = pair else { continue };
        let expected = a.pos.saturating_add(1);
        if b.pos != expected {
            findings.push(Finding::UnexpectedSeq {
                log: log_s.clone(),
                tenant: tenant.clone(),
                expected,
                found: b.pos,
            });
        }
        if b.prev != a.hash {
            findings.push(Finding::BrokenLink {
                log: log_s.clone(),
                tenant: tenant.clone(),
                seq: b.pos,
            });
        }
    }
    for l in links {
        hashes.entry(l.pos).or_insert(l.hash);
    }
    let last = links.iter().map(|l| l.pos).max();
    let mut signed_through = None;
    for &(checkpoint, pos, head) in vouches {
        let last_pos = last.unwrap_or(0);
        let first_pos = first.map_or(1, |f| f.pos);
        let mismatch = || Finding::HeadMismatch {
            log: log_s.clone(),
            tenant: tenant.clone(),
            checkpoint,
            seq: pos,
        };
        if pos > last_pos {
            findings.push(Finding::BeyondEnd {
                log: log_s.clone(),
                tenant: tenant.clone(),
                checkpoint,
                seq: pos,
                last: last_pos,
            });
        } else if pos >= first_pos {
            if hashes.get(&pos) == Some(&head) {
                signed_through = signed_through.max(Some(pos));
            } else {
                findings.push(mismatch());
            }
        } else if pos.checked_add(1) == Some(first_pos) {
            let start = first.map_or(Hash::GENESIS, |f| f.prev);
            if start != head {
                findings.push(mismatch());
            }
        }
    }
    ChainSummary {
        log: log_s,
        tenant,
        records: links.len() as u64,
        first: first.map(|f| f.pos),
        last,
        signed_through,
    }
}
