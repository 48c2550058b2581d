//! The 1.x and 2.x encodings of attributes (KMIP 1.4 sections 2.1.1 and 2.1.8, KMIP 2.1
//! sections 2.1.1 and 5.1-5.7). Each function takes the protocol version and picks the form.

use super::table::{self, Shape};
use super::{Attribute, AttributeName, AttributeValue, Attributes, Name};
use crate::error::{Error, ErrorKind, Result};
use crate::model::fields::{Fielded, Fields, Out, decode_struct, wrong_type};
use crate::model::parameters::CryptographicParameters;
use crate::tags::Tag;
use crate::ttlv::{ItemType, Ttlv, Value};
use crate::version::ProtocolVersion;

use super::certificates::{
    CertificateIdentifier, CertificateIssuer, CertificateSubject, X509CertificateIdentifier,
    X509CertificateIssuer, X509CertificateSubject,
};
use super::values::{
    AlternativeName, ApplicationSpecificInformation, CryptographicDomainParameters, Digest,
    KeyValueLocation, Link, RevocationReason, RngParameters, UsageLimits,
};

/// The item type a scalar shape requires.
fn scalar_type(shape: Shape) -> Option<ItemType> {
    Some(match shape {
        Shape::Text => ItemType::TextString,
        Shape::Integer => ItemType::Integer,
        Shape::Enumeration => ItemType::Enumeration,
        Shape::Boolean => ItemType::Boolean,
        Shape::DateTime => ItemType::DateTime,
        Shape::Interval => ItemType::Interval,
        Shape::Bytes => ItemType::ByteString,
        _ => return None,
    })
}

/// Decodes an attribute value item (1.x Attribute Value, or the 2.x item tagged by the
/// attribute) for the attribute `name`.
fn decode_value(name: &AttributeName, item: &Ttlv) -> Result<AttributeValue> {
    let shape = match name {
        AttributeName::Standard(tag) => table::by_tag(*tag).map(|d| d.shape),
        _ => None,
    };
    let Some(shape) = shape else {
        return Ok(AttributeValue::from_value(&item.value));
    };
    if let Some(expected) = scalar_type(shape) {
        if item.value.item_type() != expected {
            return Err(wrong_type(item, expected));
        }
        return Ok(AttributeValue::from_value(&item.value));
    }
    Ok(match shape {
        Shape::Name => AttributeValue::Name(Name::decode(item)?),
        Shape::Link => AttributeValue::Link(Link::decode(item)?),
        Shape::Digest => AttributeValue::Digest(Digest::decode(item)?),
        Shape::CryptographicParameters => AttributeValue::CryptographicParameters(Box::new(
            CryptographicParameters::decode(item)?,
        )),
        Shape::RevocationReason => {
            AttributeValue::RevocationReason(RevocationReason::decode(item)?)
        }
        Shape::ApplicationSpecificInformation => AttributeValue::ApplicationSpecificInformation(
            ApplicationSpecificInformation::decode(item)?,
        ),
        Shape::UsageLimits => AttributeValue::UsageLimits(UsageLimits::decode(item)?),
        Shape::AlternativeName => AttributeValue::AlternativeName(AlternativeName::decode(item)?),
        Shape::KeyValueLocation => {
            AttributeValue::KeyValueLocation(KeyValueLocation::decode(item)?)
        }
        Shape::RandomNumberGenerator => {
            AttributeValue::RandomNumberGenerator(RngParameters::decode(item)?)
        }
        Shape::CryptographicDomainParameters => AttributeValue::CryptographicDomainParameters(
            CryptographicDomainParameters::decode(item)?,
        ),
        Shape::X509CertificateIdentifier => {
            AttributeValue::X509CertificateIdentifier(X509CertificateIdentifier::decode(item)?)
        }
        Shape::X509CertificateSubject => {
            AttributeValue::X509CertificateSubject(X509CertificateSubject::decode(item)?)
        }
        Shape::X509CertificateIssuer => {
            AttributeValue::X509CertificateIssuer(X509CertificateIssuer::decode(item)?)
        }
        Shape::CertificateIdentifier => {
            AttributeValue::CertificateIdentifier(CertificateIdentifier::decode(item)?)
        }
        Shape::CertificateSubject => {
            AttributeValue::CertificateSubject(CertificateSubject::decode(item)?)
        }
        Shape::CertificateIssuer => {
            AttributeValue::CertificateIssuer(CertificateIssuer::decode(item)?)
        }
        Shape::Text
        | Shape::Integer
        | Shape::Enumeration
        | Shape::Boolean
        | Shape::DateTime
        | Shape::Interval
        | Shape::Bytes => match &item.value {
            // The scalar shapes returned above; kept exhaustive so a new shape is decoded.
            Value::Structure(c) => AttributeValue::Structure(c.clone()),
            _ => return Err(wrong_type(item, ItemType::Structure)),
        },
    })
}

/// A KMIP 1.x Attribute structure (KMIP 1.4 section 2.1.1).
pub(crate) fn decode_1x(item: &Ttlv) -> Result<Attribute> {
    decode_struct(item, |f| {
        let name = AttributeName::from_1x(&f.req_text(Tag::ATTRIBUTE_NAME)?);
        let index = f.opt_int(Tag::ATTRIBUTE_INDEX)?;
        let value = decode_value(&name, f.require(Tag::ATTRIBUTE_VALUE)?)?;
        Ok(Attribute { name, index, value })
    })
}

/// The 1.x Attribute structure, or `None` when the attribute has no 1.x name.
pub(crate) fn encode_1x(a: &Attribute) -> Option<Ttlv> {
    let name = a.name.to_1x()?;
    let mut out = Out::new();
    out.text(Tag::ATTRIBUTE_NAME, &name)
        .opt_int(Tag::ATTRIBUTE_INDEX, a.index)
        .value(Tag::ATTRIBUTE_VALUE, a.value.to_value());
    Some(out.into_struct(Tag::ATTRIBUTE))
}

/// One KMIP 2.x attribute item: tagged by the attribute, or a Vendor Attribute (an Attribute
/// structure with Vendor Identification, Attribute Name, Attribute Value; KMIP 2.1 section
/// 4.60).
pub(crate) fn decode_2x(item: &Ttlv) -> Result<Attribute> {
    if item.tag != Tag::ATTRIBUTE {
        let name = AttributeName::Standard(item.tag);
        let value = decode_value(&name, item).map_err(|e| e.in_tag(item.tag))?;
        return Ok(Attribute {
            name,
            index: None,
            value,
        });
    }
    decode_struct(item, |f| {
        let name = AttributeName::Vendor {
            vendor_identification: f.req_text(Tag::VENDOR_IDENTIFICATION)?,
            attribute_name: f.req_text(Tag::ATTRIBUTE_NAME)?,
        };
        let value = decode_value(&name, f.require(Tag::ATTRIBUTE_VALUE)?)?;
        Ok(Attribute {
            name,
            index: None,
            value,
        })
    })
}

/// The 2.x item for one attribute, or `None` for a 1.x name 2.x cannot express.
pub(crate) fn encode_2x(a: &Attribute) -> Option<Ttlv> {
    match &a.name {
        AttributeName::Standard(tag) => Some(Ttlv::new(*tag, a.value.to_value())),
        AttributeName::Vendor {
            vendor_identification,
            attribute_name,
        } => {
            let mut out = Out::new();
            out.text(Tag::VENDOR_IDENTIFICATION, vendor_identification)
                .text(Tag::ATTRIBUTE_NAME, attribute_name)
                .value(Tag::ATTRIBUTE_VALUE, a.value.to_value());
            Some(out.into_struct(Tag::ATTRIBUTE))
        }
        AttributeName::Other(_) => None,
    }
}

/// The children of a 2.x Attributes (or Common/Private/Public Key Attributes) structure.
pub(crate) fn decode_attributes_2x(item: &Ttlv) -> Result<Attributes> {
    let attrs = crate::model::fields::children(item)
        .and_then(|c| c.iter().map(decode_2x).collect::<Result<Vec<_>>>())
        .map_err(|e| e.in_tag(item.tag))?;
    Ok(Attributes(attrs))
}

/// A 2.x Attributes structure under `tag`.
pub(crate) fn encode_attributes_2x(attrs: &Attributes, tag: Tag) -> Ttlv {
    Ttlv::structure(tag, attrs.iter().filter_map(encode_2x).collect())
}

/// Reads a payload's attribute list: 1.x every Attribute child; 2.x the Attributes structure
/// (absent reads as empty, or [`ErrorKind::MissingField`] when `required`).
pub(crate) fn read_list(
    f: &mut Fields<'_>,
    v: ProtocolVersion,
    required: bool,
) -> Result<Attributes> {
    if v.is_2x() {
        match f.take(Tag::ATTRIBUTES) {
            Some(item) => decode_attributes_2x(item),
            None if required => Err(Error::new(ErrorKind::MissingField(Tag::ATTRIBUTES))),
            None => Ok(Attributes::new()),
        }
    } else {
        Ok(Attributes(f.all_with(Tag::ATTRIBUTE, decode_1x)?))
    }
}

/// Writes a payload's attribute list in the form of `v`; in 2.x the Attributes structure is
/// written when `always` or when there is something in it.
pub(crate) fn write_list(out: &mut Out, attrs: &Attributes, v: ProtocolVersion, always: bool) {
    if v.is_2x() {
        if always || !attrs.is_empty() {
            out.push(encode_attributes_2x(attrs, Tag::ATTRIBUTES));
        }
    } else {
        for a in attrs {
            out.push_opt(encode_1x(a));
        }
    }
}

/// The attributes of a new object: 1.x Template-Attribute (KMIP 1.4 section 2.1.8: template
/// Names, then Attributes), 2.x Attributes (KMIP 2.1 section 5.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateAttribute {
    /// 1.x template names (deprecated; a 2.x encoding drops them).
    pub names: Vec<Name>,
    /// The attributes.
    pub attributes: Attributes,
}

/// Reads a Template-Attribute (1.x) or Attributes (2.x); `None` when absent.
pub(crate) fn read_template(
    f: &mut Fields<'_>,
    v: ProtocolVersion,
) -> Result<Option<TemplateAttribute>> {
    read_template_as(f, v, Tag::TEMPLATE_ATTRIBUTE, Tag::ATTRIBUTES)
}

/// Writes a Template-Attribute (1.x) or Attributes (2.x).
pub(crate) fn write_template(out: &mut Out, t: &TemplateAttribute, v: ProtocolVersion) {
    write_template_as(out, t, v, Tag::TEMPLATE_ATTRIBUTE, Tag::ATTRIBUTES);
}

/// Reads a template whose 1.x form is the Template-Attribute structure `tag_1x` (Common /
/// Private Key / Public Key Template-Attribute) and whose 2.x form is the Attributes structure
/// `tag_2x` (Common / Private Key / Public Key Attributes); `None` when absent.
pub(crate) fn read_template_as(
    f: &mut Fields<'_>,
    v: ProtocolVersion,
    tag_1x: Tag,
    tag_2x: Tag,
) -> Result<Option<TemplateAttribute>> {
    if v.is_2x() {
        return f.opt_with(tag_2x, decode_attributes_2x).map(|o| {
            o.map(|attributes| TemplateAttribute {
                names: Vec::new(),
                attributes,
            })
        });
    }
    f.opt_with(tag_1x, |item| {
        decode_struct(item, |f| {
            Ok(TemplateAttribute {
                names: f.all_with(Tag::NAME, Name::decode)?,
                attributes: Attributes(f.all_with(Tag::ATTRIBUTE, decode_1x)?),
            })
        })
    })
}

/// Writes a template in the form of `v` (see [`read_template_as`]); 2.x drops template Names.
pub(crate) fn write_template_as(
    out: &mut Out,
    t: &TemplateAttribute,
    v: ProtocolVersion,
    tag_1x: Tag,
    tag_2x: Tag,
) {
    if v.is_2x() {
        out.push(encode_attributes_2x(&t.attributes, tag_2x));
        return;
    }
    let mut inner = Out::new();
    for n in &t.names {
        inner.push(n.encode(Tag::NAME));
    }
    for a in &t.attributes {
        inner.push_opt(encode_1x(a));
    }
    out.push(inner.into_struct(tag_1x));
}

/// An attribute name: 1.x Attribute Name text, 2.x Attribute Reference (KMIP 2.1 section 5.5:
/// an Enumeration holding the tag, or Vendor Identification + Attribute Name).
pub(crate) fn decode_name(item: &Ttlv, v: ProtocolVersion) -> Result<AttributeName> {
    match (&item.value, v.is_2x()) {
        (Value::TextString(s), false) => Ok(AttributeName::from_1x(s)),
        (_, false) => Err(wrong_type(item, ItemType::TextString)),
        (Value::Enumeration(t), true) => Ok(AttributeName::Standard(Tag(*t))),
        (Value::Structure(_), true) => decode_struct(item, |f| {
            Ok(AttributeName::Vendor {
                vendor_identification: f.req_text(Tag::VENDOR_IDENTIFICATION)?,
                attribute_name: f.req_text(Tag::ATTRIBUTE_NAME)?,
            })
        }),
        (_, true) => Err(wrong_type(item, ItemType::Enumeration)),
    }
}

/// The tag an attribute name travels under in `v`.
pub(crate) fn name_tag(v: ProtocolVersion) -> Tag {
    if v.is_2x() {
        Tag::ATTRIBUTE_REFERENCE
    } else {
        Tag::ATTRIBUTE_NAME
    }
}

/// An attribute name in the form of `v` (`None` when that form cannot name it).
pub(crate) fn encode_name(name: &AttributeName, v: ProtocolVersion) -> Option<Ttlv> {
    if !v.is_2x() {
        return name
            .to_1x()
            .map(|s| Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString(s)));
    }
    match name {
        AttributeName::Standard(tag) => Some(Ttlv::new(
            Tag::ATTRIBUTE_REFERENCE,
            Value::Enumeration(tag.0),
        )),
        AttributeName::Vendor {
            vendor_identification,
            attribute_name,
        } => {
            let mut out = Out::new();
            out.text(Tag::VENDOR_IDENTIFICATION, vendor_identification)
                .text(Tag::ATTRIBUTE_NAME, attribute_name);
            Some(out.into_struct(Tag::ATTRIBUTE_REFERENCE))
        }
        AttributeName::Other(_) => None,
    }
}

/// Reads the single attribute inside a 2.x New Attribute / Current Attribute wrapper (KMIP 2.1
/// sections 5.6 and 5.7).
pub(crate) fn decode_wrapped(item: &Ttlv) -> Result<Attribute> {
    let run = || match crate::model::fields::children(item)? {
        [one] => decode_2x(one),
        [] => Err(Error::new(ErrorKind::InvalidValue {
            tag: item.tag,
            reason: "expected exactly one attribute",
        })),
        [_, second, ..] => Err(Error::new(ErrorKind::UnexpectedTag(second.tag))),
    };
    run().map_err(|e| e.in_tag(item.tag))
}

/// A 2.x New Attribute / Current Attribute wrapper around one attribute.
pub(crate) fn encode_wrapped(a: &Attribute, tag: Tag) -> Option<Ttlv> {
    encode_2x(a).map(|inner| Ttlv::structure(tag, vec![inner]))
}
