//! MAC and MAC Verify (KMIP 1.4 sections 4.33, 4.34; KMIP 2.1 sections 6.1.32, 6.1.33) with
//! HMAC-SHA1 / SHA-224 / SHA-256 / SHA-384 / SHA-512, and Hash (KMIP 1.4 section 4.37; KMIP 2.1
//! section 6.1.24) with SHA-1 and SHA-2, in one part (`kms-crypto`'s `mac` and `hash`,
//! RustCrypto). MAC takes an Active Symmetric Key whose usage mask has MAC Generate, MAC Verify
//! one whose mask has MAC Verify (else Incompatible Cryptographic Usage Mask). The HMAC comes
//! from the request's Cryptographic Parameters, else the key's Cryptographic Parameters
//! attribute, else the key's own Cryptographic Algorithm (the OASIS vectors CS-AC-M-4 to 6
//! register an "AES" key whose Cryptographic Parameters name HMAC-SHA256). A MAC that does not
//! verify is a success with Validity Indicator Invalid, not an error. Hash uses no object.

use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask, ObjectType, Operation};
use kmip_codec::model::{
    AttributeValue, CryptographicParameters, HashRequest, HashResponse, MacRequest, MacResponse,
    MacVerifyRequest, MacVerifyResponse, Streaming,
};
use kmip_codec::ttlv::Bytes;
use kms_crypto::hash::{self, HashAlgorithm};
use kms_crypto::mac::{self, MacAlgorithm};

use super::crypto::require_usage;
use super::{Ctx, OpError, attribute_model};
use crate::store::records::ObjectRecord;

/// Refuses the multi-part fields: only single-part MAC, MAC Verify and Hash are performed.
fn one_part(s: &Streaming, what: &'static str) -> Result<(), OpError> {
    if s.correlation_value.is_some() || s.init_indicator.is_some() || s.final_indicator.is_some() {
        return Err(OpError::FeatureNotSupported(what));
    }
    Ok(())
}

/// The HMAC to compute with `record`: the request's Cryptographic Algorithm, else the one of
/// the key's Cryptographic Parameters attribute, else the key's Cryptographic Algorithm.
fn mac_algorithm(
    given: Option<&CryptographicParameters>,
    record: &ObjectRecord,
) -> Result<MacAlgorithm, OpError> {
    let from_attribute = || {
        attribute_model::others(record)
            .into_iter()
            .find_map(|a| match a.value {
                AttributeValue::CryptographicParameters(p) => p.cryptographic_algorithm,
                _ => None,
            })
    };
    let from_key = || {
        record
            .attributes
            .cryptographic_algorithm
            .map(CryptographicAlgorithm)
            .filter(|a| MacAlgorithm::from_kmip(*a).is_ok())
    };
    let algorithm = given
        .and_then(|p| p.cryptographic_algorithm)
        .or_else(from_attribute)
        .or_else(from_key)
        .ok_or(OpError::InvalidField("no HMAC algorithm for this key"))?;
    Ok(MacAlgorithm::from_kmip(algorithm)?)
}

/// The MAC key `uid` names, checked for `op` and `usage`, its algorithm and its bytes.
async fn mac_key(
    ctx: &Ctx<'_>,
    uid: &str,
    op: Operation,
    usage: CryptographicUsageMask,
    given: Option<&CryptographicParameters>,
) -> Result<(MacAlgorithm, std::sync::Arc<hsm::KeyBytes>), OpError> {
    let record = ctx.object(uid, op)?;
    require_usage(ctx, &record, usage)?;
    if record.object_type != ObjectType::SYMMETRIC_KEY.0 {
        return Err(OpError::InvalidField("MAC keys are symmetric keys"));
    }
    let algorithm = mac_algorithm(given, &record)?;
    let tenant = ctx.tenant()?;
    let key = ctx.kms.keys.material(&tenant, &record).await?;
    Ok((algorithm, key))
}

pub(super) async fn mac(ctx: &mut Ctx<'_>, r: &MacRequest) -> Result<MacResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    one_part(&r.streaming, "multi-part MAC")?;
    let data = r.data.as_ref().ok_or(OpError::MissingData("data"))?;
    let (algorithm, key) = mac_key(
        ctx,
        &uid,
        Operation::MAC,
        CryptographicUsageMask::MAC_GENERATE,
        r.cryptographic_parameters.as_ref(),
    )
    .await?;
    let mac_data = mac::mac(algorithm, key.expose(), data.as_slice())?;
    Ok(MacResponse {
        unique_identifier: uid,
        mac_data: Some(Bytes::new(mac_data)),
        correlation_value: None,
    })
}

pub(super) async fn mac_verify(
    ctx: &mut Ctx<'_>,
    r: &MacVerifyRequest,
) -> Result<MacVerifyResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    one_part(&r.streaming, "multi-part MAC Verify")?;
    let data = r.data.as_ref().ok_or(OpError::MissingData("data"))?;
    let mac_data = r
        .mac_data
        .as_ref()
        .ok_or(OpError::MissingData("MAC data"))?;
    let (algorithm, key) = mac_key(
        ctx,
        &uid,
        Operation::MAC_VERIFY,
        CryptographicUsageMask::MAC_VERIFY,
        r.cryptographic_parameters.as_ref(),
    )
    .await?;
    let validity = mac::verify(
        algorithm,
        key.expose(),
        data.as_slice(),
        mac_data.as_slice(),
    )?;
    Ok(MacVerifyResponse {
        unique_identifier: uid,
        validity_indicator: validity.to_kmip(),
        correlation_value: None,
    })
}

pub(super) fn hash(r: &HashRequest) -> Result<HashResponse, OpError> {
    one_part(&r.streaming, "multi-part Hash")?;
    let algorithm = r
        .cryptographic_parameters
        .hashing_algorithm
        .ok_or(OpError::MissingData("hashing algorithm"))?;
    let data = r.data.as_ref().ok_or(OpError::MissingData("data"))?;
    let digest = hash::digest(HashAlgorithm::from_kmip(algorithm)?, data.as_slice())?;
    Ok(HashResponse {
        data: Some(Bytes::new(digest)),
        correlation_value: None,
    })
}
