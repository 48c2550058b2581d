//! Activate (KMIP 1.4 section 4.19), Revoke (4.20), Destroy (4.21): the state machine's
//! client-driven transitions.

use kmip_codec::enums::{Operation, RevocationReasonCode, State};
use kmip_codec::model::{
    ActivateRequest, ActivateResponse, DestroyRequest, DestroyResponse, RevokeRequest,
    RevokeResponse,
};

use super::{Ctx, OpError, state};
use crate::store::Command;
use crate::store::pending::PendingDestroy;

pub(super) async fn activate(
    ctx: &mut Ctx<'_>,
    r: &ActivateRequest,
) -> Result<ActivateResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let now = ctx.now;
    ctx.update(&uid, Operation::ACTIVATE, |o| {
        state::settle(o, now);
        if State(o.state) != State::PRE_ACTIVE {
            return Err(OpError::WrongKeyLifecycleState);
        }
        o.state = State::ACTIVE.0;
        o.attributes.activation_date = Some(now);
        o.attributes.last_change_date = now;
        Ok(())
    })
    .await?;
    Ok(ActivateResponse {
        unique_identifier: uid,
    })
}

pub(super) async fn revoke(
    ctx: &mut Ctx<'_>,
    r: &RevokeRequest,
) -> Result<RevokeResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let now = ctx.now;
    let code = r.revocation_reason.code;
    let compromise =
        code == RevocationReasonCode::KEY_COMPROMISE || code == RevocationReasonCode::CA_COMPROMISE;
    ctx.update(&uid, Operation::REVOKE, |o| {
        state::settle(o, now);
        let current = State(o.state);
        let a = &mut o.attributes;
        if compromise {
            o.state = if state::is_destroyed(current) {
                State::DESTROYED_COMPROMISED.0
            } else {
                State::COMPROMISED.0
            };
            a.compromise_date = Some(now);
            a.compromise_occurrence_date = Some(r.compromise_occurrence_date.unwrap_or(now));
        } else {
            if current != State::ACTIVE && current != State::PRE_ACTIVE {
                return Err(OpError::WrongKeyLifecycleState);
            }
            o.state = State::DEACTIVATED.0;
            a.deactivation_date = Some(now);
        }
        a.revocation_reason = Some((code.0, r.revocation_reason.message.clone()));
        a.last_change_date = now;
        Ok(())
    })
    .await?;
    Ok(RevokeResponse {
        unique_identifier: uid,
    })
}

pub(super) async fn destroy(
    ctx: &mut Ctx<'_>,
    r: &DestroyRequest,
) -> Result<DestroyResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let now = ctx.now;
    // With a destroy grace, the key is Destroyed for KMIP at once but its material is kept
    // until the grace ends (two-stage destroy, `docs/PLATFORM.md`).
    let grace = ctx.kms.store.destroy_grace(ctx.tenant_id()?)?;
    ctx.update_then(&uid, Operation::DESTROY, |o| {
        state::settle(o, now);
        let current = State(o.state);
        o.state = if current == State::PRE_ACTIVE || current == State::DEACTIVATED {
            State::DESTROYED.0
        } else if current == State::COMPROMISED {
            State::DESTROYED_COMPROMISED.0
        } else {
            // Active keys must be revoked first; destroyed ones are gone.
            return Err(OpError::WrongKeyLifecycleState);
        };
        o.attributes.destroy_date = Some(now);
        o.attributes.last_change_date = now;
        if grace == 0 || o.material.is_none() {
            o.material = None;
            return Ok(((), None));
        }
        let pending = PendingDestroy {
            tenant: o.tenant.clone(),
            uid: o.uid.clone(),
            previous_state: current.0,
            requested_at: now,
            erase_at: now.saturating_add(i64::from(grace)),
        };
        Ok(((), Some(Command::MarkPendingDestroy(Box::new(pending)))))
    })
    .await?;
    Ok(DestroyResponse {
        unique_identifier: uid,
    })
}
