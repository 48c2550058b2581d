//! The structured attributes that identify a certificate: X.509 Certificate Identifier, Subject
//! and Issuer (KMIP 1.4 sections 3.10-3.12, KMIP 2.1 sections 4.61-4.63), and their KMIP 1.0
//! predecessors Certificate Identifier, Subject and Issuer (KMIP 1.4 sections 3.13-3.15,
//! deprecated in 1.1, withdrawn in 2.0). The 2.x Certificate Attributes (KMIP 2.1 section 4.6:
//! Certificate Subject CN, ...) are Text Strings and need no structure.
//!
//! Distinguished names and serial numbers identify a certificate; none of this is secret.

use crate::error::Result;
use crate::model::fields::{Fielded, Fields, Out};
use crate::tags::Tag;

/// X.509 Certificate Identifier attribute (KMIP 1.4 section 3.10, KMIP 2.1 section 4.61).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X509CertificateIdentifier {
    /// Issuer Distinguished Name (DER).
    pub issuer_distinguished_name: Vec<u8>,
    /// Certificate Serial Number (DER integer contents).
    pub certificate_serial_number: Vec<u8>,
}

impl Fielded for X509CertificateIdentifier {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            issuer_distinguished_name: f
                .req_bytes(Tag::ISSUER_DISTINGUISHED_NAME)?
                .as_slice()
                .to_vec(),
            certificate_serial_number: f
                .req_bytes(Tag::CERTIFICATE_SERIAL_NUMBER)?
                .as_slice()
                .to_vec(),
        })
    }
    fn write(&self, out: &mut Out) {
        out.plain_bytes(
            Tag::ISSUER_DISTINGUISHED_NAME,
            &self.issuer_distinguished_name,
        )
        .plain_bytes(
            Tag::CERTIFICATE_SERIAL_NUMBER,
            &self.certificate_serial_number,
        );
    }
}

/// X.509 Certificate Subject attribute (KMIP 1.4 section 3.11, KMIP 2.1 section 4.63).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X509CertificateSubject {
    /// Subject Distinguished Name (DER; may be empty when alternative names are given).
    pub subject_distinguished_name: Vec<u8>,
    /// Subject Alternative Names (DER), in order.
    pub subject_alternative_names: Vec<Vec<u8>>,
}

impl Fielded for X509CertificateSubject {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            subject_distinguished_name: f
                .req_bytes(Tag::SUBJECT_DISTINGUISHED_NAME)?
                .as_slice()
                .to_vec(),
            subject_alternative_names: f
                .all_bytes(Tag::SUBJECT_ALTERNATIVE_NAME)?
                .iter()
                .map(|b| b.as_slice().to_vec())
                .collect(),
        })
    }
    fn write(&self, out: &mut Out) {
        out.plain_bytes(
            Tag::SUBJECT_DISTINGUISHED_NAME,
            &self.subject_distinguished_name,
        );
        for n in &self.subject_alternative_names {
            out.plain_bytes(Tag::SUBJECT_ALTERNATIVE_NAME, n);
        }
    }
}

/// X.509 Certificate Issuer attribute (KMIP 1.4 section 3.12, KMIP 2.1 section 4.62).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X509CertificateIssuer {
    /// Issuer Distinguished Name (DER).
    pub issuer_distinguished_name: Vec<u8>,
    /// Issuer Alternative Names (DER), in order.
    pub issuer_alternative_names: Vec<Vec<u8>>,
}

impl Fielded for X509CertificateIssuer {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            issuer_distinguished_name: f
                .req_bytes(Tag::ISSUER_DISTINGUISHED_NAME)?
                .as_slice()
                .to_vec(),
            issuer_alternative_names: f
                .all_bytes(Tag::ISSUER_ALTERNATIVE_NAME)?
                .iter()
                .map(|b| b.as_slice().to_vec())
                .collect(),
        })
    }
    fn write(&self, out: &mut Out) {
        out.plain_bytes(
            Tag::ISSUER_DISTINGUISHED_NAME,
            &self.issuer_distinguished_name,
        );
        for n in &self.issuer_alternative_names {
            out.plain_bytes(Tag::ISSUER_ALTERNATIVE_NAME, n);
        }
    }
}

/// Certificate Identifier attribute (KMIP 1.0; KMIP 1.4 section 3.13, deprecated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateIdentifier {
    /// Issuer.
    pub issuer: String,
    /// Serial Number (required for X.509 certificates, absent for PGP ones).
    pub serial_number: Option<String>,
}

impl Fielded for CertificateIdentifier {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            issuer: f.req_text(Tag::ISSUER)?,
            serial_number: f.opt_text(Tag::SERIAL_NUMBER)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.text(Tag::ISSUER, &self.issuer)
            .opt_text(Tag::SERIAL_NUMBER, self.serial_number.as_deref());
    }
}

/// Certificate Subject attribute (KMIP 1.0; KMIP 1.4 section 3.14, deprecated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateSubject {
    /// Certificate Subject Distinguished Name (may be empty).
    pub distinguished_name: String,
    /// Certificate Subject Alternative Names, in order.
    pub alternative_names: Vec<String>,
}

impl Fielded for CertificateSubject {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            distinguished_name: f.req_text(Tag::CERTIFICATE_SUBJECT_DISTINGUISHED_NAME)?,
            alternative_names: f.all_text(Tag::CERTIFICATE_SUBJECT_ALTERNATIVE_NAME)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.text(
            Tag::CERTIFICATE_SUBJECT_DISTINGUISHED_NAME,
            &self.distinguished_name,
        );
        for n in &self.alternative_names {
            out.text(Tag::CERTIFICATE_SUBJECT_ALTERNATIVE_NAME, n);
        }
    }
}

/// Certificate Issuer attribute (KMIP 1.0; KMIP 1.4 section 3.15, deprecated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateIssuer {
    /// Certificate Issuer Distinguished Name.
    pub distinguished_name: String,
    /// Certificate Issuer Alternative Names, in order.
    pub alternative_names: Vec<String>,
}

impl Fielded for CertificateIssuer {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            distinguished_name: f.req_text(Tag::CERTIFICATE_ISSUER_DISTINGUISHED_NAME)?,
            alternative_names: f.all_text(Tag::CERTIFICATE_ISSUER_ALTERNATIVE_NAME)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.text(
            Tag::CERTIFICATE_ISSUER_DISTINGUISHED_NAME,
            &self.distinguished_name,
        );
        for n in &self.alternative_names {
            out.text(Tag::CERTIFICATE_ISSUER_ALTERNATIVE_NAME, n);
        }
    }
}
