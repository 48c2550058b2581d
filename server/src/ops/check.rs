//! Check (KMIP 1.4 section 4.10, KMIP 2.1 section 6.1.6), read from its payload as TTLV.

use kmip_codec::enums::Operation;
use kmip_codec::model::ResponsePayload;
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Ttlv, Value};

use super::{Ctx, OpError, attribute_model};

/// Check: may the client use the object for the given Cryptographic Usage Mask, Usage Limits
/// Count and Lease Time? On success the object's Unique Identifier; on refusal the ID
/// Placeholder is emptied and the reason names what the object does not allow.
pub(super) fn check(ctx: &mut Ctx<'_>, payload: &Ttlv) -> Result<ResponsePayload, OpError> {
    let given = match payload.child(Tag::UNIQUE_IDENTIFIER).map(|c| &c.value) {
        Some(Value::TextString(s)) => Some(s.clone()),
        Some(_) => return Err(OpError::InvalidField("unique identifier")),
        None => None,
    };
    let uid = ctx.uid(given.as_ref())?;
    let verdict = verdict(ctx, &uid, payload);
    if verdict.is_err() {
        ctx.placeholder = None;
    }
    verdict?;
    Ok(ResponsePayload::Raw(Ttlv::structure(
        Tag::RESPONSE_PAYLOAD,
        vec![Ttlv::new(Tag::UNIQUE_IDENTIFIER, Value::TextString(uid))],
    )))
}

fn verdict(ctx: &Ctx<'_>, uid: &str, payload: &Ttlv) -> Result<(), OpError> {
    let record = ctx.object(uid, Operation::CHECK)?;
    if let Some(item) = payload.child(Tag::CRYPTOGRAPHIC_USAGE_MASK) {
        let Value::Integer(want) = item.value else {
            return Err(OpError::InvalidField("cryptographic usage mask"));
        };
        let have = record.attributes.cryptographic_usage_mask.unwrap_or(0);
        if have & want != want {
            return Err(OpError::IncompatibleUsageMask);
        }
    }
    if let Some(item) = payload.child(Tag::USAGE_LIMITS_COUNT) {
        let Value::LongInteger(want) = item.value else {
            return Err(OpError::InvalidField("usage limits count"));
        };
        if let Some(limits) = attribute_model::usage_limits(&record)
            && limits.count.unwrap_or(limits.total) < want
        {
            return Err(OpError::PermissionDenied);
        }
    }
    if let Some(item) = payload.child(Tag::LEASE_TIME) {
        let Value::Interval(want) = item.value else {
            return Err(OpError::InvalidField("lease time"));
        };
        if want > attribute_model::LEASE_TIME_SECS {
            return Err(OpError::PermissionDenied);
        }
    }
    Ok(())
}
