//! Derive Key (KMIP 1.4 section 4.6, KMIP 2.1 section 6.1.14) and its Derivation Parameters
//! (KMIP 1.4 section 4.6, KMIP 2.1 section 7.12).

use super::Payload;
use crate::enums::{DerivationMethod, ObjectType};
use crate::error::{Error, ErrorKind, Result};
use crate::model::attributes::{Attributes, Name, TemplateAttribute, forms};
use crate::model::fields::{Fielded, Fields, Out};
use crate::model::parameters::CryptographicParameters;
use crate::tags::Tag;
use crate::ttlv::Bytes;
use crate::version::ProtocolVersion;

/// Derivation Parameters (KMIP 1.4 section 4.6, KMIP 2.1 section 7.12). Which fields a method
/// needs is the server's business: PBKDF2 wants Salt and Iteration Count, HMAC-based methods a
/// Cryptographic Parameters naming the PRF, and so on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DerivationParameters {
    /// Cryptographic Parameters (the PRF, the block cipher mode...).
    pub cryptographic_parameters: Option<CryptographicParameters>,
    /// Initialization Vector.
    pub initialization_vector: Option<Vec<u8>>,
    /// Derivation Data (a password, a label...: zeroizing). One item in 1.x; 2.1 allows
    /// several.
    pub derivation_data: Vec<Bytes>,
    /// Salt (PBKDF2).
    pub salt: Option<Vec<u8>>,
    /// Iteration Count (PBKDF2).
    pub iteration_count: Option<i32>,
}

impl Fielded for DerivationParameters {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            cryptographic_parameters: f.opt_with(
                Tag::CRYPTOGRAPHIC_PARAMETERS,
                CryptographicParameters::decode,
            )?,
            initialization_vector: f.opt_plain_bytes(Tag::INITIALIZATION_VECTOR)?,
            derivation_data: f.all_bytes(Tag::DERIVATION_DATA)?,
            salt: f.opt_plain_bytes(Tag::SALT)?,
            iteration_count: f.opt_int(Tag::ITERATION_COUNT)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.push_opt(
            self.cryptographic_parameters
                .as_ref()
                .map(|p| p.encode(Tag::CRYPTOGRAPHIC_PARAMETERS)),
        )
        .opt_plain_bytes(
            Tag::INITIALIZATION_VECTOR,
            self.initialization_vector.as_deref(),
        );
        for d in &self.derivation_data {
            out.bytes(Tag::DERIVATION_DATA, d);
        }
        out.opt_plain_bytes(Tag::SALT, self.salt.as_deref())
            .opt_int(Tag::ITERATION_COUNT, self.iteration_count);
    }
}

/// Derive Key request (KMIP 1.4 section 4.6, KMIP 2.1 section 6.1.14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeriveKeyRequest {
    /// Object Type of the new object (Symmetric Key or Secret Data).
    pub object_type: ObjectType,
    /// Unique Identifiers of the objects to derive from (at least one; the ID Placeholder does
    /// not stand in for them).
    pub unique_identifiers: Vec<String>,
    /// Derivation Method.
    pub derivation_method: DerivationMethod,
    /// Derivation Parameters.
    pub derivation_parameters: DerivationParameters,
    /// The attributes of the new object (1.x Template-Attribute, 2.x Attributes).
    pub attributes: Attributes,
    /// 1.x template Names inside the Template-Attribute (deprecated; dropped in 2.x).
    pub template_names: Vec<Name>,
}

impl Payload for DeriveKeyRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        let object_type = ObjectType(f.req_enum(Tag::OBJECT_TYPE)?);
        let unique_identifiers = f.all_text(Tag::UNIQUE_IDENTIFIER)?;
        if unique_identifiers.is_empty() {
            return Err(Error::new(ErrorKind::MissingField(Tag::UNIQUE_IDENTIFIER)));
        }
        let derivation_method = DerivationMethod(f.req_enum(Tag::DERIVATION_METHOD)?);
        let derivation_parameters =
            f.req_with(Tag::DERIVATION_PARAMETERS, DerivationParameters::decode)?;
        let template = forms::read_template(f, v)?.ok_or_else(|| {
            Error::new(ErrorKind::MissingField(if v.is_2x() {
                Tag::ATTRIBUTES
            } else {
                Tag::TEMPLATE_ATTRIBUTE
            }))
        })?;
        Ok(Self {
            object_type,
            unique_identifiers,
            derivation_method,
            derivation_parameters,
            attributes: template.attributes,
            template_names: template.names,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.enumeration(Tag::OBJECT_TYPE, self.object_type.0);
        for u in &self.unique_identifiers {
            out.text(Tag::UNIQUE_IDENTIFIER, u);
        }
        out.enumeration(Tag::DERIVATION_METHOD, self.derivation_method.0)
            .push(
                self.derivation_parameters
                    .encode(Tag::DERIVATION_PARAMETERS),
            );
        let template = TemplateAttribute {
            names: self.template_names.clone(),
            attributes: self.attributes.clone(),
        };
        forms::write_template(out, &template, v);
    }
}

/// Derive Key response (KMIP 1.4 section 4.6, KMIP 2.1 section 6.1.14).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeriveKeyResponse {
    /// Unique Identifier of the new object.
    pub unique_identifier: String,
    /// 1.x only: attributes the server set implicitly.
    pub template_attribute: Option<TemplateAttribute>,
}

impl Payload for DeriveKeyResponse {
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
