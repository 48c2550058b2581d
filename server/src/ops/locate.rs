//! Locate (KMIP 1.4 section 4.9): the tenant's objects matching every given attribute, most
//! recent first, with Offset Items / Maximum Items. Objects of other tenants are never seen: the
//! scan runs over the tenant's own index.

use kmip_codec::enums::Operation;
use kmip_codec::model::{Attribute, AttributeValue, Attributes, LocateRequest, LocateResponse};
use kmip_codec::tags::Tag;
use kmip_codec::version::ProtocolVersion;

use super::{Ctx, OpError, attrs, state};
use crate::policy;
use crate::store::records::ObjectRecord;

/// Most UIDs one Locate returns when the client sets no Maximum Items.
const DEFAULT_MAX_ITEMS: usize = 1000;

pub(super) fn locate(ctx: &mut Ctx<'_>, r: &LocateRequest) -> Result<LocateResponse, OpError> {
    policy::authorize(ctx.principal, Operation::LOCATE, None)?;
    let tenant = ctx.tenant_id()?;
    let filters = &r.attributes;
    let mut found: Vec<(i64, String)> = Vec::new();
    // A destroyed object keeps its metadata (for Get Attributes) but is not "located" unless
    // the client asks for destroyed objects by State (the OASIS SKFF vectors: Locate after
    // Destroy finds nothing).
    let wants_state = filters.iter().any(|a| a.tag() == Some(Tag::STATE));
    let mut consider = |o: ObjectRecord| {
        let gone = state::is_destroyed(state::effective(&o, ctx.now));
        if (!gone || wants_state) && matches(&o, filters, ctx.now, ctx.version) {
            found.push((o.attributes.initial_date, o.uid));
        }
    };
    // A Name is unique in a tenant: look it up instead of scanning.
    let by_name = filters.iter().find_map(|a| match &a.value {
        AttributeValue::Name(n) if a.tag() == Some(Tag::NAME) => Some(n.value.clone()),
        _ => None,
    });
    if let Some(name) = by_name {
        if let Some(uid) = ctx.kms.store.object_named(tenant, &name)?
            && let Some(o) = ctx.kms.store.object(&uid)?
            && o.tenant == tenant
        {
            consider(ObjectRecord::clone(&o));
        }
    } else {
        ctx.kms.store.for_each_object_of(tenant, |o| {
            consider(o);
            true
        })?;
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let total = found.len();
    let offset = usize::try_from(r.offset_items.unwrap_or(0))
        .map_err(|_| OpError::InvalidField("offset items"))?;
    let max = match r.maximum_items {
        Some(m) => usize::try_from(m).map_err(|_| OpError::InvalidField("maximum items"))?,
        None => DEFAULT_MAX_ITEMS,
    };
    let uids: Vec<String> = found
        .into_iter()
        .skip(offset)
        .take(max)
        .map(|(_, u)| u)
        .collect();
    // ID Placeholder (KMIP 1.4 section 4.9): set when exactly one identifier is returned,
    // emptied when several are, so that batched operations proceed only on a single match.
    match uids.as_slice() {
        [only] => ctx.placeholder = Some(only.clone()),
        [] => {}
        _ => ctx.placeholder = None,
    }
    // Located Items is optional (KMIP 1.4 section 4.9): it is sent when the client pages with
    // Offset Items or Maximum Items, where the total is what it needs; a plain search answers
    // with the identifiers alone, as the OASIS vectors show.
    let paged = r.offset_items.is_some() || r.maximum_items.is_some();
    Ok(LocateResponse {
        located_items: paged.then(|| i32::try_from(total).unwrap_or(i32::MAX)),
        unique_identifiers: uids,
    })
}

/// True when the object has, for every filter attribute, an instance with an equal value;
/// Cryptographic Usage Mask matches when the object's mask holds every requested bit, and two
/// instances of a date attribute give an inclusive range (KMIP 1.4 section 4.9).
fn matches(o: &ObjectRecord, filters: &Attributes, now: i64, version: ProtocolVersion) -> bool {
    if filters.is_empty() {
        return true;
    }
    let all = attrs::all(o, now, version);
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
