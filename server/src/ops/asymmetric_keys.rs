//! Public and private keys as the server keeps them, and as Get and the signing operations
//! read them. Two stored forms, told apart by their first byte (both unsealed from the same
//! sealed material):
//! - DER (first byte 0x30, a SEQUENCE): made by Create Key Pair, in the Key Format Type the
//!   sealed material names: PKCS#1 (RSA), PKCS#8 (EC private keys), X.509 = SubjectPublicKeyInfo
//!   (EC public keys).
//! - TTLV (first byte 0x42, every KMIP tag's): the whole object as Register stored it (`pki`);
//!   Get in the registered format (or none named) returns it exactly as registered.
//!
//! Get converts either form to the format asked: PKCS#1, PKCS#8 and ECPrivateKey (private),
//! PKCS#1 and X.509 (public), and the Transparent RSA / EC structures; any other is Key Format
//! Type Not Supported.

use kmip_codec::enums::{CryptographicAlgorithm, KeyFormatType, ObjectType};
use kmip_codec::limits::Limits;
use kmip_codec::model::{
    KeyBlock, KeyValue, ManagedObject, Object, PrivateKey as KmipPrivateKey,
    PublicKey as KmipPublicKey,
};
use kmip_codec::ttlv::decode::decode;
use kmip_codec::version::ProtocolVersion;
use kms_crypto::asymmetric::{
    KeyAlgorithm, KeyFacts, PrivateKey, PrivateKeyFormat, PublicKey, PublicKeyFormat,
};
use kms_crypto::{Error as CryptoError, KeyError};

use super::{OpError, pki};
use crate::store::records::ObjectRecord;

/// The first byte of a DER SEQUENCE: a key stored as DER (never the first byte of a TTLV item).
const DER_SEQUENCE: u8 = 0x30;

/// True when the unsealed material is a DER key (the Create Key Pair form).
pub(super) fn is_der(bytes: &[u8]) -> bool {
    bytes.first() == Some(&DER_SEQUENCE)
}

/// The Key Format Type the stored material is in.
fn stored_format(record: &ObjectRecord) -> KeyFormatType {
    KeyFormatType(record.material.as_ref().map_or(0, |m| m.key_format))
}

/// The key block of a registered (TTLV-stored) Public or Private Key.
fn registered_block(bytes: &[u8], version: ProtocolVersion) -> Result<KeyBlock, OpError> {
    let tree = decode(bytes, &Limits::DEFAULT).map_err(|_| OpError::CryptographicFailure)?;
    match ManagedObject::Other(tree)
        .to_object(version)
        .map_err(|_| OpError::CryptographicFailure)?
    {
        Object::PrivateKey(k) => Ok(k.key_block),
        Object::PublicKey(k) => Ok(k.key_block),
        _ => Err(OpError::InvalidField("not a public or private key")),
    }
}

/// The plain Key Material and format of a registered key block.
fn registered_material(
    block: &KeyBlock,
) -> Result<(KeyFormatType, &kmip_codec::model::KeyMaterial), OpError> {
    match &block.key_value {
        Some(KeyValue::Plain { key_material, .. }) => Ok((block.key_format_type, key_material)),
        Some(KeyValue::Wrapped(_)) => Err(OpError::FeatureNotSupported("wrapped key material")),
        None => Err(OpError::MissingData("key value")),
    }
}

/// The private key of a Private Key object, from its unsealed material (either form).
pub(super) fn private_key(
    record: &ObjectRecord,
    bytes: &[u8],
    version: ProtocolVersion,
) -> Result<PrivateKey, OpError> {
    if record.object_type != ObjectType::PRIVATE_KEY.0 {
        return Err(OpError::IncompatibleUsageMask);
    }
    if is_der(bytes) {
        let format = match stored_format(record) {
            KeyFormatType::PKCS1 => PrivateKeyFormat::Pkcs1,
            KeyFormatType::PKCS8 => PrivateKeyFormat::Pkcs8,
            _ => return Err(OpError::KeyFormatTypeNotSupported),
        };
        return Ok(PrivateKey::from_der(format, bytes)?);
    }
    let block = registered_block(bytes, version)?;
    let (format, material) = registered_material(&block)?;
    Ok(PrivateKey::from_kmip(format, material)?)
}

/// The public key of a Public Key object, from its unsealed material (either form).
pub(super) fn public_key(
    record: &ObjectRecord,
    bytes: &[u8],
    version: ProtocolVersion,
) -> Result<PublicKey, OpError> {
    if record.object_type != ObjectType::PUBLIC_KEY.0 {
        return Err(OpError::IncompatibleUsageMask);
    }
    if is_der(bytes) {
        let format = match stored_format(record) {
            KeyFormatType::PKCS1 => PublicKeyFormat::Pkcs1,
            KeyFormatType::X_509 => PublicKeyFormat::Spki,
            _ => return Err(OpError::KeyFormatTypeNotSupported),
        };
        return Ok(PublicKey::from_der(format, bytes)?);
    }
    let block = registered_block(bytes, version)?;
    let (format, material) = registered_material(&block)?;
    Ok(PublicKey::from_kmip(format, material)?)
}

/// The Public or Private Key object of `record` for Get, in `format` (else the stored one).
pub(super) fn key_object(
    record: &ObjectRecord,
    stored_format: KeyFormatType,
    bytes: &[u8],
    format: Option<KeyFormatType>,
    version: ProtocolVersion,
) -> Result<ManagedObject, OpError> {
    // A registered object asked for in its own format comes back exactly as registered.
    if !is_der(bytes) && format.is_none_or(|f| f == stored_format) {
        return pki::rebuild(bytes);
    }
    let format = format.unwrap_or(stored_format);
    let private = record.object_type == ObjectType::PRIVATE_KEY.0;
    let key_material = if private {
        private_key(record, bytes, version)?.to_kmip(format)?
    } else {
        public_key(record, bytes, version)?.to_kmip(format)?
    };
    let key_block = super::get::plain_key_block(record, format, key_material);
    let object = if private {
        Object::PrivateKey(KmipPrivateKey { key_block })
    } else {
        Object::PublicKey(KmipPublicKey { key_block })
    };
    Ok(ManagedObject::from_object(object, version))
}

/// Checks a Public or Private Key being registered (its TTLV): an RSA or EC key in a format
/// `kms-crypto` reads (PKCS#1, PKCS#8, ECPrivateKey, X.509, Transparent RSA / EC) is parsed, and
/// refused when malformed, inconsistent or of a size the server does not take (Invalid Field),
/// or when the Key Block's Cryptographic Algorithm or Length disagrees with the key. Returns the
/// key's facts. A key of another algorithm (DSA, DH, another curve), an RSA key outside
/// 2048..=8192 bits, or a key in another format is stored as given (`None`): the server does no
/// cryptography with it (Sign, Encrypt... refuse it). Unless `strict` (a key that came wrapped,
/// BYOK): then such a key is refused with the reason `kms-crypto` gives (an RSA key under 2048
/// bits: Invalid Field).
pub(super) fn check_registered(
    object: &kmip_codec::ttlv::Ttlv,
    version: ProtocolVersion,
    strict: bool,
) -> Result<Option<KeyFacts>, OpError> {
    let object = ManagedObject::Other(object.clone())
        .to_object(version)
        .map_err(|_| OpError::InvalidField("key block"))?;
    let (block, private) = match &object {
        Object::PrivateKey(k) => (&k.key_block, true),
        Object::PublicKey(k) => (&k.key_block, false),
        _ => return Ok(None),
    };
    let (format, material) = registered_material(block)?;
    let parsed = if private {
        PrivateKey::from_kmip(format, material).map(|k| k.facts())
    } else {
        PublicKey::from_kmip(format, material).map(|k| k.facts())
    };
    let facts = match parsed {
        Ok(facts) => facts,
        // Stored as before, used for nothing: the Baseline profile registers RSA-1024 keys.
        Err(CryptoError::Key(
            KeyError::Format(_)
            | KeyError::UnsupportedAlgorithm
            | KeyError::UnsupportedCurve
            | KeyError::RsaSize { .. },
        )) if !strict => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if block
        .cryptographic_length
        .is_some_and(|n| n != facts.cryptographic_length())
    {
        return Err(OpError::InvalidField("cryptographic length"));
    }
    let algorithm_fits = match (facts.algorithm, block.cryptographic_algorithm) {
        (_, None) => true,
        (KeyAlgorithm::Rsa, Some(a)) => a == CryptographicAlgorithm::RSA,
        (KeyAlgorithm::Ec, Some(a)) => [
            CryptographicAlgorithm::EC,
            CryptographicAlgorithm::ECDSA,
            CryptographicAlgorithm::ECDH,
            CryptographicAlgorithm::ECMQV,
        ]
        .contains(&a),
    };
    if !algorithm_fits {
        return Err(OpError::InvalidField("cryptographic algorithm"));
    }
    Ok(Some(facts))
}
