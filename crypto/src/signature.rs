//! Sign and Signature Verify: RSASSA-PSS and RSASSA-PKCS1-v1_5 (RFC 8017 sections 8.1 and 8.2,
//! RustCrypto `rsa`) and ECDSA on P-256 / P-384 (FIPS 186-5, RustCrypto `p256` / `p384`), over
//! data or over a digest the client computed (KMIP Digested Data).
//!
//! - SHA-1 verifies (legacy signatures) but never signs: [`Error::VerifyOnly`].
//! - RSA signing uses blinding with the caller's RNG; ECDSA nonces are deterministic (RFC
//!   6979), so a weak RNG cannot leak an EC key through its signatures.
//! - ECDSA signatures are DER `ECDSA-Sig-Value` (RFC 3279 section 2.2.3), as X.509 and most
//!   KMIP clients use them.
//! - Verification answers [`Validity::Invalid`] for any signature that does not verify,
//!   including one that is not even well-formed (a wrong length, bad DER): only inputs over the
//!   limits and parameters the key cannot take are errors.
//! - PSS salt length: KMIP's Salt Length when given; otherwise signing uses the hash length
//!   (RFC 8017 / FIPS 186-5 practice) and verification accepts the hash length or the maximum
//!   (what OpenSSL signs with by default, and what CS-AC-M-2's signature uses).

use kmip_codec::enums::{CryptographicAlgorithm, DigitalSignatureAlgorithm, PaddingMethod};
use kmip_codec::model::CryptographicParameters;
use rand_core::CryptoRngCore;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, Pss};

use crate::asymmetric::{PrivateInner, PublicInner};
use crate::asymmetric::{PrivateKey, PublicKey};
use crate::error::{KeyKind, Parameter};
use crate::hash::{self, HashAlgorithm};
use crate::limits::{self, MAX_DATA_LEN, MAX_SIGNATURE_LEN};
use crate::{Error, Input, Result, Validity};

/// The PSS salt length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PssSaltLength {
    /// No Salt Length given: sign with the hash length; verify with the hash length or the
    /// maximum.
    Default,
    /// Exactly this many bytes (KMIP Salt Length).
    Exact(usize),
}

/// A signature scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// RSASSA-PSS with MGF1 over the same hash.
    RsaPss {
        /// The hash.
        hash: HashAlgorithm,
        /// The salt length.
        salt: PssSaltLength,
    },
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1v15 {
        /// The hash.
        hash: HashAlgorithm,
    },
    /// ECDSA.
    Ecdsa {
        /// The hash.
        hash: HashAlgorithm,
    },
}

/// What is signed or verified.
#[derive(Clone, Copy, Debug)]
pub enum Message<'a> {
    /// The data (KMIP Data): hashed here.
    Data(&'a [u8]),
    /// Its digest (KMIP Digested Data): the hash's output length exactly.
    Digest(&'a [u8]),
}

impl SignatureAlgorithm {
    /// The scheme KMIP Cryptographic Parameters name (the request's, or else the key's
    /// attribute, as the server merges them): a Digital Signature Algorithm, or a Cryptographic
    /// Algorithm (RSA with a Padding Method PSS or PKCS1 v1.5; ECDSA or EC) with a Hashing
    /// Algorithm; Salt Length for PSS.
    pub fn from_kmip(p: &CryptographicParameters) -> Result<Self> {
        let hash = || -> Result<HashAlgorithm> {
            HashAlgorithm::from_kmip(
                p.hashing_algorithm
                    .ok_or(Error::Missing(Parameter::HashingAlgorithm))?,
            )
        };
        let salt = match p.salt_length {
            None => PssSaltLength::Default,
            Some(n) => PssSaltLength::Exact(
                usize::try_from(n).map_err(|_| Error::Invalid(Parameter::SaltLength))?,
            ),
        };
        if let Some(dsa) = p.digital_signature_algorithm {
            use DigitalSignatureAlgorithm as D;
            let pkcs1 = |hash| Ok(Self::RsaPkcs1v15 { hash });
            let ecdsa = |hash| Ok(Self::Ecdsa { hash });
            return match dsa {
                D::SHA_1_WITH_RSA_ENCRYPTION => pkcs1(HashAlgorithm::Sha1),
                D::SHA_224_WITH_RSA_ENCRYPTION => pkcs1(HashAlgorithm::Sha224),
                D::SHA_256_WITH_RSA_ENCRYPTION => pkcs1(HashAlgorithm::Sha256),
                D::SHA_384_WITH_RSA_ENCRYPTION => pkcs1(HashAlgorithm::Sha384),
                D::SHA_512_WITH_RSA_ENCRYPTION => pkcs1(HashAlgorithm::Sha512),
                D::RSASSA_PSS => Ok(Self::RsaPss {
                    hash: hash()?,
                    salt,
                }),
                D::ECDSA_WITH_SHA_1 => ecdsa(HashAlgorithm::Sha1),
                D::ECDSA_WITH_SHA224 => ecdsa(HashAlgorithm::Sha224),
                D::ECDSA_WITH_SHA256 => ecdsa(HashAlgorithm::Sha256),
                D::ECDSA_WITH_SHA384 => ecdsa(HashAlgorithm::Sha384),
                D::ECDSA_WITH_SHA512 => ecdsa(HashAlgorithm::Sha512),
                other => Err(Error::Unsupported {
                    parameter: Parameter::DigitalSignatureAlgorithm,
                    value: other.0,
                }),
            };
        }
        match p.cryptographic_algorithm {
            Some(CryptographicAlgorithm::RSA) => match p.padding_method {
                Some(PaddingMethod::PSS) => Ok(Self::RsaPss {
                    hash: hash()?,
                    salt,
                }),
                Some(PaddingMethod::PKCS1_V1_5) => Ok(Self::RsaPkcs1v15 { hash: hash()? }),
                Some(other) => Err(Error::Unsupported {
                    parameter: Parameter::PaddingMethod,
                    value: other.0,
                }),
                None => Err(Error::Missing(Parameter::PaddingMethod)),
            },
            Some(CryptographicAlgorithm::ECDSA | CryptographicAlgorithm::EC) => {
                Ok(Self::Ecdsa { hash: hash()? })
            }
            Some(other) => Err(Error::Unsupported {
                parameter: Parameter::CryptographicAlgorithm,
                value: other.0,
            }),
            None => Err(Error::Missing(Parameter::CryptographicAlgorithm)),
        }
    }

    /// The hash.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::RsaPss { hash, .. } | Self::RsaPkcs1v15 { hash } | Self::Ecdsa { hash } => hash,
        }
    }
}

fn digest_of(hash: HashAlgorithm, message: Message<'_>) -> Result<Vec<u8>> {
    match message {
        Message::Data(d) => {
            limits::check(Input::Data, d.len(), MAX_DATA_LEN)?;
            Ok(hash::digest_unchecked(hash, d))
        }
        Message::Digest(d) if d.len() == hash.output_len() => Ok(d.to_vec()),
        Message::Digest(d) => Err(Error::BadLength {
            what: Input::Digest,
            len: d.len(),
        }),
    }
}

/// `rsa`'s PKCS#1 v1.5 signature scheme for `hash` (the DigestInfo prefix of RFC 8017 section
/// 9.2, note 1).
fn pkcs1v15(hash: HashAlgorithm) -> Pkcs1v15Sign {
    match hash {
        HashAlgorithm::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
        HashAlgorithm::Sha224 => Pkcs1v15Sign::new::<sha2::Sha224>(),
        HashAlgorithm::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        HashAlgorithm::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
        HashAlgorithm::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
    }
}

fn pss(hash: HashAlgorithm, salt_len: usize) -> Pss {
    Pss {
        blinded: false,
        digest: hash.dyn_digest(),
        salt_len,
    }
}

/// The largest PSS salt a key of `modulus_bits` takes with `hash` (RFC 8017 section 9.1.1:
/// emLen - hLen - 2).
fn max_salt(modulus_bits: usize, hash: HashAlgorithm) -> usize {
    (modulus_bits - 1)
        .div_ceil(8)
        .saturating_sub(hash.output_len() + 2)
}

fn wrong(expected: KeyKind, actual: KeyKind) -> Error {
    Error::WrongKeyType { expected, actual }
}

/// Signs `message` with `key` (RSA keys for the RSA schemes, EC keys for ECDSA).
pub fn sign(
    key: &PrivateKey,
    algorithm: SignatureAlgorithm,
    message: Message<'_>,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>> {
    let hash = algorithm.hash();
    if hash == HashAlgorithm::Sha1 {
        return Err(Error::VerifyOnly(hash));
    }
    let digest = digest_of(hash, message)?;
    match (algorithm, &key.0) {
        (SignatureAlgorithm::RsaPkcs1v15 { .. }, PrivateInner::Rsa(k)) => k
            .sign_with_rng(rng, pkcs1v15(hash), &digest)
            .map_err(|_| Error::SigningFailed),
        (SignatureAlgorithm::RsaPss { salt, .. }, PrivateInner::Rsa(k)) => {
            let max = max_salt(k.n().bits(), hash);
            let salt_len = match salt {
                PssSaltLength::Default => hash.output_len(),
                PssSaltLength::Exact(n) if n <= max => n,
                PssSaltLength::Exact(_) => return Err(Error::Invalid(Parameter::SaltLength)),
            };
            k.sign_with_rng(rng, pss(hash, salt_len), &digest)
                .map_err(|_| Error::SigningFailed)
        }
        (SignatureAlgorithm::Ecdsa { .. }, PrivateInner::P256(k)) => {
            use p256::ecdsa::signature::hazmat::PrehashSigner;
            let s: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(k)
                .sign_prehash(&digest)
                .map_err(|_| Error::SigningFailed)?;
            Ok(s.to_der().as_bytes().to_vec())
        }
        (SignatureAlgorithm::Ecdsa { .. }, PrivateInner::P384(k)) => {
            use p384::ecdsa::signature::hazmat::PrehashSigner;
            let s: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from(k)
                .sign_prehash(&digest)
                .map_err(|_| Error::SigningFailed)?;
            Ok(s.to_der().as_bytes().to_vec())
        }
        (SignatureAlgorithm::Ecdsa { .. }, PrivateInner::Rsa(_)) => {
            Err(wrong(KeyKind::EcPrivate, key.kind()))
        }
        (_, PrivateInner::P256(_) | PrivateInner::P384(_)) => {
            Err(wrong(KeyKind::RsaPrivate, key.kind()))
        }
    }
}

/// Verifies `signature` over `message` with `key`.
pub fn verify(
    key: &PublicKey,
    algorithm: SignatureAlgorithm,
    message: Message<'_>,
    signature: &[u8],
) -> Result<Validity> {
    limits::check(Input::Signature, signature.len(), MAX_SIGNATURE_LEN)?;
    let hash = algorithm.hash();
    let digest = digest_of(hash, message)?;
    let valid = match (algorithm, &key.0) {
        (SignatureAlgorithm::RsaPkcs1v15 { .. }, PublicInner::Rsa(k)) => {
            k.verify(pkcs1v15(hash), &digest, signature).is_ok()
        }
        (SignatureAlgorithm::RsaPss { salt, .. }, PublicInner::Rsa(k)) => {
            let max = max_salt(k.n().bits(), hash);
            let candidates = match salt {
                PssSaltLength::Default => vec![hash.output_len(), max],
                PssSaltLength::Exact(n) if n <= max => vec![n],
                PssSaltLength::Exact(_) => return Err(Error::Invalid(Parameter::SaltLength)),
            };
            candidates
                .into_iter()
                .any(|s| k.verify(pss(hash, s), &digest, signature).is_ok())
        }
        (SignatureAlgorithm::Ecdsa { .. }, PublicInner::P256(k)) => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            p256::ecdsa::Signature::from_der(signature).is_ok_and(|s| {
                p256::ecdsa::VerifyingKey::from(k)
                    .verify_prehash(&digest, &s)
                    .is_ok()
            })
        }
        (SignatureAlgorithm::Ecdsa { .. }, PublicInner::P384(k)) => {
            use p384::ecdsa::signature::hazmat::PrehashVerifier;
            p384::ecdsa::Signature::from_der(signature).is_ok_and(|s| {
                p384::ecdsa::VerifyingKey::from(k)
                    .verify_prehash(&digest, &s)
                    .is_ok()
            })
        }
        (SignatureAlgorithm::Ecdsa { .. }, PublicInner::Rsa(_)) => {
            return Err(wrong(KeyKind::EcPublic, key.kind()));
        }
        (_, PublicInner::P256(_) | PublicInner::P384(_)) => {
            return Err(wrong(KeyKind::RsaPublic, key.kind()));
        }
    };
    Ok(Validity::from_bool(valid))
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
