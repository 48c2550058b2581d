//! Signing a client's CSR (vCenter's "KMS-signed CSR" option).
//!
//! Only two things are taken from the request: its public key (after the self-signature
//! proves possession) and its subject CN, for humans. Every extension it asks for (SANs,
//! EKUs, basic constraints) is ignored: the certificate carries the principal URI we choose
//! and EKU clientAuth, nothing else.

use rcgen::SubjectPublicKeyInfo;
use rustls_pki_types::CertificateSigningRequestDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::authority::CertificateAuthority;
use crate::certificate::Certificate;
use crate::error::{Error, Result};
use crate::identity::PrincipalUri;

/// Largest CSR accepted (DER bytes). Real ones are under 2 KiB.
pub const MAX_CSR_DER_LEN: usize = 64 * 1024;

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
        let public = SubjectPublicKeyInfo::from_der(spki_der).map_err(Error::CsrPublicKey)?;
        let rsa = spki_is_rsa(spki_der);
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

fn spki_is_rsa(spki_der: &[u8]) -> bool {
    x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der).is_ok_and(|(_, spki)| {
        spki.algorithm.algorithm == x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION
    })
}
