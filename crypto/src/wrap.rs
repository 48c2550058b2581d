//! Key wrapping for Get with a Key Wrapping Specification and Register with Key Wrapping Data:
//! AES Key Wrap (RFC 3394, NIST SP 800-38F KW) and AES Key Wrap with Padding (RFC 5649, KWP)
//! from RustCrypto `aes-kw`, RSA-OAEP (see [`crate::rsa_oaep`]), and the KMIP rule for which
//! bytes are wrapped.
//!
//! # What is wrapped (KMIP 1.4 section 2.1.5, Table 9; KMIP 2.1 section 3.3)
//!
//! The Encoding Option of the Key Wrapping Specification / Data decides:
//! - **TTLV Encoding, and also when the Encoding Option is absent** ("If not present, the
//!   wrapped Key Value structure SHALL be TTLV encoded"): the whole Key Value structure (its
//!   Key Material and any attributes in it), TTLV-encoded, is wrapped. Unwrapping yields a Key
//!   Value structure again.
//! - **No Encoding**: only the Key Material Byte String is wrapped, un-encoded ("the wrapped
//!   un-encoded value of the Byte String Key Material field"); then the Key Value must not
//!   carry attributes, and a Transparent (structure) Key Material cannot be wrapped this way.
//!
//! Note: several clients (and the AX-M-2 vector's server) expect the raw key bytes for a
//! symmetric key although they send no Encoding Option; the spec's default is TTLV. The server
//! decides whether to honour that habit; [`WrapEncoding::from_kmip`] implements the spec.

use kmip_codec::enums::{EncodingOption, KeyFormatType};
use kmip_codec::limits::Limits;
use kmip_codec::model::{KeyMaterial, KeyValue, Object};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::{Ttlv, Value};
use kmip_codec::version::ProtocolVersion;
use rand_core::CryptoRngCore;

use crate::asymmetric::{PrivateKey, PublicKey};
use crate::error::{Parameter, WrapError};
use crate::limits::{self, MAX_WRAP_INPUT_LEN};
use crate::rsa_oaep::{self, OaepParams};
use crate::{Error, Input, Result, SecretBytes};

/// Which bytes a wrap covers (KMIP Encoding Option).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrapEncoding {
    /// The TTLV-encoded Key Value structure (the default).
    Ttlv,
    /// The Key Material Byte String alone.
    None,
}

impl WrapEncoding {
    /// The encoding a KMIP Encoding Option names; absent is TTLV.
    pub fn from_kmip(option: Option<EncodingOption>) -> Result<Self> {
        match option {
            None | Some(EncodingOption::TTLV_ENCODING) => Ok(Self::Ttlv),
            Some(EncodingOption::NO_ENCODING) => Ok(Self::None),
            Some(other) => Err(Error::Unsupported {
                parameter: Parameter::EncodingOption,
                value: other.0,
            }),
        }
    }
}

/// The bytes to wrap for `key_value` (see the module documentation), in the TTLV of `version`.
pub fn bytes_to_wrap(
    encoding: WrapEncoding,
    key_value: &KeyValue,
    version: ProtocolVersion,
) -> Result<SecretBytes> {
    let out = match (encoding, key_value) {
        (_, KeyValue::Wrapped(_)) => return Err(WrapError::NoKeyValue.into()),
        (
            WrapEncoding::None,
            KeyValue::Plain {
                key_material: KeyMaterial::Bytes(b),
                attributes,
            },
        ) if attributes.is_empty() => SecretBytes::new(b.to_vec()),
        (WrapEncoding::None, KeyValue::Plain { .. }) => {
            return Err(WrapError::NotAByteString.into());
        }
        (WrapEncoding::Ttlv, plain) => {
            SecretBytes::new(kmip_codec::ttlv::encode::encode(&plain.to_ttlv(version)))
        }
    };
    limits::check(Input::WrapInput, out.len(), MAX_WRAP_INPUT_LEN)?;
    Ok(out)
}

/// The Key Value that unwrapped bytes stand for: for TTLV, the decoded Key Value structure
/// (its Key Material read as `format` names, the Key Block's Key Format Type); for No
/// Encoding, the bytes as Byte String Key Material.
pub fn unwrapped_key_value(
    encoding: WrapEncoding,
    plaintext: SecretBytes,
    format: KeyFormatType,
    version: ProtocolVersion,
) -> Result<KeyValue> {
    match encoding {
        WrapEncoding::None => Ok(KeyValue::Plain {
            key_material: KeyMaterial::Bytes(plaintext.into_kmip()),
            attributes: kmip_codec::model::Attributes::new(),
        }),
        WrapEncoding::Ttlv => {
            let limits = Limits::DEFAULT.with_max_message_size(MAX_WRAP_INPUT_LEN);
            let item = kmip_codec::ttlv::decode::decode(plaintext.as_slice(), &limits)
                .map_err(|_| Error::from(WrapError::NotAKeyValue))?;
            if item.tag != Tag::KEY_VALUE || !matches!(item.value, Value::Structure(_)) {
                return Err(WrapError::NotAKeyValue.into());
            }
            // The codec reads a Key Value only inside a Key Block (its Key Format Type says how
            // to read the Key Material): wrap it in one and read that.
            let block = Ttlv::structure(
                Tag::KEY_BLOCK,
                vec![
                    Ttlv::new(Tag::KEY_FORMAT_TYPE, Value::Enumeration(format.0)),
                    item,
                ],
            );
            let object = Ttlv::structure(Tag::SYMMETRIC_KEY, vec![block]);
            match Object::decode(&object, version) {
                Ok(Object::SymmetricKey(k)) => k
                    .key_block
                    .key_value
                    .ok_or_else(|| WrapError::NotAKeyValue.into()),
                _ => Err(WrapError::NotAKeyValue.into()),
            }
        }
    }
}

fn check_kek(kek: &[u8]) -> Result<()> {
    if ![16, 24, 32].contains(&kek.len()) {
        return Err(Error::BadLength {
            what: Input::SymmetricKey,
            len: kek.len(),
        });
    }
    Ok(())
}

macro_rules! with_kek {
    ($kek:expr, |$k:ident| $body:expr) => {
        match $kek.len() {
            16 => {
                let $k = aes_kw::KekAes128::new($kek.into());
                $body
            }
            24 => {
                let $k = aes_kw::KekAes192::new($kek.into());
                $body
            }
            _ => {
                let $k = aes_kw::KekAes256::new($kek.into());
                $body
            }
        }
    };
}

/// AES Key Wrap (RFC 3394): `data` is 16 bytes or more, a multiple of 8.
pub fn aes_key_wrap(kek: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    check_kek(kek)?;
    limits::check(Input::WrapInput, data.len(), MAX_WRAP_INPUT_LEN)?;
    if data.len() < 16 || !data.len().is_multiple_of(8) {
        return Err(Error::BadLength {
            what: Input::WrapInput,
            len: data.len(),
        });
    }
    with_kek!(kek, |k| k.wrap_vec(data)).map_err(|_| Error::BadLength {
        what: Input::WrapInput,
        len: data.len(),
    })
}

/// AES Key Unwrap (RFC 3394). An integrity failure is [`Error::DecryptionFailed`].
pub fn aes_key_unwrap(kek: &[u8], wrapped: &[u8]) -> Result<SecretBytes> {
    check_kek(kek)?;
    limits::check(Input::Wrapped, wrapped.len(), MAX_WRAP_INPUT_LEN + 8)?;
    if wrapped.len() < 24 || !wrapped.len().is_multiple_of(8) {
        return Err(Error::BadLength {
            what: Input::Wrapped,
            len: wrapped.len(),
        });
    }
    let mut out = SecretBytes::new(vec![0u8; wrapped.len() - 8]);
    with_kek!(kek, |k| k.unwrap(wrapped, out.as_mut_slice()))
        .map_err(|_| Error::DecryptionFailed)?;
    Ok(out)
}

/// AES Key Wrap with Padding (RFC 5649): `data` is 1 byte or more.
pub fn aes_key_wrap_padded(kek: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    check_kek(kek)?;
    limits::check(Input::WrapInput, data.len(), MAX_WRAP_INPUT_LEN)?;
    if data.is_empty() {
        return Err(Error::BadLength {
            what: Input::WrapInput,
            len: 0,
        });
    }
    with_kek!(kek, |k| k.wrap_with_padding_vec(data)).map_err(|_| Error::BadLength {
        what: Input::WrapInput,
        len: data.len(),
    })
}

/// AES Key Unwrap with Padding (RFC 5649). An integrity or padding failure is
/// [`Error::DecryptionFailed`].
pub fn aes_key_unwrap_padded(kek: &[u8], wrapped: &[u8]) -> Result<SecretBytes> {
    check_kek(kek)?;
    limits::check(Input::Wrapped, wrapped.len(), MAX_WRAP_INPUT_LEN + 16)?;
    if wrapped.len() < 16 || !wrapped.len().is_multiple_of(8) {
        return Err(Error::BadLength {
            what: Input::Wrapped,
            len: wrapped.len(),
        });
    }
    let mut out = SecretBytes::new(vec![0u8; wrapped.len() - 8]);
    let len = with_kek!(kek, |k| k
        .unwrap_with_padding(wrapped, out.as_mut_slice())
        .map(<[u8]>::len))
    .map_err(|_| Error::DecryptionFailed)?;
    out.truncate(len);
    Ok(out)
}

/// RSA-OAEP wrapping of `data` to `key` (KMIP Wrapping Method Encrypt with an RSA public key).
pub fn rsa_oaep_wrap(
    key: &PublicKey,
    params: &OaepParams,
    data: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>> {
    rsa_oaep::encrypt(key, params, data, rng)
}

/// RSA-OAEP unwrapping with `key`.
pub fn rsa_oaep_unwrap(
    key: &PrivateKey,
    params: &OaepParams,
    wrapped: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<SecretBytes> {
    rsa_oaep::decrypt(key, params, wrapped, rng)
}

#[cfg(test)]
#[path = "wrap_tests.rs"]
mod tests;
