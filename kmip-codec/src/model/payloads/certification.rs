//! Certificates made or checked by the server: Certify (KMIP 1.4 section 4.7, KMIP 2.1 section
//! 6.1.6), Re-certify (4.8 / 6.1.45) and Validate (4.24 / 6.1.57).
//!
//! The certificate request travels as a Byte String tagged Certificate Request in 1.x and
//! Certificate Request Value in 2.x (where Certificate Request became an object type).

use super::Payload;
use crate::enums::{CertificateRequestType, CertificateType, ValidityIndicator};
use crate::error::Result;
use crate::model::attributes::{TemplateAttribute, forms};
use crate::model::capabilities::ProtectionStorageMasks;
use crate::model::fields::{Fields, Out, decode_struct};
use crate::model::objects::Certificate;
use crate::tags::Tag;
use crate::version::ProtocolVersion;

/// The tag of the request's Byte String in version `v`.
fn request_value_tag(v: ProtocolVersion) -> Tag {
    if v.is_2x() {
        Tag::CERTIFICATE_REQUEST_VALUE
    } else {
        Tag::CERTIFICATE_REQUEST
    }
}

/// The fields Certify and Re-certify requests share (KMIP 1.4 sections 4.7 and 4.8, KMIP 2.1
/// sections 6.1.6 and 6.1.45).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertificationRequest {
    /// Unique Identifier of the Public Key, Certificate Request or Certificate (ID Placeholder
    /// when absent).
    pub unique_identifier: Option<String>,
    /// Certificate Request Unique Identifier (2.1, Re-certify): a registered request object.
    pub certificate_request_unique_identifier: Option<String>,
    /// Certificate Request Type.
    pub certificate_request_type: Option<CertificateRequestType>,
    /// The certificate request (e.g. PKCS#10 DER).
    pub certificate_request_value: Option<Vec<u8>>,
    /// Offset, seconds (Re-certify only).
    pub offset: Option<u32>,
    /// The attributes of the new certificate (1.x Template-Attribute, 2.x Attributes).
    pub template_attribute: Option<TemplateAttribute>,
    /// Protection Storage Masks (2.1).
    pub protection_storage_masks: Option<ProtectionStorageMasks>,
}

impl CertificationRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            certificate_request_unique_identifier: f
                .opt_text(Tag::CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER)?,
            certificate_request_type: f
                .opt_enum(Tag::CERTIFICATE_REQUEST_TYPE)?
                .map(CertificateRequestType),
            certificate_request_value: f.opt_plain_bytes(request_value_tag(v))?,
            offset: f.opt_interval(Tag::OFFSET)?,
            template_attribute: forms::read_template(f, v)?,
            protection_storage_masks: f.opt_with(
                Tag::PROTECTION_STORAGE_MASKS,
                ProtectionStorageMasks::decode,
            )?,
        })
    }

    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref())
            .opt_text(
                Tag::CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER,
                self.certificate_request_unique_identifier.as_deref(),
            )
            .opt_enum(
                Tag::CERTIFICATE_REQUEST_TYPE,
                self.certificate_request_type.map(|t| t.0),
            )
            .opt_plain_bytes(
                request_value_tag(v),
                self.certificate_request_value.as_deref(),
            )
            .opt_interval(Tag::OFFSET, self.offset);
        if let Some(t) = &self.template_attribute {
            forms::write_template(out, t, v);
        }
        out.push_opt(
            self.protection_storage_masks
                .as_ref()
                .map(|m| m.encode(Tag::PROTECTION_STORAGE_MASKS)),
        );
    }
}

/// The answer to Certify and Re-certify (KMIP 1.4 sections 4.7 and 4.8, KMIP 2.1 sections 6.1.6
/// and 6.1.45): the new certificate's identifier and, in 1.x, the attributes the server set
/// implicitly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertificationResponse {
    /// Unique Identifier of the new certificate.
    pub unique_identifier: String,
    /// 1.x only: Template-Attribute.
    pub template_attribute: Option<TemplateAttribute>,
}

impl CertificationResponse {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            template_attribute: if v.is_2x() {
                None
            } else {
                forms::read_template(f, v)?
            },
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier);
        if let (Some(t), false) = (&self.template_attribute, v.is_2x()) {
            forms::write_template(out, t, v);
        }
    }
}

/// Defines a payload that is a newtype over one of the shared structures above.
macro_rules! certification_payload {
    ($(#[$m:meta])* $name:ident($inner:ty)) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name(pub $inner);

        impl Payload for $name {
            fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
                <$inner>::read(f, v).map(Self)
            }
            fn write(&self, out: &mut Out, v: ProtocolVersion) {
                self.0.write(out, v);
            }
        }
    };
}

certification_payload!(
    /// Certify request (KMIP 1.4 section 4.7, KMIP 2.1 section 6.1.6); no Offset.
    CertifyRequest(CertificationRequest)
);
certification_payload!(
    /// Certify response (KMIP 1.4 section 4.7, KMIP 2.1 section 6.1.6).
    CertifyResponse(CertificationResponse)
);
certification_payload!(
    /// Re-certify request (KMIP 1.4 section 4.8, KMIP 2.1 section 6.1.45).
    ReCertifyRequest(CertificationRequest)
);
certification_payload!(
    /// Re-certify response (KMIP 1.4 section 4.8, KMIP 2.1 section 6.1.45).
    ReCertifyResponse(CertificationResponse)
);

/// Validate request (KMIP 1.4 section 4.24, KMIP 2.1 section 6.1.57): a certificate chain,
/// given by value, by identifier, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidateRequest {
    /// Certificates, in order.
    pub certificates: Vec<Certificate>,
    /// Unique Identifiers of registered certificates, in order.
    pub unique_identifiers: Vec<String>,
    /// Validity Date: when the chain must be valid (default: now).
    pub validity_date: Option<i64>,
}

impl Payload for ValidateRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            certificates: f.all_with(Tag::CERTIFICATE, |c| {
                decode_struct(c, |f| {
                    Ok(Certificate {
                        certificate_type: CertificateType(f.req_enum(Tag::CERTIFICATE_TYPE)?),
                        certificate_value: f.req_bytes(Tag::CERTIFICATE_VALUE)?.as_slice().to_vec(),
                    })
                })
            })?,
            unique_identifiers: f.all_text(Tag::UNIQUE_IDENTIFIER)?,
            validity_date: f.opt_datetime(Tag::VALIDITY_DATE)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        for c in &self.certificates {
            let mut inner = Out::new();
            inner
                .enumeration(Tag::CERTIFICATE_TYPE, c.certificate_type.0)
                .plain_bytes(Tag::CERTIFICATE_VALUE, &c.certificate_value);
            out.push(inner.into_struct(Tag::CERTIFICATE));
        }
        for u in &self.unique_identifiers {
            out.text(Tag::UNIQUE_IDENTIFIER, u);
        }
        out.opt_datetime(Tag::VALIDITY_DATE, self.validity_date);
    }
}

/// Validate response (KMIP 1.4 section 4.24, KMIP 2.1 section 6.1.57).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidateResponse {
    /// Validity Indicator: valid, invalid or unknown.
    pub validity_indicator: ValidityIndicator,
}

impl Payload for ValidateResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            validity_indicator: ValidityIndicator(f.req_enum(Tag::VALIDITY_INDICATOR)?),
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.enumeration(Tag::VALIDITY_INDICATOR, self.validity_indicator.0);
    }
}
