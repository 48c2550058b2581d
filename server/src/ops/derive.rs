//! Derive Key (KMIP 1.4 section 4.6, 2.1 section 6.1.14): a Symmetric Key or Secret Data made
//! from a base object of the tenant with the Derive Key bit in its usage mask, with one of
//! `kms-crypto`'s KDFs:
//! - PBKDF2 (RFC 8018): the password is the Derivation Data, or the base Secret Data when no
//!   Derivation Data is given (both given: Invalid Field); Salt and Iteration Count required;
//!   the PRF is HMAC with the Hashing Algorithm asked (default SHA-1, as PKCS#5).
//! - HKDF (RFC 5869, KMIP 2.x): the base object is the input key material, the Salt its salt,
//!   the Derivation Data its info.
//! - NIST SP 800-108 counter mode: HMAC with the Hashing Algorithm (SHA-256 or SHA-512) keyed
//!   with the base object, the counter (Counter Length bits, default 32) before the Derivation
//!   Data (Label || 0x00 || Context).
//!
//! The Hashing Algorithm comes from the request's Cryptographic Parameters, else the base
//! object's Cryptographic Parameters attribute, else the default (SHA-256; SHA-1 for PBKDF2).
//! Other methods (HASH, HMAC, ENCRYPT, the feedback and double-pipeline modes) and derivation
//! from several objects: Feature Not Supported. The new object is sealed under the Domain Key
//! like any other; it and the base are linked both ways (Derivation Base Object / Derived
//! Key), in one write with the new object.

use hsm::KeyBytes;
use kmip_codec::enums::{
    CryptographicUsageMask, KeyFormatType, LinkType, ObjectType, Operation, SecretDataType,
};
use kmip_codec::model::{DeriveKeyRequest, DeriveKeyResponse};
use kms_crypto::SecretBytes;
use kms_crypto::hash::HashAlgorithm;
use kms_crypto::kdf::{self, CounterLength, FixedInput, KdfMethod};

use super::create::{Material, key_length, link, new_object, new_uid, settle_new};
use super::crypto::require_usage;
use super::{Ctx, OpError, attribute_model, protection, state};
use crate::command_log::retry_stale;
use crate::store::Command;
use crate::store::records::ObjectRecord;

pub(super) async fn derive_key(
    ctx: &mut Ctx<'_>,
    r: &DeriveKeyRequest,
) -> Result<DeriveKeyResponse, OpError> {
    if !r.template_names.is_empty() {
        return Err(OpError::FeatureNotSupported("templates"));
    }
    let [base_uid] = r.unique_identifiers.as_slice() else {
        return Err(OpError::FeatureNotSupported(
            "derivation from several objects",
        ));
    };
    let method = KdfMethod::from_kmip(r.derivation_method)
        .map_err(|_| OpError::FeatureNotSupported("derivation method"))?;
    let length = derived_length(r)?;
    let tenant = ctx.tenant()?;
    let new_uid = new_uid();
    let ctx_ref = &*ctx;
    let (base_uid, new_uid_ref, tenant) = (base_uid.as_str(), new_uid.as_str(), &tenant);
    ctx.note_object(base_uid);
    retry_stale(|| async move {
        let ctx = ctx_ref;
        let base = ctx.object(base_uid, Operation::DERIVE_KEY)?;
        if ![ObjectType::SYMMETRIC_KEY.0, ObjectType::SECRET_DATA.0].contains(&base.object_type) {
            return Err(OpError::InvalidField(
                "the base object must be a Symmetric Key or Secret Data",
            ));
        }
        require_usage(ctx, &base, CryptographicUsageMask::DERIVE_KEY)?;
        let bytes = ctx.kms.keys.material(tenant, &base).await?;
        let derived = derive(r, method, &base, bytes.expose(), length)?;
        let material = if r.object_type == ObjectType::SYMMETRIC_KEY {
            Material::new(
                KeyBytes::copy_from(derived.as_slice()),
                KeyFormatType::RAW.0,
                None,
            )
        } else {
            Material::new(
                KeyBytes::copy_from(derived.as_slice()),
                KeyFormatType::OPAQUE.0,
                Some(SecretDataType::SEED.0),
            )
        };
        let mut new = new_object(
            ctx,
            tenant,
            new_uid_ref,
            r.object_type,
            material,
            |new| {
                attribute_model::set_others(
                    new,
                    &[link(LinkType::DERIVATION_BASE_OBJECT_LINK, base_uid)],
                )
            },
            Some(&r.attributes),
        )
        .await?;
        settle_new(ctx, &mut new, false)?;

        let mut updated = ObjectRecord::clone(&base);
        state::settle(&mut updated, ctx.now);
        let mut others = attribute_model::others(&base);
        others.push(link(LinkType::DERIVED_KEY_LINK, new_uid_ref));
        attribute_model::set_others(&mut updated, &others)?;
        protection::check_change(&base, &mut updated)?;
        updated.attributes.last_change_date = ctx.now;
        updated.revision = base.revision + 1;
        let outcome = ctx
            .commit(Command::Batch(vec![
                Command::PutObject {
                    expected_revision: Some(base.revision),
                    record: Box::new(updated),
                },
                Command::PutObject {
                    expected_revision: None,
                    record: Box::new(new),
                },
            ]))
            .await?;
        if outcome.is_ok() {
            ctx.journal(base_uid, Some(&base));
            ctx.journal(new_uid_ref, None);
        }
        Ok(outcome)
    })
    .await??;
    ctx.placeholder = Some(new_uid.clone());
    Ok(DeriveKeyResponse {
        unique_identifier: new_uid,
        template_attribute: None,
    })
}

/// The length asked, in bytes: Cryptographic Length, whole bytes; for a Symmetric Key also a
/// Cryptographic Algorithm and length the server takes (AES 128/192/256, HMAC).
fn derived_length(r: &DeriveKeyRequest) -> Result<usize, OpError> {
    let bits = if r.object_type == ObjectType::SYMMETRIC_KEY {
        key_length(&r.attributes)?
    } else if r.object_type == ObjectType::SECRET_DATA {
        r.attributes
            .cryptographic_length()
            .ok_or(OpError::MissingData("cryptographic length"))?
    } else {
        return Err(OpError::InvalidField(
            "only a Symmetric Key or Secret Data is derived",
        ));
    };
    if bits <= 0 || bits % 8 != 0 {
        return Err(OpError::InvalidField("cryptographic length"));
    }
    usize::try_from(bits / 8).map_err(|_| OpError::InvalidField("cryptographic length"))
}

/// Runs the KDF of `method` over the base object's `bytes` and the request's parameters.
fn derive(
    r: &DeriveKeyRequest,
    method: KdfMethod,
    base: &ObjectRecord,
    bytes: &[u8],
    length: usize,
) -> Result<SecretBytes, OpError> {
    let p = &r.derivation_parameters;
    let given = p.cryptographic_parameters.clone().or_else(|| {
        attribute_model::first_of(base, kmip_codec::tags::Tag::CRYPTOGRAPHIC_PARAMETERS).and_then(
            |a| match a.value {
                kmip_codec::model::AttributeValue::CryptographicParameters(p) => Some(*p),
                _ => None,
            },
        )
    });
    let hash = match given.as_ref().and_then(|c| c.hashing_algorithm) {
        Some(h) => HashAlgorithm::from_kmip(h)?,
        None if method == KdfMethod::Pbkdf2 => HashAlgorithm::Sha1,
        None => HashAlgorithm::Sha256,
    };
    let data: Vec<u8> = p
        .derivation_data
        .iter()
        .flat_map(|d| d.as_slice().iter().copied())
        .collect();
    let salt = p.salt.as_deref().unwrap_or_default();
    Ok(match method {
        KdfMethod::Pbkdf2 => {
            let base_is_secret = base.object_type == ObjectType::SECRET_DATA.0;
            let password = match (p.derivation_data.is_empty(), base_is_secret) {
                (false, true) => {
                    return Err(OpError::InvalidField(
                        "derivation data given with a Secret Data object",
                    ));
                }
                (false, false) => data.as_slice(),
                (true, _) => bytes,
            };
            let salt = p.salt.as_deref().ok_or(OpError::MissingData("salt"))?;
            let iterations = p
                .iteration_count
                .ok_or(OpError::MissingData("iteration count"))?;
            let iterations =
                u32::try_from(iterations).map_err(|_| OpError::InvalidField("iteration count"))?;
            kdf::pbkdf2(hash, password, salt, iterations, length)?
        }
        KdfMethod::Hkdf => kdf::hkdf(hash, bytes, salt, &data, length)?,
        KdfMethod::CounterMode => {
            let counter = match given.as_ref().and_then(|c| c.counter_length) {
                Some(bits) => CounterLength::from_bits(bits)?,
                None => CounterLength::Bits32,
            };
            let fixed = FixedInput {
                before: &[],
                after: &data,
            };
            kdf::counter_mode(hash, bytes, fixed, counter, length)?
        }
    })
}
