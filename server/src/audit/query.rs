//! Reading a node's own audit files back for the admin API (`GET /v1/audit/records`): the
//! records after a sequence number that pass a filter, a page at a time. Segments are named by
//! their first sequence number, so a page starts in the right file without reading the older
//! ones; a scan stops after a bounded number of lines so a narrow filter cannot make one call
//! read the whole log.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use audit_log::{AuditRecord, Filter};

use super::AuditError;
use super::segment::list_segments;

/// Most lines read by one page, matching or not.
const MAX_SCANNED: usize = 200_000;

/// One page of records.
#[derive(Debug)]
pub struct Page {
    /// Matching records, in log order.
    pub records: Vec<AuditRecord>,
    /// The sequence number to continue after.
    pub next: u64,
    /// Whether the log may hold more matching records after `next`.
    pub more: bool,
}

/// Up to `limit` records with a sequence number above `after` that pass `filter`. A line that
/// is not a complete record (a group being written right now) ends the page.
pub fn read_page(
    dir: &Path,
    after: u64,
    limit: usize,
    filter: &Filter,
) -> Result<Page, AuditError> {
    let segments = list_segments(dir)?;
    // The last segment starting at or before `after + 1` holds it; older ones are skipped.
    let start = segments
        .iter()
        .rposition(|(first, _)| *first <= after.saturating_add(1))
        .unwrap_or(0);
    let mut page = Page {
        records: Vec::new(),
        next: after,
        more: false,
    };
    let mut scanned = 0usize;
    for (_, path) in segments.iter().skip(start) {
        let file = File::open(path).map_err(AuditError::io("opening", path))?;
        let mut reader = BufReader::new(file);
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(AuditError::io("reading", path))?;
            if n == 0 {
                break;
            }
            if !line.ends_with('\n') {
                return Ok(page);
            }
            let Ok(record) = serde_json::from_str::<AuditRecord>(line.trim_end()) else {
                continue;
            };
            if record.seq <= after {
                continue;
            }
            scanned += 1;
            if page.records.len() == limit || scanned > MAX_SCANNED {
                page.more = true;
                return Ok(page);
            }
            page.next = record.seq;
            if filter.matches(&record) {
                page.records.push(record);
            }
        }
    }
    Ok(page)
}
