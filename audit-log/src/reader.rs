//! Reading JSON Lines audit files (records or checkpoints) as exported or as written by the
//! server, with every irregular line reported: too long, not valid, not in the canonical
//! spelling, or a torn last line without its newline (a write cut short by a crash).

use std::io::{BufRead, Read};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::checkpoint::Checkpoint;
use crate::finding::Finding;
use crate::record::AuditRecord;

/// Longest line read, in bytes. A record's text fields are capped at
/// [`crate::MAX_FIELD_LEN`] each, so real lines stay far below this.
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// What a file held: the items that parsed, in file order, and what was wrong with the rest.
#[derive(Debug)]
pub struct Parsed<T> {
    /// The good items.
    pub items: Vec<T>,
    /// The bad lines.
    pub findings: Vec<Finding>,
}

/// Longest checkpoint line read, in bytes. A full checkpoint lists every tenant's head (about
/// 150 bytes each with the server's tenant IDs), so it grows with the number of tenants: this
/// allows some 400 000. The server refuses to write a longer one.
pub const MAX_CHECKPOINT_LINE_LEN: usize = 64 * 1024 * 1024;

/// Reads a file of records. Only I/O fails; bad lines become findings.
pub fn read_records(reader: impl BufRead) -> Result<Parsed<AuditRecord>, Error> {
    read_lines(reader, true, MAX_LINE_LEN)
}

/// Reads a file of checkpoints. Only I/O fails; bad lines become findings.
pub fn read_checkpoints(reader: impl BufRead) -> Result<Parsed<Checkpoint>, Error> {
    read_lines(reader, false, MAX_CHECKPOINT_LINE_LEN)
}

fn read_lines<T: DeserializeOwned + Serialize>(
    mut reader: impl BufRead,
    canonical: bool,
    max: usize,
) -> Result<Parsed<T>, Error> {
    let mut parsed = Parsed {
        items: Vec::new(),
        findings: Vec::new(),
    };
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        let limit = (max + 1) as u64;
        let n = reader.by_ref().take(limit).read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        line += 1;
        let Some(body) = buf.strip_suffix(b"\n") else {
            if buf.len() > max {
                parsed.findings.push(Finding::LineTooLong { line });
                skip_line(&mut reader)?;
                continue;
            }
            parsed.findings.push(Finding::TornTail {
                line,
                bytes: buf.len() as u64,
            });
            break;
        };
        match serde_json::from_slice::<T>(body) {
            Err(_) => parsed.findings.push(Finding::MalformedLine { line }),
            Ok(item) => {
                if canonical && serde_json::to_vec(&item).ok().as_deref() != Some(body) {
                    parsed.findings.push(Finding::NonCanonicalLine { line });
                }
                parsed.items.push(item);
            }
        }
    }
    Ok(parsed)
}

/// Discards input up to and including the next newline, without buffering it.
fn skip_line(reader: &mut impl BufRead) -> Result<(), Error> {
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        if let Some(i) = chunk.iter().position(|&b| b == b'\n') {
            reader.consume(i + 1);
            return Ok(());
        }
        let len = chunk.len();
        reader.consume(len);
    }
}
