//! SHA-256 hashes as they appear in records (lowercase hex, nothing else accepted) and the
//! canonical byte encoding that records and checkpoints are hashed and signed over.
//!
//! The encoding is defined byte by byte so that an auditor can re-implement it in any
//! language: a domain string and a zero byte, then each field in a fixed order; integers are
//! big-endian, strings are a `u64` byte length then UTF-8, an absent optional value is `0x00`
//! and a present one `0x01` then the value, hashes are their 32 raw bytes. A field added to a
//! structure after its first encodings were signed (an *extension*: a record's `aggregate`) is
//! written only when present, as `0x01` then the value, and not at all when absent, so the
//! earlier encodings and their hashes stay valid; the encoding stays unambiguous because every
//! field before it is self-delimiting and what follows it has a fixed length.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::Error;

/// Length of a SHA-256 hash.
pub const HASH_LEN: usize = 32;

/// A SHA-256 hash. Written as 64 lowercase hex digits; uppercase is rejected so that every
/// hash has exactly one spelling in a file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; HASH_LEN]);

impl Hash {
    /// The `prev` of the first record of a chain: all zeros.
    pub const GENESIS: Self = Self([0; HASH_LEN]);

    /// SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Parses 64 lowercase hex digits.
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        decode_lower_hex::<HASH_LEN>(s, "hash").map(Self)
    }
}

/// Decodes exactly `N` bytes of lowercase hex.
pub(crate) fn decode_lower_hex<const N: usize>(
    s: &str,
    what: &'static str,
) -> Result<[u8; N], Error> {
    let bad = || Error::Hex { what, bytes: N };
    if s.len() != 2 * N
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad());
    }
    let mut out = [0; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| bad())?;
    Ok(out)
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// Builds the canonical encoding of one structure (see the module docs).
pub(crate) struct Canon(Vec<u8>);

impl Canon {
    /// Starts an encoding with its domain string, so that no record can be taken for a
    /// checkpoint or a tree node.
    pub(crate) fn new(domain: &str) -> Self {
        let mut bytes = Vec::with_capacity(512);
        bytes.extend_from_slice(domain.as_bytes());
        bytes.push(0);
        Self(bytes)
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn i128(&mut self, v: i128) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        // usize -> u64 is lossless on every supported target.
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    pub(crate) fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => self.0.push(0),
            Some(s) => {
                self.0.push(1);
                self.str(s);
            }
        }
        self
    }

    pub(crate) fn opt_u64(&mut self, v: Option<u64>) -> &mut Self {
        match v {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(1);
                self.u64(v);
            }
        }
        self
    }

    /// Marks a present extension (see the module docs); an absent one writes nothing.
    pub(crate) fn extension(&mut self) -> &mut Self {
        self.0.push(1);
        self
    }

    pub(crate) fn hash(&mut self, h: &Hash) -> &mut Self {
        self.0.extend_from_slice(&h.0);
        self
    }

    pub(crate) fn bytes(self) -> Vec<u8> {
        self.0
    }

    pub(crate) fn digest(self) -> Hash {
        Hash::of(&self.0)
    }
}
