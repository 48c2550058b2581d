//! Attribute operations: Get Attributes (KMIP 1.4 section 4.12, KMIP 2.1 section 6.1.20), Get
//! Attribute List (4.13 / 6.1.21), Add Attribute (4.14 / 6.1.2), Modify Attribute (4.15 /
//! 6.1.34), Delete Attribute (4.16 / 6.1.13), Set Attribute (2.x only, 6.1.51) and Adjust
//! Attribute (2.x only, 6.1.3).
//!
//! 1.x carries Attribute structures and Attribute Names; 2.x carries New Attribute / Current
//! Attribute wrappers, Attributes and Attribute References. The typed payloads are the same.

use super::Payload;
use crate::enums::AdjustmentType;
use crate::error::{Error, ErrorKind, Result};
use crate::model::attributes::{Attribute, AttributeName, Attributes, forms};
use crate::model::fields::{Fields, Out};
use crate::tags::Tag;
use crate::ttlv::Value;
use crate::version::ProtocolVersion;

/// Defines an Add / Modify / Delete Attribute response: the Unique Identifier and, in 1.x,
/// the attribute instance concerned (2.x responses carry none).
macro_rules! attribute_echo_payload {
    ($(#[$m:meta])* $name:ident, $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name {
            /// Unique Identifier.
            pub unique_identifier: String,
            #[doc = concat!("1.x: ", $what, " (2.x responses carry none).")]
            pub attribute: Option<Attribute>,
        }

        impl Payload for $name {
            fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
                Ok(Self {
                    unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
                    attribute: read_echo(f, v)?,
                })
            }
            fn write(&self, out: &mut Out, v: ProtocolVersion) {
                out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier);
                write_echo(out, self.attribute.as_ref(), v);
            }
        }
    };
}

fn read_names(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Vec<AttributeName>> {
    f.all_with(forms::name_tag(v), |i| forms::decode_name(i, v))
}

fn write_names(out: &mut Out, names: &[AttributeName], v: ProtocolVersion) {
    for n in names {
        out.push_opt(forms::encode_name(n, v));
    }
}

/// The attribute a request adds or sets: 1.x Attribute, 2.x New Attribute.
fn read_new(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Attribute> {
    if v.is_2x() {
        f.req_with(Tag::NEW_ATTRIBUTE, forms::decode_wrapped)
    } else {
        f.req_with(Tag::ATTRIBUTE, forms::decode_1x)
    }
}

fn write_new(out: &mut Out, a: &Attribute, v: ProtocolVersion) {
    if v.is_2x() {
        out.push_opt(forms::encode_wrapped(a, Tag::NEW_ATTRIBUTE));
    } else {
        out.push_opt(forms::encode_1x(a));
    }
}

/// The attribute a 1.x response echoes (2.x responses carry none).
fn read_echo(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Option<Attribute>> {
    if v.is_2x() {
        Ok(None)
    } else {
        f.opt_with(Tag::ATTRIBUTE, forms::decode_1x)
    }
}

fn write_echo(out: &mut Out, a: Option<&Attribute>, v: ProtocolVersion) {
    if let (Some(a), false) = (a, v.is_2x()) {
        out.push_opt(forms::encode_1x(a));
    }
}

/// Get Attributes request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetAttributesRequest {
    /// Unique Identifier (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// The attributes wanted (empty: all).
    pub attribute_names: Vec<AttributeName>,
}

impl Payload for GetAttributesRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            attribute_names: read_names(f, v)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref());
        write_names(out, &self.attribute_names, v);
    }
}

/// Get Attributes response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetAttributesResponse {
    /// Unique Identifier.
    pub unique_identifier: String,
    /// The attributes found (1.x Attribute items, 2.x Attributes).
    pub attributes: Attributes,
}

impl Payload for GetAttributesResponse {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            attributes: forms::read_list(f, v, true)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier);
        forms::write_list(out, &self.attributes, v, true);
    }
}

uid_payload!(
    /// Get Attribute List request.
    GetAttributeListRequest, optional
);

/// Get Attribute List response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetAttributeListResponse {
    /// Unique Identifier.
    pub unique_identifier: String,
    /// The names of the object's attributes.
    pub attribute_names: Vec<AttributeName>,
}

impl Payload for GetAttributeListResponse {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            attribute_names: read_names(f, v)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier);
        write_names(out, &self.attribute_names, v);
    }
}

/// Add Attribute request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddAttributeRequest {
    /// Unique Identifier (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// The attribute to add.
    pub attribute: Attribute,
}

impl Payload for AddAttributeRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            attribute: read_new(f, v)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref());
        write_new(out, &self.attribute, v);
    }
}

attribute_echo_payload!(
    /// Add Attribute response.
    AddAttributeResponse, "the attribute as added, with its index"
);

/// Modify Attribute request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModifyAttributeRequest {
    /// Unique Identifier (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// 2.x Current Attribute: the instance to change.
    pub current_attribute: Option<Attribute>,
    /// The new value (1.x Attribute with its index, 2.x New Attribute).
    pub attribute: Attribute,
}

impl Payload for ModifyAttributeRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        let unique_identifier = f.opt_text(Tag::UNIQUE_IDENTIFIER)?;
        let current_attribute = if v.is_2x() {
            f.opt_with(Tag::CURRENT_ATTRIBUTE, forms::decode_wrapped)?
        } else {
            None
        };
        Ok(Self {
            unique_identifier,
            current_attribute,
            attribute: read_new(f, v)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref());
        if let (Some(c), true) = (&self.current_attribute, v.is_2x()) {
            out.push_opt(forms::encode_wrapped(c, Tag::CURRENT_ATTRIBUTE));
        }
        write_new(out, &self.attribute, v);
    }
}

attribute_echo_payload!(
    /// Modify Attribute response.
    ModifyAttributeResponse, "the attribute as modified"
);

/// Delete Attribute request: 1.x names the attribute (and index); 2.x gives the Current
/// Attribute instance or an Attribute Reference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteAttributeRequest {
    /// Unique Identifier (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// 2.x Current Attribute.
    pub current_attribute: Option<Attribute>,
    /// 1.x Attribute Name (required there), 2.x Attribute Reference.
    pub attribute_name: Option<AttributeName>,
    /// 1.x Attribute Index.
    pub attribute_index: Option<i32>,
}

impl Payload for DeleteAttributeRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        let unique_identifier = f.opt_text(Tag::UNIQUE_IDENTIFIER)?;
        if v.is_2x() {
            return Ok(Self {
                unique_identifier,
                current_attribute: f.opt_with(Tag::CURRENT_ATTRIBUTE, forms::decode_wrapped)?,
                attribute_name: f
                    .opt_with(Tag::ATTRIBUTE_REFERENCE, |i| forms::decode_name(i, v))?,
                attribute_index: None,
            });
        }
        let name = f.req_with(Tag::ATTRIBUTE_NAME, |i| forms::decode_name(i, v))?;
        Ok(Self {
            unique_identifier,
            current_attribute: None,
            attribute_name: Some(name),
            attribute_index: f.opt_int(Tag::ATTRIBUTE_INDEX)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref());
        if v.is_2x() {
            if let Some(c) = &self.current_attribute {
                out.push_opt(forms::encode_wrapped(c, Tag::CURRENT_ATTRIBUTE));
            }
            if let Some(n) = &self.attribute_name {
                out.push_opt(forms::encode_name(n, v));
            }
            return;
        }
        // 1.x: a Current Attribute stands in for name + index when no name is given.
        let name = self
            .attribute_name
            .clone()
            .or_else(|| self.current_attribute.as_ref().map(|a| a.name.clone()));
        if let Some(n) = name {
            out.push_opt(forms::encode_name(&n, v));
        }
        out.opt_int(Tag::ATTRIBUTE_INDEX, self.attribute_index);
    }
}

attribute_echo_payload!(
    /// Delete Attribute response.
    DeleteAttributeResponse, "the attribute deleted"
);

/// Set Attribute request (2.x only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetAttributeRequest {
    /// Unique Identifier (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// The attribute to set (New Attribute).
    pub attribute: Attribute,
}

impl Payload for SetAttributeRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            attribute: f.req_with(Tag::NEW_ATTRIBUTE, forms::decode_wrapped)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref())
            .push_opt(forms::encode_wrapped(&self.attribute, Tag::NEW_ATTRIBUTE));
    }
}

uid_payload!(
    /// Set Attribute response (2.x only).
    SetAttributeResponse, required
);

/// Checks that a 1.x Attribute Name was given; used by servers answering Delete Attribute.
impl DeleteAttributeRequest {
    /// The attribute to delete, from the name or the Current Attribute.
    pub fn target(&self) -> Result<AttributeName> {
        self.attribute_name
            .clone()
            .or_else(|| self.current_attribute.as_ref().map(|a| a.name.clone()))
            .ok_or_else(|| Error::new(ErrorKind::MissingField(Tag::ATTRIBUTE_REFERENCE)))
    }
}

/// Adjust Attribute request (KMIP 2.1 section 6.1.3): increments, decrements or negates a
/// numeric or date attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdjustAttributeRequest {
    /// Unique Identifier (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// Attribute Reference: the attribute to adjust.
    pub attribute_reference: AttributeName,
    /// Adjustment Type.
    pub adjustment_type: AdjustmentType,
    /// Adjustment Value, of the attribute's own item type (absent for Negate).
    pub adjustment_value: Option<Value>,
}

impl Payload for AdjustAttributeRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            attribute_reference: f
                .req_with(Tag::ATTRIBUTE_REFERENCE, |i| forms::decode_name(i, v))?,
            adjustment_type: AdjustmentType(f.req_enum(Tag::ADJUSTMENT_TYPE)?),
            adjustment_value: match f.take(Tag::ADJUSTMENT_VALUE) {
                None => None,
                Some(i) if matches!(i.value, Value::Structure(_)) => {
                    return Err(Error::new(ErrorKind::InvalidValue {
                        tag: Tag::ADJUSTMENT_VALUE,
                        reason: "an adjustment is a single value",
                    }));
                }
                Some(i) => Some(i.value.clone()),
            },
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref())
            .push_opt(forms::encode_name(&self.attribute_reference, v))
            .enumeration(Tag::ADJUSTMENT_TYPE, self.adjustment_type.0);
        if let Some(value) = &self.adjustment_value {
            out.value(Tag::ADJUSTMENT_VALUE, value.clone());
        }
    }
}

uid_payload!(
    /// Adjust Attribute response (KMIP 2.1 section 6.1.3).
    AdjustAttributeResponse, required
);
