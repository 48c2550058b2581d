//! Reading a node's own audit files back for the admin API (`GET /v1/audit/records`): the
//! records after a sequence number that pass a filter, a page at a time. Segments are named by
//! their first sequence number, so a page starts in the right file without reading the older
//! ones; a scan stops after a bounded number of lines so a narrow filter cannot make one call
//! read the whole log. A line is first read for its sequence number and tenant only; the
//! whole record is decoded only if the tenant matches.
//!
//! Queries are the one piece of admin work whose cost a reader chooses, so they take turns
//! ([`QueryGate`]): at most a configured number run at once, each on a blocking thread, and
//! at most one per tenant (the operators sharing one turn), so one tenant's auditor can
//! neither take the CPU from other tenants' KMIP clients nor every turn from other auditors.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit_log::{AuditRecord, Filter};
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::AuditError;
use super::segment::list_segments;

/// Most lines read by one page, matching or not.
pub const MAX_SCANNED: usize = 200_000;

/// What is read of every line before deciding whether to decode the whole record.
#[derive(Deserialize)]
struct Peek<'a> {
    seq: u64,
    #[serde(borrow)]
    event: PeekEvent<'a>,
}

#[derive(Deserialize)]
struct PeekEvent<'a> {
    #[serde(borrow, default)]
    tenant: Option<Cow<'a, str>>,
}

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
            let text = line.trim_end();
            let Ok(peek) = serde_json::from_str::<Peek<'_>>(text) else {
                continue;
            };
            if peek.seq <= after {
                continue;
            }
            scanned += 1;
            if page.records.len() == limit || scanned > MAX_SCANNED {
                page.more = true;
                return Ok(page);
            }
            page.next = peek.seq;
            let tenant = peek.event.tenant.as_deref();
            if filter
                .tenant
                .as_ref()
                .is_some_and(|t| t.as_deref() != tenant)
            {
                continue;
            }
            let Ok(record) = serde_json::from_str::<AuditRecord>(text) else {
                continue;
            };
            if filter.matches(&record) {
                page.records.push(record);
            }
        }
    }
    Ok(page)
}

/// No turn came up in time: too many audit queries are running or waiting.
#[derive(Debug, thiserror::Error)]
#[error("audit queries busy")]
pub struct QueriesBusy;

/// Whose audit query runs when: at most `max_running` at once on the node, at most one per
/// tenant (the operators share one turn). Waiting is in arrival order, for the tenant's own
/// turn first and then for a running slot, so each tenant waits behind at most one query of
/// every other tenant.
#[derive(Debug)]
pub struct QueryGate {
    running: Arc<Semaphore>,
    /// One turn per tenant that asked (`None`: the operators). Only admitted principals ask,
    /// so there is at most one entry per tenant that exists, plus one.
    lanes: Mutex<HashMap<Option<String>, Arc<Semaphore>>>,
}

/// A query's turn: its scan may run while this is held.
#[derive(Debug)]
pub struct QueryTurn {
    _lane: OwnedSemaphorePermit,
    _running: OwnedSemaphorePermit,
}

impl QueryGate {
    /// A gate letting `max_running` queries (at least one) run at once.
    pub fn new(max_running: usize) -> Self {
        Self {
            running: Arc::new(Semaphore::new(max_running.max(1))),
            lanes: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a turn of `tenant`'s (`None`: an operator's) for at most `wait`.
    pub async fn turn(
        &self,
        tenant: Option<&str>,
        wait: Duration,
    ) -> Result<QueryTurn, QueriesBusy> {
        let lane = {
            let mut lanes = self.lanes.lock().map_err(|_| QueriesBusy)?;
            lanes
                .entry(tenant.map(str::to_owned))
                .or_insert_with(|| Arc::new(Semaphore::new(1)))
                .clone()
        };
        let running = self.running.clone();
        let turn = async move {
            let lane = lane.acquire_owned().await.ok()?;
            let running = running.acquire_owned().await.ok()?;
            Some(QueryTurn {
                _lane: lane,
                _running: running,
            })
        };
        tokio::time::timeout(wait, turn)
            .await
            .ok()
            .flatten()
            .ok_or(QueriesBusy)
    }
}
