//! Issued certificates and certificate/key pairs.

use std::fmt;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::{Error, Result};
use crate::identity::{Fingerprint, MAX_CERT_DER_LEN};
use crate::key::PrivateKey;

/// A certificate: public data only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    der: CertificateDer<'static>,
    pem: String,
    fingerprint: Fingerprint,
}

impl Certificate {
    pub(crate) fn from_rcgen(cert: &rcgen::Certificate) -> Self {
        Self::from_der(cert.der().clone())
    }

    /// Wraps a DER certificate (not parsed; see [`crate::identity::cert_info`]).
    pub fn from_der(der: CertificateDer<'static>) -> Self {
        let pem = pem_encode(&der);
        let fingerprint = Fingerprint::of_der(&der);
        Self {
            der,
            pem,
            fingerprint,
        }
    }

    /// The first `CERTIFICATE` of a PEM text.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|source| Error::Pem {
            what: "certificate",
            source,
        })?;
        if der.len() > MAX_CERT_DER_LEN {
            return Err(Error::CertificateTooLarge(der.len()));
        }
        Ok(Self::from_der(der))
    }

    /// Every `CERTIFICATE` of a PEM text, in order (at least one).
    pub fn all_from_pem(pem: &str) -> Result<Vec<Self>> {
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .map(|der| der.map(Self::from_der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| Error::Pem {
                what: "certificate",
                source,
            })?;
        if certs.is_empty() {
            return Err(Error::Pem {
                what: "certificate",
                source: rustls_pki_types::pem::Error::NoItemsFound,
            });
        }
        Ok(certs)
    }

    /// The DER encoding.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// The PEM encoding (`-----BEGIN CERTIFICATE-----`).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// SHA-256 over the DER encoding.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

fn pem_encode(der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 64);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    let mut rest = body.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// A certificate with its private key.
pub struct CertifiedKey {
    /// The certificate.
    pub certificate: Certificate,
    /// Its private key (redacted `Debug`, wiped on drop).
    pub key: PrivateKey,
}

impl fmt::Debug for CertifiedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertifiedKey")
            .field("fingerprint", &self.certificate.fingerprint().hex())
            .field("key", &self.key)
            .finish()
    }
}
