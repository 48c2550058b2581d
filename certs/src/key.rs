//! Private keys: generation (ECDSA P-256 through ring, RSA through the RustCrypto `rsa` crate,
//! since ring cannot generate RSA keys) and PKCS#8 PEM import/export.

use std::fmt;
use std::str::FromStr;

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, PublicKeyData};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// The key types this PKI issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA on P-256, signatures with SHA-256. The default everywhere.
    EcdsaP256,
    /// RSA 2048-bit, PKCS#1 v1.5 SHA-256 signatures (for clients that do not do ECDSA).
    Rsa2048,
    /// RSA 3072-bit.
    Rsa3072,
}

impl KeyAlgorithm {
    /// The name used on the command line and in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ecdsa-p256",
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa3072 => "rsa-3072",
        }
    }

    /// Whether this is an RSA algorithm.
    pub fn is_rsa(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072)
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        [Self::EcdsaP256, Self::Rsa2048, Self::Rsa3072]
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::UnknownKeyAlgorithm(s.chars().take(32).collect()))
    }
}

/// A private key. Its bytes are wiped on drop; `Debug` shows only the algorithm.
pub struct PrivateKey {
    pair: KeyPair,
    algorithm: KeyAlgorithm,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        self.pair.zeroize();
    }
}

impl PrivateKey {
    /// Generates a fresh key from the operating system's random source.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self> {
        let pair = match algorithm {
            KeyAlgorithm::EcdsaP256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
                .map_err(Error::rcgen("ECDSA key generation"))?,
            KeyAlgorithm::Rsa2048 => generate_rsa(2048)?,
            KeyAlgorithm::Rsa3072 => generate_rsa(3072)?,
        };
        Ok(Self { pair, algorithm })
    }

    /// Loads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`), ECDSA P-256 or RSA.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let der =
            PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).map_err(|source| Error::Pem {
                what: "PKCS#8 private key",
                source,
            })?;
        // Try ECDSA P-256 first, then RSA; the algorithm must be told to ring explicitly.
        let pair = KeyPair::from_pkcs8_der_and_sign_algo(&der, &PKCS_ECDSA_P256_SHA256)
            .or_else(|_| KeyPair::from_pkcs8_der_and_sign_algo(&der, &PKCS_RSA_SHA256))
            .map_err(Error::LoadKey)?;
        let algorithm = if pair.algorithm() == &PKCS_ECDSA_P256_SHA256 {
            KeyAlgorithm::EcdsaP256
        } else {
            let public = rsa::RsaPublicKey::from_pkcs1_der(pair.der_bytes())
                .map_err(|_| Error::UnsupportedRsaSize(0))?;
            match public.size() * 8 {
                2048 => KeyAlgorithm::Rsa2048,
                3072 => KeyAlgorithm::Rsa3072,
                bits => return Err(Error::UnsupportedRsaSize(bits)),
            }
        };
        Ok(Self { pair, algorithm })
    }

    /// The key as PKCS#8 PEM, in a buffer wiped on drop.
    pub fn to_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(self.pair.serialize_pem())
    }

    /// A copy of the key as PKCS#8 DER for rustls (`PrivateKeyDer::Pkcs8(key.to_pkcs8_der())`).
    /// The copy is not wiped on drop by itself: hand it to rustls or call `zeroize()` on it.
    pub fn to_pkcs8_der(&self) -> PrivatePkcs8KeyDer<'static> {
        PrivatePkcs8KeyDer::from(self.pair.serialize_der())
    }

    /// The DER SubjectPublicKeyInfo of the public half.
    pub fn public_key_info_der(&self) -> Vec<u8> {
        self.pair.subject_public_key_info()
    }

    /// Which algorithm this key is for.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    pub(crate) fn key_pair(&self) -> &KeyPair {
        &self.pair
    }
}

/// RSA key generation with the RustCrypto `rsa` crate, handed to ring as PKCS#8.
fn generate_rsa(bits: usize) -> Result<KeyPair> {
    let mut rng = rsa::rand_core::OsRng;
    // RsaPrivateKey zeroizes itself on drop; the PKCS#8 document is a zeroizing SecretDocument.
    let key = rsa::RsaPrivateKey::new(&mut rng, bits).map_err(Error::RsaKeyGeneration)?;
    let pkcs8 = key.to_pkcs8_der().map_err(Error::RsaPkcs8)?;
    KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(pkcs8.as_bytes()),
        &PKCS_RSA_SHA256,
    )
    .map_err(Error::rcgen("loading the generated RSA key"))
}
