//! Moving an object with all its attributes between servers: Export (KMIP 1.4 section 4.40,
//! KMIP 2.1 section 6.1.18) and Import (4.41 / 6.1.25).

use super::Payload;
use crate::enums::{KeyCompressionType, KeyFormatType, KeyWrapType, ObjectType};
use crate::error::{Error, ErrorKind, Result};
use crate::model::attributes::{Attributes, forms};
use crate::model::fields::{Fielded, Fields, Out};
use crate::model::objects::{KeyWrappingSpecification, ManagedObject};
use crate::tags::Tag;
use crate::version::ProtocolVersion;

fn required_object(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<ManagedObject> {
    ManagedObject::read_opt(f, v)?
        .ok_or_else(|| Error::new(ErrorKind::MissingField(Tag::SYMMETRIC_KEY)))
}

/// Export request (KMIP 1.4 section 4.40, KMIP 2.1 section 6.1.18): the fields of Get.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportRequest {
    /// Unique Identifier (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// Key Format Type wanted.
    pub key_format_type: Option<KeyFormatType>,
    /// Key Wrap Type wanted.
    pub key_wrap_type: Option<KeyWrapType>,
    /// Key Compression Type wanted.
    pub key_compression_type: Option<KeyCompressionType>,
    /// How to wrap the returned key.
    pub key_wrapping_specification: Option<KeyWrappingSpecification>,
}

impl Payload for ExportRequest {
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

/// Export response (KMIP 1.4 section 4.40, KMIP 2.1 section 6.1.18).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportResponse {
    /// Object Type.
    pub object_type: ObjectType,
    /// Unique Identifier.
    pub unique_identifier: String,
    /// All the object's attributes (1.x Attribute items, 2.x Attributes).
    pub attributes: Attributes,
    /// The object, as Get returns it.
    pub object: ManagedObject,
}

impl Payload for ExportResponse {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            object_type: ObjectType(f.req_enum(Tag::OBJECT_TYPE)?),
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            attributes: forms::read_list(f, v, true)?,
            object: required_object(f, v)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.enumeration(Tag::OBJECT_TYPE, self.object_type.0)
            .text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier);
        forms::write_list(out, &self.attributes, v, true);
        out.push(self.object.encode(v));
    }
}

/// Import request (KMIP 1.4 section 4.41, KMIP 2.1 section 6.1.25).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRequest {
    /// Unique Identifier the object is to have.
    pub unique_identifier: String,
    /// Object Type (required in 2.x; 1.x has none).
    pub object_type: Option<ObjectType>,
    /// Replace Existing: replace an object with the same identifier.
    pub replace_existing: Option<bool>,
    /// Key Wrap Type, when the key is wrapped.
    pub key_wrap_type: Option<KeyWrapType>,
    /// All the object's attributes (1.x Attribute items, 2.x Attributes).
    pub attributes: Attributes,
    /// The object.
    pub object: ManagedObject,
}

impl Payload for ImportRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            object_type: f.opt_enum(Tag::OBJECT_TYPE)?.map(ObjectType),
            replace_existing: f.opt_bool(Tag::REPLACE_EXISTING)?,
            key_wrap_type: f.opt_enum(Tag::KEY_WRAP_TYPE)?.map(KeyWrapType),
            attributes: forms::read_list(f, v, true)?,
            object: required_object(f, v)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier)
            .opt_enum(Tag::OBJECT_TYPE, self.object_type.map(|o| o.0))
            .opt_bool(Tag::REPLACE_EXISTING, self.replace_existing)
            .opt_enum(Tag::KEY_WRAP_TYPE, self.key_wrap_type.map(|k| k.0));
        forms::write_list(out, &self.attributes, v, true);
        out.push(self.object.encode(v));
    }
}

uid_payload!(
    /// Import response (KMIP 1.4 section 4.41, KMIP 2.1 section 6.1.25).
    ImportResponse, required
);
