//! The wrapping key of a wrapped Get (Key Wrapping Specification, KMIP 1.4 sections 2.1.6, 4.11)
//! and the unwrapping key of a wrapped Register (Key Wrapping Data, 2.1.5, 4.3): Wrapping Method
//! Encrypt only, with
//! - an AES Symmetric Key: AES Key Wrap (RFC 3394, Block Cipher Mode `NISTKeyWrap`, the default)
//!   or AES Key Wrap with Padding (RFC 5649, `AESKeyWrapPadding`), RustCrypto `aes-kw`;
//! - an RSA Public Key (wrap) / Private Key (unwrap): RSA-OAEP (`kms-crypto`'s `rsa_oaep`) with
//!   the Cryptographic Parameters of the Encryption Key Information, else the key's attribute.
//!
//! The key is looked up in the caller's tenant like any object (another tenant's key is Item
//! Not Found) and must be Active with Wrap Key (Get) or Unwrap Key (Register) in its usage mask;
//! a Sensitive object is wrapped only under a key a tenant admin trusted (`wrap_trust`).
//! Every unwrap failure (integrity, padding, OAEP) is the one Cryptographic Failure.
//!
//! What wraps: the Key Block of a Symmetric Key, Secret Data, Public Key or Private Key (its
//! Key Value TTLV-encoded, or with No Encoding its Key Material bytes, e.g. a PKCS#8 private
//! key). An RSA-OAEP wrap of more than the key takes is Invalid Field ("use an AES key"), as is
//! an AES Key Wrap (RFC 3394) of a length it cannot take ("use AESKeyWrapPadding").

use std::sync::Arc;

use hsm::KeyBytes;
use kmip_codec::enums::{
    BlockCipherMode, CryptographicUsageMask, ObjectType, Operation, WrappingMethod,
};
use kmip_codec::model::{KeyBlock, KeyInformation, KeyValue, ManagedObject, Object};
use kmip_codec::tags::Tag;
use kms_crypto::SecretBytes;
use kms_crypto::rsa_oaep::{self, OaepParams};
use kms_crypto::wrap::{self as kw, WrapEncoding};

use super::crypto::{parameters, require_usable, require_usage};
use super::{Ctx, OpError, asymmetric_keys, drbg, wrap_trust};
use crate::store::records::ObjectRecord;

/// Which way the key is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Wrap,
    Unwrap,
}

impl Direction {
    fn usage(self) -> CryptographicUsageMask {
        match self {
            Direction::Wrap => CryptographicUsageMask::WRAP_KEY,
            Direction::Unwrap => CryptographicUsageMask::UNWRAP_KEY,
        }
    }

    /// The operation the caller must be allowed for the key: a wrapped Get reads the key's
    /// material the way Get does; an unwrap decrypts with it.
    fn operation(self) -> Operation {
        match self {
            Direction::Wrap => Operation::GET,
            Direction::Unwrap => Operation::DECRYPT,
        }
    }

    /// The object type of an RSA key for this direction.
    fn rsa_type(self) -> ObjectType {
        match self {
            Direction::Wrap => ObjectType::PUBLIC_KEY,
            Direction::Unwrap => ObjectType::PRIVATE_KEY,
        }
    }
}

/// Refuses the parts of Key Wrapping Specification / Data the server does not offer.
fn encrypt_only(method: WrappingMethod, mac: bool, attributes: bool) -> Result<(), OpError> {
    if method != WrappingMethod::ENCRYPT {
        return Err(OpError::FeatureNotSupported("wrapping method"));
    }
    if mac || attributes {
        return Err(OpError::FeatureNotSupported(
            "MAC/signature wrapping or wrapped attributes",
        ));
    }
    Ok(())
}

/// The AES key wrap mode of `info` (`NISTKeyWrap` when none is given).
fn aes_mode(info: &KeyInformation) -> Result<bool, OpError> {
    let mode = info
        .cryptographic_parameters
        .as_ref()
        .and_then(|p| p.block_cipher_mode)
        .unwrap_or(BlockCipherMode::NISTKEYWRAP);
    if mode == BlockCipherMode::NISTKEYWRAP {
        Ok(false)
    } else if mode == BlockCipherMode::AESKEYWRAPPADDING {
        Ok(true)
    } else {
        Err(OpError::FeatureNotSupported(
            "block cipher mode for key wrapping",
        ))
    }
}

/// The key `info` names, checked for `dir`, with its material: an RSA key with its OAEP
/// parameters, or an AES key with its wrap mode (`true`: KWP).
enum WrappingKey {
    Rsa {
        record: Arc<ObjectRecord>,
        params: OaepParams,
        material: Arc<KeyBytes>,
    },
    Aes {
        padded: bool,
        material: Arc<KeyBytes>,
    },
}

/// Looks up and checks the key `info` names for `dir` (see the module documentation).
async fn resolve(
    ctx: &Ctx<'_>,
    info: &KeyInformation,
    dir: Direction,
    sensitive: bool,
) -> Result<WrappingKey, OpError> {
    let record = ctx.object(&info.unique_identifier, dir.operation())?;
    let tenant = ctx.tenant()?;
    if dir == Direction::Wrap {
        wrap_trust::check_wrapping_key(&record, sensitive)?;
    }
    if record.object_type == dir.rsa_type().0 {
        require_usage(ctx, &record, dir.usage())?;
        let params = OaepParams::from_kmip(&parameters(
            info.cryptographic_parameters.as_ref(),
            &record,
        )?)?;
        let material = ctx.kms.keys.material(&tenant, &record).await?;
        return Ok(WrappingKey::Rsa {
            record,
            params,
            material,
        });
    }
    symmetric(ctx, &record, dir)?;
    let padded = aes_mode(info)?;
    let material = ctx.kms.keys.material(&tenant, &record).await?;
    Ok(WrappingKey::Aes { padded, material })
}

/// Wraps `data` under the key `info` names (see the module documentation); the material of a
/// `sensitive` object only under a key trusted for wrapping (`wrap_trust`).
pub(super) async fn wrap(
    ctx: &Ctx<'_>,
    info: &KeyInformation,
    data: &[u8],
    sensitive: bool,
) -> Result<Vec<u8>, OpError> {
    Ok(
        match resolve(ctx, info, Direction::Wrap, sensitive).await? {
            WrappingKey::Rsa {
                record,
                params,
                material,
            } => {
                let key = asymmetric_keys::public_key(&record, material.expose(), ctx.version)?;
                let mut rng = drbg::from_hsm(ctx).await?;
                rsa_oaep::encrypt(&key, &params, data, &mut rng).map_err(|e| match e {
                    kms_crypto::Error::MessageTooLong => OpError::InvalidField(TOO_LONG_FOR_OAEP),
                    other => other.into(),
                })?
            }
            WrappingKey::Aes {
                padded: true,
                material,
            } => kw::aes_key_wrap_padded(material.expose(), data)?,
            WrappingKey::Aes {
                padded: false,
                material,
            } => kw::aes_key_wrap(material.expose(), data).map_err(|e| match e {
                kms_crypto::Error::BadLength {
                    what: kms_crypto::Input::WrapInput,
                    ..
                } => OpError::InvalidField(NOT_FOR_KW),
                other => other.into(),
            })?,
        },
    )
}

/// The refusal of an RSA-OAEP wrap whose input exceeds what the key takes (modulus bytes - 2 x
/// hash length - 2): a private key, or a TTLV-encoded Key Value, rarely fits.
const TOO_LONG_FOR_OAEP: &str = "too long for RSA-OAEP under this key; use an AES key";

/// The refusal of an AES Key Wrap (RFC 3394) of bytes it cannot take (under 16, or not a
/// multiple of 8, e.g. a DER private key sent with No Encoding).
const NOT_FOR_KW: &str =
    "AES Key Wrap (RFC 3394) takes a multiple of 8 bytes, 16 or more; use AESKeyWrapPadding";

/// Unwraps `wrapped` with the key `info` names (see the module documentation).
async fn unwrap(
    ctx: &Ctx<'_>,
    info: &KeyInformation,
    wrapped: &[u8],
) -> Result<SecretBytes, OpError> {
    Ok(match resolve(ctx, info, Direction::Unwrap, false).await? {
        WrappingKey::Rsa {
            record,
            params,
            material,
        } => {
            let key = asymmetric_keys::private_key(&record, material.expose(), ctx.version)?;
            let mut rng = drbg::from_hsm(ctx).await?;
            rsa_oaep::decrypt(&key, &params, wrapped, &mut rng)?
        }
        WrappingKey::Aes {
            padded: true,
            material,
        } => kw::aes_key_unwrap_padded(material.expose(), wrapped)?,
        WrappingKey::Aes {
            padded: false,
            material,
        } => kw::aes_key_unwrap(material.expose(), wrapped)?,
    })
}

/// Checks an AES wrapping key: a Symmetric Key, Active, AES, with the direction's usage bit.
fn symmetric(ctx: &Ctx<'_>, record: &ObjectRecord, dir: Direction) -> Result<(), OpError> {
    if record.object_type != ObjectType::SYMMETRIC_KEY.0 {
        return Err(OpError::IncompatibleUsageMask);
    }
    require_usable(ctx, record, dir.usage())
}

/// True when `object` is a key or secret whose Key Value the client sent wrapped (a Public or
/// Private Key is looked at in its TTLV: the codec keeps those as they came).
pub(super) fn is_wrapped(object: &ManagedObject) -> bool {
    match object {
        ManagedObject::SymmetricKey(k) => k.key_block.key_wrapping_data.is_some(),
        ManagedObject::SecretData(s) => s.key_block.key_wrapping_data.is_some(),
        ManagedObject::OpaqueObject(_) => false,
        ManagedObject::Other(t) => t
            .child(Tag::KEY_BLOCK)
            .is_some_and(|b| b.child(Tag::KEY_WRAPPING_DATA).is_some()),
    }
}

/// The Key Block of the object types that wrap: Symmetric Key, Secret Data, Public Key and
/// Private Key (a Certificate or Opaque Object has none).
pub(super) fn key_block_mut(object: &mut Object) -> Option<&mut KeyBlock> {
    match object {
        Object::SymmetricKey(k) => Some(&mut k.key_block),
        Object::SecretData(s) => Some(&mut s.key_block),
        Object::PublicKey(k) => Some(&mut k.key_block),
        Object::PrivateKey(k) => Some(&mut k.key_block),
        _ => None,
    }
}

/// The object of a wrapped Register with its Key Value unwrapped (the plaintext stays in the
/// process: it is sealed under the Domain Key by Register like any key's).
pub(super) async fn unwrap_object(
    ctx: &Ctx<'_>,
    object: &ManagedObject,
) -> Result<ManagedObject, OpError> {
    let mut typed = object
        .to_object(ctx.version)
        .map_err(|_| OpError::InvalidField("key block"))?;
    let block = key_block_mut(&mut typed)
        .ok_or(OpError::FeatureNotSupported("wrapped object of this type"))?;
    let data = block
        .key_wrapping_data
        .take()
        .ok_or(OpError::MissingData("key wrapping data"))?;
    encrypt_only(
        data.wrapping_method,
        data.mac_signature_key_information.is_some() || data.mac_signature.is_some(),
        false,
    )?;
    if data.iv_counter_nonce.is_some() {
        return Err(OpError::InvalidField("IV given for key unwrapping"));
    }
    let info = data
        .encryption_key_information
        .as_ref()
        .ok_or(OpError::MissingData("encryption key information"))?;
    let wrapped = match block.key_value.take() {
        Some(KeyValue::Wrapped(b)) => b,
        Some(KeyValue::Plain { .. }) => {
            return Err(OpError::InvalidField(
                "key wrapping data given for a plain key value",
            ));
        }
        None => return Err(OpError::MissingData("key value")),
    };
    let encoding = WrapEncoding::from_kmip(data.encoding_option)?;
    let plaintext = unwrap(ctx, info, wrapped.as_slice()).await?;
    let value = kw::unwrapped_key_value(encoding, plaintext, block.key_format_type, ctx.version)?;
    block.key_value = Some(value);
    Ok(ManagedObject::from_object(typed, ctx.version))
}

/// Checks a Key Wrapping Specification of a Get before anything is read.
pub(super) fn check_specification(
    spec: &kmip_codec::model::KeyWrappingSpecification,
) -> Result<&KeyInformation, OpError> {
    encrypt_only(
        spec.wrapping_method,
        spec.mac_signature_key_information.is_some(),
        !spec.attribute_names.is_empty(),
    )?;
    spec.encryption_key_information
        .as_ref()
        .ok_or(OpError::MissingData("encryption key information"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmip_codec::model::CryptographicParameters;

    fn with_mode(mode: Option<BlockCipherMode>) -> KeyInformation {
        KeyInformation {
            unique_identifier: "k".into(),
            cryptographic_parameters: mode.map(|m| CryptographicParameters {
                block_cipher_mode: Some(m),
                ..CryptographicParameters::default()
            }),
        }
    }

    /// KW is the default, KWP on request, any other mode refused.
    #[test]
    fn the_aes_mode_is_kw_unless_kwp_is_asked() {
        assert!(!aes_mode(&with_mode(None)).expect("default"));
        assert!(!aes_mode(&with_mode(Some(BlockCipherMode::NISTKEYWRAP))).expect("KW"));
        assert!(aes_mode(&with_mode(Some(BlockCipherMode::AESKEYWRAPPADDING))).expect("KWP"));
        assert!(matches!(
            aes_mode(&with_mode(Some(BlockCipherMode::CBC))),
            Err(OpError::FeatureNotSupported(_))
        ));
    }

    /// Only Wrapping Method Encrypt, without MAC/signature or wrapped attributes.
    #[test]
    fn only_encrypt_wrapping_is_offered() {
        encrypt_only(WrappingMethod::ENCRYPT, false, false).expect("encrypt");
        for (method, mac, attributes) in [
            (WrappingMethod::MAC_SIGN, false, false),
            (WrappingMethod::ENCRYPT, true, false),
            (WrappingMethod::ENCRYPT, false, true),
        ] {
            assert!(matches!(
                encrypt_only(method, mac, attributes),
                Err(OpError::FeatureNotSupported(_))
            ));
        }
    }
}
