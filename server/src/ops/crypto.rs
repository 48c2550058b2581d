//! Encrypt / Decrypt (KMIP 1.4 sections 4.29, 4.30) with AES in GCM, CBC and ECB modes (PKCS#5
//! padding or none), and RNG Retrieve (4.35). The cipher work is done in software ([`cipher`],
//! RustCrypto) on the key from the unsealed-key cache; the key must be Active and its usage mask
//! must allow the operation. Encrypt never acts as Decrypt: see [`refuse_decrypting_inputs`].
//! Encrypt / Decrypt with a Public / Private Key is RSA-OAEP (`oaep.rs`).

use hsm::KeyBytes;
use kmip_codec::enums::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, Operation, PaddingMethod,
    State, UsageLimitsUnit,
};
use kmip_codec::model::{
    CryptographicParameters, DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse,
    RngRetrieveRequest, RngRetrieveResponse,
};
use kmip_codec::ttlv::Bytes;

use super::cipher::{BLOCK, Padding, cbc, ecb, gcm_open, gcm_seal};
use super::stream::Stream;
use super::{Ctx, OpError, attribute_model, oaep, state};
use crate::store::records::ObjectRecord;

/// Largest RNG Retrieve answer, in bytes.
const MAX_RNG_RETRIEVE: i32 = 4096;
/// GCM IV length the server generates and accepts (the recommended 96 bits).
const GCM_IV_LEN: usize = 12;

/// Checks that `record` is an Active AES key whose usage mask allows `usage`, and that its dates
/// allow it now: no protection (encrypt, wrap) after the Protect Stop Date, no processing
/// (decrypt) before the Process Start Date (KMIP 1.4 sections 3.25, 3.26).
pub(super) fn require_usable(
    ctx: &Ctx<'_>,
    record: &ObjectRecord,
    usage: CryptographicUsageMask,
) -> Result<(), OpError> {
    require_usage(ctx, record, usage)?;
    if record.attributes.cryptographic_algorithm != Some(CryptographicAlgorithm::AES.0) {
        return Err(OpError::InvalidField("key is not an AES key"));
    }
    Ok(())
}

/// Checks that `record` is Active, that its usage mask allows `usage`, and that its dates allow
/// it now, whatever the key's algorithm: no protection (encrypt, wrap, sign, MAC) after the
/// Protect Stop Date, no processing (decrypt, unwrap, verify, MAC verify) before the Process
/// Start Date.
pub(super) fn require_usage(
    ctx: &Ctx<'_>,
    record: &ObjectRecord,
    usage: CryptographicUsageMask,
) -> Result<(), OpError> {
    if state::effective(record, ctx.now) != State::ACTIVE {
        return Err(OpError::WrongKeyLifecycleState);
    }
    let a = &record.attributes;
    let protects = usage == CryptographicUsageMask::ENCRYPT
        || usage == CryptographicUsageMask::WRAP_KEY
        || usage == CryptographicUsageMask::SIGN
        || usage == CryptographicUsageMask::MAC_GENERATE;
    if protects && a.protect_stop_date.is_some_and(|d| d <= ctx.now) {
        return Err(OpError::WrongKeyLifecycleState);
    }
    if !protects && a.process_start_date.is_some_and(|d| d > ctx.now) {
        return Err(OpError::WrongKeyLifecycleState);
    }
    let mask = record.attributes.cryptographic_usage_mask.unwrap_or(0);
    if u32::try_from(mask).unwrap_or(0) & usage.0 == 0 {
        return Err(OpError::IncompatibleUsageMask);
    }
    Ok(())
}

/// The parameters to use: the request's, else the key's Cryptographic Parameters attribute.
pub(super) fn parameters(
    given: Option<&CryptographicParameters>,
    record: &ObjectRecord,
) -> Result<CryptographicParameters, OpError> {
    if let Some(p) = given {
        return Ok(p.clone());
    }
    attribute_model::others(record)
        .into_iter()
        .find_map(|a| match a.value {
            kmip_codec::model::AttributeValue::CryptographicParameters(p) => Some(*p),
            _ => None,
        })
        .ok_or(OpError::InvalidMessage("cryptographic parameters missing"))
}

async fn key_for(
    ctx: &Ctx<'_>,
    uid: &str,
    op: Operation,
    usage: CryptographicUsageMask,
) -> Result<(std::sync::Arc<ObjectRecord>, std::sync::Arc<KeyBytes>), OpError> {
    let record = ctx.object(uid, op)?;
    require_usable(ctx, &record, usage)?;
    let tenant = ctx.tenant()?;
    let key = ctx.kms.keys.material(&tenant, &record).await?;
    Ok((record, key))
}

pub(super) async fn encrypt(
    ctx: &mut Ctx<'_>,
    r: &EncryptRequest,
) -> Result<EncryptResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let record = ctx.object(&uid, Operation::ENCRYPT)?;
    if oaep::applies(&record) {
        return oaep::encrypt(ctx, uid, &record, r).await;
    }
    let (record, key) = key_for(
        ctx,
        &uid,
        Operation::ENCRYPT,
        CryptographicUsageMask::ENCRYPT,
    )
    .await?;
    let continues = r.correlation_value.is_some();
    let starts = r.init_indicator == Some(true) && !continues;
    let p = parameters(r.cryptographic_parameters.as_ref(), &record)?;
    let data = r.data.as_ref().ok_or(OpError::MissingData("data"))?;
    let mode = p
        .block_cipher_mode
        .ok_or(OpError::InvalidMessage("block cipher mode missing"))?;
    if !may_decrypt(ctx, &record) {
        refuse_decrypting_inputs(mode, r.iv_counter_nonce.is_some(), continues || starts)?;
    }
    let random_iv = p.random_iv.unwrap_or(false);
    let (iv, generated) = match (&r.iv_counter_nonce, random_iv) {
        (Some(_), true) => return Err(OpError::InvalidField("IV given with Random IV")),
        (Some(iv), false) => (iv.clone(), false),
        // A later part uses the IV its stream started with.
        (None, _) if continues => (Vec::new(), false),
        (None, _) if mode == BlockCipherMode::GCM => {
            (random_iv_bytes(ctx, GCM_IV_LEN).await?, true)
        }
        (None, _) if mode == BlockCipherMode::CBC => (random_iv_bytes(ctx, BLOCK).await?, true),
        (None, _) => (Vec::new(), false),
    };
    if (continues || starts) && mode != BlockCipherMode::GCM {
        return Err(OpError::FeatureNotSupported(
            "multi-part encryption other than GCM",
        ));
    }
    let mut correlation_value = None;
    let (out, tag) = if continues || starts {
        let stream = match &r.correlation_value {
            Some(cv) => Stream::resume(cv)?,
            None => Stream::start(
                iv.clone(),
                r.authenticated_encryption_additional_data
                    .clone()
                    .unwrap_or_default(),
                gcm_tag_len(&p)?,
            ),
        };
        let part = stream.next(
            key.expose(),
            data.as_slice(),
            r.final_indicator == Some(true),
        )?;
        correlation_value = part.correlation_value;
        (part.data, part.tag)
    } else if mode == BlockCipherMode::GCM {
        let tag_len = gcm_tag_len(&p)?;
        let aad = r
            .authenticated_encryption_additional_data
            .as_deref()
            .unwrap_or(&[]);
        let (ct, tag) = gcm_seal(key.expose(), &iv, aad, data.as_slice(), tag_len)?;
        (ct, Some(tag))
    } else if mode == BlockCipherMode::CBC {
        (
            cbc(key.expose(), &iv, data.as_slice(), padding(&p)?, true)?,
            None,
        )
    } else if mode == BlockCipherMode::ECB {
        (
            ecb(key.expose(), data.as_slice(), padding(&p)?, true)?,
            None,
        )
    } else {
        return Err(OpError::FeatureNotSupported("block cipher mode"));
    };
    // Charged once the data is protected, before the answer leaves.
    if attribute_model::usage_limits(&record).is_some() {
        consume_usage(ctx, &uid, data.len()).await?;
    }
    Ok(EncryptResponse {
        unique_identifier: uid,
        data: Some(Bytes::new(out)),
        iv_counter_nonce: generated.then_some(iv),
        correlation_value,
        authenticated_encryption_tag: tag,
    })
}

/// May the caller Decrypt with `record` now: its role allows Decrypt, and the key is Active,
/// past its Process Start Date and has Decrypt in its usage mask.
fn may_decrypt(ctx: &Ctx<'_>, record: &ObjectRecord) -> bool {
    crate::policy::kmip::authorize_object(ctx.principal, Operation::DECRYPT, record).is_ok()
        && require_usable(ctx, record, CryptographicUsageMask::DECRYPT).is_ok()
}

/// Refuses, for a caller that may not Decrypt with the key, every Encrypt input that would let
/// Encrypt act as Decrypt. GCM decrypts with the forward cipher (its keystream is AES of counter
/// blocks made from the IV), so any way to have the server compute AES of a block the caller
/// picks decrypts the key's GCM ciphertexts:
/// - a client-chosen GCM IV: Encrypt of a ciphertext under its own IV returns the plaintext
///   (and a repeated IV is nonce reuse, which gives away GCM's authentication key);
/// - a client-chosen CBC IV: the first block is AES of IV xor data, any block the caller likes;
/// - ECB: AES of the data itself;
/// - a multi-part stream: its later parts take the IV and the ciphertext so far from the
///   client-held Correlation Value (`stream`), so a forged one is a client-chosen IV.
///
/// Such a caller gets an IV the server generates (HSM RNG) and returns. CTR, CFB and OFB invert
/// in the same way but are not offered at all (Feature Not Supported). CBC with a server IV is
/// safe: its input block is random to the caller, and CBC decryption (AES inverse) is never
/// computed by Encrypt.
fn refuse_decrypting_inputs(
    mode: BlockCipherMode,
    client_iv: bool,
    multi_part: bool,
) -> Result<(), OpError> {
    if client_iv {
        return Err(OpError::NeedsDecrypt(
            "a client-chosen IV needs a key the caller may also Decrypt with",
        ));
    }
    if multi_part {
        return Err(OpError::NeedsDecrypt(
            "multi-part Encrypt needs a key the caller may also Decrypt with",
        ));
    }
    if mode == BlockCipherMode::ECB {
        return Err(OpError::NeedsDecrypt(
            "ECB needs a key the caller may also Decrypt with",
        ));
    }
    Ok(())
}

pub(super) async fn decrypt(
    ctx: &mut Ctx<'_>,
    r: &DecryptRequest,
) -> Result<DecryptResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    let record = ctx.object(&uid, Operation::DECRYPT)?;
    if oaep::applies(&record) {
        return oaep::decrypt(ctx, uid, &record, r).await;
    }
    if r.correlation_value.is_some() || r.init_indicator.is_some() || r.final_indicator.is_some() {
        return Err(OpError::FeatureNotSupported("streaming decryption"));
    }
    let (record, key) = key_for(
        ctx,
        &uid,
        Operation::DECRYPT,
        CryptographicUsageMask::DECRYPT,
    )
    .await?;
    let p = parameters(r.cryptographic_parameters.as_ref(), &record)?;
    let data = r.data.as_ref().ok_or(OpError::MissingData("data"))?;
    let mode = p
        .block_cipher_mode
        .ok_or(OpError::InvalidMessage("block cipher mode missing"))?;
    let out = if mode == BlockCipherMode::GCM {
        let iv = r
            .iv_counter_nonce
            .as_deref()
            .ok_or(OpError::InvalidMessage("IV missing"))?;
        let tag = r
            .authenticated_encryption_tag
            .as_deref()
            .ok_or(OpError::InvalidMessage("authentication tag missing"))?;
        let aad = r
            .authenticated_encryption_additional_data
            .as_deref()
            .unwrap_or(&[]);
        gcm_open(key.expose(), iv, aad, data.as_slice(), tag)?
    } else if mode == BlockCipherMode::CBC {
        let iv = r
            .iv_counter_nonce
            .as_deref()
            .ok_or(OpError::InvalidMessage("IV missing"))?;
        cbc(key.expose(), iv, data.as_slice(), padding(&p)?, false)?
    } else if mode == BlockCipherMode::ECB {
        ecb(key.expose(), data.as_slice(), padding(&p)?, false)?
    } else {
        return Err(OpError::FeatureNotSupported("block cipher mode"));
    };
    Ok(DecryptResponse {
        unique_identifier: uid,
        data: Some(Bytes::new(out)),
        correlation_value: None,
    })
}

pub(super) async fn rng_retrieve(
    ctx: &mut Ctx<'_>,
    r: &RngRetrieveRequest,
) -> Result<RngRetrieveResponse, OpError> {
    if !(1..=MAX_RNG_RETRIEVE).contains(&r.data_length) {
        return Err(OpError::InvalidField("data length"));
    }
    let n = usize::try_from(r.data_length).map_err(|_| OpError::InvalidField("data length"))?;
    let bytes = ctx.kms.keys.random(n).await?;
    Ok(RngRetrieveResponse {
        data: Bytes::from(bytes.expose()),
    })
}

/// Takes `bytes` of protection from the key's Usage Limits (KMIP 1.4 section 3.21: Byte units,
/// or one Object per call), refusing once the count would go below zero. The count lives in the
/// replicated record, so every node sees the same remainder.
async fn consume_usage(ctx: &Ctx<'_>, uid: &str, bytes: usize) -> Result<(), OpError> {
    let bytes = i64::try_from(bytes).map_err(|_| OpError::PermissionDenied)?;
    ctx.update(uid, Operation::ENCRYPT, |o| {
        let Some(mut limits) = attribute_model::usage_limits(o) else {
            return Ok(());
        };
        let need = if limits.unit == UsageLimitsUnit::OBJECT {
            1
        } else {
            bytes
        };
        let left = limits.count.unwrap_or(limits.total);
        if left < need {
            return Err(OpError::PermissionDenied);
        }
        limits.count = Some(left - need);
        attribute_model::set_usage_limits(o, limits)
    })
    .await?;
    Ok(())
}

async fn random_iv_bytes(ctx: &Ctx<'_>, n: usize) -> Result<Vec<u8>, OpError> {
    Ok(ctx.kms.keys.random(n).await?.expose().to_vec())
}

fn padding(p: &CryptographicParameters) -> Result<Padding, OpError> {
    match p.padding_method {
        None => Ok(Padding::None),
        Some(m) if m == PaddingMethod::NONE => Ok(Padding::None),
        Some(m) if m == PaddingMethod::PKCS5 => Ok(Padding::Pkcs5),
        Some(_) => Err(OpError::FeatureNotSupported("padding method")),
    }
}

fn gcm_tag_len(p: &CryptographicParameters) -> Result<usize, OpError> {
    match p.tag_length {
        None => Ok(16),
        Some(n @ 12..=16) => usize::try_from(n).map_err(|_| OpError::InvalidTagLength),
        Some(_) => Err(OpError::InvalidTagLength),
    }
}
