//! The crate's one error type. Each module's failures are a typed enum of their own, folded in
//! here; no variant holds a `String`, key material or input bytes, so an error can be logged
//! whole. The server maps [`enum@Error`] to KMIP Result Reasons in its one exhaustive mapping; the
//! reason each variant suggests is in its documentation.

use thiserror::Error;

/// Which input a size or length error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// Data to hash, MAC, sign, verify, encrypt or decrypt.
    Data,
    /// A pre-computed digest (KMIP Digested Data).
    Digest,
    /// A signature to verify.
    Signature,
    /// A MAC to verify.
    Mac,
    /// A symmetric key (HMAC key, key-encryption key, cipher key, KDF input key).
    SymmetricKey,
    /// A DER-encoded key.
    KeyDer,
    /// A certificate.
    Certificate,
    /// An IV or nonce.
    Nonce,
    /// An AEAD tag.
    Tag,
    /// Additional authenticated data.
    Aad,
    /// A KDF salt.
    Salt,
    /// A KDF info / fixed input / password.
    KdfInput,
    /// The length asked of a key derivation.
    DerivedLength,
    /// The input to a key wrap.
    WrapInput,
    /// Wrapped key bytes.
    Wrapped,
    /// An OAEP label (KMIP P Source).
    OaepLabel,
}

/// A KMIP Cryptographic Parameters field (or operation field) a conversion looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parameter {
    /// Cryptographic Algorithm.
    CryptographicAlgorithm,
    /// Hashing Algorithm.
    HashingAlgorithm,
    /// Padding Method.
    PaddingMethod,
    /// Mask Generator.
    MaskGenerator,
    /// Mask Generator Hashing Algorithm.
    MaskGeneratorHashingAlgorithm,
    /// Digital Signature Algorithm.
    DigitalSignatureAlgorithm,
    /// Salt Length.
    SaltLength,
    /// Block Cipher Mode.
    BlockCipherMode,
    /// Tag Length.
    TagLength,
    /// IV / Counter / Nonce.
    IvCounterNonce,
    /// Initial Counter Value.
    InitialCounterValue,
    /// Key Format Type.
    KeyFormatType,
    /// Recommended Curve.
    RecommendedCurve,
    /// Encoding Option.
    EncodingOption,
    /// Iteration Count.
    IterationCount,
    /// Counter length of an SP 800-108 KDF.
    CounterLength,
    /// Cryptographic Length (key size in bits).
    CryptographicLength,
    /// P Source (the OAEP label): `rsa` 0.9 takes labels that are UTF-8 text only.
    PSource,
}

/// Everything that can go wrong in this crate.
#[derive(Debug, Error)]
pub enum Error {
    /// An input is longer than the crate's limit for it (see [`crate::limits`]). Suggested KMIP
    /// reason: Invalid Field (or Invalid Message for the whole request).
    #[error("{what:?} of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// Which input.
        what: Input,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An input has a length the algorithm cannot take (a 15-byte AES key, a 7-byte nonce, a
    /// digest of the wrong size). Suggested: Invalid Field.
    #[error("{what:?} has a length of {len} bytes, which the algorithm does not take")]
    BadLength {
        /// Which input.
        what: Input,
        /// Its length.
        len: usize,
    },
    /// A KMIP parameter names something this crate does not implement (the value is the wire
    /// value of the enumeration). Suggested: Cryptographic Algorithm Not Supported (for an
    /// algorithm) or Invalid Field.
    #[error("{parameter:?} value {value:#x} is not supported")]
    Unsupported {
        /// Which parameter.
        parameter: Parameter,
        /// Its wire value.
        value: u32,
    },
    /// A KMIP parameter the operation needs is absent. Suggested: Invalid Field (or Missing
    /// Data in KMIP 2.x).
    #[error("{0:?} is required")]
    Missing(Parameter),
    /// A KMIP parameter is present but out of range or inconsistent with the key (a PSS salt
    /// longer than the key allows, a tag length of 1). Suggested: Invalid Field.
    #[error("{0:?} has a value the operation cannot use")]
    Invalid(Parameter),
    /// Asymmetric keys: see [`KeyError`]. Suggested: Invalid Field / Key Value Not Present /
    /// Cryptographic Algorithm Not Supported, per variant.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The key is not of the kind the operation needs (an EC key for RSA-OAEP, a public key
    /// where a private key is needed). Suggested: Incompatible Cryptographic Usage Mask /
    /// Invalid Object Type.
    #[error("the key is {actual:?}; the operation needs {expected:?}")]
    WrongKeyType {
        /// What the operation needs.
        expected: KeyKind,
        /// What it was given.
        actual: KeyKind,
    },
    /// X.509 certificates: see [`CertificateError`]. Suggested: Invalid Field.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// Decryption, unwrapping or AEAD authentication failed. One variant for every cause
    /// (bad padding, bad tag, wrong key) so that no caller can build an oracle from the
    /// difference. Suggested: Cryptographic Failure.
    #[error("decryption failed")]
    DecryptionFailed,
    /// The message is longer than the key can encrypt in one block (RSA-OAEP). Suggested:
    /// Invalid Field.
    #[error("the message is too long for the key")]
    MessageTooLong,
    /// A hash algorithm that is accepted for verification only (SHA-1) was asked to sign.
    /// Suggested: Cryptographic Algorithm Not Supported.
    #[error("{0:?} is accepted for verification only")]
    VerifyOnly(crate::hash::HashAlgorithm),
    /// The signing primitive failed (the key is consistent, so this is unexpected).
    /// Suggested: Cryptographic Failure.
    #[error("signing failed")]
    SigningFailed,
    /// A stream cipher's counter would wrap around (ChaCha20 with a counter near its end).
    /// Suggested: Invalid Field.
    #[error("the keystream counter would overflow")]
    CounterOverflow,
    /// Key wrapping: see [`WrapError`]. Suggested: Invalid Field / Cryptographic Failure.
    #[error(transparent)]
    Wrap(#[from] WrapError),
}

/// What an asymmetric key is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// An RSA private key.
    RsaPrivate,
    /// An RSA public key.
    RsaPublic,
    /// An EC private key.
    EcPrivate,
    /// An EC public key.
    EcPublic,
}

/// Which key encoding a decoder was reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// PKCS#1 RSAPrivateKey / RSAPublicKey (RFC 8017 appendix A.1).
    Pkcs1,
    /// PKCS#8 PrivateKeyInfo (RFC 5208 / 5958).
    Pkcs8,
    /// SEC1 ECPrivateKey (RFC 5915).
    Sec1,
    /// SubjectPublicKeyInfo (RFC 5280 section 4.1.2.7; KMIP Key Format Type X.509).
    Spki,
    /// An EC point (SEC1 section 2.3.3; KMIP Q String).
    EcPoint,
    /// A KMIP Transparent key structure.
    Transparent,
}

/// Asymmetric key failures.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    /// The bytes are not a valid encoding of the kind named. Suggested: Invalid Field.
    #[error("malformed {0:?} key")]
    Malformed(Encoding),
    /// Bytes follow the end of the DER structure. Suggested: Invalid Field.
    #[error("trailing bytes after the {0:?} key")]
    TrailingBytes(Encoding),
    /// An RSA modulus outside [`crate::limits::RSA_MIN_BITS`]..=[`crate::limits::RSA_MAX_BITS`]
    /// (or, for generation, not one of [`crate::limits::RSA_GENERATE_BITS`]). Suggested:
    /// Invalid Field (Cryptographic Length).
    #[error("an RSA modulus of {bits} bits is not accepted")]
    RsaSize {
        /// The modulus size.
        bits: usize,
    },
    /// The RSA public exponent is even, below 3 or above 2^33 - 1. Suggested: Invalid Field.
    #[error("the RSA public exponent is not accepted")]
    RsaExponent,
    /// Multi-prime RSA (PKCS#1 version 1) is not accepted. Suggested: Invalid Field.
    #[error("multi-prime RSA keys are not accepted")]
    MultiPrime,
    /// The parts of the key do not agree (n is not p*q, d does not invert e, the public point
    /// is not on the curve or does not match d, a Transparent CRT value is wrong). Suggested:
    /// Invalid Field.
    #[error("the key's components are inconsistent")]
    Inconsistent,
    /// An algorithm other than RSA or EC (DSA, Ed25519...) in a PKCS#8 or SPKI. Suggested:
    /// Cryptographic Algorithm Not Supported.
    #[error("the key's algorithm is not supported")]
    UnsupportedAlgorithm,
    /// An elliptic curve other than P-256 and P-384 (secp256k1, P-521, explicit parameters,
    /// or none named). Suggested: Cryptographic Algorithm Not Supported.
    #[error("the elliptic curve is not supported")]
    UnsupportedCurve,
    /// The Key Format Type is not one the key can be read from or written to. Suggested:
    /// Key Format Type Not Supported.
    #[error("key format type {0:#x} does not fit this key")]
    Format(u32),
    /// A KMIP Big Integer is negative. Suggested: Invalid Field.
    #[error("a negative integer in a Transparent key")]
    Negative,
}

/// X.509 certificate failures.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CertificateError {
    /// Not a DER X.509 certificate. Suggested: Invalid Field.
    #[error("malformed certificate")]
    Malformed,
    /// Bytes follow the certificate. Suggested: Invalid Field.
    #[error("trailing bytes after the certificate")]
    TrailingBytes,
}

/// Key wrapping failures (besides [`Error::DecryptionFailed`]).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WrapError {
    /// "No Encoding" asked for a key whose Key Material is a structure (a Transparent key), or
    /// whose Key Value carries attributes: only a Byte String can be wrapped un-encoded (KMIP
    /// 1.4 section 2.1.5). Suggested: Invalid Field (Encoding Option).
    #[error("no-encoding wrapping needs Byte String key material and no attributes")]
    NotAByteString,
    /// The unwrapped bytes are not a TTLV-encoded Key Value. Suggested: Invalid Field (as
    /// for [`Error::DecryptionFailed`], the message does not say more).
    #[error("the unwrapped bytes are not a TTLV Key Value")]
    NotAKeyValue,
    /// The Key Value to wrap has no value (Key Value Present false). Suggested: Key Value Not
    /// Present.
    #[error("the key has no Key Value")]
    NoKeyValue,
}
