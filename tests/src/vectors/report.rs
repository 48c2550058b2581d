//! Per-file results and the summary line.

use std::fmt;
use std::path::Path;

use super::replay::Outcome;

/// The result of one vector file.
#[derive(Debug)]
pub struct FileReport {
    /// The file, relative to the vector root (`v1.4/XML/mandatory/SKLC-M-1-14.xml`).
    pub file: String,
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
        Self { file, outcome }
    }
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Passed { steps } => write!(f, "PASS {} ({steps} steps)", self.file),
            Outcome::Failed(failure) => write!(f, "FAIL {}: {failure}", self.file),
            Outcome::Skipped(reason) => write!(f, "SKIP {}: {reason}", self.file),
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
            match r.outcome {
                Outcome::Passed { .. } => s.passed += 1,
                Outcome::Failed(_) => s.failed += 1,
                Outcome::Skipped(_) => s.skipped += 1,
            }
        }
        s
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
