//! X.509 certificates (RFC 5280) parsed with `x509-parser`, for Register / Get of Certificate
//! objects and the attributes Get Attributes derives from them: subject, issuer (text and DER,
//! for KMIP's Certificate Subject / Issuer and X.509 Certificate Subject / Issuer /
//! Identifier), serial number, validity, the SubjectPublicKeyInfo and its key facts, and the
//! SHA-1 / SHA-256 digests of the DER (KMIP Digest). Trailing bytes are refused.
//!
//! Parsing does not verify the signature or the chain: that is a trust decision for the caller.

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::asymmetric::{KeyFacts, PublicKey, PublicKeyFormat};
use crate::error::CertificateError;
use crate::hash::{self, HashAlgorithm};
use crate::limits::{self, MAX_CERTIFICATE_LEN};
use crate::{Input, Result};

/// What a certificate says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// The certificate's DER.
    pub der: Vec<u8>,
    /// Subject, as RFC 4514-style text ("C=AU, ST=SP, ... CN=CN").
    pub subject: String,
    /// Issuer, as text.
    pub issuer: String,
    /// Subject Name, DER.
    pub subject_der: Vec<u8>,
    /// Issuer Name, DER.
    pub issuer_der: Vec<u8>,
    /// Serial number: the content octets of the DER INTEGER (big-endian two's complement, so a
    /// leading zero byte when the top bit is set, as in the certificate).
    pub serial: Vec<u8>,
    /// Not Before, seconds since the Unix epoch.
    pub not_before: i64,
    /// Not After, seconds since the Unix epoch.
    pub not_after: i64,
    /// The SubjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
    /// SHA-1 of the DER.
    pub sha1: Vec<u8>,
    /// SHA-256 of the DER.
    pub sha256: Vec<u8>,
}

impl Certificate {
    /// Parses a DER certificate (at most [`MAX_CERTIFICATE_LEN`] bytes).
    pub fn parse(der: &[u8]) -> Result<Self> {
        limits::check(Input::Certificate, der.len(), MAX_CERTIFICATE_LEN)?;
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|_| CertificateError::Malformed)?;
        if !rest.is_empty() {
            return Err(CertificateError::TrailingBytes.into());
        }
        let validity = cert.validity();
        Ok(Self {
            der: der.to_vec(),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            subject_der: cert.subject().as_raw().to_vec(),
            issuer_der: cert.issuer().as_raw().to_vec(),
            serial: cert.raw_serial().to_vec(),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            spki_der: cert.public_key().raw.to_vec(),
            sha1: hash::digest_unchecked(HashAlgorithm::Sha1, der),
            sha256: hash::digest_unchecked(HashAlgorithm::Sha256, der),
        })
    }

    /// The certificate's public key, under this crate's key policy (an RSA key under 2048 bits
    /// or an unsupported curve is an error here, though the certificate itself parsed).
    pub fn public_key(&self) -> Result<PublicKey> {
        PublicKey::from_der(PublicKeyFormat::Spki, &self.spki_der)
    }

    /// The public key's facts (KMIP Cryptographic Algorithm / Length of the certificate).
    pub fn key_facts(&self) -> Result<KeyFacts> {
        self.public_key().map(|k| k.facts())
    }

    /// The digest of the DER with `algorithm` (KMIP Digest attribute).
    pub fn digest(&self, algorithm: HashAlgorithm) -> Vec<u8> {
        hash::digest_unchecked(algorithm, &self.der)
    }
}

#[cfg(test)]
#[path = "certificate_tests.rs"]
mod tests;
