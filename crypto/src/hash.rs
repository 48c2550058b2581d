//! Message digests for KMIP Hash, the Digest attribute and the signature schemes: SHA-1 and the
//! SHA-2 family (FIPS 180-4), from RustCrypto `sha1` / `sha2`.
//!
//! Not offered: MD5 and SHA-3. No OASIS vector uses them (the vectors hash with SHA-256 and
//! SHA-512, and sign or encrypt with SHA-1, SHA-256, SHA-384 and SHA-512); adding SHA-3 is one
//! enum arm over `sha3` once a client needs it.

use kmip_codec::enums::HashingAlgorithm;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use crate::error::Parameter;
use crate::limits::{self, MAX_DATA_LEN};
use crate::{Error, Input, Result};

/// A hash function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-1: verification of legacy signatures, OAEP / HMAC / KDF where a client asks for it,
    /// the certificate Digest. Never for new signatures.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// All of them, in KMIP enumeration order.
    pub const ALL: [Self; 5] = [
        Self::Sha1,
        Self::Sha224,
        Self::Sha256,
        Self::Sha384,
        Self::Sha512,
    ];

    /// The algorithm a KMIP Hashing Algorithm names (KMIP 1.4 section 9.1.3.2.16).
    pub fn from_kmip(value: HashingAlgorithm) -> Result<Self> {
        Ok(match value {
            HashingAlgorithm::SHA_1 => Self::Sha1,
            HashingAlgorithm::SHA_224 => Self::Sha224,
            HashingAlgorithm::SHA_256 => Self::Sha256,
            HashingAlgorithm::SHA_384 => Self::Sha384,
            HashingAlgorithm::SHA_512 => Self::Sha512,
            other => {
                return Err(Error::Unsupported {
                    parameter: Parameter::HashingAlgorithm,
                    value: other.0,
                });
            }
        })
    }

    /// The KMIP Hashing Algorithm.
    pub fn to_kmip(self) -> HashingAlgorithm {
        match self {
            Self::Sha1 => HashingAlgorithm::SHA_1,
            Self::Sha224 => HashingAlgorithm::SHA_224,
            Self::Sha256 => HashingAlgorithm::SHA_256,
            Self::Sha384 => HashingAlgorithm::SHA_384,
            Self::Sha512 => HashingAlgorithm::SHA_512,
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// A boxed incremental hasher (what `rsa`'s padding schemes take).
    pub(crate) fn dyn_digest(self) -> Box<dyn sha2::digest::DynDigest + Send + Sync> {
        match self {
            Self::Sha1 => Box::new(Sha1::new()),
            Self::Sha224 => Box::new(Sha224::new()),
            Self::Sha256 => Box::new(Sha256::new()),
            Self::Sha384 => Box::new(Sha384::new()),
            Self::Sha512 => Box::new(Sha512::new()),
        }
    }
}

/// The digest of `data` (at most [`MAX_DATA_LEN`] bytes).
pub fn digest(algorithm: HashAlgorithm, data: &[u8]) -> Result<Vec<u8>> {
    limits::check(Input::Data, data.len(), MAX_DATA_LEN)?;
    Ok(digest_unchecked(algorithm, data))
}

/// The digest, for inputs whose size the caller has bounded.
pub(crate) fn digest_unchecked(algorithm: HashAlgorithm, data: &[u8]) -> Vec<u8> {
    match algorithm {
        HashAlgorithm::Sha1 => Sha1::digest(data).to_vec(),
        HashAlgorithm::Sha224 => Sha224::digest(data).to_vec(),
        HashAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
        HashAlgorithm::Sha384 => Sha384::digest(data).to_vec(),
        HashAlgorithm::Sha512 => Sha512::digest(data).to_vec(),
    }
}

/// An incremental hash, for KMIP's streaming Hash (Init Indicator / Final Indicator): the
/// total fed is bounded by [`MAX_DATA_LEN`] as for one call.
#[derive(Clone)]
pub struct Hasher {
    state: State,
    fed: usize,
}

#[derive(Clone)]
enum State {
    Sha1(Sha1),
    Sha224(Sha224),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("algorithm", &self.algorithm())
            .field("fed", &self.fed)
            .finish()
    }
}

impl Hasher {
    /// A fresh hash.
    pub fn new(algorithm: HashAlgorithm) -> Self {
        let state = match algorithm {
            HashAlgorithm::Sha1 => State::Sha1(Sha1::new()),
            HashAlgorithm::Sha224 => State::Sha224(Sha224::new()),
            HashAlgorithm::Sha256 => State::Sha256(Sha256::new()),
            HashAlgorithm::Sha384 => State::Sha384(Sha384::new()),
            HashAlgorithm::Sha512 => State::Sha512(Sha512::new()),
        };
        Self { state, fed: 0 }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> HashAlgorithm {
        match self.state {
            State::Sha1(_) => HashAlgorithm::Sha1,
            State::Sha224(_) => HashAlgorithm::Sha224,
            State::Sha256(_) => HashAlgorithm::Sha256,
            State::Sha384(_) => HashAlgorithm::Sha384,
            State::Sha512(_) => HashAlgorithm::Sha512,
        }
    }

    /// Feeds `data`; refuses it (and keeps the state as it was) when the total would pass
    /// [`MAX_DATA_LEN`].
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        let total = self.fed.saturating_add(data.len());
        limits::check(Input::Data, total, MAX_DATA_LEN)?;
        self.fed = total;
        match &mut self.state {
            State::Sha1(h) => h.update(data),
            State::Sha224(h) => h.update(data),
            State::Sha256(h) => h.update(data),
            State::Sha384(h) => h.update(data),
            State::Sha512(h) => h.update(data),
        }
        Ok(())
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Vec<u8> {
        match self.state {
            State::Sha1(h) => h.finalize().to_vec(),
            State::Sha224(h) => h.finalize().to_vec(),
            State::Sha256(h) => h.finalize().to_vec(),
            State::Sha384(h) => h.finalize().to_vec(),
            State::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

#[cfg(test)]
#[path = "hash_tests.rs"]
mod tests;
