//! Operations that make or fetch a managed object: Create (KMIP 1.4 section 4.1, KMIP 2.1
//! section 6.1.8), Register (4.3 / 6.1.43), Re-key (4.4 / 6.1.46) and Get (4.11 / 6.1.19).

use super::Payload;
use crate::enums::{KeyCompressionType, KeyFormatType, KeyWrapType, ObjectType};
use crate::error::{Error, ErrorKind, Result};
use crate::model::attributes::{Attributes, Name, TemplateAttribute, forms};
use crate::model::fields::{Fielded, Fields, Out};
use crate::model::objects::{KeyWrappingSpecification, ManagedObject};
use crate::tags::Tag;
use crate::ttlv::Ttlv;
use crate::version::ProtocolVersion;

/// Reads the new object's attributes: 1.x Template-Attribute, 2.x Attributes.
fn read_attrs(
    f: &mut Fields<'_>,
    v: ProtocolVersion,
    required: bool,
) -> Result<Option<TemplateAttribute>> {
    let t = forms::read_template(f, v)?;
    if required && t.is_none() {
        let tag = if v.is_2x() {
            Tag::ATTRIBUTES
        } else {
            Tag::TEMPLATE_ATTRIBUTE
        };
        return Err(Error::new(ErrorKind::MissingField(tag)));
    }
    Ok(t)
}

fn split(t: Option<TemplateAttribute>) -> (Attributes, Vec<Name>) {
    let t = t.unwrap_or_default();
    (t.attributes, t.names)
}

fn join(attributes: &Attributes, names: &[Name]) -> TemplateAttribute {
    TemplateAttribute {
        names: names.to_vec(),
        attributes: attributes.clone(),
    }
}

/// Create request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRequest {
    /// Object Type.
    pub object_type: ObjectType,
    /// The attributes of the new object (1.x Template-Attribute, 2.x Attributes).
    pub attributes: Attributes,
    /// 1.x template Names inside the Template-Attribute (deprecated; dropped in 2.x).
    pub template_names: Vec<Name>,
    /// Protection Storage Masks (2.1), raw.
    pub protection_storage_masks: Option<Ttlv>,
}

impl Payload for CreateRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        let object_type = ObjectType(f.req_enum(Tag::OBJECT_TYPE)?);
        let (attributes, template_names) = split(read_attrs(f, v, true)?);
        Ok(Self {
            object_type,
            attributes,
            template_names,
            protection_storage_masks: f.take(Tag::PROTECTION_STORAGE_MASKS).cloned(),
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.enumeration(Tag::OBJECT_TYPE, self.object_type.0);
        forms::write_template(out, &join(&self.attributes, &self.template_names), v);
        out.push_opt(self.protection_storage_masks.clone());
    }
}

/// Create response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateResponse {
    /// Object Type.
    pub object_type: ObjectType,
    /// Unique Identifier of the new object.
    pub unique_identifier: String,
    /// 1.x only: attributes the server set implicitly (a 2.x encoding drops them).
    pub template_attribute: Option<TemplateAttribute>,
}

impl Payload for CreateResponse {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            object_type: ObjectType(f.req_enum(Tag::OBJECT_TYPE)?),
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            template_attribute: read_attrs(f, v, false)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.enumeration(Tag::OBJECT_TYPE, self.object_type.0)
            .text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier);
        if let (Some(t), false) = (&self.template_attribute, v.is_2x()) {
            forms::write_template(out, t, v);
        }
    }
}

/// Register request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterRequest {
    /// Object Type.
    pub object_type: ObjectType,
    /// The attributes of the new object (1.x Template-Attribute, 2.x Attributes).
    pub attributes: Attributes,
    /// 1.x template Names inside the Template-Attribute (deprecated; dropped in 2.x).
    pub template_names: Vec<Name>,
    /// The object to register.
    pub object: ManagedObject,
    /// Protection Storage Masks (2.1), raw.
    pub protection_storage_masks: Option<Ttlv>,
}

impl Payload for RegisterRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        let object_type = ObjectType(f.req_enum(Tag::OBJECT_TYPE)?);
        let (attributes, template_names) = split(read_attrs(f, v, true)?);
        let object = ManagedObject::read_opt(f, v)?
            .ok_or_else(|| Error::new(ErrorKind::MissingField(Tag::SYMMETRIC_KEY)))?;
        Ok(Self {
            object_type,
            attributes,
            template_names,
            object,
            protection_storage_masks: f.take(Tag::PROTECTION_STORAGE_MASKS).cloned(),
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.enumeration(Tag::OBJECT_TYPE, self.object_type.0);
        forms::write_template(out, &join(&self.attributes, &self.template_names), v);
        out.push(self.object.encode(v))
            .push_opt(self.protection_storage_masks.clone());
    }
}

/// Register response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterResponse {
    /// Unique Identifier of the new object.
    pub unique_identifier: String,
    /// 1.x only: attributes the server set implicitly (a 2.x encoding drops them).
    pub template_attribute: Option<TemplateAttribute>,
}

impl Payload for RegisterResponse {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            template_attribute: read_attrs(f, v, false)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier);
        if let (Some(t), false) = (&self.template_attribute, v.is_2x()) {
            forms::write_template(out, t, v);
        }
    }
}

/// Re-key request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReKeyRequest {
    /// Unique Identifier of the key to replace (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// Offset, seconds, for the new key's dates.
    pub offset: Option<u32>,
    /// Attributes for the new key (1.x Template-Attribute, 2.x Attributes).
    pub template_attribute: Option<TemplateAttribute>,
    /// Protection Storage Masks (2.1), raw.
    pub protection_storage_masks: Option<Ttlv>,
}

impl Payload for ReKeyRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            offset: f.opt_interval(Tag::OFFSET)?,
            template_attribute: read_attrs(f, v, false)?,
            protection_storage_masks: f.take(Tag::PROTECTION_STORAGE_MASKS).cloned(),
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref())
            .opt_interval(Tag::OFFSET, self.offset);
        if let Some(t) = &self.template_attribute {
            forms::write_template(out, t, v);
        }
        out.push_opt(self.protection_storage_masks.clone());
    }
}

/// Re-key response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReKeyResponse {
    /// Unique Identifier of the new key.
    pub unique_identifier: String,
    /// 1.x only: attributes the server set implicitly (a 2.x encoding drops them).
    pub template_attribute: Option<TemplateAttribute>,
}

impl Payload for ReKeyResponse {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            template_attribute: read_attrs(f, v, false)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier);
        if let (Some(t), false) = (&self.template_attribute, v.is_2x()) {
            forms::write_template(out, t, v);
        }
    }
}

/// Get request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetRequest {
    /// Unique Identifier (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// Key Format Type wanted.
    pub key_format_type: Option<KeyFormatType>,
    /// Key Wrap Type wanted (1.4+).
    pub key_wrap_type: Option<KeyWrapType>,
    /// Key Compression Type wanted.
    pub key_compression_type: Option<KeyCompressionType>,
    /// How to wrap the returned key.
    pub key_wrapping_specification: Option<KeyWrappingSpecification>,
}

impl Payload for GetRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            key_format_type: f.opt_enum(Tag::KEY_FORMAT_TYPE)?.map(KeyFormatType),
            key_wrap_type: f.opt_enum(Tag::KEY_WRAP_TYPE)?.map(KeyWrapType),
            key_compression_type: f
                .opt_enum(Tag::KEY_COMPRESSION_TYPE)?
                .map(KeyCompressionType),
            key_wrapping_specification: f.opt_with(
                Tag::KEY_WRAPPING_SPECIFICATION,
                KeyWrappingSpecification::decode,
            )?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref())
            .opt_enum(Tag::KEY_FORMAT_TYPE, self.key_format_type.map(|k| k.0))
            .opt_enum(Tag::KEY_WRAP_TYPE, self.key_wrap_type.map(|k| k.0))
            .opt_enum(
                Tag::KEY_COMPRESSION_TYPE,
                self.key_compression_type.map(|k| k.0),
            )
            .push_opt(
                self.key_wrapping_specification
                    .as_ref()
                    .map(|s| s.encode(Tag::KEY_WRAPPING_SPECIFICATION)),
            );
    }
}

/// Get response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetResponse {
    /// Object Type.
    pub object_type: ObjectType,
    /// Unique Identifier.
    pub unique_identifier: String,
    /// The object.
    pub object: ManagedObject,
}

impl Payload for GetResponse {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            object_type: ObjectType(f.req_enum(Tag::OBJECT_TYPE)?),
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            object: ManagedObject::read_opt(f, v)?
                .ok_or_else(|| Error::new(ErrorKind::MissingField(Tag::SYMMETRIC_KEY)))?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.enumeration(Tag::OBJECT_TYPE, self.object_type.0)
            .text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier)
            .push(self.object.encode(v));
    }
}
