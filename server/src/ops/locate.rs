//! Locate (KMIP 1.4 section 4.9): the tenant's objects matching every given attribute, most
//! recent first, with Offset Items / Maximum Items. Objects of other tenants are never seen:
//! every walk runs over the tenant's own entries of the store's Locate index.
//!
//! Plan: the filters the index keeps (Name, Object Type, Object Group, Cryptographic Algorithm,
//! Cryptographic Length, Link, custom attributes other than dates; `store::locate_index`) give
//! the candidates: the objects carrying all of them, walked in answer order along the filter
//! with the fewest entries. Every filter (State, dates, Usage Mask and the indexed ones alike)
//! is then checked on each candidate record. Without an indexed filter the candidates are
//! all the tenant's objects, newest first. So an indexed Locate costs its candidates, not the
//! tenant.
//!
//! What one Locate may cost is bounded: it returns at most `limits.max_locate_items`
//! identifiers whatever Maximum Items asks (or when it asks none: KMIP lets the server
//! impose an internal maximum), keeps only the identifiers it may return while it walks
//! (never every match), and answers Response Too Large, before building its answer, when
//! those would not fit the room left in the message's byte budget. It reads at most
//! `limits.max_locate_scan` candidate records: a Locate without Offset Items or Maximum Items
//! stops as soon as its answer is full; a paged one walks on to count Located Items, and
//! when the budget runs out first it answers the matches found so far (the walk is in answer
//! order, so those are the right ones) without Located Items, which KMIP lets a server omit
//! when it cannot determine the count. The walk runs on the blocking pool.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use kmip_codec::model::{Attribute, Attributes, LocateRequest, LocateResponse};
use kmip_codec::tags::Tag;
use kmip_codec::version::ProtocolVersion;

use super::{Ctx, OpError, attribute_model, state};
use crate::store::records::ObjectRecord;
use crate::store::{Store, StoreError, locate_index};

/// The fewest bytes one identifier adds to an answer: a Text String header and 8 bytes.
const MIN_UID_BYTES: usize = 16;

/// A Locate payload's own fields: its Structure header and Located Items.
const PAYLOAD_BYTES: usize = 24;

pub(super) async fn locate(
    ctx: &mut Ctx<'_>,
    r: &LocateRequest,
) -> Result<LocateResponse, OpError> {
    let tenant = ctx.tenant_id()?.to_owned();
    let offset = usize::try_from(r.offset_items.unwrap_or(0))
        .map_err(|_| OpError::InvalidField("offset items"))?;
    let cap = ctx.kms.quotas.limits().max_locate_items;
    let max = match r.maximum_items {
        Some(m) => usize::try_from(m)
            .map_err(|_| OpError::InvalidField("maximum items"))?
            .min(cap),
        None => cap,
    };
    // Identifiers past what the room could hold are not kept: one more than fits is enough
    // to know the answer is too large.
    let fit = ctx.response_room.saturating_sub(PAYLOAD_BYTES) / MIN_UID_BYTES;
    // Located Items is optional (KMIP 1.4 section 4.9): it is sent when the client pages with
    // Offset Items or Maximum Items, where the total is what it needs; a plain search answers
    // with the identifiers alone, as the OASIS vectors show.
    let paged = r.offset_items.is_some() || r.maximum_items.is_some();
    let search = Search {
        tenant,
        filters: r.attributes.clone(),
        now: ctx.now,
        version: ctx.version,
        keep: offset.saturating_add(max.min(fit.saturating_add(1))),
        paged,
        budget: ctx.kms.quotas.limits().max_locate_scan,
    };
    // The walk reads records: it runs on the blocking pool, so the async workers keep
    // answering other clients meanwhile.
    let store = ctx.kms.store.clone();
    let found = tokio::task::spawn_blocking(move || search.run(&store))
        .await
        .map_err(|_| OpError::Store(StoreError::ShutDown))??;
    let uids: Vec<String> = found.newest.into_sorted().skip(offset).take(max).collect();
    let bytes = uids
        .iter()
        .map(|u| 8 + u.len().div_ceil(8) * 8)
        .fold(PAYLOAD_BYTES, usize::saturating_add);
    if bytes > ctx.response_room {
        return Err(OpError::ResponseTooLarge);
    }
    // ID Placeholder (KMIP 1.4 section 4.9): set when exactly one identifier is returned,
    // emptied when several are, so that batched operations proceed only on a single match.
    match uids.as_slice() {
        [only] => ctx.placeholder = Some(only.clone()),
        [] => {}
        _ => ctx.placeholder = None,
    }
    Ok(LocateResponse {
        located_items: found
            .total
            .filter(|_| paged)
            .map(|total| i32::try_from(total).unwrap_or(i32::MAX)),
        unique_identifiers: uids,
    })
}

/// One Locate's search, owning what it needs to run off the async workers.
struct Search {
    tenant: String,
    filters: Attributes,
    now: i64,
    version: ProtocolVersion,
    /// Matches kept in answer order (the rest are only counted).
    keep: usize,
    /// Whether the client pages (Located Items is then answered: every match is counted).
    paged: bool,
    /// Most candidate records read.
    budget: u64,
}

/// What a search found.
struct Found {
    /// The first `keep` matches.
    newest: Newest,
    /// How many matches there are; `None` when the budget ran out before every candidate was
    /// read.
    total: Option<usize>,
}

impl Search {
    /// The first `keep` matches, and how many there are.
    fn run(self, store: &Store) -> Result<Found, StoreError> {
        let Self {
            tenant,
            filters,
            now,
            version,
            keep,
            paged,
            budget,
        } = self;
        let mut newest = Newest::new(keep);
        let mut total = 0usize;
        let mut read = 0u64;
        let mut spent = false;
        // A destroyed object keeps its metadata (for Get Attributes) but is not "located"
        // unless the client asks for destroyed objects by State (the OASIS SKFF vectors:
        // Locate after Destroy finds nothing).
        let wants_state = filters.iter().any(|a| a.tag() == Some(Tag::STATE));
        let mut terms: Vec<Vec<u8>> = filters.iter().filter_map(locate_index::term).collect();
        terms.sort_unstable();
        terms.dedup();
        store.locate(&tenant, &terms, |o| {
            if read == budget {
                spent = true;
                return false;
            }
            read += 1;
            let gone = state::is_destroyed(state::effective(&o, now));
            if (!gone || wants_state) && matches(&o, &filters, now, version) {
                total += 1;
                newest.offer(o.attributes.initial_date, o.uid);
            }
            // Candidates come in answer order: an unpaged answer is complete once full.
            paged || total < keep
        })?;
        if spent {
            tracing::info!(
                tenant = %tenant,
                read,
                "locate read its budget of candidate records (limits.max_locate_scan)"
            );
        }
        Ok(Found {
            newest,
            total: (!spent).then_some(total),
        })
    }
}

/// The first `keep` matches in answer order (newest Initial Date first, then by UID), kept
/// in a heap whose top is the one to drop next, so a scan holds at most `keep` of them.
struct Newest {
    keep: usize,
    heap: BinaryHeap<(Reverse<i64>, String)>,
}

impl Newest {
    fn new(keep: usize) -> Self {
        Self {
            keep,
            heap: BinaryHeap::new(),
        }
    }

    fn offer(&mut self, initial_date: i64, uid: String) {
        if self.keep == 0 {
            return;
        }
        self.heap.push((Reverse(initial_date), uid));
        if self.heap.len() > self.keep {
            self.heap.pop();
        }
    }

    /// The kept identifiers in answer order.
    fn into_sorted(self) -> impl Iterator<Item = String> {
        self.heap.into_sorted_vec().into_iter().map(|(_, uid)| uid)
    }
}

/// True when the object has, for every filter attribute, an instance with an equal value;
/// Cryptographic Usage Mask matches when the object's mask holds every requested bit, and two
/// instances of a date attribute give an inclusive range (KMIP 1.4 section 4.9).
fn matches(o: &ObjectRecord, filters: &Attributes, now: i64, version: ProtocolVersion) -> bool {
    if filters.is_empty() {
        return true;
    }
    let all = attribute_model::all(o, now, version);
    let mut checked: Vec<&kmip_codec::model::AttributeName> = Vec::new();
    for f in filters.iter() {
        if checked.contains(&&f.name) {
            continue;
        }
        let same: Vec<&Attribute> = filters.iter().filter(|g| g.name == f.name).collect();
        checked.push(&f.name);
        let ok = match (same.as_slice(), f.tag()) {
            ([a, b], _) if a.value.as_datetime().is_some() && b.value.as_datetime().is_some() => {
                let (x, y) = (
                    a.value.as_datetime().unwrap_or(0),
                    b.value.as_datetime().unwrap_or(0),
                );
                let (lo, hi) = (x.min(y), x.max(y));
                all.iter().any(|v| {
                    v.name == f.name && v.value.as_datetime().is_some_and(|d| lo <= d && d <= hi)
                })
            }
            (_, Some(Tag::CRYPTOGRAPHIC_USAGE_MASK)) => {
                let want = f.value.as_integer().unwrap_or(0);
                all.iter().any(|v| {
                    v.name == f.name && v.value.as_integer().is_some_and(|m| m & want == want)
                })
            }
            _ => same
                .iter()
                .all(|g| all.iter().any(|v| v.name == g.name && v.value == g.value)),
        };
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
#[path = "locate_tests.rs"]
mod tests;
