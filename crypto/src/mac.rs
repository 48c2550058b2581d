//! HMAC (RFC 2104, FIPS 198-1) with SHA-1 and SHA-2, from RustCrypto `hmac`, for KMIP MAC and
//! MAC Verify. Verification compares in constant time (`hmac`'s `verify_truncated_left`,
//! built on `subtle`).
//!
//! CMAC is not offered: no OASIS vector uses it (the MAC vectors, CS-AC-M-4/5/6, are
//! HMAC-SHA256).

use hmac::{Hmac, Mac};
use kmip_codec::enums::CryptographicAlgorithm;
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};

use crate::error::Parameter;
use crate::hash::HashAlgorithm;
use crate::limits::{
    self, MAX_DATA_LEN, MAX_SYMMETRIC_KEY_LEN, MIN_MAC_KEY_LEN, MIN_MAC_VERIFY_LEN,
};
use crate::{Error, Input, Result, Validity};

/// A MAC algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MacAlgorithm {
    /// HMAC-SHA1.
    HmacSha1,
    /// HMAC-SHA224.
    HmacSha224,
    /// HMAC-SHA256.
    HmacSha256,
    /// HMAC-SHA384.
    HmacSha384,
    /// HMAC-SHA512.
    HmacSha512,
}

impl MacAlgorithm {
    /// All of them.
    pub const ALL: [Self; 5] = [
        Self::HmacSha1,
        Self::HmacSha224,
        Self::HmacSha256,
        Self::HmacSha384,
        Self::HmacSha512,
    ];

    /// The algorithm a KMIP Cryptographic Algorithm names (the MAC key's attribute, or the
    /// Cryptographic Parameters of the MAC request).
    pub fn from_kmip(value: CryptographicAlgorithm) -> Result<Self> {
        Ok(match value {
            CryptographicAlgorithm::HMAC_SHA1 => Self::HmacSha1,
            CryptographicAlgorithm::HMAC_SHA224 => Self::HmacSha224,
            CryptographicAlgorithm::HMAC_SHA256 => Self::HmacSha256,
            CryptographicAlgorithm::HMAC_SHA384 => Self::HmacSha384,
            CryptographicAlgorithm::HMAC_SHA512 => Self::HmacSha512,
            other => {
                return Err(Error::Unsupported {
                    parameter: Parameter::CryptographicAlgorithm,
                    value: other.0,
                });
            }
        })
    }

    /// The KMIP Cryptographic Algorithm.
    pub fn to_kmip(self) -> CryptographicAlgorithm {
        match self {
            Self::HmacSha1 => CryptographicAlgorithm::HMAC_SHA1,
            Self::HmacSha224 => CryptographicAlgorithm::HMAC_SHA224,
            Self::HmacSha256 => CryptographicAlgorithm::HMAC_SHA256,
            Self::HmacSha384 => CryptographicAlgorithm::HMAC_SHA384,
            Self::HmacSha512 => CryptographicAlgorithm::HMAC_SHA512,
        }
    }

    /// The HMAC over `hash`.
    pub fn with_hash(hash: HashAlgorithm) -> Self {
        match hash {
            HashAlgorithm::Sha1 => Self::HmacSha1,
            HashAlgorithm::Sha224 => Self::HmacSha224,
            HashAlgorithm::Sha256 => Self::HmacSha256,
            HashAlgorithm::Sha384 => Self::HmacSha384,
            HashAlgorithm::Sha512 => Self::HmacSha512,
        }
    }

    /// The underlying hash.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::HmacSha1 => HashAlgorithm::Sha1,
            Self::HmacSha224 => HashAlgorithm::Sha224,
            Self::HmacSha256 => HashAlgorithm::Sha256,
            Self::HmacSha384 => HashAlgorithm::Sha384,
            Self::HmacSha512 => HashAlgorithm::Sha512,
        }
    }

    /// MAC length in bytes.
    pub fn output_len(self) -> usize {
        self.hash().output_len()
    }
}

/// The HMAC of `data` under `key`. The key is [`MIN_MAC_KEY_LEN`] to
/// [`MAX_SYMMETRIC_KEY_LEN`] bytes; the data at most [`MAX_DATA_LEN`].
pub fn mac(algorithm: MacAlgorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    check_key(key)?;
    limits::check(Input::Data, data.len(), MAX_DATA_LEN)?;
    mac_unchecked(algorithm, key, data)
}

/// Checks `mac_data` (the full MAC, or its leftmost bytes down to [`MIN_MAC_VERIFY_LEN`]) in
/// constant time. A wrong MAC of an acceptable length is [`Validity::Invalid`], not an error.
pub fn verify(
    algorithm: MacAlgorithm,
    key: &[u8],
    data: &[u8],
    mac_data: &[u8],
) -> Result<Validity> {
    check_key(key)?;
    limits::check(Input::Data, data.len(), MAX_DATA_LEN)?;
    let full = algorithm.output_len();
    if mac_data.len() > full || mac_data.len() < MIN_MAC_VERIFY_LEN.min(full) {
        return Err(Error::BadLength {
            what: Input::Mac,
            len: mac_data.len(),
        });
    }
    verify_unchecked(algorithm, key, data, mac_data).map(Validity::from_bool)
}

fn check_key(key: &[u8]) -> Result<()> {
    limits::check(Input::SymmetricKey, key.len(), MAX_SYMMETRIC_KEY_LEN)?;
    if key.len() < MIN_MAC_KEY_LEN {
        return Err(Error::BadLength {
            what: Input::SymmetricKey,
            len: key.len(),
        });
    }
    Ok(())
}

/// Runs `f` on a keyed HMAC instance of `algorithm`.
macro_rules! with_hmac {
    ($algorithm:expr, $key:expr, |$m:ident| $body:expr) => {
        match $algorithm {
            MacAlgorithm::HmacSha1 => {
                let $m = keyed::<Hmac<Sha1>>($key)?;
                $body
            }
            MacAlgorithm::HmacSha224 => {
                let $m = keyed::<Hmac<Sha224>>($key)?;
                $body
            }
            MacAlgorithm::HmacSha256 => {
                let $m = keyed::<Hmac<Sha256>>($key)?;
                $body
            }
            MacAlgorithm::HmacSha384 => {
                let $m = keyed::<Hmac<Sha384>>($key)?;
                $body
            }
            MacAlgorithm::HmacSha512 => {
                let $m = keyed::<Hmac<Sha512>>($key)?;
                $body
            }
        }
    };
}

/// A keyed HMAC instance. HMAC takes keys of any length (longer ones are hashed first), so
/// this does not fail; the error arm keeps the code free of panics.
fn keyed<M: hmac::digest::KeyInit>(key: &[u8]) -> Result<M> {
    M::new_from_slice(key).map_err(|_| Error::BadLength {
        what: Input::SymmetricKey,
        len: key.len(),
    })
}

/// HMAC without the key and size policy (for the KDFs, which bound their own inputs, and for
/// the RFC vectors with short keys).
pub(crate) fn mac_unchecked(algorithm: MacAlgorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    Ok(with_hmac!(algorithm, key, |m| {
        let mut m = m;
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }))
}

fn verify_unchecked(
    algorithm: MacAlgorithm,
    key: &[u8],
    data: &[u8],
    mac_data: &[u8],
) -> Result<bool> {
    Ok(with_hmac!(algorithm, key, |m| {
        let mut m = m;
        m.update(data);
        m.verify_truncated_left(mac_data).is_ok()
    }))
}

#[cfg(test)]
#[path = "mac_tests.rs"]
mod tests;
