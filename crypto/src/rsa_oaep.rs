//! RSA-OAEP encryption (RFC 8017 section 7.1, RustCrypto `rsa`) for KMIP Encrypt / Decrypt and
//! for key wrapping, with KMIP's Cryptographic Parameters: Hashing Algorithm, Mask Generator
//! (MGF1 only) with its own Mask Generator Hashing Algorithm, and P Source (the label).
//!
//! Decryption is blinded with the caller's RNG and every failure is the one
//! [`Error::DecryptionFailed`]. RSAES-PKCS1-v1_5 is not offered: no OASIS vector needs it and
//! its decryption is a padding oracle (Bleichenbacher).
//!
//! Known weakness: `rsa` 0.9 computes with variable-time bignums (RUSTSEC-2023-0071, "Marvin"):
//! blinding hides the operand but timing still depends on the key. An RSA private key used for
//! decryption over the network should live in the HSM; see the crate README.

use kmip_codec::enums::{MaskGenerator, PaddingMethod};
use kmip_codec::model::CryptographicParameters;
use rand_core::CryptoRngCore;
use rsa::Oaep;
use rsa::traits::PublicKeyParts;

use crate::asymmetric::{PrivateKey, PublicKey};
use crate::error::Parameter;
use crate::hash::HashAlgorithm;
use crate::limits::{self, MAX_OAEP_LABEL_LEN};
use crate::{Error, Input, Result, SecretBytes};

/// The OAEP parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OaepParams {
    /// The hash of the label (KMIP Hashing Algorithm).
    pub hash: HashAlgorithm,
    /// MGF1's hash (KMIP Mask Generator Hashing Algorithm; the same hash when absent).
    pub mgf1_hash: HashAlgorithm,
    /// The label (KMIP P Source; empty when absent). UTF-8 text only, a limit of `rsa` 0.9.
    pub label: Vec<u8>,
}

impl OaepParams {
    /// OAEP with `hash` for both the label and MGF1, and no label.
    pub fn new(hash: HashAlgorithm) -> Self {
        Self {
            hash,
            mgf1_hash: hash,
            label: Vec::new(),
        }
    }

    /// The parameters KMIP Cryptographic Parameters give: Padding Method OAEP and a Hashing
    /// Algorithm are required.
    pub fn from_kmip(p: &CryptographicParameters) -> Result<Self> {
        match p.padding_method {
            Some(PaddingMethod::OAEP) => {}
            Some(other) => {
                return Err(Error::Unsupported {
                    parameter: Parameter::PaddingMethod,
                    value: other.0,
                });
            }
            None => return Err(Error::Missing(Parameter::PaddingMethod)),
        }
        if let Some(m) = p.mask_generator
            && m != MaskGenerator::MGF1
        {
            return Err(Error::Unsupported {
                parameter: Parameter::MaskGenerator,
                value: m.0,
            });
        }
        let hash = HashAlgorithm::from_kmip(
            p.hashing_algorithm
                .ok_or(Error::Missing(Parameter::HashingAlgorithm))?,
        )?;
        let mgf1_hash = match p.mask_generator_hashing_algorithm {
            Some(h) => HashAlgorithm::from_kmip(h).map_err(|_| Error::Unsupported {
                parameter: Parameter::MaskGeneratorHashingAlgorithm,
                value: h.0,
            })?,
            None => hash,
        };
        Ok(Self {
            hash,
            mgf1_hash,
            label: p.p_source.clone().unwrap_or_default(),
        })
    }

    fn padding(&self) -> Result<Oaep> {
        limits::check(Input::OaepLabel, self.label.len(), MAX_OAEP_LABEL_LEN)?;
        let label = if self.label.is_empty() {
            None
        } else {
            Some(
                String::from_utf8(self.label.clone()).map_err(|_| Error::Unsupported {
                    parameter: Parameter::PSource,
                    value: 0,
                })?,
            )
        };
        Ok(Oaep {
            digest: self.hash.dyn_digest(),
            mgf_digest: self.mgf1_hash.dyn_digest(),
            label,
        })
    }

    /// The longest message a key of `modulus_bytes` encrypts (RFC 8017 section 7.1.1: k -
    /// 2hLen - 2).
    pub fn max_message_len(&self, modulus_bytes: usize) -> usize {
        modulus_bytes.saturating_sub(2 * self.hash.output_len() + 2)
    }
}

/// Encrypts `plaintext` to `key`.
pub fn encrypt(
    key: &PublicKey,
    params: &OaepParams,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>> {
    let k = key.rsa()?;
    if plaintext.len() > params.max_message_len(k.size()) {
        return Err(Error::MessageTooLong);
    }
    k.encrypt(rng, params.padding()?, plaintext)
        .map_err(|_| Error::MessageTooLong)
}

/// Decrypts `ciphertext` (exactly the modulus length) with `key`, blinded with `rng`.
pub fn decrypt(
    key: &PrivateKey,
    params: &OaepParams,
    ciphertext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<SecretBytes> {
    let k = key.rsa()?;
    if ciphertext.len() != k.size() {
        return Err(Error::BadLength {
            what: Input::Data,
            len: ciphertext.len(),
        });
    }
    let padding = params.padding()?;
    k.decrypt_blinded(rng, padding, ciphertext)
        .map(SecretBytes::new)
        .map_err(|_| Error::DecryptionFailed)
}

#[cfg(test)]
#[path = "rsa_oaep_tests.rs"]
mod tests;
