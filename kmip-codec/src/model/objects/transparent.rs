//! The transparent key structures (KMIP 1.4 section 2.1.7, KMIP 2.1 sections 3.4-3.12): Key
//! Material given field by field instead of as one encoded Byte String. Which structure a Key
//! Material holds is named by the Key Block's Key Format Type.
//!
//! Every field is a [`Bytes`] (zeroizing, `Debug` shows only the length), public values
//! included: one type for all of them keeps a private value from ever landing in a plain
//! vector by mistake.

use crate::enums::{KeyFormatType, RecommendedCurve};
use crate::error::{Error, ErrorKind, Result};
use crate::model::fields::{Fielded, Fields, Out};
use crate::tags::Tag;
use crate::ttlv::{Bytes, Ttlv, Value};

/// Transparent Symmetric Key (KMIP 1.4 section 2.1.7.1, KMIP 2.1 section 3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransparentSymmetricKey {
    /// Key.
    pub key: Bytes,
}

impl Fielded for TransparentSymmetricKey {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            key: f.req_bytes(Tag::KEY)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.bytes(Tag::KEY, &self.key);
    }
}

/// Transparent DSA Private Key (KMIP 1.4 section 2.1.7.2, KMIP 2.1 section 3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransparentDsaPrivateKey {
    /// P: the prime field order.
    pub p: Bytes,
    /// Q: the prime subgroup order.
    pub q: Bytes,
    /// G: the generator.
    pub g: Bytes,
    /// X: the private key.
    pub x: Bytes,
}

impl Fielded for TransparentDsaPrivateKey {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            p: f.req_big(Tag::P)?,
            q: f.req_big(Tag::Q)?,
            g: f.req_big(Tag::G)?,
            x: f.req_big(Tag::X)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.big(Tag::P, &self.p)
            .big(Tag::Q, &self.q)
            .big(Tag::G, &self.g)
            .big(Tag::X, &self.x);
    }
}

/// Transparent DSA Public Key (KMIP 1.4 section 2.1.7.3, KMIP 2.1 section 3.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransparentDsaPublicKey {
    /// P: the prime field order.
    pub p: Bytes,
    /// Q: the prime subgroup order.
    pub q: Bytes,
    /// G: the generator.
    pub g: Bytes,
    /// Y: the public key.
    pub y: Bytes,
}

impl Fielded for TransparentDsaPublicKey {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            p: f.req_big(Tag::P)?,
            q: f.req_big(Tag::Q)?,
            g: f.req_big(Tag::G)?,
            y: f.req_big(Tag::Y)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.big(Tag::P, &self.p)
            .big(Tag::Q, &self.q)
            .big(Tag::G, &self.g)
            .big(Tag::Y, &self.y);
    }
}

/// Transparent RSA Private Key (KMIP 1.4 section 2.1.7.4, KMIP 2.1 section 3.7). Only the
/// Modulus is required; a key is given either by its private exponent or by its CRT values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransparentRsaPrivateKey {
    /// Modulus (n).
    pub modulus: Bytes,
    /// Private Exponent (d).
    pub private_exponent: Option<Bytes>,
    /// Public Exponent (e).
    pub public_exponent: Option<Bytes>,
    /// P, the first prime factor.
    pub p: Option<Bytes>,
    /// Q, the second prime factor.
    pub q: Option<Bytes>,
    /// Prime Exponent P (dP).
    pub prime_exponent_p: Option<Bytes>,
    /// Prime Exponent Q (dQ).
    pub prime_exponent_q: Option<Bytes>,
    /// CRT Coefficient (qInv).
    pub crt_coefficient: Option<Bytes>,
}

impl Fielded for TransparentRsaPrivateKey {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            modulus: f.req_big(Tag::MODULUS)?,
            private_exponent: f.opt_big(Tag::PRIVATE_EXPONENT)?,
            public_exponent: f.opt_big(Tag::PUBLIC_EXPONENT)?,
            p: f.opt_big(Tag::P)?,
            q: f.opt_big(Tag::Q)?,
            prime_exponent_p: f.opt_big(Tag::PRIME_EXPONENT_P)?,
            prime_exponent_q: f.opt_big(Tag::PRIME_EXPONENT_Q)?,
            crt_coefficient: f.opt_big(Tag::CRT_COEFFICIENT)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.big(Tag::MODULUS, &self.modulus)
            .opt_big(Tag::PRIVATE_EXPONENT, self.private_exponent.as_ref())
            .opt_big(Tag::PUBLIC_EXPONENT, self.public_exponent.as_ref())
            .opt_big(Tag::P, self.p.as_ref())
            .opt_big(Tag::Q, self.q.as_ref())
            .opt_big(Tag::PRIME_EXPONENT_P, self.prime_exponent_p.as_ref())
            .opt_big(Tag::PRIME_EXPONENT_Q, self.prime_exponent_q.as_ref())
            .opt_big(Tag::CRT_COEFFICIENT, self.crt_coefficient.as_ref());
    }
}

/// Transparent RSA Public Key (KMIP 1.4 section 2.1.7.5, KMIP 2.1 section 3.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransparentRsaPublicKey {
    /// Modulus (n).
    pub modulus: Bytes,
    /// Public Exponent (e).
    pub public_exponent: Bytes,
}

impl Fielded for TransparentRsaPublicKey {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            modulus: f.req_big(Tag::MODULUS)?,
            public_exponent: f.req_big(Tag::PUBLIC_EXPONENT)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.big(Tag::MODULUS, &self.modulus)
            .big(Tag::PUBLIC_EXPONENT, &self.public_exponent);
    }
}

/// Transparent DH Private Key (KMIP 1.4 section 2.1.7.6, KMIP 2.1 section 3.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransparentDhPrivateKey {
    /// P: the prime field order.
    pub p: Bytes,
    /// Q: the prime subgroup order.
    pub q: Option<Bytes>,
    /// G: the generator.
    pub g: Bytes,
    /// J: the cofactor.
    pub j: Option<Bytes>,
    /// X: the private key.
    pub x: Bytes,
}

impl Fielded for TransparentDhPrivateKey {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            p: f.req_big(Tag::P)?,
            q: f.opt_big(Tag::Q)?,
            g: f.req_big(Tag::G)?,
            j: f.opt_big(Tag::J)?,
            x: f.req_big(Tag::X)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.big(Tag::P, &self.p)
            .opt_big(Tag::Q, self.q.as_ref())
            .big(Tag::G, &self.g)
            .opt_big(Tag::J, self.j.as_ref())
            .big(Tag::X, &self.x);
    }
}

/// Transparent DH Public Key (KMIP 1.4 section 2.1.7.7, KMIP 2.1 section 3.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransparentDhPublicKey {
    /// P: the prime field order.
    pub p: Bytes,
    /// Q: the prime subgroup order.
    pub q: Option<Bytes>,
    /// G: the generator.
    pub g: Bytes,
    /// J: the cofactor.
    pub j: Option<Bytes>,
    /// Y: the public key.
    pub y: Bytes,
}

impl Fielded for TransparentDhPublicKey {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            p: f.req_big(Tag::P)?,
            q: f.opt_big(Tag::Q)?,
            g: f.req_big(Tag::G)?,
            j: f.opt_big(Tag::J)?,
            y: f.req_big(Tag::Y)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.big(Tag::P, &self.p)
            .opt_big(Tag::Q, self.q.as_ref())
            .big(Tag::G, &self.g)
            .opt_big(Tag::J, self.j.as_ref())
            .big(Tag::Y, &self.y);
    }
}

/// Transparent EC Private Key (KMIP 1.4 section 2.1.7.14, KMIP 2.1 section 3.11), and the
/// 1.x-only Transparent ECDSA / ECDH / ECMQV Private Keys of the same shape (KMIP 1.4 sections
/// 2.1.7.8, 2.1.7.10, 2.1.7.12; withdrawn in 2.0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransparentEcPrivateKey {
    /// Recommended Curve.
    pub recommended_curve: RecommendedCurve,
    /// D: the private key.
    pub d: Bytes,
}

impl Fielded for TransparentEcPrivateKey {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            recommended_curve: RecommendedCurve(f.req_enum(Tag::RECOMMENDED_CURVE)?),
            d: f.req_big(Tag::D)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.enumeration(Tag::RECOMMENDED_CURVE, self.recommended_curve.0)
            .big(Tag::D, &self.d);
    }
}

/// Transparent EC Public Key (KMIP 1.4 section 2.1.7.15, KMIP 2.1 section 3.12), and the
/// 1.x-only Transparent ECDSA / ECDH / ECMQV Public Keys of the same shape (KMIP 1.4 sections
/// 2.1.7.9, 2.1.7.11, 2.1.7.13).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransparentEcPublicKey {
    /// Recommended Curve.
    pub recommended_curve: RecommendedCurve,
    /// Q String: the public point, a Byte String.
    pub q_string: Bytes,
}

impl Fielded for TransparentEcPublicKey {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            recommended_curve: RecommendedCurve(f.req_enum(Tag::RECOMMENDED_CURVE)?),
            q_string: f.req_bytes(Tag::Q_STRING)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.enumeration(Tag::RECOMMENDED_CURVE, self.recommended_curve.0)
            .bytes(Tag::Q_STRING, &self.q_string);
    }
}

/// A transparent Key Material structure, by the shape its Key Format Type names (KMIP 1.4
/// section 2.1.7, KMIP 2.1 sections 3.4-3.12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransparentKey {
    /// Transparent Symmetric Key.
    Symmetric(TransparentSymmetricKey),
    /// Transparent DSA Private Key.
    DsaPrivate(TransparentDsaPrivateKey),
    /// Transparent DSA Public Key.
    DsaPublic(TransparentDsaPublicKey),
    /// Transparent RSA Private Key.
    RsaPrivate(Box<TransparentRsaPrivateKey>),
    /// Transparent RSA Public Key.
    RsaPublic(TransparentRsaPublicKey),
    /// Transparent DH Private Key.
    DhPrivate(TransparentDhPrivateKey),
    /// Transparent DH Public Key.
    DhPublic(TransparentDhPublicKey),
    /// Transparent EC (or 1.x ECDSA / ECDH / ECMQV) Private Key.
    EcPrivate(TransparentEcPrivateKey),
    /// Transparent EC (or 1.x ECDSA / ECDH / ECMQV) Public Key.
    EcPublic(TransparentEcPublicKey),
}

/// The shapes, by Key Format Type.
#[derive(Clone, Copy)]
enum Shape {
    Symmetric,
    DsaPrivate,
    DsaPublic,
    RsaPrivate,
    RsaPublic,
    DhPrivate,
    DhPublic,
    EcPrivate,
    EcPublic,
}

fn shape(format: KeyFormatType) -> Option<Shape> {
    Some(match format {
        KeyFormatType::TRANSPARENT_SYMMETRIC_KEY => Shape::Symmetric,
        KeyFormatType::TRANSPARENT_DSA_PRIVATE_KEY => Shape::DsaPrivate,
        KeyFormatType::TRANSPARENT_DSA_PUBLIC_KEY => Shape::DsaPublic,
        KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY => Shape::RsaPrivate,
        KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY => Shape::RsaPublic,
        KeyFormatType::TRANSPARENT_DH_PRIVATE_KEY => Shape::DhPrivate,
        KeyFormatType::TRANSPARENT_DH_PUBLIC_KEY => Shape::DhPublic,
        KeyFormatType::TRANSPARENT_EC_PRIVATE_KEY
        | KeyFormatType::TRANSPARENT_ECDSA_PRIVATE_KEY
        | KeyFormatType::TRANSPARENT_ECDH_PRIVATE_KEY
        | KeyFormatType::TRANSPARENT_ECMQV_PRIVATE_KEY => Shape::EcPrivate,
        KeyFormatType::TRANSPARENT_EC_PUBLIC_KEY
        | KeyFormatType::TRANSPARENT_ECDSA_PUBLIC_KEY
        | KeyFormatType::TRANSPARENT_ECDH_PUBLIC_KEY
        | KeyFormatType::TRANSPARENT_ECMQV_PUBLIC_KEY => Shape::EcPublic,
        _ => return None,
    })
}

impl TransparentKey {
    /// True when `format` names a transparent structure.
    pub fn is_transparent_format(format: KeyFormatType) -> bool {
        shape(format).is_some()
    }

    /// Decodes the Key Material item `item` as the structure `format` names; `None` when the
    /// format has none (a Byte String format, or a vendor format whose structure this crate
    /// does not know). A Byte String where `format` wants a structure is an error.
    pub(crate) fn decode(item: &Ttlv, format: KeyFormatType) -> Result<Option<Self>> {
        let Some(shape) = shape(format) else {
            return Ok(None);
        };
        if !matches!(item.value, Value::Structure(_)) {
            return Err(Error::new(ErrorKind::InvalidValue {
                tag: Tag::KEY_MATERIAL,
                reason: "a transparent Key Format Type needs a structure",
            }));
        }
        Ok(Some(match shape {
            Shape::Symmetric => Self::Symmetric(TransparentSymmetricKey::decode(item)?),
            Shape::DsaPrivate => Self::DsaPrivate(TransparentDsaPrivateKey::decode(item)?),
            Shape::DsaPublic => Self::DsaPublic(TransparentDsaPublicKey::decode(item)?),
            Shape::RsaPrivate => {
                Self::RsaPrivate(Box::new(TransparentRsaPrivateKey::decode(item)?))
            }
            Shape::RsaPublic => Self::RsaPublic(TransparentRsaPublicKey::decode(item)?),
            Shape::DhPrivate => Self::DhPrivate(TransparentDhPrivateKey::decode(item)?),
            Shape::DhPublic => Self::DhPublic(TransparentDhPublicKey::decode(item)?),
            Shape::EcPrivate => Self::EcPrivate(TransparentEcPrivateKey::decode(item)?),
            Shape::EcPublic => Self::EcPublic(TransparentEcPublicKey::decode(item)?),
        }))
    }

    /// The children of the Key Material structure.
    pub fn children(&self) -> Vec<Ttlv> {
        match self {
            Self::Symmetric(k) => k.children(),
            Self::DsaPrivate(k) => k.children(),
            Self::DsaPublic(k) => k.children(),
            Self::RsaPrivate(k) => k.children(),
            Self::RsaPublic(k) => k.children(),
            Self::DhPrivate(k) => k.children(),
            Self::DhPublic(k) => k.children(),
            Self::EcPrivate(k) => k.children(),
            Self::EcPublic(k) => k.children(),
        }
    }
}
