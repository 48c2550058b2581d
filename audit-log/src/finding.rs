//! What verification finds: every problem, named by file line, or by log, chain and sequence
//! number, with a sentence for people ([`Finding`]'s `Display`).

use std::fmt;

use crate::verify::Scope;

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
fn scope_name(scope: &Scope) -> String {
    match scope {
        Scope::All => "the whole trail".to_owned(),
        Scope::Tenant(t) => tenant_name(t),
    }
}
