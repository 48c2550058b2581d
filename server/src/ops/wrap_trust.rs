//! The "wrap with trusted" rule: a Sensitive key leaves only wrapped (KMIP 1.4 section 3.48),
//! and only under a wrapping key a tenant admin marked trusted for wrapping. Without it, a
//! client that registers its own wrapping key (an AES key it knows, or an RSA public key whose
//! private half it holds) reads any Sensitive key of its tenant in clear, and a key with both
//! Wrap Key and Unwrap Key turns a Sensitive key into a new, non-Sensitive one.
//!
//! The mark is a server-created custom attribute, [`TRUSTED`] (Boolean true), which a client can
//! neither set, change nor delete (names starting `y-` are the server's, 1.4 section 3.46);
//! Get Attributes reports it. A tenant admin sets or clears it through the admin API
//! (`POST /v1/tenants/{t}/keys/{uid}/trust-wrapping | distrust-wrapping`), on the one audited
//! write path. A key can be marked only when the mark cannot be turned against the rule:
//! - it has Wrap Key and not Unwrap Key in its usage mask (the mask cannot change later), so
//!   what leaves under it cannot come back as a new key through a wrapped Register with it;
//! - an AES Symmetric Key must be Sensitive or not Extractable: otherwise any client of the
//!   tenant could Get it and unwrap offline;
//! - an RSA Public Key must not be one this server generated (it has the server's Random
//!   Number Generator attribute, which no client can remove) nor carry a Private Key Link: the
//!   private half would be here, usable by the tenant's clients to unwrap;
//! - it is not Destroyed or Compromised.
//!
//! What remains the admin's judgement (documented in docs/SECURITY.md): marking a key vouches
//! that no client of the tenant holds its material (an AES key a client registered itself, an
//! RSA key whose private key a client has).
//!
//! A Re-key's new key does not inherit the mark (`create::rekey`): the mark is given to one
//! key's material by an admin.

use kmip_codec::enums::{CryptographicUsageMask, LinkType, ObjectType, Operation, State};
use kmip_codec::model::{Attribute, AttributeName, AttributeValue};
use kmip_codec::tags::Tag;

use super::protection::Protections;
use super::{Ctx, OpError, attribute_model, state};
use crate::store::records::ObjectRecord;

/// The 1.x name of the mark.
pub(crate) const TRUSTED: &str = "y-kms-trusted-for-wrapping";

fn is_mark(name: &AttributeName) -> bool {
    name.to_1x().as_deref() == Some(TRUSTED)
}

/// True if a tenant admin marked `record` trusted for wrapping.
pub(crate) fn is_trusted(record: &ObjectRecord) -> bool {
    attribute_model::others(record)
        .iter()
        .any(|a| is_mark(&a.name) && a.value.as_bool() == Some(true))
}

/// True if `a` is the mark (kept off the attributes a Re-key carries to the new key).
pub(crate) fn is_mark_attribute(a: &Attribute) -> bool {
    is_mark(&a.name)
}

/// Why `record` cannot be marked trusted, or `Ok` if it can.
fn check_markable(record: &ObjectRecord, now: i64) -> Result<(), OpError> {
    let st = state::effective(record, now);
    if st == State::DESTROYED || st == State::DESTROYED_COMPROMISED || st == State::COMPROMISED {
        return Err(OpError::WrongKeyLifecycleState);
    }
    let mask = u32::try_from(record.attributes.cryptographic_usage_mask.unwrap_or(0)).unwrap_or(0);
    if mask & CryptographicUsageMask::WRAP_KEY.0 == 0 {
        return Err(OpError::NotTrustable("the key has no Wrap Key usage"));
    }
    if mask & CryptographicUsageMask::UNWRAP_KEY.0 != 0 {
        return Err(OpError::NotTrustable(
            "a key with Unwrap Key usage could bring wrapped keys back unprotected",
        ));
    }
    match ObjectType(record.object_type) {
        ObjectType::SYMMETRIC_KEY => {
            let p = Protections::of(record);
            if !p.sensitive && p.extractable {
                return Err(OpError::NotTrustable(
                    "an AES wrapping key must be Sensitive or not Extractable",
                ));
            }
            Ok(())
        }
        ObjectType::PUBLIC_KEY => {
            let generated = attribute_model::first_of(record, Tag::RANDOM_NUMBER_GENERATOR);
            let paired = attribute_model::others(record).iter().any(|a| {
                matches!(&a.value, AttributeValue::Link(l)
                    if a.tag() == Some(Tag::LINK) && l.link_type == LinkType::PRIVATE_KEY_LINK)
            });
            if generated.is_some() || paired {
                return Err(OpError::NotTrustable(
                    "the private half of this public key is held by this server",
                ));
            }
            Ok(())
        }
        _ => Err(OpError::NotTrustable(
            "only AES keys and RSA public keys wrap",
        )),
    }
}

/// Sets (`on`) or clears the mark on object `uid` of the caller's tenant, through the audited
/// write path. Clearing always succeeds; setting checks [`check_markable`].
pub(crate) async fn set(ctx: &Ctx<'_>, uid: &str, on: bool) -> Result<(), OpError> {
    let now = ctx.now;
    ctx.update(uid, Operation::MODIFY_ATTRIBUTE, |o| {
        if on {
            check_markable(o, now)?;
        }
        let mut list: Vec<Attribute> = attribute_model::others(o)
            .into_iter()
            .filter(|a| !is_mark(&a.name))
            .collect();
        if on {
            list.push(Attribute::custom(TRUSTED, AttributeValue::Boolean(true)));
        }
        attribute_model::set_others(o, &list)?;
        o.attributes.last_change_date = now;
        Ok(())
    })
    .await?;
    Ok(())
}

/// Checks the wrapping key of a wrapped Get: a Sensitive object needs a trusted one.
pub(super) fn check_wrapping_key(
    wrapping: &ObjectRecord,
    wrapped_is_sensitive: bool,
) -> Result<(), OpError> {
    if wrapped_is_sensitive && !is_trusted(wrapping) {
        return Err(OpError::UntrustedWrappingKey);
    }
    Ok(())
}
