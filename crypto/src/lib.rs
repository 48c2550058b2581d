//! Software cryptography for the KMS: the operations issues 18 (asymmetric keys, certificates,
//! BYOK wrapping) and 19 (every OASIS profile: MAC, Hash, Derive Key, ChaCha20, legacy 3DES) need
//! and the HSM does not do for us. The server calls it from its KMIP operations; every function
//! is proven against published known-answer vectors (NIST, RFCs, the OASIS KMIP vectors).
//!
//! | module | what |
//! |---|---|
//! | [`asymmetric`] | RSA 2048-8192 / EC P-256, P-384 keys: generation, PKCS#1, PKCS#8, SEC1, SPKI, KMIP Transparent, key facts |
//! | [`signature`] | RSA-PSS, RSASSA-PKCS1-v1_5, ECDSA sign / verify, over data or digests |
//! | [`rsa_oaep`] | RSA-OAEP encrypt / decrypt with KMIP hash, MGF1 hash and label |
//! | [`certificate`] | X.509 facts for Register / Get Attributes |
//! | [`wrap`] | AES-KW (RFC 3394), AES-KWP (RFC 5649), RSA-OAEP wrapping, the KMIP Encoding Option rule |
//! | [`mac`] | HMAC-SHA1/224/256/384/512 with constant-time verification |
//! | [`hash`] | SHA-1, SHA-224/256/384/512 |
//! | [`kdf`] | HKDF, PBKDF2, NIST SP 800-108 counter mode |
//! | [`symmetric_more`] | ChaCha20, ChaCha20-Poly1305, legacy Triple DES |
//!
//! # What it is not
//!
//! No I/O, no async runtime, no logging, no HSM and no PKCS#11 (only `hsm/` talks to the HSM),
//! no key storage, no policy beyond the cryptographic limits below (usage masks, states, tenants
//! and the 3DES switch are the server's), no hand-written primitives: RustCrypto (`rsa`,
//! `p256`, `p384`, `ecdsa`, `sha1`, `sha2`, `hmac`, `hkdf`, `pbkdf2`, `aes-kw`, `chacha20`,
//! `chacha20poly1305`, `des`), `x509-parser`, and the DER crates. The one construction written
//! here is SP 800-108's counter loop over HMAC (see [`kdf`]).
//!
//! # Randomness
//!
//! Every function that needs randomness (key generation, RSA-PSS salts, RSA blinding, OAEP
//! seeds) takes a caller-supplied [`rand_core::CryptoRngCore`]. The server passes a DRBG
//! seeded from the HSM's `C_GenerateRandom`. The contract: the RNG is cryptographically secure,
//! its `fill_bytes` never fails (reseed before calling, not inside: the RustCrypto crates treat a
//! failing RNG as a bug), and one RNG is not shared across threads without a lock. ECDSA needs
//! no RNG: its nonces are deterministic (RFC 6979).
//!
//! # Limits
//!
//! All in [`limits`], checked before allocating from an input's size and before expensive work:
//! data 16 MiB; DER keys 16 KiB; certificates 64 KiB; RSA modulus 2048..=8192 bits (imported or
//! used), generation 2048 / 3072 / 4096 with e = 65537; symmetric keys 512 bytes; HMAC keys 16
//! bytes or more; MAC Verify of a truncated MAC down to 16 bytes; PBKDF2 1000..=1 000 000
//! iterations and 2 000 000 PRF blocks; derived keys 1024 bytes; KDF inputs 64 KiB; wrap input
//! 64 KiB; AEAD tags 12..=16 bytes; AAD 64 KiB; OAEP label 1 KiB; signatures 1024 bytes.
//!
//! # Errors and secrets
//!
//! One error type, [`Error`], with typed variants (no strings, no key bytes); each names the KMIP
//! Result Reason it suggests. Secrets come out as [`SecretBytes`] (zeroized, redacted `Debug`) or
//! as the codec's zeroizing `Bytes`; keys' `Debug` shows their facts only.
#![forbid(unsafe_code)]

pub mod asymmetric;
pub mod certificate;
pub mod error;
pub mod hash;
pub mod kdf;
pub mod limits;
pub mod mac;
pub mod manifest_signature;
#[cfg(test)]
mod oasis;
pub mod rsa_oaep;
mod secret;
pub mod signature;
pub mod symmetric_more;
pub mod wrap;

pub use crate::error::{
    CertificateError, Encoding, Error, Input, KeyError, KeyKind, Parameter, WrapError,
};
pub use crate::secret::SecretBytes;

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// The outcome of a signature or MAC verification (KMIP Validity Indicator). A well-formed but
/// wrong signature or MAC is [`Validity::Invalid`], never an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// The signature or MAC is right.
    Valid,
    /// It is not.
    Invalid,
}

impl Validity {
    fn from_bool(valid: bool) -> Self {
        if valid { Self::Valid } else { Self::Invalid }
    }

    /// The KMIP Validity Indicator.
    pub fn to_kmip(self) -> kmip_codec::enums::ValidityIndicator {
        match self {
            Self::Valid => kmip_codec::enums::ValidityIndicator::VALID,
            Self::Invalid => kmip_codec::enums::ValidityIndicator::INVALID,
        }
    }
}
