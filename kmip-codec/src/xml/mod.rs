//! The KMIP XML encoding (KMIP Profiles 1.4 section 5.4 / 2.1 section 6.1, "XML Encoding"), as
//! used by the OASIS test vectors: one element per item, named by the tag's XML name
//! (`<UniqueIdentifier .../>`), with `type` (absent for a Structure) and `value` attributes.
//! A tag without a name is written `<TTLV tag="0x540001" type="..." value="..."/>`.
//!
//! Values: Integer in decimal or `0x` hex, or, for a mask (Cryptographic Usage Mask...), flag
//! names separated by spaces; Long Integer and Interval in decimal or hex; Enumeration by name
//! or `0x` hex; Boolean `true`/`false`; Date-Time as ISO 8601 (`2012-04-27T08:12:21+00:00`) or
//! hex; Byte String and Big Integer as hex; Text String as is. An Attribute Value's names come
//! from its sibling Attribute Name in KMIP 1.x (`<AttributeName value="Cryptographic
//! Algorithm"/>` then `<AttributeValue type="Enumeration" value="AES"/>`), and from the item's
//! own tag in 2.x; Attribute Reference values (2.x) are tag names.
//!
//! The OASIS vectors use it as a test format; the MSGENC-XML profile carries it over HTTPS. Read
//! from the network, use [`from_xml_with`], which applies the same [`crate::limits::Limits`] as
//! binary TTLV (message size, nesting, items per structure).

mod read;
pub(crate) mod value;
mod write;

pub use read::{from_xml, from_xml_with, parse_document, parse_document_with};
pub use write::to_xml;

/// How well-formed XML can fail to be the KMIP XML encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum XmlShape {
    /// A `type` attribute that names no item type.
    #[error("unknown item type name")]
    UnknownType,
    /// A primitive item without a `value` attribute.
    #[error("missing value attribute")]
    MissingValue,
    /// A `<TTLV>` element without a valid `tag="0x..."` attribute.
    #[error("missing or invalid tag attribute")]
    MissingTag,
    /// Text content where only elements may be.
    #[error("unexpected text content")]
    UnexpectedText,
    /// An element inside a primitive item.
    #[error("element inside a primitive item")]
    ChildOfPrimitive,
    /// No element where one was expected.
    #[error("no element")]
    NoElement,
    /// More than one top-level element where one was expected.
    #[error("more than one element")]
    SeveralElements,
    /// The input ended inside an element.
    #[error("unclosed element")]
    Unclosed,
}

#[cfg(test)]
mod encoding_tests;
