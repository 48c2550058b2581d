//! Sign and Signature Verify (KMIP 1.4 sections 4.31, 4.32; KMIP 2.1 sections 6.1.55, 6.1.56):
//! RSA-PSS, RSASSA-PKCS1-v1_5 (SHA-256/384/512; SHA-1 verifies only) and ECDSA on P-256 /
//! P-384, over Data or Digested Data, in one part (`kms-crypto`'s `signature`). Sign takes an
//! Active Private Key whose usage mask has Sign, Signature Verify an Active Public Key whose
//! mask has Verify (else Incompatible Cryptographic Usage Mask). A signature that does not
//! verify is a success with Validity Indicator Invalid, not an error (KMIP 1.4 section 4.32).

use kmip_codec::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, HashingAlgorithm, Operation,
};
use kmip_codec::model::{
    CryptographicParameters, SignRequest, SignResponse, SignatureVerifyRequest,
    SignatureVerifyResponse,
};
use kmip_codec::ttlv::Bytes;
use kms_crypto::signature::{self, Message, SignatureAlgorithm};

use super::crypto::{parameters, require_usage};
use super::{Ctx, OpError, asymmetric_keys, drbg};
use crate::store::records::ObjectRecord;

/// The data or digest of a request: exactly one of the two.
fn message<'a>(
    data: Option<&'a Bytes>,
    digested: Option<&'a Vec<u8>>,
) -> Result<Message<'a>, OpError> {
    match (data, digested) {
        (Some(d), None) => Ok(Message::Data(d.as_slice())),
        (None, Some(d)) => Ok(Message::Digest(d.as_slice())),
        (None, None) => Err(OpError::MissingData("data")),
        (Some(_), Some(_)) => Err(OpError::InvalidField("data and digested data both given")),
    }
}

/// The signature scheme `params` name for the key of `record`. ECDSA named without a hash
/// (CS-AC-M-3-ECC's keys carry Cryptographic Parameters that say only "ECDSA") takes the hash
/// of the curve's strength, the pairing of NIST SP 800-57 part 1 (table 3) and FIPS 186-5:
/// SHA-256 on a 256-bit curve, SHA-384 on a 384-bit one. KMIP lets the server choose what the
/// client leaves out (its defaults, KMIP 2.1 Query Defaults Information); any other missing
/// hash stays Missing.
fn scheme(
    mut params: CryptographicParameters,
    record: &ObjectRecord,
) -> Result<SignatureAlgorithm, OpError> {
    let ecdsa = matches!(
        params.cryptographic_algorithm,
        Some(CryptographicAlgorithm::ECDSA | CryptographicAlgorithm::EC)
    );
    if ecdsa && params.hashing_algorithm.is_none() && params.digital_signature_algorithm.is_none() {
        params.hashing_algorithm = match record.attributes.cryptographic_length {
            Some(256) => Some(HashingAlgorithm::SHA_256),
            Some(384) => Some(HashingAlgorithm::SHA_384),
            _ => None,
        };
    }
    Ok(SignatureAlgorithm::from_kmip(&params)?)
}

fn one_part(s: &kmip_codec::model::Streaming) -> Result<(), OpError> {
    if s.correlation_value.is_some() || s.init_indicator.is_some() || s.final_indicator.is_some() {
        return Err(OpError::FeatureNotSupported("multi-part signing"));
    }
    Ok(())
}

pub(super) async fn sign(ctx: &mut Ctx<'_>, r: &SignRequest) -> Result<SignResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    one_part(&r.streaming)?;
    let record = ctx.object(&uid, Operation::SIGN)?;
    require_usage(ctx, &record, CryptographicUsageMask::SIGN)?;
    let algorithm = scheme(
        parameters(r.cryptographic_parameters.as_ref(), &record)?,
        &record,
    )?;
    let message = message(r.data.as_ref(), r.digested_data.as_ref())?;
    let tenant = ctx.tenant()?;
    let bytes = ctx.kms.keys.material(&tenant, &record).await?;
    let key = asymmetric_keys::private_key(&record, bytes.expose(), ctx.version)?;
    let mut rng = drbg::from_hsm(ctx).await?;
    let signature = signature::sign(&key, algorithm, message, &mut rng)?;
    Ok(SignResponse {
        unique_identifier: uid,
        signature_data: Some(Bytes::new(signature)),
        correlation_value: None,
    })
}

pub(super) async fn signature_verify(
    ctx: &mut Ctx<'_>,
    r: &SignatureVerifyRequest,
) -> Result<SignatureVerifyResponse, OpError> {
    let uid = ctx.uid(r.unique_identifier.as_ref())?;
    one_part(&r.streaming)?;
    let record = ctx.object(&uid, Operation::SIGNATURE_VERIFY)?;
    require_usage(ctx, &record, CryptographicUsageMask::VERIFY)?;
    let algorithm = scheme(
        parameters(r.cryptographic_parameters.as_ref(), &record)?,
        &record,
    )?;
    let message = message(r.data.as_ref(), r.digested_data.as_ref())?;
    let signature_data = r
        .signature_data
        .as_ref()
        .ok_or(OpError::MissingData("signature data"))?;
    let tenant = ctx.tenant()?;
    let bytes = ctx.kms.keys.material(&tenant, &record).await?;
    let key = asymmetric_keys::public_key(&record, bytes.expose(), ctx.version)?;
    let validity = signature::verify(&key, algorithm, message, signature_data.as_slice())?;
    Ok(SignatureVerifyResponse {
        unique_identifier: uid,
        validity_indicator: validity.to_kmip(),
        data: None,
        correlation_value: None,
    })
}
