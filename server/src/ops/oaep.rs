//! Encrypt / Decrypt with RSA keys (KMIP 1.4 sections 4.29, 4.30): RSA-OAEP (`kms-crypto`'s
//! `rsa_oaep`, RustCrypto `rsa`) with the Hashing Algorithm, MGF1 and its own Mask Generator
//! Hashing Algorithm, and P Source (the label) of the Cryptographic Parameters (the request's,
//! else the key's attribute). Encrypt takes an Active Public Key with Encrypt in its usage mask,
//! Decrypt an Active Private Key with Decrypt (else Wrong Key Lifecycle State / Incompatible
//! Cryptographic Usage Mask). One part only, no IV, no AEAD fields. Every decryption failure is
//! the one Cryptographic Failure (no padding oracle). RSAES-PKCS1-v1_5 is not offered.

use kmip_codec::enums::{CryptographicUsageMask, ObjectType};
use kmip_codec::model::{DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse};
use kmip_codec::ttlv::Bytes;
use kms_crypto::rsa_oaep::{self, OaepParams};

use super::crypto::{parameters, require_usage};
use super::{Ctx, OpError, asymmetric_keys, drbg};
use crate::store::records::ObjectRecord;

/// True when Encrypt / Decrypt with `record` is RSA-OAEP (a public or private key).
pub(super) fn applies(record: &ObjectRecord) -> bool {
    record.object_type == ObjectType::PUBLIC_KEY.0
        || record.object_type == ObjectType::PRIVATE_KEY.0
}

/// Refuses the symmetric-only fields of Encrypt / Decrypt.
fn one_shot(iv: bool, aad: bool, tag: bool, streaming: bool) -> Result<(), OpError> {
    if streaming {
        return Err(OpError::FeatureNotSupported("multi-part RSA encryption"));
    }
    if iv || aad || tag {
        return Err(OpError::InvalidField("IV, AAD or tag given for RSA-OAEP"));
    }
    Ok(())
}

pub(super) async fn encrypt(
    ctx: &Ctx<'_>,
    uid: String,
    record: &ObjectRecord,
    r: &EncryptRequest,
) -> Result<EncryptResponse, OpError> {
    one_shot(
        r.iv_counter_nonce.is_some(),
        r.authenticated_encryption_additional_data.is_some(),
        false,
        r.correlation_value.is_some() || r.init_indicator.is_some() || r.final_indicator.is_some(),
    )?;
    require_usage(ctx, record, CryptographicUsageMask::ENCRYPT)?;
    let params = OaepParams::from_kmip(&parameters(r.cryptographic_parameters.as_ref(), record)?)?;
    let data = r.data.as_ref().ok_or(OpError::MissingData("data"))?;
    let tenant = ctx.tenant()?;
    let bytes = ctx.kms.keys.material(&tenant, record).await?;
    let key = asymmetric_keys::public_key(record, bytes.expose(), ctx.version)?;
    let mut rng = drbg::from_hsm(ctx).await?;
    let out = rsa_oaep::encrypt(&key, &params, data.as_slice(), &mut rng)?;
    Ok(EncryptResponse {
        unique_identifier: uid,
        data: Some(Bytes::new(out)),
        iv_counter_nonce: None,
        correlation_value: None,
        authenticated_encryption_tag: None,
    })
}

pub(super) async fn decrypt(
    ctx: &Ctx<'_>,
    uid: String,
    record: &ObjectRecord,
    r: &DecryptRequest,
) -> Result<DecryptResponse, OpError> {
    one_shot(
        r.iv_counter_nonce.is_some(),
        r.authenticated_encryption_additional_data.is_some(),
        r.authenticated_encryption_tag.is_some(),
        r.correlation_value.is_some() || r.init_indicator.is_some() || r.final_indicator.is_some(),
    )?;
    require_usage(ctx, record, CryptographicUsageMask::DECRYPT)?;
    let params = OaepParams::from_kmip(&parameters(r.cryptographic_parameters.as_ref(), record)?)?;
    let data = r.data.as_ref().ok_or(OpError::MissingData("data"))?;
    let tenant = ctx.tenant()?;
    let bytes = ctx.kms.keys.material(&tenant, record).await?;
    let key = asymmetric_keys::private_key(record, bytes.expose(), ctx.version)?;
    let mut rng = drbg::from_hsm(ctx).await?;
    let out = rsa_oaep::decrypt(&key, &params, data.as_slice(), &mut rng)?;
    Ok(DecryptResponse {
        unique_identifier: uid,
        data: Some(out.into_kmip()),
        correlation_value: None,
    })
}
