//! An export's statement about itself (`manifest.json` of an export directory): the scope it
//! was made for, the log, how many records and checkpoints it holds, and where the scope's
//! chain starts and ends in it. Written by `kmsctl audit export` after the records, read by
//! `kmsctl audit verify`.
//!
//! The manifest is not signed: whoever controls the export can rewrite it together with the
//! records. What it gives is a self-describing export (a tenant's export says it is that
//! tenant's, so verifying it as anything else is a finding, and so is verifying another
//! export as that tenant's), and detection of a cut that the signatures cannot show (records
//! after the last checkpoint, cut by a truncated copy or an edit that left the manifest
//! alone). What the export proves comes from the signed checkpoints alone (`docs/AUDIT.md`,
//! "What the trail proves").

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::hash::Hash;
use crate::record::AuditRecord;
use crate::verify::Scope;

/// The `format` of the manifests this crate writes.
pub const MANIFEST_FORMAT: &str = "kms-audit-export-v1";

/// Longest manifest read, in bytes (a real one is a few hundred).
pub const MAX_MANIFEST_LEN: usize = 64 * 1024;

/// A place in the scope's chain: a (tenant) sequence number and the hash of that record
/// ([`Hash::GENESIS`] at position 0, before the first record).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainPoint {
    /// The (tenant) sequence number.
    pub seq: u64,
    /// The hash of that record.
    pub head: Hash,
}

/// What an export says it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// The scope the export was made for.
    pub scope: Scope,
    /// The log the records are from (`None`: no record).
    pub log: Option<String>,
    /// Lines in `records.jsonl`.
    pub records: u64,
    /// Lines in `checkpoints.jsonl`.
    pub checkpoints: u64,
    /// Where the scope's chain stands just before the first record: `seq` 0 when the export
    /// starts the chain (the tenant had no records before), else the record the first one
    /// continues from (earlier ones deleted by retention). `None`: no record.
    pub start: Option<ChainPoint>,
    /// The scope's last record in the export. `None`: no record.
    pub end: Option<ChainPoint>,
    /// Records were left out by a filter other than the tenant (time, operation, object,
    /// principal): the chain has gaps and does not verify.
    pub filtered: bool,
}

impl Manifest {
    /// The manifest of an empty export of `scope`; add records with [`Manifest::note`].
    pub fn new(scope: Scope, filtered: bool) -> Self {
        Self {
            format: MANIFEST_FORMAT.to_owned(),
            scope,
            log: None,
            records: 0,
            checkpoints: 0,
            start: None,
            end: None,
            filtered,
        }
    }

    /// Counts one more record, written after the ones noted before.
    pub fn note(&mut self, record: &AuditRecord) {
        self.records += 1;
        if !self.scope.holds(record) {
            return;
        }
        let (pos, prev) = self.scope.position(record);
        if self.start.is_none() {
            self.log = Some(record.log.clone());
            self.start = Some(ChainPoint {
                seq: pos.saturating_sub(1),
                head: prev,
            });
        }
        self.end = Some(ChainPoint {
            seq: pos,
            head: record.hash(),
        });
    }

    /// The manifest as written in `manifest.json` (one line, no trailing newline).
    pub fn to_json(&self) -> Result<String, crate::Error> {
        Ok(serde_json::to_string(self)?)
    }

    /// Parses `manifest.json`; `None` if it is not a manifest of this format.
    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str::<Self>(text)
            .ok()
            .filter(|m| m.format == MANIFEST_FORMAT)
    }

    /// What disagrees between this manifest, the scope being verified, and the files: the
    /// scope it states, its counts, and where the scope's chain starts and ends.
    pub fn check(
        &self,
        scope: &Scope,
        records: &[AuditRecord],
        checkpoints: usize,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        if self.scope != *scope {
            findings.push(Finding::ScopeMismatch {
                stated: self.scope.clone(),
            });
        }
        let found = Self::of(self.scope.clone(), self.filtered, records, checkpoints);
        let mut differ = |what, stated: String, found: String| {
            if stated != found {
                findings.push(Finding::ManifestMismatch {
                    what,
                    stated,
                    found,
                });
            }
        };
        differ(
            "records",
            self.records.to_string(),
            found.records.to_string(),
        );
        differ(
            "checkpoints",
            self.checkpoints.to_string(),
            found.checkpoints.to_string(),
        );
        differ("start", point(&self.start), point(&found.start));
        differ("end", point(&self.end), point(&found.end));
        findings
    }

    /// The manifest of `records` and `checkpoints` as they are.
    fn of(scope: Scope, filtered: bool, records: &[AuditRecord], checkpoints: usize) -> Self {
        let mut m = Self::new(scope, filtered);
        for r in records {
            m.note(r);
        }
        m.checkpoints = checkpoints as u64;
        m
    }
}

fn point(p: &Option<ChainPoint>) -> String {
    match p {
        Some(p) => format!("{} ({})", p.seq, p.head),
        None => "none".to_owned(),
    }
}
