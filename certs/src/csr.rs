//! Signing a client's CSR (vCenter's "KMS-signed CSR" option).
//!
//! Only two things are taken from the request: its public key (after the self-signature
//! proves possession) and its subject CN, for humans. Every extension it asks for (SANs,
//! EKUs, basic constraints) is ignored: the certificate carries the principal URI we choose
//! and EKU clientAuth, nothing else. The key must be RSA of [`MIN_CSR_RSA_BITS`] to
//! [`MAX_CSR_RSA_BITS`] bits or ECDSA on P-256 or P-384; anything else is refused.

use rcgen::SubjectPublicKeyInfo;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::traits::PublicKeyParts;
use rustls_pki_types::CertificateSigningRequestDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::authority::CertificateAuthority;
use crate::certificate::Certificate;
use crate::error::{Error, Result};
use crate::identity::PrincipalUri;

/// Largest CSR accepted (DER bytes). Real ones are under 2 KiB.
pub const MAX_CSR_DER_LEN: usize = 64 * 1024;

/// Smallest RSA modulus signed (NIST SP 800-131A: 2048 bits until 2030).
pub const MIN_CSR_RSA_BITS: usize = 2048;

/// Largest RSA modulus signed (the `rsa` crate's own ceiling for public keys).
pub const MAX_CSR_RSA_BITS: usize = 4096;

impl CertificateAuthority {
    /// Signs a PEM CSR for `principal` (see the module docs for what is taken from it).
    pub fn sign_csr(
        &self,
        csr_pem: &str,
        principal: &PrincipalUri,
        days: u32,
    ) -> Result<Certificate> {
        let der =
            CertificateSigningRequestDer::from_pem_slice(csr_pem.as_bytes()).map_err(|source| {
                Error::Pem {
                    what: "certificate request",
                    source,
                }
            })?;
        self.sign_csr_der(&der, principal, days)
    }

    /// Signs a DER CSR for `principal`.
    pub fn sign_csr_der(
        &self,
        der: &[u8],
        principal: &PrincipalUri,
        days: u32,
    ) -> Result<Certificate> {
        principal.validate()?;
        if der.len() > MAX_CSR_DER_LEN {
            return Err(Error::CertificateTooLarge(der.len()));
        }
        let (rest, csr) =
            X509CertificationRequest::from_der(der).map_err(|e| Error::ParseCsr(e.into()))?;
        if !rest.is_empty() {
            return Err(Error::TrailingBytes);
        }
        csr.verify_signature().map_err(Error::CsrSignature)?;
        let info = &csr.certification_request_info;
        let spki_der = info.subject_pki.raw;
        let rsa = check_key(&info.subject_pki)?;
        let public = SubjectPublicKeyInfo::from_der(spki_der).map_err(Error::CsrPublicKey)?;
        let cn = info
            .subject
            .iter_common_name()
            .next()
            .and_then(|attr| attr.as_str().ok())
            .unwrap_or(principal.name.as_str());
        let certificate = self.client_certificate(principal, cn, days, &public, rsa)?;
        // The certificate must carry exactly the key the CSR proved possession of.
        let (_, issued) = X509Certificate::from_der(certificate.der())
            .map_err(|e| Error::ParseCertificate(e.into()))?;
        if issued.public_key().raw != spki_der {
            return Err(Error::CsrPublicKey(
                rcgen::Error::UnsupportedSignatureAlgorithm,
            ));
        }
        Ok(certificate)
    }
}

/// Accepts RSA keys of [`MIN_CSR_RSA_BITS`]..=[`MAX_CSR_RSA_BITS`] bits and ECDSA keys on
/// P-256 or P-384; returns whether the key is RSA.
fn check_key(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> Result<bool> {
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        let bits = rsa::RsaPublicKey::from_pkcs1_der(&spki.subject_public_key.data)
            .map(|k| k.n().bits())
            .map_err(|_| Error::CsrKeyRefused)?;
        return if (MIN_CSR_RSA_BITS..=MAX_CSR_RSA_BITS).contains(&bits) {
            Ok(true)
        } else {
            Err(Error::CsrKeyRefused)
        };
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok());
    match curve {
        Some(c)
            if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY
                && (c == OID_EC_P256 || c == OID_NIST_EC_P384) =>
        {
            Ok(false)
        }
        _ => Err(Error::CsrKeyRefused),
    }
}

#[cfg(test)]
mod tests {
    use rsa::pkcs8::EncodePublicKey;
    use x509_parser::prelude::FromDer;
    use x509_parser::x509::SubjectPublicKeyInfo;

    use super::*;

    fn rsa_spki(bits: usize) -> Vec<u8> {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).expect("RSA key");
        key.to_public_key()
            .to_public_key_der()
            .expect("SPKI")
            .as_bytes()
            .to_vec()
    }

    fn check(spki_der: &[u8]) -> Result<bool> {
        let (_, spki) = SubjectPublicKeyInfo::from_der(spki_der).expect("SPKI parses");
        check_key(&spki)
    }

    #[test]
    fn rsa_keys_below_2048_bits_are_refused() {
        assert!(matches!(check(&rsa_spki(1024)), Err(Error::CsrKeyRefused)));
        assert!(matches!(check(&rsa_spki(2040)), Err(Error::CsrKeyRefused)));
        assert!(matches!(check(&rsa_spki(2048)), Ok(true)));
    }

    #[test]
    fn only_p256_and_p384_ec_keys_are_signed() {
        for (alg, ok) in [
            (&rcgen::PKCS_ECDSA_P256_SHA256, true),
            (&rcgen::PKCS_ECDSA_P384_SHA384, true),
            (&rcgen::PKCS_ED25519, false),
        ] {
            let key = rcgen::KeyPair::generate_for(alg).expect("key");
            let spki = rcgen::PublicKeyData::subject_public_key_info(&key);
            assert_eq!(check(&spki).is_ok(), ok, "{alg:?}");
        }
    }
}
