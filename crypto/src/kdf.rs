//! Key derivation for KMIP Derive Key: HKDF (RFC 5869, RustCrypto `hkdf`), PBKDF2 (RFC 8018,
//! RustCrypto `pbkdf2`) and NIST SP 800-108 Rev. 1 KDF in counter mode with HMAC.
//!
//! SP 800-108: RustCrypto's `kbkdf` crate exists only on the pre-release `digest` 0.11 line,
//! which the rest of this crate (and `rsa` 0.9) cannot share. The counter mode is a
//! construction over HMAC, not a primitive, so it is written here, minimally, after SP 800-108
//! Rev. 1 section 4.1: `K(i) = PRF(K_IN, [before] || [i]_r || [after])` for `i = 1..=n`, the
//! output the leftmost `L` bits of `K(1) || ... || K(n)`. The counter sits between two
//! caller-given byte strings, which covers the three CAVP counter locations (before, after and
//! in the middle of the fixed input); the fixed input is the caller's (KMIP Derivation Data).
//! Tested against the NIST CAVP KBKDF vectors.
//!
//! Every input is bounded ([`MAX_KDF_INPUT_LEN`], [`MAX_DERIVED_KEY_LEN`],
//! [`PBKDF2_MIN_ITERATIONS`]..=[`PBKDF2_MAX_ITERATIONS`], [`PBKDF2_MAX_WORK`]) before any work.

use kmip_codec::enums::DerivationMethod;
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};

use crate::error::Parameter;
use crate::hash::HashAlgorithm;
use crate::limits::{
    self, MAX_DERIVED_KEY_LEN, MAX_KDF_INPUT_LEN, MAX_SYMMETRIC_KEY_LEN, PBKDF2_MAX_ITERATIONS,
    PBKDF2_MAX_WORK, PBKDF2_MIN_ITERATIONS,
};
use crate::mac::{self, MacAlgorithm};
use crate::{Error, Input, Result, SecretBytes};

/// The derivation methods this module implements, by their KMIP Derivation Method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KdfMethod {
    /// HKDF (KMIP 2.1 Derivation Method HKDF).
    Hkdf,
    /// PBKDF2 (KMIP Derivation Method PBKDF2).
    Pbkdf2,
    /// NIST SP 800-108 counter mode (KMIP Derivation Method NIST800-108-C).
    CounterMode,
}

impl KdfMethod {
    /// The method a KMIP Derivation Method names (the others, Hash, HMAC, Encrypt, feedback
    /// and double-pipeline modes, are not offered).
    pub fn from_kmip(value: DerivationMethod) -> Result<Self> {
        Ok(match value {
            DerivationMethod::HKDF => Self::Hkdf,
            DerivationMethod::PBKDF2 => Self::Pbkdf2,
            DerivationMethod::NIST800_108_C => Self::CounterMode,
            other => {
                return Err(Error::Unsupported {
                    parameter: Parameter::CryptographicAlgorithm,
                    value: other.0,
                });
            }
        })
    }
}

fn check_len(len: usize) -> Result<()> {
    if len == 0 {
        return Err(Error::BadLength {
            what: Input::DerivedLength,
            len,
        });
    }
    limits::check(Input::DerivedLength, len, MAX_DERIVED_KEY_LEN)
}

/// HKDF-Extract-and-Expand (RFC 5869) of `len` bytes (at most 255 x the hash length).
pub fn hkdf(
    hash: HashAlgorithm,
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
    len: usize,
) -> Result<SecretBytes> {
    limits::check(Input::SymmetricKey, ikm.len(), MAX_KDF_INPUT_LEN)?;
    limits::check(Input::Salt, salt.len(), MAX_KDF_INPUT_LEN)?;
    limits::check(Input::KdfInput, info.len(), MAX_KDF_INPUT_LEN)?;
    check_len(len)?;
    if len > 255 * hash.output_len() {
        return Err(Error::BadLength {
            what: Input::DerivedLength,
            len,
        });
    }
    let mut out = SecretBytes::new(vec![0u8; len]);
    // An empty salt is "not provided": RFC 5869 section 2.2 then uses HashLen zero bytes,
    // which is what `hkdf` does for `None`.
    let salt = (!salt.is_empty()).then_some(salt);
    let expanded = match hash {
        HashAlgorithm::Sha1 => hkdf::Hkdf::<Sha1>::new(salt, ikm).expand(info, out.as_mut_slice()),
        HashAlgorithm::Sha224 => {
            hkdf::Hkdf::<Sha224>::new(salt, ikm).expand(info, out.as_mut_slice())
        }
        HashAlgorithm::Sha256 => {
            hkdf::Hkdf::<Sha256>::new(salt, ikm).expand(info, out.as_mut_slice())
        }
        HashAlgorithm::Sha384 => {
            hkdf::Hkdf::<Sha384>::new(salt, ikm).expand(info, out.as_mut_slice())
        }
        HashAlgorithm::Sha512 => {
            hkdf::Hkdf::<Sha512>::new(salt, ikm).expand(info, out.as_mut_slice())
        }
    };
    expanded.map_err(|_| Error::BadLength {
        what: Input::DerivedLength,
        len,
    })?;
    Ok(out)
}

/// PBKDF2 with HMAC-`prf` (RFC 8018 section 5.2) of `len` bytes, with
/// [`PBKDF2_MIN_ITERATIONS`]..=[`PBKDF2_MAX_ITERATIONS`] iterations and at most
/// [`PBKDF2_MAX_WORK`] PRF blocks in all.
pub fn pbkdf2(
    prf: HashAlgorithm,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Result<SecretBytes> {
    if !(PBKDF2_MIN_ITERATIONS..=PBKDF2_MAX_ITERATIONS).contains(&iterations) {
        return Err(Error::Invalid(Parameter::IterationCount));
    }
    pbkdf2_bounded(prf, password, salt, iterations, len)
}

/// PBKDF2 without the iteration policy (the work bound still holds): for the RFC 6070 vectors
/// with 1 and 2 iterations.
pub(crate) fn pbkdf2_bounded(
    prf: HashAlgorithm,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Result<SecretBytes> {
    limits::check(Input::KdfInput, password.len(), MAX_KDF_INPUT_LEN)?;
    limits::check(Input::Salt, salt.len(), MAX_KDF_INPUT_LEN)?;
    check_len(len)?;
    if iterations == 0 {
        return Err(Error::Invalid(Parameter::IterationCount));
    }
    let blocks = len.div_ceil(prf.output_len()) as u64;
    if u64::from(iterations).saturating_mul(blocks) > PBKDF2_MAX_WORK {
        return Err(Error::Invalid(Parameter::IterationCount));
    }
    let mut out = SecretBytes::new(vec![0u8; len]);
    let derived = match prf {
        HashAlgorithm::Sha1 => {
            pbkdf2::pbkdf2::<hmac::Hmac<Sha1>>(password, salt, iterations, out.as_mut_slice())
        }
        HashAlgorithm::Sha224 => {
            pbkdf2::pbkdf2::<hmac::Hmac<Sha224>>(password, salt, iterations, out.as_mut_slice())
        }
        HashAlgorithm::Sha256 => {
            pbkdf2::pbkdf2::<hmac::Hmac<Sha256>>(password, salt, iterations, out.as_mut_slice())
        }
        HashAlgorithm::Sha384 => {
            pbkdf2::pbkdf2::<hmac::Hmac<Sha384>>(password, salt, iterations, out.as_mut_slice())
        }
        HashAlgorithm::Sha512 => {
            pbkdf2::pbkdf2::<hmac::Hmac<Sha512>>(password, salt, iterations, out.as_mut_slice())
        }
    };
    // `pbkdf2` fails only for an HMAC key it cannot take, which HMAC does not have.
    derived.map_err(|_| Error::BadLength {
        what: Input::KdfInput,
        len: password.len(),
    })?;
    Ok(out)
}

/// The counter length `r` of SP 800-108 counter mode, in bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterLength {
    /// 8 bits.
    Bits8,
    /// 16 bits.
    Bits16,
    /// 24 bits.
    Bits24,
    /// 32 bits (the usual choice).
    Bits32,
}

impl CounterLength {
    /// From a bit count (KMIP Counter Length, or 32 when absent).
    pub fn from_bits(bits: i32) -> Result<Self> {
        Ok(match bits {
            8 => Self::Bits8,
            16 => Self::Bits16,
            24 => Self::Bits24,
            32 => Self::Bits32,
            _ => return Err(Error::Invalid(Parameter::CounterLength)),
        })
    }

    fn bytes(self) -> usize {
        match self {
            Self::Bits8 => 1,
            Self::Bits16 => 2,
            Self::Bits24 => 3,
            Self::Bits32 => 4,
        }
    }
}

/// The fixed input of SP 800-108 counter mode, split where the counter goes: `before` the
/// counter and `after` it. The usual layout, counter first, is `before` empty.
#[derive(Clone, Copy, Debug)]
pub struct FixedInput<'a> {
    /// Bytes before the counter.
    pub before: &'a [u8],
    /// Bytes after the counter.
    pub after: &'a [u8],
}

/// NIST SP 800-108 Rev. 1 KDF in counter mode (section 4.1) with HMAC-`prf` as the PRF, `len`
/// bytes of output. HMAC-SHA-256 and HMAC-SHA-512 are offered: those are the PRFs the CAVP
/// vectors of this crate prove.
pub fn counter_mode(
    prf: HashAlgorithm,
    key: &[u8],
    fixed: FixedInput<'_>,
    counter: CounterLength,
    len: usize,
) -> Result<SecretBytes> {
    if !matches!(prf, HashAlgorithm::Sha256 | HashAlgorithm::Sha512) {
        return Err(Error::Unsupported {
            parameter: Parameter::HashingAlgorithm,
            value: prf.to_kmip().0,
        });
    }
    limits::check(Input::SymmetricKey, key.len(), MAX_SYMMETRIC_KEY_LEN)?;
    limits::check(
        Input::KdfInput,
        fixed.before.len().saturating_add(fixed.after.len()),
        MAX_KDF_INPUT_LEN,
    )?;
    check_len(len)?;
    let h = prf.output_len();
    let blocks = len.div_ceil(h);
    // n <= 2^r - 1 (SP 800-108 section 4.1, step 2).
    let max_blocks = (1u64 << (8 * counter.bytes())) - 1;
    if blocks as u64 > max_blocks {
        return Err(Error::BadLength {
            what: Input::DerivedLength,
            len,
        });
    }
    let algorithm = MacAlgorithm::with_hash(prf);
    let width = counter.bytes();
    let mut out = SecretBytes::new(Vec::with_capacity(blocks * h));
    // The fixed input is public (a label, a context); only the PRF outputs are secret.
    let mut message = Vec::with_capacity(fixed.before.len() + width + fixed.after.len());
    for i in 1..=blocks {
        let i = u32::try_from(i).map_err(|_| Error::Invalid(Parameter::CounterLength))?;
        message.clear();
        message.extend_from_slice(fixed.before);
        message.extend_from_slice(&i.to_be_bytes()[4 - width..]);
        message.extend_from_slice(fixed.after);
        let block = SecretBytes::new(mac::mac_unchecked(algorithm, key, &message)?);
        out.extend_from_slice(block.as_slice());
    }
    out.truncate(len);
    Ok(out)
}

#[cfg(test)]
#[path = "kdf_tests.rs"]
mod tests;
