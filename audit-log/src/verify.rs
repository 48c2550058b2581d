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

use crate::checkpoint::{Checkpoint, PublicKey};
use crate::finding::Finding;
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
