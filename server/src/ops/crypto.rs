//! Encrypt / Decrypt (KMIP 1.4 sections 4.29, 4.30) with AES in GCM, CBC and ECB modes (PKCS#5
//! padding or none), and RNG Retrieve (4.35). The cipher work is done in software by RustCrypto
//! crates on the key from the unsealed-key cache; the key must be Active and its usage mask
//! must allow the operation.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyInit, KeyIvInit, block_padding};
use aes_gcm::aead::AeadMutInPlace;
use aes_gcm::aead::consts::{U12, U13, U14, U15, U16};
use aes_gcm::{AesGcm, Nonce, Tag as GcmTag};
use hsm::KeyBytes;
use kmip_codec::enums::{
    BlockCipherMode, CryptographicAlgorithm, CryptographicUsageMask, Operation, PaddingMethod,
    State,
};
use kmip_codec::model::{
    CryptographicParameters, DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse,
    RngRetrieveRequest, RngRetrieveResponse,
};
use kmip_codec::ttlv::Bytes;

use super::{Ctx, OpError, attrs, state};
use crate::store::records::ObjectRecord;

/// Largest RNG Retrieve answer, in bytes.
const MAX_RNG_RETRIEVE: i32 = 4096;
/// GCM IV length the server generates and accepts (the recommended 96 bits).
const GCM_IV_LEN: usize = 12;
/// AES block size: the IV length of CBC.
const BLOCK: usize = 16;

/// Checks that `record` is an Active AES key whose usage mask allows `usage`.
pub(super) fn require_usable(
    ctx: &Ctx<'_>,
    record: &ObjectRecord,
    usage: CryptographicUsageMask,
) -> Result<(), OpError> {
    if state::effective(record, ctx.now) != State::ACTIVE {
        return Err(OpError::WrongKeyLifecycleState);
    }
    let mask = record.attributes.cryptographic_usage_mask.unwrap_or(0);
    if u32::try_from(mask).unwrap_or(0) & usage.0 == 0 {
        return Err(OpError::IncompatibleUsageMask);
    }
    if record.attributes.cryptographic_algorithm != Some(CryptographicAlgorithm::AES.0) {
        return Err(OpError::InvalidField("key is not an AES key"));
    }
    Ok(())
}

/// The parameters to use: the request's, else the key's Cryptographic Parameters attribute.
fn parameters(
    given: Option<&CryptographicParameters>,
    record: &ObjectRecord,
) -> Result<CryptographicParameters, OpError> {
    if let Some(p) = given {
        return Ok(p.clone());
    }
    attrs::others(record)
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
) -> Result<(ObjectRecord, std::sync::Arc<KeyBytes>), OpError> {
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
    if r.correlation_value.is_some() || r.init_indicator.is_some() || r.final_indicator.is_some() {
        return Err(OpError::FeatureNotSupported("streaming encryption"));
    }
    let (record, key) = key_for(
        ctx,
        &uid,
        Operation::ENCRYPT,
        CryptographicUsageMask::ENCRYPT,
    )
    .await?;
    let p = parameters(r.cryptographic_parameters.as_ref(), &record)?;
    let data = r.data.as_ref().ok_or(OpError::MissingData("data"))?;
    let mode = p
        .block_cipher_mode
        .ok_or(OpError::InvalidMessage("block cipher mode missing"))?;
    let random_iv = p.random_iv.unwrap_or(false);
    let (iv, generated) = match (&r.iv_counter_nonce, random_iv) {
        (Some(_), true) => return Err(OpError::InvalidField("IV given with Random IV")),
        (Some(iv), false) => (iv.clone(), false),
        (None, _) if mode == BlockCipherMode::GCM => {
            (random_iv_bytes(ctx, GCM_IV_LEN).await?, true)
        }
        (None, _) if mode == BlockCipherMode::CBC => (random_iv_bytes(ctx, BLOCK).await?, true),
        (None, _) => (Vec::new(), false),
    };
    let (out, tag) = if mode == BlockCipherMode::GCM {
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
    Ok(EncryptResponse {
        unique_identifier: uid,
        data: Some(Bytes::new(out)),
        iv_counter_nonce: generated.then_some(iv),
        correlation_value: None,
        authenticated_encryption_tag: tag,
    })
}

pub(super) async fn decrypt(
    ctx: &mut Ctx<'_>,
    r: &DecryptRequest,
) -> Result<DecryptResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
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
    crate::policy::authorize(ctx.principal, Operation::RNG_RETRIEVE, None)?;
    if !(1..=MAX_RNG_RETRIEVE).contains(&r.data_length) {
        return Err(OpError::InvalidField("data length"));
    }
    let n = usize::try_from(r.data_length).map_err(|_| OpError::InvalidField("data length"))?;
    let bytes = ctx.kms.keys.random(n).await?;
    Ok(RngRetrieveResponse {
        data: Bytes::from(bytes.expose()),
    })
}

async fn random_iv_bytes(ctx: &Ctx<'_>, n: usize) -> Result<Vec<u8>, OpError> {
    Ok(ctx.kms.keys.random(n).await?.expose().to_vec())
}

#[derive(Clone, Copy)]
enum Padding {
    None,
    Pkcs5,
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

/// Dispatches on the AES key size and the GCM tag size (both type parameters).
macro_rules! with_gcm {
    ($key:expr, $tag_len:expr, |$cipher:ident| $body:expr) => {{
        macro_rules! go {
            ($aes:ty, $t:ty) => {{
                let mut $cipher = AesGcm::<$aes, U12, $t>::new_from_slice($key)
                    .map_err(|_| OpError::CryptographicFailure)?;
                $body
            }};
        }
        macro_rules! by_tag {
            ($aes:ty) => {
                match $tag_len {
                    12 => go!($aes, U12),
                    13 => go!($aes, U13),
                    14 => go!($aes, U14),
                    15 => go!($aes, U15),
                    16 => go!($aes, U16),
                    _ => Err(OpError::InvalidTagLength),
                }
            };
        }
        match $key.len() {
            16 => by_tag!(aes::Aes128),
            24 => by_tag!(aes::Aes192),
            32 => by_tag!(aes::Aes256),
            _ => Err(OpError::InvalidField("key length")),
        }
    }};
}

fn gcm_seal(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    data: &[u8],
    tag_len: usize,
) -> Result<(Vec<u8>, Vec<u8>), OpError> {
    if iv.len() != GCM_IV_LEN {
        return Err(OpError::InvalidField("GCM IV must be 12 bytes"));
    }
    let mut buf = data.to_vec();
    with_gcm!(key, tag_len, |cipher| {
        let tag = cipher
            .encrypt_in_place_detached(Nonce::from_slice(iv), aad, &mut buf)
            .map_err(|_| OpError::CryptographicFailure)?;
        Ok((std::mem::take(&mut buf), tag.to_vec()))
    })
}

fn gcm_open(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    data: &[u8],
    tag: &[u8],
) -> Result<Vec<u8>, OpError> {
    if iv.len() != GCM_IV_LEN {
        return Err(OpError::CryptographicFailure);
    }
    let mut buf = data.to_vec();
    with_gcm!(key, tag.len(), |cipher| {
        cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(iv),
                aad,
                &mut buf,
                GcmTag::from_slice(tag),
            )
            .map_err(|_| OpError::CryptographicFailure)?;
        Ok(std::mem::take(&mut buf))
    })
}

fn cbc(key: &[u8], iv: &[u8], data: &[u8], pad: Padding, enc: bool) -> Result<Vec<u8>, OpError> {
    if iv.len() != BLOCK {
        return Err(OpError::InvalidField("CBC IV must be 16 bytes"));
    }
    macro_rules! go {
        ($aes:ty) => {{
            if enc {
                let c = cbc::Encryptor::<$aes>::new_from_slices(key, iv)
                    .map_err(|_| OpError::CryptographicFailure)?;
                match pad {
                    Padding::Pkcs5 => Ok(c.encrypt_padded_vec_mut::<block_padding::Pkcs7>(data)),
                    Padding::None => whole_blocks(data)
                        .map(|_| c.encrypt_padded_vec_mut::<block_padding::NoPadding>(data)),
                }
            } else {
                let c = cbc::Decryptor::<$aes>::new_from_slices(key, iv)
                    .map_err(|_| OpError::CryptographicFailure)?;
                match pad {
                    Padding::Pkcs5 => c.decrypt_padded_vec_mut::<block_padding::Pkcs7>(data),
                    Padding::None => c.decrypt_padded_vec_mut::<block_padding::NoPadding>(data),
                }
                .map_err(|_| OpError::CryptographicFailure)
            }
        }};
    }
    match key.len() {
        16 => go!(aes::Aes128),
        24 => go!(aes::Aes192),
        32 => go!(aes::Aes256),
        _ => Err(OpError::InvalidField("key length")),
    }
}

fn ecb(key: &[u8], data: &[u8], pad: Padding, enc: bool) -> Result<Vec<u8>, OpError> {
    macro_rules! go {
        ($aes:ty) => {{
            if enc {
                let c = ecb::Encryptor::<$aes>::new_from_slice(key)
                    .map_err(|_| OpError::CryptographicFailure)?;
                match pad {
                    Padding::Pkcs5 => Ok(c.encrypt_padded_vec_mut::<block_padding::Pkcs7>(data)),
                    Padding::None => whole_blocks(data)
                        .map(|_| c.encrypt_padded_vec_mut::<block_padding::NoPadding>(data)),
                }
            } else {
                let c = ecb::Decryptor::<$aes>::new_from_slice(key)
                    .map_err(|_| OpError::CryptographicFailure)?;
                match pad {
                    Padding::Pkcs5 => c.decrypt_padded_vec_mut::<block_padding::Pkcs7>(data),
                    Padding::None => c.decrypt_padded_vec_mut::<block_padding::NoPadding>(data),
                }
                .map_err(|_| OpError::CryptographicFailure)
            }
        }};
    }
    match key.len() {
        16 => go!(aes::Aes128),
        24 => go!(aes::Aes192),
        32 => go!(aes::Aes256),
        _ => Err(OpError::InvalidField("key length")),
    }
}

fn whole_blocks(data: &[u8]) -> Result<(), OpError> {
    if data.len().is_multiple_of(BLOCK) {
        Ok(())
    } else {
        Err(OpError::InvalidField(
            "data is not a whole number of blocks",
        ))
    }
}
