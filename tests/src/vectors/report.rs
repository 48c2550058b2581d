//! Per-file results, the per-family counts and the summary lines.
//!
//! Lines for files in scope start with `PASS`, `FAIL` or `SKIP` (scripts/test.sh greps them);
//! a file not yet in scope that fails prints `TODO`, one that passes `PASS ... (not yet in
//! scope)`. Every count line reads `N passed, N failed, N skipped`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use super::replay::Outcome;
use super::scope::{Scope, classify, family_of};

/// The result of one vector file.
#[derive(Debug)]
pub struct FileReport {
    /// The file, relative to the vector root (`v1.4/XML/mandatory/SKLC-M-1-14.xml`).
    pub file: String,
    /// Its profile family (file-name prefix), `?` when it has none.
    pub family: &'static str,
    /// Whether it must pass.
    pub scope: Scope,
    /// What happened.
    pub outcome: Outcome,
}

impl FileReport {
    /// A report for `path`, named relative to `root` when it lies under it.
    pub fn new(root: &Path, path: &Path, outcome: Outcome) -> Self {
        let file = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        Self {
            file,
            family: family_of(name).map_or("?", |f| f.prefix),
            scope: classify(name),
            outcome,
        }
    }

    /// True for a file not yet in scope that passes: it belongs in scope.
    pub fn passes_out_of_scope(&self) -> bool {
        self.scope == Scope::NotYetInScope && matches!(self.outcome, Outcome::Passed { .. })
    }
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let later = self.scope == Scope::NotYetInScope;
        match (&self.outcome, later) {
            (Outcome::Passed { steps }, false) => write!(f, "PASS {} ({steps} steps)", self.file),
            (Outcome::Passed { steps }, true) => write!(
                f,
                "PASS {} ({steps} steps; not yet in scope: move it into scope)",
                self.file
            ),
            (Outcome::Failed(failure), false) => write!(f, "FAIL {}: {failure}", self.file),
            (Outcome::Failed(failure), true) => write!(f, "TODO {}: {failure}", self.file),
            (Outcome::Skipped(reason), _) => write!(f, "SKIP {}: {reason}", self.file),
        }
    }
}

/// Counts over many files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files whose every response matched.
    pub passed: usize,
    /// Files with a difference or a broken replay.
    pub failed: usize,
    /// Files skipped with a reason.
    pub skipped: usize,
}

impl Summary {
    /// Counts `reports`.
    pub fn of<'a>(reports: impl IntoIterator<Item = &'a FileReport>) -> Self {
        let mut s = Summary::default();
        for r in reports {
            s.add(&r.outcome);
        }
        s
    }

    fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Passed { .. } => self.passed += 1,
            Outcome::Failed(_) => self.failed += 1,
            Outcome::Skipped(_) => self.skipped += 1,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// The counts of one profile family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilySummary {
    /// The family's file-name prefix.
    pub family: &'static str,
    /// True when its files must pass.
    pub in_scope: bool,
    /// Its counts.
    pub summary: Summary,
}

impl FamilySummary {
    /// One summary per family met in `reports`, in the order of the families table; files in
    /// scope from a family not in scope ([`super::scope::PASSING_ELSEWHERE`]) count with their
    /// family.
    pub fn of<'a>(reports: impl IntoIterator<Item = &'a FileReport>) -> Vec<Self> {
        let mut by: BTreeMap<&'static str, Summary> = BTreeMap::new();
        for r in reports {
            by.entry(r.family).or_default().add(&r.outcome);
        }
        let mut out: Vec<Self> = super::scope::FAMILIES
            .iter()
            .filter_map(|f| {
                by.remove(f.prefix).map(|summary| Self {
                    family: f.prefix,
                    in_scope: f.in_scope,
                    summary,
                })
            })
            .collect();
        out.extend(by.into_iter().map(|(family, summary)| Self {
            family,
            in_scope: false,
            summary,
        }));
        out
    }
}

impl fmt::Display for FamilySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = if self.in_scope {
            "in scope"
        } else {
            "not yet in scope"
        };
        write!(f, "profile {} ({scope}): {}", self.family, self.summary)
    }
}
