//! The files of an audit directory and how a log is recovered from them on open.
//!
//! ```text
//! <dir>/LOCK                                  held (flock) while a process has the log open
//! <dir>/audit-00000000000000000001.jsonl      a segment, named by its first sequence number
//! <dir>/checkpoints.jsonl                     every signed checkpoint, one per line
//! <dir>/<file>.torn-<unix-nanos>              torn bytes moved aside on recovery
//! ```
//!
//! Recovery starts from the newest checkpoint (its full list of tenant heads is the chain
//! state at its sequence number, which is also what survives retention), replays the records
//! after it and checks every link. A torn last line (bytes after the last newline: a write cut
//! by a crash, never acknowledged) is moved aside and reported; anything else out of place
//! stops the open.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use audit_log::{ChainState, Checkpoint, Finding, Parsed};
use time::OffsetDateTime;

use super::AuditError;

/// File name of the checkpoints.
pub(super) const CHECKPOINTS: &str = "checkpoints.jsonl";
/// File name of the lock.
const LOCK: &str = "LOCK";
const PREFIX: &str = "audit-";
const SUFFIX: &str = ".jsonl";

/// A segment's path for its first sequence number.
pub(super) fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{PREFIX}{first:020}{SUFFIX}"))
}

/// The segments in `dir`, sorted by first sequence number.
pub(super) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, AuditError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(AuditError::io("listing", dir))? {
        let entry = entry.map_err(AuditError::io("listing", dir))?;
        let name = entry.file_name();
        let Some(first) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|n| n.strip_suffix(SUFFIX))
            .filter(|n| n.len() == 20)
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        out.push((first, entry.path()));
    }
    out.sort();
    Ok(out)
}

/// Flushes a directory entry change (create, delete) to disk.
pub(super) fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(AuditError::io("syncing directory", dir))
}

/// A torn tail moved aside on open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quarantined {
    /// The file it was cut from.
    pub file: PathBuf,
    /// How many bytes.
    pub bytes: u64,
    /// Where they were saved.
    pub saved_to: PathBuf,
}

/// What [`super::AuditLog::open`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Torn tails moved aside.
    pub quarantined: Vec<Quarantined>,
    /// Records read back after the newest checkpoint.
    pub replayed: u64,
    /// The sequence number of the last record.
    pub seq: u64,
    /// The sequence number of the newest checkpoint, if any.
    pub checkpoint: Option<u64>,
}

/// Everything the writer needs to continue the log.
pub(super) struct Recovered {
    pub(super) lock: File,
    pub(super) state: ChainState,
    /// The last segment, open for appending, with its length and path.
    pub(super) current: Option<(File, u64, PathBuf)>,
    /// `seq + 1` of every stored checkpoint: where retention may cut.
    pub(super) boundaries: Vec<u64>,
    pub(super) recovery: Recovery,
}

/// Opens `dir` for log `log`: locks it, recovers the chain state, quarantines torn tails.
pub(super) fn recover(dir: &Path, log: &str) -> Result<Recovered, AuditError> {
    crate::permissions::create_private_dir(dir).map_err(AuditError::io("creating", dir))?;
    let lock_path = dir.join(LOCK);
    let lock = crate::permissions::private_file()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(AuditError::io("opening", &lock_path))?;
    lock.try_lock().map_err(|e| match e {
        fs::TryLockError::WouldBlock => AuditError::Locked {
            path: dir.to_owned(),
        },
        fs::TryLockError::Error(source) => AuditError::Io {
            what: "locking",
            path: lock_path.clone(),
            source,
        },
    })?;
    let mut recovery = Recovery::default();

    let cp_path = dir.join(CHECKPOINTS);
    let checkpoints: Vec<Checkpoint> = if cp_path.exists() {
        let parsed = read(&cp_path, audit_log::read_checkpoints)?;
        accept(&cp_path, parsed, true, &mut recovery)?
    } else {
        Vec::new()
    };
    if checkpoints.iter().any(|c| c.log != log) {
        return Err(corrupt(&cp_path, 0, "a checkpoint of another log"));
    }
    let newest = checkpoints.iter().max_by_key(|c| c.seq);
    let mut state = match newest {
        Some(cp) => ChainState::from_checkpoint(cp)
            .map_err(|_| corrupt(&cp_path, 0, "newest checkpoint lacks its tenant heads"))?,
        None => ChainState::genesis(log),
    };
    recovery.checkpoint = newest.map(|c| c.seq);
    let anchor = newest.map(|c| (c.seq, c.head));

    let segments = list_segments(dir)?;
    // replay from the segment holding the checkpoint's record (to check its hash) onwards
    let start = segments
        .iter()
        .rposition(|(first, _)| *first <= state.seq().max(1))
        .unwrap_or(0);
    let mut anchor_seen = anchor.is_none_or(|(seq, _)| seq == 0);
    let count = segments.len();
    for (i, (first, path)) in segments.iter().enumerate().skip(start) {
        let is_last = i + 1 == count;
        let parsed = read(path, audit_log::read_records)?;
        let records = accept(path, parsed, is_last, &mut recovery)?;
        if records.first().is_some_and(|r| r.seq != *first) {
            return Err(corrupt(
                path,
                1,
                "first record does not match the file name",
            ));
        }
        if records.is_empty() && !is_last {
            return Err(corrupt(path, 0, "an empty segment before the last"));
        }
        for (line, r) in (1u64..).zip(&records) {
            if let Some((seq, head)) = anchor
                && r.seq == seq
            {
                if r.hash() != head {
                    return Err(corrupt(path, line, "record differs from the checkpoint"));
                }
                anchor_seen = true;
            }
            if r.seq <= state.seq() {
                continue;
            }
            state
                .advance(r)
                .map_err(|_| corrupt(path, line, "record does not continue the chain"))?;
            recovery.replayed += 1;
        }
    }
    let holds_anchor = anchor.is_some_and(|(seq, _)| segments.iter().any(|(f, _)| *f <= seq));
    if holds_anchor && !anchor_seen {
        return Err(corrupt(
            &cp_path,
            0,
            "records covered by the checkpoint are missing",
        ));
    }
    if anchor.is_none() && segments.first().is_some_and(|(f, _)| *f != 1) {
        return Err(corrupt(dir, 0, "segments before the first are missing"));
    }

    let at_checkpoint = state.seq() > 0 && recovery.checkpoint == Some(state.seq());
    let current = match segments.last() {
        // a checkpoint ends its segment, so retention can cut there
        Some((first, _)) if at_checkpoint && *first <= state.seq() => None,
        Some((first, path)) if *first <= state.seq().saturating_add(1) => {
            let file = OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(AuditError::io("opening", path))?;
            let len = file
                .metadata()
                .map_err(AuditError::io("reading metadata of", path))?
                .len();
            Some((file, len, path.clone()))
        }
        Some((_, path)) => return Err(corrupt(path, 0, "segment starts after a gap")),
        None => None,
    };
    recovery.seq = state.seq();
    Ok(Recovered {
        lock,
        state,
        current,
        boundaries: checkpoints
            .iter()
            .map(|c| c.seq.saturating_add(1))
            .collect(),
        recovery,
    })
}

fn corrupt(path: &Path, line: u64, what: &'static str) -> AuditError {
    AuditError::Corrupt {
        path: path.to_owned(),
        line,
        what,
    }
}

fn read<T>(
    path: &Path,
    parse: impl FnOnce(BufReader<File>) -> Result<Parsed<T>, audit_log::Error>,
) -> Result<Parsed<T>, AuditError> {
    let file = File::open(path).map_err(AuditError::io("opening", path))?;
    parse(BufReader::new(file)).map_err(|e| match e {
        audit_log::Error::Io(source) => AuditError::Io {
            what: "reading",
            path: path.to_owned(),
            source,
        },
        other => AuditError::Encode(other),
    })
}

/// Keeps the parsed items if the only problem is a torn tail (allowed only in the last file),
/// which is moved aside.
fn accept<T>(
    path: &Path,
    parsed: Parsed<T>,
    tail_allowed: bool,
    recovery: &mut Recovery,
) -> Result<Vec<T>, AuditError> {
    for finding in &parsed.findings {
        match *finding {
            Finding::TornTail { bytes, .. } if tail_allowed => {
                recovery.quarantined.push(quarantine(path, bytes)?);
            }
            Finding::TornTail { line, .. } => return Err(corrupt(path, line, "torn line")),
            Finding::LineTooLong { line } => return Err(corrupt(path, line, "line too long")),
            Finding::MalformedLine { line } => {
                return Err(corrupt(path, line, "not a valid entry"));
            }
            Finding::NonCanonicalLine { line } => return Err(corrupt(path, line, "edited line")),
            _ => return Err(corrupt(path, 0, "unexpected finding")),
        }
    }
    Ok(parsed.items)
}

/// Moves the last `bytes` bytes of `path` to a `.torn-<nanos>` file beside it.
fn quarantine(path: &Path, bytes: u64) -> Result<Quarantined, AuditError> {
    let content = fs::read(path).map_err(AuditError::io("reading", path))?;
    let keep = content
        .len()
        .saturating_sub(usize::try_from(bytes).unwrap_or(usize::MAX));
    let torn = content.get(keep..).unwrap_or_default();
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    let mut saved_to = path.as_os_str().to_owned();
    saved_to.push(format!(".torn-{nanos}"));
    let saved_to = PathBuf::from(saved_to);
    let mut out = crate::permissions::private_file()
        .write(true)
        .create_new(true)
        .open(&saved_to)
        .map_err(AuditError::io("creating", &saved_to))?;
    out.write_all(torn)
        .and_then(|()| out.sync_all())
        .map_err(AuditError::io("writing", &saved_to))?;
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(AuditError::io("opening", path))?;
    file.set_len(keep as u64)
        .and_then(|()| file.sync_all())
        .map_err(AuditError::io("truncating", path))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    tracing::warn!(file = %path.display(), bytes, saved_to = %saved_to.display(),
        "audit: torn tail from an interrupted write moved aside");
    Ok(Quarantined {
        file: path.to_owned(),
        bytes,
        saved_to,
    })
}

/// The highest state-change number at or above `from` among the log's records, reading
/// segments newest first and stopping at the first segment that reaches below `from`
/// (records are written in change order, so nothing older can be higher).
pub(super) fn max_change_since(dir: &Path, from: u64) -> Result<Option<u64>, AuditError> {
    let mut found: Option<u64> = None;
    for (_, path) in list_segments(dir)?.into_iter().rev() {
        let parsed = read(&path, audit_log::read_records)?;
        let changes = parsed.items.iter().filter_map(|r| r.event.change);
        let mut below = false;
        for change in changes {
            if change >= from {
                found = found.max(Some(change));
            } else {
                below = true;
            }
        }
        if below {
            break;
        }
    }
    Ok(found)
}
