//! Asymmetric keys: RSA (2048 to 8192 bits) and EC on P-256 and P-384, from RustCrypto `rsa`,
//! `p256` and `p384`. Generation (RSA 2048 / 3072 / 4096, EC P-256 / P-384), the DER encodings
//! KMIP names (PKCS#1, PKCS#8, SEC1 ECPrivateKey, SubjectPublicKeyInfo = Key Format Type
//! X.509) and the KMIP Transparent structures, both ways; and the key facts the Cryptographic
//! Algorithm, Cryptographic Length and Recommended Curve attributes come from.
//!
//! Every key that enters is checked: an RSA modulus of [`RSA_MIN_BITS`]..=[`RSA_MAX_BITS`]
//! bits (measured on the encoding, before any bignum work), an odd public exponent of 3 to
//! 2^33 - 1, a private key whose primes multiply to the modulus and whose exponents invert each
//! other; an EC point on its curve, a scalar in 1..n, a public key in a SEC1 private key that
//! matches it. DER is strict (no BER, no trailing bytes).
//!
//! [`RSA_MIN_BITS`]: crate::limits::RSA_MIN_BITS
//! [`RSA_MAX_BITS`]: crate::limits::RSA_MAX_BITS

mod der;
mod transparent;

use std::fmt;

use kmip_codec::enums::{CryptographicAlgorithm, RecommendedCurve};
use rand_core::CryptoRngCore;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};

use crate::error::{KeyError, KeyKind, Parameter};
use crate::limits::{RSA_GENERATE_BITS, RSA_GENERATE_EXPONENT};
use crate::{Error, Result};

pub use self::der::{PrivateKeyFormat, PublicKeyFormat};

/// An elliptic curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
}

impl Curve {
    /// The curve a KMIP Recommended Curve names.
    pub fn from_kmip(value: RecommendedCurve) -> Result<Self> {
        match value {
            RecommendedCurve::P_256 => Ok(Self::P256),
            RecommendedCurve::P_384 => Ok(Self::P384),
            other => Err(Error::Unsupported {
                parameter: Parameter::RecommendedCurve,
                value: other.0,
            }),
        }
    }

    /// The KMIP Recommended Curve.
    pub fn to_kmip(self) -> RecommendedCurve {
        match self {
            Self::P256 => RecommendedCurve::P_256,
            Self::P384 => RecommendedCurve::P_384,
        }
    }

    /// The size of the curve's order in bits (KMIP Cryptographic Length of its keys).
    pub fn bits(self) -> usize {
        match self {
            Self::P256 => 256,
            Self::P384 => 384,
        }
    }

    /// The length of a scalar or coordinate in bytes.
    pub(crate) fn field_len(self) -> usize {
        self.bits() / 8
    }
}

/// Which kind of algorithm a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA.
    Rsa,
    /// Elliptic curve (ECDSA).
    Ec,
}

/// What a key is: the source of the KMIP attributes Cryptographic Algorithm, Cryptographic
/// Length and (for EC) Recommended Curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyFacts {
    /// The algorithm.
    pub algorithm: KeyAlgorithm,
    /// RSA modulus size or curve size, in bits.
    pub bits: usize,
    /// The curve, for EC keys.
    pub curve: Option<Curve>,
}

impl KeyFacts {
    /// KMIP Cryptographic Algorithm: RSA or EC.
    pub fn cryptographic_algorithm(&self) -> CryptographicAlgorithm {
        match self.algorithm {
            KeyAlgorithm::Rsa => CryptographicAlgorithm::RSA,
            KeyAlgorithm::Ec => CryptographicAlgorithm::EC,
        }
    }

    /// KMIP Cryptographic Length, in bits.
    pub fn cryptographic_length(&self) -> i32 {
        i32::try_from(self.bits).unwrap_or(i32::MAX)
    }

    /// KMIP Recommended Curve, for EC keys.
    pub fn recommended_curve(&self) -> Option<RecommendedCurve> {
        self.curve.map(Curve::to_kmip)
    }
}

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpec {
    /// RSA with this modulus size: one of [`RSA_GENERATE_BITS`], public exponent
    /// [`RSA_GENERATE_EXPONENT`].
    Rsa(usize),
    /// EC on this curve.
    Ec(Curve),
}

impl KeySpec {
    /// The key pair a KMIP Create Key Pair asks for: Cryptographic Algorithm RSA with a
    /// Cryptographic Length, or EC / ECDSA with a Recommended Curve (or, without one, a
    /// Cryptographic Length of 256 or 384).
    pub fn from_kmip(
        algorithm: CryptographicAlgorithm,
        length: Option<i32>,
        curve: Option<RecommendedCurve>,
    ) -> Result<Self> {
        match algorithm {
            CryptographicAlgorithm::RSA => {
                let bits = length.ok_or(Error::Missing(Parameter::CryptographicLength))?;
                let bits = usize::try_from(bits)
                    .map_err(|_| Error::Invalid(Parameter::CryptographicLength))?;
                Ok(Self::Rsa(bits))
            }
            CryptographicAlgorithm::EC | CryptographicAlgorithm::ECDSA => match (curve, length) {
                (Some(c), _) => Curve::from_kmip(c).map(Self::Ec),
                (None, Some(256)) => Ok(Self::Ec(Curve::P256)),
                (None, Some(384)) => Ok(Self::Ec(Curve::P384)),
                (None, Some(_)) => Err(Error::Invalid(Parameter::CryptographicLength)),
                (None, None) => Err(Error::Missing(Parameter::RecommendedCurve)),
            },
            other => Err(Error::Unsupported {
                parameter: Parameter::CryptographicAlgorithm,
                value: other.0,
            }),
        }
    }
}

#[derive(Clone)]
pub(crate) enum PrivateInner {
    Rsa(Box<RsaPrivateKey>),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PublicInner {
    Rsa(RsaPublicKey),
    P256(p256::PublicKey),
    P384(p384::PublicKey),
}

/// A private key. `Debug` shows its facts only; the key material leaves only through the
/// encoders, as [`crate::SecretBytes`] or zeroizing KMIP Key Material. Zeroized on drop (the
/// `rsa` and `elliptic-curve` types zeroize themselves).
#[derive(Clone)]
pub struct PrivateKey(pub(crate) PrivateInner);

/// A public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(pub(crate) PublicInner);

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("facts", &self.facts())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("facts", &self.facts())
            .finish()
    }
}

fn rsa_facts(n: &BigUint) -> KeyFacts {
    KeyFacts {
        algorithm: KeyAlgorithm::Rsa,
        bits: n.bits(),
        curve: None,
    }
}

fn ec_facts(curve: Curve) -> KeyFacts {
    KeyFacts {
        algorithm: KeyAlgorithm::Ec,
        bits: curve.bits(),
        curve: Some(curve),
    }
}

impl PrivateKey {
    /// Generates a key pair's private key with randomness from `rng` (see the crate
    /// documentation for the contract).
    pub fn generate(spec: KeySpec, rng: &mut impl CryptoRngCore) -> Result<Self> {
        Ok(Self(match spec {
            KeySpec::Rsa(bits) => {
                if !RSA_GENERATE_BITS.contains(&bits) {
                    return Err(KeyError::RsaSize { bits }.into());
                }
                let e = BigUint::from(RSA_GENERATE_EXPONENT);
                let key = RsaPrivateKey::new_with_exp(rng, bits, &e)
                    .map_err(|_| Error::from(KeyError::Inconsistent))?;
                PrivateInner::Rsa(Box::new(key))
            }
            KeySpec::Ec(Curve::P256) => PrivateInner::P256(p256::SecretKey::random(rng)),
            KeySpec::Ec(Curve::P384) => PrivateInner::P384(p384::SecretKey::random(rng)),
        }))
    }

    /// The key's facts.
    pub fn facts(&self) -> KeyFacts {
        match &self.0 {
            PrivateInner::Rsa(k) => rsa_facts(k.n()),
            PrivateInner::P256(_) => ec_facts(Curve::P256),
            PrivateInner::P384(_) => ec_facts(Curve::P384),
        }
    }

    /// What kind of key this is.
    pub fn kind(&self) -> KeyKind {
        match self.0 {
            PrivateInner::Rsa(_) => KeyKind::RsaPrivate,
            PrivateInner::P256(_) | PrivateInner::P384(_) => KeyKind::EcPrivate,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(match &self.0 {
            PrivateInner::Rsa(k) => PublicInner::Rsa(k.to_public_key()),
            PrivateInner::P256(k) => PublicInner::P256(k.public_key()),
            PrivateInner::P384(k) => PublicInner::P384(k.public_key()),
        })
    }

    /// The RSA key, or [`Error::WrongKeyType`].
    pub(crate) fn rsa(&self) -> Result<&RsaPrivateKey> {
        match &self.0 {
            PrivateInner::Rsa(k) => Ok(k),
            PrivateInner::P256(_) | PrivateInner::P384(_) => Err(Error::WrongKeyType {
                expected: KeyKind::RsaPrivate,
                actual: self.kind(),
            }),
        }
    }
}

impl PublicKey {
    /// The key's facts.
    pub fn facts(&self) -> KeyFacts {
        match &self.0 {
            PublicInner::Rsa(k) => rsa_facts(k.n()),
            PublicInner::P256(_) => ec_facts(Curve::P256),
            PublicInner::P384(_) => ec_facts(Curve::P384),
        }
    }

    /// What kind of key this is.
    pub fn kind(&self) -> KeyKind {
        match self.0 {
            PublicInner::Rsa(_) => KeyKind::RsaPublic,
            PublicInner::P256(_) | PublicInner::P384(_) => KeyKind::EcPublic,
        }
    }

    /// The RSA key, or [`Error::WrongKeyType`].
    pub(crate) fn rsa(&self) -> Result<&RsaPublicKey> {
        match &self.0 {
            PublicInner::Rsa(k) => Ok(k),
            PublicInner::P256(_) | PublicInner::P384(_) => Err(Error::WrongKeyType {
                expected: KeyKind::RsaPublic,
                actual: self.kind(),
            }),
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
