//! Managed objects (KMIP 1.4 section 2.2, KMIP 2.1 section 2) and the object data structures
//! they are made of (KMIP 1.4 sections 2.1.3-2.1.7, KMIP 2.1 section 3).
//!
//! Every object type of KMIP 1.0 to 2.1 has a typed form, gathered in [`Object`]:
//! Certificate, Certificate Request (2.0+), Symmetric Key, Public Key, Private Key, Split Key,
//! Template (1.x), Secret Data, Opaque Object and PGP Key (1.2+).
//!
//! Payloads carry a [`ManagedObject`], which types Symmetric Key, Secret Data and Opaque Object
//! directly and keeps the other types as their TTLV ([`ManagedObject::Other`]): its shape is
//! part of the API the server is written against. Decoding still checks such an object against
//! its typed form (a malformed Certificate or Private Key is a decode error, as a malformed
//! Symmetric Key is), and [`ManagedObject::to_object`] / [`ManagedObject::from_object`] convert
//! between the two.

mod key_block;
pub mod transparent;

use crate::enums::{
    CertificateRequestType, CertificateType, ObjectType, OpaqueDataType, SecretDataType,
    SplitKeyMethod,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::attributes::{Attributes, forms};
use crate::model::fields::{Fields, Out, decode_struct};
use crate::tags::Tag;
use crate::ttlv::{Bytes, Ttlv};
use crate::version::ProtocolVersion;

pub use key_block::{
    KeyBlock, KeyInformation, KeyMaterial, KeyValue, KeyWrappingData, KeyWrappingSpecification,
};
pub use transparent::TransparentKey;

/// A managed object as carried by Register, Get, Import and Export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManagedObject {
    /// Symmetric Key.
    SymmetricKey(SymmetricKey),
    /// Secret Data.
    SecretData(SecretData),
    /// Opaque Object.
    OpaqueObject(OpaqueObject),
    /// Any other object type, as its TTLV (its tag says which). Decoding has checked it
    /// against the typed form; [`ManagedObject::to_object`] gives that form.
    Other(Ttlv),
}

/// The tags of every managed object structure. Certificate Request (0x420018) is an object
/// only from KMIP 2.0 on: in 1.x the same tag is Certify's request Byte String.
pub(crate) const OBJECT_TAGS: [Tag; 10] = [
    Tag::SYMMETRIC_KEY,
    Tag::SECRET_DATA,
    Tag::OPAQUE_OBJECT,
    Tag::CERTIFICATE,
    Tag::PUBLIC_KEY,
    Tag::PRIVATE_KEY,
    Tag::SPLIT_KEY,
    Tag::TEMPLATE,
    Tag::PGP_KEY,
    Tag::CERTIFICATE_REQUEST,
];

/// True when `tag` is a managed object's in version `v`.
pub(crate) fn is_object_tag(tag: Tag, v: ProtocolVersion) -> bool {
    OBJECT_TAGS.contains(&tag) && (tag != Tag::CERTIFICATE_REQUEST || v.is_2x())
}

/// The Object Type of an object structure's tag.
fn type_of_tag(tag: Tag) -> Option<ObjectType> {
    Some(match tag {
        Tag::SYMMETRIC_KEY => ObjectType::SYMMETRIC_KEY,
        Tag::SECRET_DATA => ObjectType::SECRET_DATA,
        Tag::OPAQUE_OBJECT => ObjectType::OPAQUE_OBJECT,
        Tag::CERTIFICATE => ObjectType::CERTIFICATE,
        Tag::PUBLIC_KEY => ObjectType::PUBLIC_KEY,
        Tag::PRIVATE_KEY => ObjectType::PRIVATE_KEY,
        Tag::SPLIT_KEY => ObjectType::SPLIT_KEY,
        Tag::TEMPLATE => ObjectType::TEMPLATE,
        Tag::PGP_KEY => ObjectType::PGP_KEY,
        Tag::CERTIFICATE_REQUEST => ObjectType::CERTIFICATE_REQUEST,
        _ => return None,
    })
}

impl ManagedObject {
    /// The Object Type that goes with this object.
    pub fn object_type(&self) -> ObjectType {
        let tag = match self {
            Self::SymmetricKey(_) => Tag::SYMMETRIC_KEY,
            Self::SecretData(_) => Tag::SECRET_DATA,
            Self::OpaqueObject(_) => Tag::OPAQUE_OBJECT,
            Self::Other(t) => t.tag,
        };
        type_of_tag(tag).unwrap_or(ObjectType::PGP_KEY)
    }

    /// Decodes the object item `item` (one of [`OBJECT_TAGS`]).
    pub(crate) fn decode(item: &Ttlv, v: ProtocolVersion) -> Result<Self> {
        Ok(match Object::decode(item, v)? {
            Object::SymmetricKey(k) => Self::SymmetricKey(k),
            Object::SecretData(s) => Self::SecretData(s),
            Object::OpaqueObject(o) => Self::OpaqueObject(o),
            // Checked; kept as it came, which the typed form re-encodes to exactly.
            _ => Self::Other(item.clone()),
        })
    }

    /// The object's item.
    pub(crate) fn encode(&self, v: ProtocolVersion) -> Ttlv {
        match self {
            Self::SymmetricKey(k) => k.encode(v),
            Self::SecretData(s) => s.encode(v),
            Self::OpaqueObject(o) => o.encode(),
            Self::Other(t) => t.clone(),
        }
    }

    /// Reads the one managed object field of a payload, if any.
    pub(crate) fn read_opt(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Option<Self>> {
        let mut found = f.take_where(|t| is_object_tag(t, v));
        if found.len() > 1 {
            return Err(Error::new(ErrorKind::UnexpectedTag(found[1].tag)));
        }
        found.pop().map(|i| Self::decode(i, v)).transpose()
    }

    /// The typed form of the object (an [`ManagedObject::Other`] is decoded in version `v`).
    pub fn to_object(&self, v: ProtocolVersion) -> Result<Object> {
        Ok(match self {
            Self::SymmetricKey(k) => Object::SymmetricKey(k.clone()),
            Self::SecretData(s) => Object::SecretData(s.clone()),
            Self::OpaqueObject(o) => Object::OpaqueObject(o.clone()),
            Self::Other(t) => Object::decode(t, v)?,
        })
    }

    /// The managed object for a typed one: the types this enum names directly become those
    /// variants, the others their TTLV in version `v`.
    pub fn from_object(object: Object, v: ProtocolVersion) -> Self {
        match object {
            Object::SymmetricKey(k) => Self::SymmetricKey(k),
            Object::SecretData(s) => Self::SecretData(s),
            Object::OpaqueObject(o) => Self::OpaqueObject(o),
            other => Self::Other(other.encode(v)),
        }
    }
}

/// Any managed object, typed (KMIP 1.4 section 2.2, KMIP 2.1 section 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Object {
    /// Certificate.
    Certificate(Certificate),
    /// Certificate Request (2.0+).
    CertificateRequest(CertificateRequest),
    /// Symmetric Key.
    SymmetricKey(SymmetricKey),
    /// Public Key.
    PublicKey(PublicKey),
    /// Private Key.
    PrivateKey(PrivateKey),
    /// Split Key.
    SplitKey(SplitKey),
    /// Template (1.x; withdrawn in 2.0).
    Template(Template),
    /// Secret Data.
    SecretData(SecretData),
    /// Opaque Object.
    OpaqueObject(OpaqueObject),
    /// PGP Key (1.2+).
    PgpKey(PgpKey),
}

/// Decodes the one Key Block of an object structure.
fn key_block(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<KeyBlock> {
    f.req_with(Tag::KEY_BLOCK, |i| KeyBlock::decode(i, v))
}

impl Object {
    /// Decodes an object structure, by its tag.
    pub fn decode(item: &Ttlv, v: ProtocolVersion) -> Result<Self> {
        let kind =
            type_of_tag(item.tag).ok_or_else(|| Error::new(ErrorKind::UnexpectedTag(item.tag)))?;
        decode_struct(item, |f| {
            Ok(match kind {
                ObjectType::SYMMETRIC_KEY => Self::SymmetricKey(SymmetricKey {
                    key_block: key_block(f, v)?,
                }),
                ObjectType::PUBLIC_KEY => Self::PublicKey(PublicKey {
                    key_block: key_block(f, v)?,
                }),
                ObjectType::PRIVATE_KEY => Self::PrivateKey(PrivateKey {
                    key_block: key_block(f, v)?,
                }),
                ObjectType::SECRET_DATA => Self::SecretData(SecretData {
                    secret_data_type: SecretDataType(f.req_enum(Tag::SECRET_DATA_TYPE)?),
                    key_block: key_block(f, v)?,
                }),
                ObjectType::OPAQUE_OBJECT => Self::OpaqueObject(OpaqueObject {
                    opaque_data_type: OpaqueDataType(f.req_enum(Tag::OPAQUE_DATA_TYPE)?),
                    opaque_data_value: f.req_bytes(Tag::OPAQUE_DATA_VALUE)?,
                }),
                ObjectType::CERTIFICATE => Self::Certificate(Certificate {
                    certificate_type: CertificateType(f.req_enum(Tag::CERTIFICATE_TYPE)?),
                    certificate_value: f.req_bytes(Tag::CERTIFICATE_VALUE)?.as_slice().to_vec(),
                }),
                ObjectType::CERTIFICATE_REQUEST => Self::CertificateRequest(CertificateRequest {
                    certificate_request_type: CertificateRequestType(
                        f.req_enum(Tag::CERTIFICATE_REQUEST_TYPE)?,
                    ),
                    certificate_request_value: f
                        .req_bytes(Tag::CERTIFICATE_REQUEST_VALUE)?
                        .as_slice()
                        .to_vec(),
                }),
                ObjectType::SPLIT_KEY => Self::SplitKey(SplitKey {
                    split_key_parts: f.req_int(Tag::SPLIT_KEY_PARTS)?,
                    key_part_identifier: f.req_int(Tag::KEY_PART_IDENTIFIER)?,
                    split_key_threshold: f.req_int(Tag::SPLIT_KEY_THRESHOLD)?,
                    split_key_method: SplitKeyMethod(f.req_enum(Tag::SPLIT_KEY_METHOD)?),
                    prime_field_size: f.opt_big(Tag::PRIME_FIELD_SIZE)?,
                    key_block: key_block(f, v)?,
                }),
                ObjectType::TEMPLATE => Self::Template(Template {
                    attributes: Attributes(f.all_with(Tag::ATTRIBUTE, forms::decode_1x)?),
                }),
                _ => Self::PgpKey(PgpKey {
                    pgp_key_version: f.req_int(Tag::PGP_KEY_VERSION)?,
                    key_block: key_block(f, v)?,
                }),
            })
        })
    }

    /// The object structure in the form of `v`.
    pub fn encode(&self, v: ProtocolVersion) -> Ttlv {
        let mut out = Out::new();
        let tag = match self {
            Self::SymmetricKey(k) => return k.encode(v),
            Self::SecretData(s) => return s.encode(v),
            Self::OpaqueObject(o) => return o.encode(),
            Self::PublicKey(k) => {
                out.push(k.key_block.encode(v));
                Tag::PUBLIC_KEY
            }
            Self::PrivateKey(k) => {
                out.push(k.key_block.encode(v));
                Tag::PRIVATE_KEY
            }
            Self::Certificate(c) => {
                out.enumeration(Tag::CERTIFICATE_TYPE, c.certificate_type.0)
                    .plain_bytes(Tag::CERTIFICATE_VALUE, &c.certificate_value);
                Tag::CERTIFICATE
            }
            Self::CertificateRequest(c) => {
                out.enumeration(Tag::CERTIFICATE_REQUEST_TYPE, c.certificate_request_type.0)
                    .plain_bytes(Tag::CERTIFICATE_REQUEST_VALUE, &c.certificate_request_value);
                Tag::CERTIFICATE_REQUEST
            }
            Self::SplitKey(k) => {
                out.int(Tag::SPLIT_KEY_PARTS, k.split_key_parts)
                    .int(Tag::KEY_PART_IDENTIFIER, k.key_part_identifier)
                    .int(Tag::SPLIT_KEY_THRESHOLD, k.split_key_threshold)
                    .enumeration(Tag::SPLIT_KEY_METHOD, k.split_key_method.0)
                    .opt_big(Tag::PRIME_FIELD_SIZE, k.prime_field_size.as_ref())
                    .push(k.key_block.encode(v));
                Tag::SPLIT_KEY
            }
            Self::Template(t) => {
                for a in &t.attributes {
                    out.push_opt(forms::encode_1x(a));
                }
                Tag::TEMPLATE
            }
            Self::PgpKey(k) => {
                out.int(Tag::PGP_KEY_VERSION, k.pgp_key_version)
                    .push(k.key_block.encode(v));
                Tag::PGP_KEY
            }
        };
        out.into_struct(tag)
    }

    /// The Object Type of this object.
    pub fn object_type(&self) -> ObjectType {
        match self {
            Self::Certificate(_) => ObjectType::CERTIFICATE,
            Self::CertificateRequest(_) => ObjectType::CERTIFICATE_REQUEST,
            Self::SymmetricKey(_) => ObjectType::SYMMETRIC_KEY,
            Self::PublicKey(_) => ObjectType::PUBLIC_KEY,
            Self::PrivateKey(_) => ObjectType::PRIVATE_KEY,
            Self::SplitKey(_) => ObjectType::SPLIT_KEY,
            Self::Template(_) => ObjectType::TEMPLATE,
            Self::SecretData(_) => ObjectType::SECRET_DATA,
            Self::OpaqueObject(_) => ObjectType::OPAQUE_OBJECT,
            Self::PgpKey(_) => ObjectType::PGP_KEY,
        }
    }

    /// The Key Block of a key object (Symmetric, Public, Private, Split, PGP Key, Secret Data).
    pub fn key_block(&self) -> Option<&KeyBlock> {
        match self {
            Self::SymmetricKey(k) => Some(&k.key_block),
            Self::PublicKey(k) => Some(&k.key_block),
            Self::PrivateKey(k) => Some(&k.key_block),
            Self::SplitKey(k) => Some(&k.key_block),
            Self::PgpKey(k) => Some(&k.key_block),
            Self::SecretData(s) => Some(&s.key_block),
            Self::Certificate(_)
            | Self::CertificateRequest(_)
            | Self::Template(_)
            | Self::OpaqueObject(_) => None,
        }
    }
}

/// Symmetric Key (KMIP 1.4 section 2.2.2, KMIP 2.1 section 2.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymmetricKey {
    /// Key Block.
    pub key_block: KeyBlock,
}

impl SymmetricKey {
    fn encode(&self, v: ProtocolVersion) -> Ttlv {
        Ttlv::structure(Tag::SYMMETRIC_KEY, vec![self.key_block.encode(v)])
    }
}

/// Secret Data (KMIP 1.4 section 2.2.7, KMIP 2.1 section 2.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretData {
    /// Secret Data Type.
    pub secret_data_type: SecretDataType,
    /// Key Block.
    pub key_block: KeyBlock,
}

impl SecretData {
    fn encode(&self, v: ProtocolVersion) -> Ttlv {
        let mut out = Out::new();
        out.enumeration(Tag::SECRET_DATA_TYPE, self.secret_data_type.0)
            .push(self.key_block.encode(v));
        out.into_struct(Tag::SECRET_DATA)
    }
}

/// Opaque Object (KMIP 1.4 section 2.2.8, KMIP 2.1 section 2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpaqueObject {
    /// Opaque Data Type.
    pub opaque_data_type: OpaqueDataType,
    /// Opaque Data Value (zeroizing: it may be secret).
    pub opaque_data_value: Bytes,
}

impl OpaqueObject {
    fn encode(&self) -> Ttlv {
        let mut out = Out::new();
        out.enumeration(Tag::OPAQUE_DATA_TYPE, self.opaque_data_type.0)
            .bytes(Tag::OPAQUE_DATA_VALUE, &self.opaque_data_value);
        out.into_struct(Tag::OPAQUE_OBJECT)
    }
}

/// Certificate (KMIP 1.4 section 2.2.1, KMIP 2.1 section 2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// Certificate Type.
    pub certificate_type: CertificateType,
    /// Certificate Value (e.g. the DER of an X.509 certificate; public).
    pub certificate_value: Vec<u8>,
}

/// Certificate Request (KMIP 2.1 section 2.2; an object type from 2.0 on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequest {
    /// Certificate Request Type.
    pub certificate_request_type: CertificateRequestType,
    /// Certificate Request Value (e.g. a PKCS#10 request; public).
    pub certificate_request_value: Vec<u8>,
}

/// Public Key (KMIP 1.4 section 2.2.3, KMIP 2.1 section 2.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// Key Block.
    pub key_block: KeyBlock,
}

/// Private Key (KMIP 1.4 section 2.2.4, KMIP 2.1 section 2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateKey {
    /// Key Block.
    pub key_block: KeyBlock,
}

/// Split Key (KMIP 1.4 section 2.2.5, KMIP 2.1 section 2.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitKey {
    /// Split Key Parts: how many parts there are.
    pub split_key_parts: i32,
    /// Key Part Identifier: which part this is.
    pub key_part_identifier: i32,
    /// Split Key Threshold: how many parts rebuild the key.
    pub split_key_threshold: i32,
    /// Split Key Method.
    pub split_key_method: SplitKeyMethod,
    /// Prime Field Size (Big Integer; required for Polynomial Sharing Prime Field).
    pub prime_field_size: Option<Bytes>,
    /// Key Block.
    pub key_block: KeyBlock,
}

/// Template (KMIP 1.4 section 2.2.6; deprecated in 1.3, withdrawn in 2.0): a named set of
/// attributes, as 1.x Attribute structures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    /// The attributes.
    pub attributes: Attributes,
}

/// PGP Key (KMIP 1.4 section 2.2.9, KMIP 2.1 section 2.4; 1.2+).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgpKey {
    /// PGP Key Version.
    pub pgp_key_version: i32,
    /// Key Block.
    pub key_block: KeyBlock,
}
