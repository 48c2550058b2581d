//! KMIP Key Material <-> keys: the Byte String formats (PKCS#1, PKCS#8, ECPrivateKey, X.509)
//! and the Transparent RSA / EC structures (KMIP 1.4 sections 2.1.7.4-2.1.7.5 and
//! 2.1.7.14-2.1.7.15; KMIP 2.1 sections 3.7, 3.8, 3.11, 3.12), as `kmip_codec` types them.
//!
//! KMIP Big Integers are two's complement: a value read may carry leading zero bytes (the
//! OASIS vectors pad to 8 bytes) and must not be negative; a value written gets one leading
//! zero byte when its top bit is set, so the codec does not sign-extend it into a negative one.

use kmip_codec::enums::KeyFormatType;
use kmip_codec::model::{
    KeyMaterial, TransparentEcPrivateKey, TransparentEcPublicKey, TransparentKey,
    TransparentRsaPrivateKey, TransparentRsaPublicKey,
};
use kmip_codec::ttlv::Bytes;
use rsa::traits::PublicKeyParts;
use subtle::ConstantTimeEq;

use super::der::{check_modulus, ec_point, magnitude, rsa_parts, rsa_private, rsa_public};
use super::{
    Curve, PrivateInner, PrivateKey, PrivateKeyFormat, PublicInner, PublicKey, PublicKeyFormat,
};
use crate::error::{Encoding, KeyError};
use crate::limits::MAX_KEY_DER_LEN;
use crate::{Error, Result};

fn malformed() -> Error {
    KeyError::Malformed(Encoding::Transparent).into()
}

/// A KMIP Big Integer as an unsigned magnitude; negative values are refused.
fn unsigned(b: &Bytes) -> Result<&[u8]> {
    if b.first().is_some_and(|&top| top & 0x80 != 0) {
        return Err(KeyError::Negative.into());
    }
    if b.len() > MAX_KEY_DER_LEN {
        return Err(malformed());
    }
    Ok(magnitude(b))
}

/// An unsigned magnitude as a KMIP Big Integer.
fn big(magnitude: &[u8]) -> Bytes {
    let mut v = Vec::with_capacity(magnitude.len() + 1);
    if magnitude.first().is_none_or(|&top| top & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(magnitude);
    Bytes::new(v)
}

/// The Byte String of a Key Material, or an error naming the format.
fn byte_string(format: KeyFormatType, material: &KeyMaterial) -> Result<&[u8]> {
    match material {
        KeyMaterial::Bytes(b) => Ok(b),
        KeyMaterial::TransparentSymmetricKey(_) | KeyMaterial::Structure(_) => {
            Err(KeyError::Format(format.0).into())
        }
    }
}

fn transparent(format: KeyFormatType, material: &KeyMaterial) -> Result<TransparentKey> {
    material
        .transparent(format)
        .map_err(|_| malformed())?
        .ok_or_else(|| KeyError::Format(format.0).into())
}

fn is_ec_private_format(f: KeyFormatType) -> bool {
    matches!(
        f,
        KeyFormatType::TRANSPARENT_EC_PRIVATE_KEY
            | KeyFormatType::TRANSPARENT_ECDSA_PRIVATE_KEY
            | KeyFormatType::TRANSPARENT_ECDH_PRIVATE_KEY
            | KeyFormatType::TRANSPARENT_ECMQV_PRIVATE_KEY
    )
}

fn is_ec_public_format(f: KeyFormatType) -> bool {
    matches!(
        f,
        KeyFormatType::TRANSPARENT_EC_PUBLIC_KEY
            | KeyFormatType::TRANSPARENT_ECDSA_PUBLIC_KEY
            | KeyFormatType::TRANSPARENT_ECDH_PUBLIC_KEY
            | KeyFormatType::TRANSPARENT_ECMQV_PUBLIC_KEY
    )
}

impl PrivateKey {
    /// Reads the Key Material of a Private Key's Key Block, in the Key Format Type the block
    /// names: PKCS#1, PKCS#8, ECPrivateKey, Transparent RSA Private Key or Transparent EC (1.x:
    /// ECDSA / ECDH / ECMQV) Private Key.
    pub fn from_kmip(format: KeyFormatType, material: &KeyMaterial) -> Result<Self> {
        match format {
            KeyFormatType::PKCS1 => {
                Self::from_der(PrivateKeyFormat::Pkcs1, byte_string(format, material)?)
            }
            KeyFormatType::PKCS8 => {
                Self::from_der(PrivateKeyFormat::Pkcs8, byte_string(format, material)?)
            }
            KeyFormatType::ECPRIVATEKEY => {
                Self::from_der(PrivateKeyFormat::Sec1, byte_string(format, material)?)
            }
            KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY => match transparent(format, material)? {
                TransparentKey::RsaPrivate(k) => Self::from_transparent_rsa(&k),
                _ => Err(malformed()),
            },
            f if is_ec_private_format(f) => match transparent(format, material)? {
                TransparentKey::EcPrivate(k) => Self::from_transparent_ec(&k),
                _ => Err(malformed()),
            },
            other => Err(KeyError::Format(other.0).into()),
        }
    }

    /// The Key Material for a Get in `format` (the formats [`PrivateKey::from_kmip`] reads).
    pub fn to_kmip(&self, format: KeyFormatType) -> Result<KeyMaterial> {
        let der =
            |f| -> Result<KeyMaterial> { Ok(KeyMaterial::Bytes(self.to_der(f)?.into_kmip())) };
        match format {
            KeyFormatType::PKCS1 => der(PrivateKeyFormat::Pkcs1),
            KeyFormatType::PKCS8 => der(PrivateKeyFormat::Pkcs8),
            KeyFormatType::ECPRIVATEKEY => der(PrivateKeyFormat::Sec1),
            KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY => {
                let PrivateInner::Rsa(k) = &self.0 else {
                    return Err(KeyError::Format(format.0).into());
                };
                let [n, e, d, p, q, dp, dq, qinv] = rsa_parts(k)?;
                let t = TransparentRsaPrivateKey {
                    modulus: big(n.as_slice()),
                    private_exponent: Some(big(d.as_slice())),
                    public_exponent: Some(big(e.as_slice())),
                    p: Some(big(p.as_slice())),
                    q: Some(big(q.as_slice())),
                    prime_exponent_p: Some(big(dp.as_slice())),
                    prime_exponent_q: Some(big(dq.as_slice())),
                    crt_coefficient: Some(big(qinv.as_slice())),
                };
                Ok(KeyMaterial::from_transparent(&TransparentKey::RsaPrivate(
                    Box::new(t),
                )))
            }
            f if is_ec_private_format(f) => {
                let (curve, d) = match &self.0 {
                    PrivateInner::P256(k) => {
                        (Curve::P256, crate::SecretBytes::new(k.to_bytes().to_vec()))
                    }
                    PrivateInner::P384(k) => {
                        (Curve::P384, crate::SecretBytes::new(k.to_bytes().to_vec()))
                    }
                    PrivateInner::Rsa(_) => return Err(KeyError::Format(format.0).into()),
                };
                let t = TransparentEcPrivateKey {
                    recommended_curve: curve.to_kmip(),
                    d: big(magnitude(d.as_slice())),
                };
                Ok(KeyMaterial::from_transparent(&TransparentKey::EcPrivate(t)))
            }
            other => Err(KeyError::Format(other.0).into()),
        }
    }

    /// A Transparent RSA Private Key: the Modulus and Public Exponent, with the Private
    /// Exponent and/or the primes P and Q. CRT values, when given, must match the key.
    pub fn from_transparent_rsa(t: &TransparentRsaPrivateKey) -> Result<Self> {
        let n = unsigned(&t.modulus)?;
        check_modulus(n)?;
        let e = unsigned(t.public_exponent.as_ref().ok_or_else(malformed)?)?;
        let key = rsa_from_parts(n, e, t)?;
        // Given CRT values must be the key's (checked without early exit on the secret bytes).
        let [_, _, _, _, _, dp, dq, qinv] = rsa_parts(&key)?;
        let mut same = subtle::Choice::from(1u8);
        for (given, ours) in [
            (&t.prime_exponent_p, &dp),
            (&t.prime_exponent_q, &dq),
            (&t.crt_coefficient, &qinv),
        ] {
            if let Some(g) = given {
                same &= unsigned(g)?.ct_eq(ours.as_slice());
            }
        }
        if !bool::from(same) {
            return Err(KeyError::Inconsistent.into());
        }
        Ok(Self(PrivateInner::Rsa(Box::new(key))))
    }

    /// A Transparent EC Private Key: the curve and D; the public point is derived.
    pub fn from_transparent_ec(t: &TransparentEcPrivateKey) -> Result<Self> {
        let curve = Curve::from_kmip(t.recommended_curve)
            .map_err(|_| Error::from(KeyError::UnsupportedCurve))?;
        let d = unsigned(&t.d)?;
        if d.len() > curve.field_len() {
            return Err(KeyError::Inconsistent.into());
        }
        let mut scalar = crate::SecretBytes::new(vec![0u8; curve.field_len()]);
        let at = curve.field_len() - d.len();
        scalar.as_mut_slice()[at..].copy_from_slice(d);
        let bad = || Error::from(KeyError::Inconsistent);
        Ok(Self(match curve {
            Curve::P256 => PrivateInner::P256(
                p256::SecretKey::from_slice(scalar.as_slice()).map_err(|_| bad())?,
            ),
            Curve::P384 => PrivateInner::P384(
                p384::SecretKey::from_slice(scalar.as_slice()).map_err(|_| bad())?,
            ),
        }))
    }
}

fn rsa_from_parts(n: &[u8], e: &[u8], t: &TransparentRsaPrivateKey) -> Result<rsa::RsaPrivateKey> {
    let d = t.private_exponent.as_ref().map(unsigned).transpose()?;
    let p = t.p.as_ref().map(unsigned).transpose()?;
    let q = t.q.as_ref().map(unsigned).transpose()?;
    match (d, p, q) {
        (Some(d), Some(p), Some(q)) => rsa_private(n, e, d, &[p, q]),
        (Some(d), None, None) => rsa_private(n, e, d, &[]),
        (None, Some(p), Some(q)) => {
            // d from p and q: rebuild through `rsa`, then check n.
            let key = rsa::RsaPrivateKey::from_p_q(
                rsa::BigUint::from_bytes_be(p),
                rsa::BigUint::from_bytes_be(q),
                rsa::BigUint::from_bytes_be(e),
            )
            .map_err(|_| Error::from(KeyError::Inconsistent))?;
            if key.n().to_bytes_be() != n {
                return Err(KeyError::Inconsistent.into());
            }
            Ok(key)
        }
        _ => Err(malformed()),
    }
}

impl PublicKey {
    /// Reads the Key Material of a Public Key's Key Block: PKCS#1, X.509
    /// (SubjectPublicKeyInfo), Transparent RSA Public Key or Transparent EC (1.x: ECDSA / ECDH
    /// / ECMQV) Public Key.
    pub fn from_kmip(format: KeyFormatType, material: &KeyMaterial) -> Result<Self> {
        match format {
            KeyFormatType::PKCS1 => {
                Self::from_der(PublicKeyFormat::Pkcs1, byte_string(format, material)?)
            }
            KeyFormatType::X_509 => {
                Self::from_der(PublicKeyFormat::Spki, byte_string(format, material)?)
            }
            KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY => match transparent(format, material)? {
                TransparentKey::RsaPublic(k) => Self::from_transparent_rsa(&k),
                _ => Err(malformed()),
            },
            f if is_ec_public_format(f) => match transparent(format, material)? {
                TransparentKey::EcPublic(k) => Self::from_transparent_ec(&k),
                _ => Err(malformed()),
            },
            other => Err(KeyError::Format(other.0).into()),
        }
    }

    /// The Key Material for a Get in `format` (the formats [`PublicKey::from_kmip`] reads).
    pub fn to_kmip(&self, format: KeyFormatType) -> Result<KeyMaterial> {
        match format {
            KeyFormatType::PKCS1 => Ok(KeyMaterial::Bytes(Bytes::new(
                self.to_der(PublicKeyFormat::Pkcs1)?,
            ))),
            KeyFormatType::X_509 => Ok(KeyMaterial::Bytes(Bytes::new(
                self.to_der(PublicKeyFormat::Spki)?,
            ))),
            KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY => {
                let PublicInner::Rsa(k) = &self.0 else {
                    return Err(KeyError::Format(format.0).into());
                };
                let t = TransparentRsaPublicKey {
                    modulus: big(&k.n().to_bytes_be()),
                    public_exponent: big(&k.e().to_bytes_be()),
                };
                Ok(KeyMaterial::from_transparent(&TransparentKey::RsaPublic(t)))
            }
            f if is_ec_public_format(f) => {
                let (curve, point) = match &self.0 {
                    PublicInner::P256(k) => {
                        (Curve::P256, p256::EncodedPoint::from(k).as_bytes().to_vec())
                    }
                    PublicInner::P384(k) => {
                        (Curve::P384, p384::EncodedPoint::from(k).as_bytes().to_vec())
                    }
                    PublicInner::Rsa(_) => return Err(KeyError::Format(format.0).into()),
                };
                let t = TransparentEcPublicKey {
                    recommended_curve: curve.to_kmip(),
                    q_string: Bytes::new(point),
                };
                Ok(KeyMaterial::from_transparent(&TransparentKey::EcPublic(t)))
            }
            other => Err(KeyError::Format(other.0).into()),
        }
    }

    /// A Transparent RSA Public Key.
    pub fn from_transparent_rsa(t: &TransparentRsaPublicKey) -> Result<Self> {
        let n = unsigned(&t.modulus)?;
        let e = unsigned(&t.public_exponent)?;
        Ok(Self(PublicInner::Rsa(rsa_public(n, e)?)))
    }

    /// A Transparent EC Public Key: the curve and the Q String (a SEC1 point).
    pub fn from_transparent_ec(t: &TransparentEcPublicKey) -> Result<Self> {
        let curve = Curve::from_kmip(t.recommended_curve)
            .map_err(|_| Error::from(KeyError::UnsupportedCurve))?;
        Ok(Self(ec_point(curve, &t.q_string)?))
    }
}
