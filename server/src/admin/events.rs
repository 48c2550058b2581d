//! `GET /v1/tenants/{tenant}/events`: the platform event feed (`docs/PLATFORM.md`, Events).
//! Events are kept in the replicated state under their change number, the same on every node,
//! so a client resumes from its cursor on any node. With `wait`, the call waits (long poll)
//! until an event past the cursor exists or the wait is over.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::{AdminState, rfc3339};
use crate::store::events::EventRecord;

/// Page size when `limit` is absent.
const DEFAULT_LIMIT: usize = 100;
/// Largest page.
const MAX_LIMIT: usize = 1000;
/// Longest long poll, in seconds.
const MAX_WAIT_SECS: u64 = 30;
/// How often a long poll looks again.
const POLL: Duration = Duration::from_millis(200);

/// Query: `?after=<change>&limit=&wait=<seconds>`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedQuery {
    after: Option<u64>,
    limit: Option<usize>,
    wait: Option<u64>,
}

/// One event as the feed shows it.
#[derive(Debug, Serialize)]
struct EventView {
    change: u64,
    time: Option<String>,
    kind: &'static str,
    object: Option<String>,
    detail: Option<String>,
}

impl From<EventRecord> for EventView {
    fn from(e: EventRecord) -> Self {
        Self {
            change: e.change,
            time: rfc3339(e.time),
            kind: e.kind.as_str(),
            object: e.object,
            detail: e.detail,
        }
    }
}

/// `{"tenant":"acme","events":[...],"next":<cursor>}`: `next` is the cursor to pass as
/// `after` next time (the last event's change, or `after` when there is none).
pub(crate) async fn feed(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let Query(q) = query.map_err(|_| ApiError::BadRequest("invalid query"))?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest("limit must be 1 to 1000"));
    }
    let wait = q.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::BadRequest("wait must be 0 to 30 seconds"));
    }
    let after = q.after.unwrap_or(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    let events = loop {
        let events = state.kms.store().events_after(&tenant, after, limit)?;
        if !events.is_empty() || tokio::time::Instant::now() >= deadline {
            break events;
        }
        tokio::time::sleep(POLL).await;
    };
    let next = events.last().map_or(after, |e| e.change);
    let events: Vec<EventView> = events.into_iter().map(EventView::from).collect();
    Ok(Json(serde_json::json!({
        "tenant": tenant,
        "events": events,
        "next": next,
    })))
}
