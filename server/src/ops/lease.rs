//! Obtain Lease (KMIP 1.4 section 4.17), Get Usage Allocation (4.18), Archive (4.22) and
//! Recover (4.23): what a client asks before using an object for a while, and the storage
//! tiers.
//!
//! - Obtain Lease: the object's Lease Time (the server's, reported as an attribute too) and its
//!   Last Change Date, for an object of the tenant that is not destroyed.
//! - Get Usage Allocation: takes Usage Limits Count units from an Active object's Usage Limits
//!   (the count is in the replicated record, so every node hands out from the same remainder);
//!   more than remain: Permission Denied; an object without Usage Limits: Invalid Field.
//! - Archive and Recover: every object stays online in this server's store (KMIP leaves when and
//!   where to archive to the server's policy: "MAY be archived"), so Archive of an object of the
//!   tenant is acknowledged and changes nothing, and Recover of one is a success at once.
//!   Neither applies to another tenant's object (answered as missing) or a destroyed one.

use kmip_codec::enums::{Operation, State};
use kmip_codec::model::{
    ArchiveRequest, ArchiveResponse, GetUsageAllocationRequest, GetUsageAllocationResponse,
    ObtainLeaseRequest, ObtainLeaseResponse, RecoverRequest, RecoverResponse,
};

use super::{Ctx, OpError, attribute_model, state};
use crate::store::records::ObjectRecord;

/// The object `uid` names, which must not be destroyed.
fn live(ctx: &Ctx<'_>, uid: &str, op: Operation) -> Result<std::sync::Arc<ObjectRecord>, OpError> {
    let record = ctx.object(uid, op)?;
    if state::is_destroyed(state::effective(&record, ctx.now)) {
        return Err(OpError::ObjectDestroyed);
    }
    Ok(record)
}

pub(super) fn obtain_lease(
    ctx: &mut Ctx<'_>,
    r: &ObtainLeaseRequest,
) -> Result<ObtainLeaseResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let record = live(ctx, &uid, Operation::OBTAIN_LEASE)?;
    Ok(ObtainLeaseResponse {
        unique_identifier: uid,
        lease_time: attribute_model::LEASE_TIME_SECS,
        last_change_date: record.attributes.last_change_date,
    })
}

pub(super) async fn get_usage_allocation(
    ctx: &mut Ctx<'_>,
    r: &GetUsageAllocationRequest,
) -> Result<GetUsageAllocationResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let wanted = r.usage_limits_count;
    if wanted <= 0 {
        return Err(OpError::InvalidField("usage limits count"));
    }
    let now = ctx.now;
    ctx.update(&uid, Operation::GET_USAGE_ALLOCATION, |o| {
        if state::effective(o, now) != State::ACTIVE {
            return Err(OpError::WrongKeyLifecycleState);
        }
        let mut limits = attribute_model::usage_limits(o)
            .ok_or(OpError::InvalidField("the object has no usage limits"))?;
        let left = limits.count.unwrap_or(limits.total);
        if left < wanted {
            return Err(OpError::PermissionDenied);
        }
        limits.count = Some(left - wanted);
        attribute_model::set_usage_limits(o, limits)
    })
    .await?;
    Ok(GetUsageAllocationResponse {
        unique_identifier: uid,
    })
}

pub(super) fn archive(ctx: &mut Ctx<'_>, r: &ArchiveRequest) -> Result<ArchiveResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    live(ctx, &uid, Operation::ARCHIVE)?;
    Ok(ArchiveResponse {
        unique_identifier: uid,
    })
}

pub(super) fn recover(ctx: &mut Ctx<'_>, r: &RecoverRequest) -> Result<RecoverResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    live(ctx, &uid, Operation::RECOVER)?;
    Ok(RecoverResponse {
        unique_identifier: uid,
    })
}
