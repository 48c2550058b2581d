//! The audit files `kmsctl` reads and writes.
//!
//! ```text
//! export directory (kmsctl audit export --out DIR)   node audit directory (server)
//!   records.jsonl          one record per line         audit-<first seq, 20 digits>.jsonl ...
//!   checkpoints.jsonl      one checkpoint per line     checkpoints.jsonl
//!   audit-public-key.hex   the key, lowercase hex      (no key: the HSM holds it)
//!   manifest.json          what the export holds       (no manifest)
//! ```
//!
//! Lines that do not read as records or checkpoints are kept as [`Issue`]s with their file,
//! so a report can say where they are.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use audit_log::{AuditRecord, Checkpoint, Finding, Manifest, Parsed};

use crate::error::{ClientError, Result};

/// Records of an export.
pub(super) const RECORDS: &str = "records.jsonl";
/// Checkpoints, in an export and in a node's audit directory.
pub(super) const CHECKPOINTS: &str = "checkpoints.jsonl";
/// The audit public key of an export.
pub(super) const PUBLIC_KEY: &str = "audit-public-key.hex";
/// An export's statement of what it holds (`audit_log::Manifest`).
pub(super) const MANIFEST: &str = "manifest.json";
/// A node's segment files: `audit-` + first sequence number in 20 digits + `.jsonl` (the
/// server's `server::audit::segment`).
const SEGMENT_PREFIX: &str = "audit-";
const SEGMENT_SUFFIX: &str = ".jsonl";

/// A line-level problem of one file.
#[derive(Clone, Debug)]
pub(super) struct Issue {
    /// The file.
    pub(super) file: PathBuf,
    /// What is wrong with which line.
    pub(super) finding: Finding,
}

/// A node directory's segment files, oldest first.
pub(super) fn segments(dir: &Path) -> Result<Vec<PathBuf>> {
    let read_error = |source| ClientError::ReadFile {
        path: dir.to_path_buf(),
        source,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = entry.file_name();
        let first = name
            .to_str()
            .and_then(|n| n.strip_prefix(SEGMENT_PREFIX))
            .and_then(|n| n.strip_suffix(SEGMENT_SUFFIX))
            .filter(|n| n.len() == 20)
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(first) = first {
            found.push((first, entry.path()));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// The record files of `dir`: an export's `records.jsonl`, else a node's segments.
pub(super) fn record_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let export = dir.join(RECORDS);
    if export.is_file() {
        return Ok(vec![export]);
    }
    let found = segments(dir)?;
    if found.is_empty() {
        return Err(ClientError::Usage(
            "the directory holds neither records.jsonl nor audit-*.jsonl segments",
        ));
    }
    Ok(found)
}

fn open(path: &Path) -> Result<BufReader<File>> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| ClientError::ReadFile {
            path: path.to_path_buf(),
            source,
        })
}

fn audit_error(path: &Path, e: audit_log::Error) -> ClientError {
    match e {
        audit_log::Error::Io(source) => ClientError::ReadFile {
            path: path.to_path_buf(),
            source,
        },
        other => ClientError::Audit(other),
    }
}

fn collect<T>(path: &Path, parsed: Parsed<T>, items: &mut Vec<T>, issues: &mut Vec<Issue>) {
    items.extend(parsed.items);
    issues.extend(parsed.findings.into_iter().map(|finding| Issue {
        file: path.to_path_buf(),
        finding,
    }));
}

/// Every record of `files`, in order, and the lines that are not records.
pub(super) fn read_records(files: &[PathBuf]) -> Result<(Vec<AuditRecord>, Vec<Issue>)> {
    let (mut records, mut issues) = (Vec::new(), Vec::new());
    for path in files {
        let parsed = audit_log::read_records(open(path)?).map_err(|e| audit_error(path, e))?;
        collect(path, parsed, &mut records, &mut issues);
    }
    Ok((records, issues))
}

/// Every checkpoint of `path` and the lines that are not checkpoints.
pub(super) fn read_checkpoints(path: &Path) -> Result<(Vec<Checkpoint>, Vec<Issue>)> {
    let (mut cps, mut issues) = (Vec::new(), Vec::new());
    let parsed = audit_log::read_checkpoints(open(path)?).map_err(|e| audit_error(path, e))?;
    collect(path, parsed, &mut cps, &mut issues);
    Ok((cps, issues))
}

/// The manifest of an export directory: `Ok(None)` if there is none, an issue if the file is
/// not a manifest.
pub(super) fn read_manifest(dir: &Path) -> Result<(Option<Manifest>, Option<Issue>)> {
    let path = dir.join(MANIFEST);
    if !path.is_file() {
        return Ok((None, None));
    }
    let read_error = |source| ClientError::ReadFile {
        path: path.clone(),
        source,
    };
    let len = std::fs::metadata(&path).map_err(read_error)?.len();
    let issue = |finding| Issue {
        file: path.clone(),
        finding,
    };
    if len > audit_log::MAX_MANIFEST_LEN as u64 {
        return Ok((None, Some(issue(Finding::LineTooLong { line: 1 }))));
    }
    let bytes = std::fs::read(&path).map_err(read_error)?;
    let manifest = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| Manifest::from_json(t.trim_end()));
    Ok(match manifest {
        Some(m) => (Some(m), None),
        None => (None, Some(issue(Finding::MalformedLine { line: 1 }))),
    })
}

/// The checkpoints as `tenant`'s auditor sees them: a checkpoint with the full list of
/// tenant heads becomes that tenant's view (its head and inclusion proof only); one that does
/// not list the tenant (made before its first record) is left out, as it vouches for nothing
/// of the tenant's; one already in a tenant's view is kept.
pub(super) fn tenant_view(checkpoints: Vec<Checkpoint>, tenant: &str) -> Vec<Checkpoint> {
    checkpoints
        .into_iter()
        .filter_map(|cp| {
            if cp.tenants.is_empty() {
                Some(cp)
            } else {
                cp.for_tenant(Some(tenant)).ok()
            }
        })
        .collect()
}

/// A new file for writing; an existing file is never overwritten (exports are evidence).
pub(super) fn create_new(path: &Path) -> Result<BufWriter<File>> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map(BufWriter::new)
        .map_err(|source| ClientError::WriteFile {
            path: path.to_path_buf(),
            source,
        })
}

/// Writes `line` and a newline to `out`, which writes `path`.
pub(super) fn put_line(out: &mut dyn Write, path: &Path, line: &str) -> Result<()> {
    writeln!(out, "{line}").map_err(|source| ClientError::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

/// Flushes a writer of `path` and its data to disk.
pub(super) fn finish(out: BufWriter<File>, path: &Path) -> Result<()> {
    let write_error = |source| ClientError::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    out.into_inner()
        .map_err(|e| write_error(e.into_error()))?
        .sync_all()
        .map_err(write_error)
}
