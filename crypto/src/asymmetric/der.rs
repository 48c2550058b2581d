//! The DER encodings of keys: PKCS#1 (RFC 8017 appendix A.1), PKCS#8 (RFC 5208), SEC1
//! ECPrivateKey (RFC 5915) and SubjectPublicKeyInfo (RFC 5280; KMIP Key Format Type X.509).
//! Parsing reads the outer structure first (so trailing bytes, the algorithm and the curve are
//! known before any key arithmetic), checks sizes, then builds the key.

use der::Decode;
use pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use pkcs8::{EncodePrivateKey, EncodePublicKey, ObjectIdentifier};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};

use super::{Curve, PrivateInner, PrivateKey, PublicInner, PublicKey};
use crate::error::{Encoding, KeyError};
use crate::limits::{self, MAX_KEY_DER_LEN, RSA_MAX_BITS, RSA_MIN_BITS};
use crate::{Error, Input, Result, SecretBytes};

/// rsaEncryption (RFC 8017 appendix A.1).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-ecPublicKey (RFC 5480 section 2.1.1).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 (RFC 5480 section 2.1.1.1).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1.
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// The encodings a private key is read from and written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivateKeyFormat {
    /// PKCS#1 RSAPrivateKey (KMIP Key Format Type PKCS#1). RSA only.
    Pkcs1,
    /// PKCS#8 PrivateKeyInfo, unencrypted (KMIP PKCS#8).
    Pkcs8,
    /// SEC1 ECPrivateKey with a named curve (KMIP ECPrivateKey). EC only.
    Sec1,
}

/// The encodings a public key is read from and written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicKeyFormat {
    /// PKCS#1 RSAPublicKey (KMIP Key Format Type PKCS#1). RSA only.
    Pkcs1,
    /// SubjectPublicKeyInfo (KMIP Key Format Type X.509).
    Spki,
}

/// The error for a failed DER decode: trailing data is told apart.
pub(super) fn der_error(encoding: Encoding, e: &der::Error) -> Error {
    match e.kind() {
        der::ErrorKind::TrailingData { .. } => KeyError::TrailingBytes(encoding).into(),
        _ => KeyError::Malformed(encoding).into(),
    }
}

/// The magnitude of a big-endian unsigned integer: without its leading zero bytes.
pub(super) fn magnitude(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The number of significant bits of a big-endian unsigned integer.
pub(super) fn bit_len(bytes: &[u8]) -> usize {
    let m = magnitude(bytes);
    match m.first() {
        None => 0,
        Some(&top) => 8 * (m.len() - 1) + (8 - top.leading_zeros() as usize),
    }
}

/// Checks an RSA modulus size, on its bytes, before any bignum is built.
pub(super) fn check_modulus(modulus: &[u8]) -> Result<()> {
    let bits = bit_len(modulus);
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(KeyError::RsaSize { bits }.into());
    }
    Ok(())
}

fn rsa_error(e: rsa::Error) -> Error {
    match e {
        rsa::Error::PublicExponentTooSmall
        | rsa::Error::PublicExponentTooLarge
        | rsa::Error::InvalidExponent => KeyError::RsaExponent.into(),
        rsa::Error::ModulusTooLarge => KeyError::RsaSize {
            bits: RSA_MAX_BITS + 1,
        }
        .into(),
        _ => KeyError::Inconsistent.into(),
    }
}

/// An RSA public key from its modulus and exponent bytes (big-endian, unsigned).
pub(super) fn rsa_public(n: &[u8], e: &[u8]) -> Result<RsaPublicKey> {
    check_modulus(n)?;
    // An exponent longer than 2^33 - 1 is refused by `rsa`; bound it before the bignum.
    if bit_len(e) > 33 {
        return Err(KeyError::RsaExponent.into());
    }
    RsaPublicKey::new_with_max_size(
        BigUint::from_bytes_be(n),
        BigUint::from_bytes_be(e),
        RSA_MAX_BITS,
    )
    .map_err(rsa_error)
}

/// An RSA private key from its components; `primes` empty recovers them from `d` (NIST SP
/// 800-56B Rev. 2 appendix C.2). The key is validated (the primes multiply to n, d inverts e
/// modulo each p - 1).
pub(super) fn rsa_private(n: &[u8], e: &[u8], d: &[u8], primes: &[&[u8]]) -> Result<RsaPrivateKey> {
    // Checks the modulus size and the exponent first.
    rsa_public(n, e)?;
    if bit_len(d) > bit_len(n) || primes.iter().any(|p| bit_len(p) > bit_len(n)) {
        return Err(KeyError::Inconsistent.into());
    }
    // The exponent and size are checked: whatever fails now is the parts disagreeing.
    let inconsistent = |_| Error::from(KeyError::Inconsistent);
    let mut key = RsaPrivateKey::from_components(
        BigUint::from_bytes_be(n),
        BigUint::from_bytes_be(e),
        BigUint::from_bytes_be(d),
        primes.iter().map(|p| BigUint::from_bytes_be(p)).collect(),
    )
    .map_err(inconsistent)?;
    key.validate().map_err(inconsistent)?;
    key.precompute().map_err(inconsistent)?;
    Ok(key)
}

fn rsa_from_pkcs1(der: &[u8]) -> Result<RsaPrivateKey> {
    let k = pkcs1::RsaPrivateKey::from_der(der).map_err(|e| der_error(Encoding::Pkcs1, &e))?;
    if k.version() != pkcs1::Version::TwoPrime || k.other_prime_infos.is_some() {
        return Err(KeyError::MultiPrime.into());
    }
    rsa_private(
        k.modulus.as_bytes(),
        k.public_exponent.as_bytes(),
        k.private_exponent.as_bytes(),
        &[k.prime1.as_bytes(), k.prime2.as_bytes()],
    )
}

fn rsa_public_from_pkcs1(der: &[u8]) -> Result<RsaPublicKey> {
    let k = pkcs1::RsaPublicKey::from_der(der).map_err(|e| der_error(Encoding::Pkcs1, &e))?;
    rsa_public(k.modulus.as_bytes(), k.public_exponent.as_bytes())
}

fn curve_of(oid: ObjectIdentifier) -> Result<Curve> {
    match oid {
        SECP256R1 => Ok(Curve::P256),
        SECP384R1 => Ok(Curve::P384),
        _ => Err(KeyError::UnsupportedCurve.into()),
    }
}

fn ec_from_sec1(der: &[u8], expected: Option<Curve>) -> Result<PrivateInner> {
    let k = sec1::EcPrivateKey::from_der(der).map_err(|e| der_error(Encoding::Sec1, &e))?;
    let named = k.parameters.and_then(|p| p.named_curve());
    let curve = match (named, expected) {
        (Some(oid), None) => curve_of(oid)?,
        (Some(oid), Some(c)) if curve_of(oid)? == c => c,
        (None, Some(c)) => c,
        // Parameters that disagree with the PKCS#8 algorithm, or no curve at all.
        (Some(_), Some(_)) => return Err(KeyError::Malformed(Encoding::Sec1).into()),
        (None, None) => return Err(KeyError::UnsupportedCurve.into()),
    };
    let sec1 = || Error::from(KeyError::Inconsistent);
    Ok(match curve {
        Curve::P256 => PrivateInner::P256(p256::SecretKey::try_from(k).map_err(|_| sec1())?),
        Curve::P384 => PrivateInner::P384(p384::SecretKey::try_from(k).map_err(|_| sec1())?),
    })
}

impl PrivateKey {
    /// Reads a private key (at most [`MAX_KEY_DER_LEN`] bytes of DER).
    pub fn from_der(format: PrivateKeyFormat, der: &[u8]) -> Result<Self> {
        limits::check(Input::KeyDer, der.len(), MAX_KEY_DER_LEN)?;
        Ok(Self(match format {
            PrivateKeyFormat::Pkcs1 => PrivateInner::Rsa(Box::new(rsa_from_pkcs1(der)?)),
            PrivateKeyFormat::Sec1 => ec_from_sec1(der, None)?,
            PrivateKeyFormat::Pkcs8 => {
                let info = pkcs8::PrivateKeyInfo::from_der(der)
                    .map_err(|e| der_error(Encoding::Pkcs8, &e))?;
                match info.algorithm.oid {
                    RSA_ENCRYPTION => {
                        PrivateInner::Rsa(Box::new(rsa_from_pkcs1(info.private_key)?))
                    }
                    EC_PUBLIC_KEY => {
                        let oid = info
                            .algorithm
                            .parameters_oid()
                            .map_err(|_| Error::from(KeyError::UnsupportedCurve))?;
                        ec_from_sec1(info.private_key, Some(curve_of(oid)?))?
                    }
                    _ => return Err(KeyError::UnsupportedAlgorithm.into()),
                }
            }
        }))
    }

    /// Writes the private key. PKCS#1 is for RSA keys and SEC1 for EC keys; both take PKCS#8.
    pub fn to_der(&self, format: PrivateKeyFormat) -> Result<SecretBytes> {
        let malformed = |e: Encoding| Error::from(KeyError::Malformed(e));
        let bytes = match (&self.0, format) {
            (PrivateInner::Rsa(k), PrivateKeyFormat::Pkcs1) => SecretBytes::new(
                k.to_pkcs1_der()
                    .map_err(|_| malformed(Encoding::Pkcs1))?
                    .as_bytes()
                    .to_vec(),
            ),
            (PrivateInner::Rsa(k), PrivateKeyFormat::Pkcs8) => SecretBytes::new(
                k.to_pkcs8_der()
                    .map_err(|_| malformed(Encoding::Pkcs8))?
                    .as_bytes()
                    .to_vec(),
            ),
            (PrivateInner::P256(k), PrivateKeyFormat::Pkcs8) => SecretBytes::new(
                k.to_pkcs8_der()
                    .map_err(|_| malformed(Encoding::Pkcs8))?
                    .as_bytes()
                    .to_vec(),
            ),
            (PrivateInner::P384(k), PrivateKeyFormat::Pkcs8) => SecretBytes::new(
                k.to_pkcs8_der()
                    .map_err(|_| malformed(Encoding::Pkcs8))?
                    .as_bytes()
                    .to_vec(),
            ),
            (PrivateInner::P256(k), PrivateKeyFormat::Sec1) => sec1_with_curve(
                &k.to_bytes(),
                SECP256R1,
                p256::EncodedPoint::from(k.public_key()).as_bytes(),
            )?,
            (PrivateInner::P384(k), PrivateKeyFormat::Sec1) => sec1_with_curve(
                &k.to_bytes(),
                SECP384R1,
                p384::EncodedPoint::from(k.public_key()).as_bytes(),
            )?,
            (PrivateInner::Rsa(_), PrivateKeyFormat::Sec1)
            | (PrivateInner::P256(_) | PrivateInner::P384(_), PrivateKeyFormat::Pkcs1) => {
                return Err(KeyError::Format(kmip_format(format)).into());
            }
        };
        Ok(bytes)
    }
}

/// A SEC1 ECPrivateKey that names its curve (RFC 5915 section 3: `elliptic-curve` leaves the
/// parameters out, which a standalone ECPrivateKey needs), with its public key.
fn sec1_with_curve(scalar: &[u8], curve: ObjectIdentifier, public: &[u8]) -> Result<SecretBytes> {
    use der::Encode;
    let key = sec1::EcPrivateKey {
        private_key: scalar,
        parameters: Some(sec1::EcParameters::NamedCurve(curve)),
        public_key: Some(public),
    };
    // `to_der` sizes the vector exactly first: no reallocation leaves a copy behind.
    key.to_der()
        .map(SecretBytes::new)
        .map_err(|_| KeyError::Malformed(Encoding::Sec1).into())
}

/// The KMIP Key Format Type of a private key format (for error values).
fn kmip_format(format: PrivateKeyFormat) -> u32 {
    use kmip_codec::enums::KeyFormatType;
    match format {
        PrivateKeyFormat::Pkcs1 => KeyFormatType::PKCS1.0,
        PrivateKeyFormat::Pkcs8 => KeyFormatType::PKCS8.0,
        PrivateKeyFormat::Sec1 => KeyFormatType::ECPRIVATEKEY.0,
    }
}

impl PublicKey {
    /// Reads a public key (at most [`MAX_KEY_DER_LEN`] bytes of DER).
    pub fn from_der(format: PublicKeyFormat, der: &[u8]) -> Result<Self> {
        limits::check(Input::KeyDer, der.len(), MAX_KEY_DER_LEN)?;
        Ok(Self(match format {
            PublicKeyFormat::Pkcs1 => PublicInner::Rsa(rsa_public_from_pkcs1(der)?),
            PublicKeyFormat::Spki => {
                let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
                    .map_err(|e| der_error(Encoding::Spki, &e))?;
                let key = spki
                    .subject_public_key
                    .as_bytes()
                    .ok_or(KeyError::Malformed(Encoding::Spki))?;
                match spki.algorithm.oid {
                    RSA_ENCRYPTION => PublicInner::Rsa(rsa_public_from_pkcs1(key)?),
                    EC_PUBLIC_KEY => {
                        let oid = spki
                            .algorithm
                            .parameters_oid()
                            .map_err(|_| Error::from(KeyError::UnsupportedCurve))?;
                        ec_point(curve_of(oid)?, key)?
                    }
                    _ => return Err(KeyError::UnsupportedAlgorithm.into()),
                }
            }
        }))
    }

    /// Writes the public key. PKCS#1 is for RSA keys; both kinds take SubjectPublicKeyInfo.
    pub fn to_der(&self, format: PublicKeyFormat) -> Result<Vec<u8>> {
        let malformed = |e: Encoding| Error::from(KeyError::Malformed(e));
        match (&self.0, format) {
            (PublicInner::Rsa(k), PublicKeyFormat::Pkcs1) => Ok(k
                .to_pkcs1_der()
                .map_err(|_| malformed(Encoding::Pkcs1))?
                .into_vec()),
            (PublicInner::Rsa(k), PublicKeyFormat::Spki) => Ok(k
                .to_public_key_der()
                .map_err(|_| malformed(Encoding::Spki))?
                .into_vec()),
            (PublicInner::P256(k), PublicKeyFormat::Spki) => Ok(k
                .to_public_key_der()
                .map_err(|_| malformed(Encoding::Spki))?
                .into_vec()),
            (PublicInner::P384(k), PublicKeyFormat::Spki) => Ok(k
                .to_public_key_der()
                .map_err(|_| malformed(Encoding::Spki))?
                .into_vec()),
            (PublicInner::P256(_) | PublicInner::P384(_), PublicKeyFormat::Pkcs1) => {
                Err(KeyError::Format(kmip_codec::enums::KeyFormatType::PKCS1.0).into())
            }
        }
    }
}

/// An EC public key from a SEC1 point (uncompressed or compressed; not the identity).
pub(super) fn ec_point(curve: Curve, point: &[u8]) -> Result<PublicInner> {
    let bad = || Error::from(KeyError::Malformed(Encoding::EcPoint));
    Ok(match curve {
        Curve::P256 => {
            PublicInner::P256(p256::PublicKey::from_sec1_bytes(point).map_err(|_| bad())?)
        }
        Curve::P384 => {
            PublicInner::P384(p384::PublicKey::from_sec1_bytes(point).map_err(|_| bad())?)
        }
    })
}

/// The parts of an RSA private key, as unsigned big-endian bytes (zeroizing): n, e, d, p, q,
/// dP, dQ, qInv.
pub(super) fn rsa_parts(k: &RsaPrivateKey) -> Result<[SecretBytes; 8]> {
    let primes = k.primes();
    let (Some(p), Some(q)) = (primes.first(), primes.get(1)) else {
        return Err(KeyError::MultiPrime.into());
    };
    let (Some(dp), Some(dq), Some(qinv)) = (k.dp(), k.dq(), k.crt_coefficient()) else {
        return Err(KeyError::Inconsistent.into());
    };
    let b = |v: &BigUint| SecretBytes::new(v.to_bytes_be());
    Ok([
        b(k.n()),
        b(k.e()),
        b(k.d()),
        b(p),
        b(q),
        b(dp),
        b(dq),
        b(&qinv),
    ])
}
