//! Managed objects (KMIP 1.4 section 2.2, KMIP 2.1 section 2) and the object data structures
//! they are made of (KMIP 1.4 section 2.1.3-2.1.7, KMIP 2.1 section 3).
//!
//! Symmetric Key, Secret Data and Opaque Object are typed; the other object types
//! (Certificate, Public / Private Key, Split Key, Template, PGP Key) are kept as raw TTLV,
//! which re-encodes losslessly.

use std::fmt;

use crate::enums::{
    CryptographicAlgorithm, EncodingOption, KeyCompressionType, KeyFormatType, ObjectType,
    OpaqueDataType, SecretDataType, WrappingMethod,
};
use crate::error::Result;
use crate::model::attributes::{Attributes, forms};
use crate::model::fields::{Fielded, Fields, Out, decode_struct, wrong_type};
use crate::model::parameters::CryptographicParameters;
use crate::tags::Tag;
use crate::ttlv::{Bytes, ItemType, Ttlv, Value};
use crate::version::ProtocolVersion;

/// A managed object as carried by Register and Get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManagedObject {
    /// Symmetric Key.
    SymmetricKey(SymmetricKey),
    /// Secret Data.
    SecretData(SecretData),
    /// Opaque Object.
    OpaqueObject(OpaqueObject),
    /// Any other object type, raw (its tag says which).
    Other(Ttlv),
}

/// The tags of every managed object structure.
pub(crate) const OBJECT_TAGS: [Tag; 9] = [
    Tag::SYMMETRIC_KEY,
    Tag::SECRET_DATA,
    Tag::OPAQUE_OBJECT,
    Tag::CERTIFICATE,
    Tag::PUBLIC_KEY,
    Tag::PRIVATE_KEY,
    Tag::SPLIT_KEY,
    Tag::TEMPLATE,
    Tag::PGP_KEY,
];

impl ManagedObject {
    /// The Object Type that goes with this object.
    pub fn object_type(&self) -> ObjectType {
        let tag = match self {
            Self::SymmetricKey(_) => Tag::SYMMETRIC_KEY,
            Self::SecretData(_) => Tag::SECRET_DATA,
            Self::OpaqueObject(_) => Tag::OPAQUE_OBJECT,
            Self::Other(t) => t.tag,
        };
        match tag {
            Tag::SYMMETRIC_KEY => ObjectType::SYMMETRIC_KEY,
            Tag::SECRET_DATA => ObjectType::SECRET_DATA,
            Tag::OPAQUE_OBJECT => ObjectType::OPAQUE_OBJECT,
            Tag::CERTIFICATE => ObjectType::CERTIFICATE,
            Tag::PUBLIC_KEY => ObjectType::PUBLIC_KEY,
            Tag::PRIVATE_KEY => ObjectType::PRIVATE_KEY,
            Tag::SPLIT_KEY => ObjectType::SPLIT_KEY,
            Tag::TEMPLATE => ObjectType::TEMPLATE,
            _ => ObjectType::PGP_KEY,
        }
    }

    /// Decodes the object item `item` (one of [`OBJECT_TAGS`]).
    pub(crate) fn decode(item: &Ttlv, v: ProtocolVersion) -> Result<Self> {
        Ok(match item.tag {
            Tag::SYMMETRIC_KEY => Self::SymmetricKey(decode_struct(item, |f| {
                Ok(SymmetricKey {
                    key_block: f.req_with(Tag::KEY_BLOCK, |i| KeyBlock::decode(i, v))?,
                })
            })?),
            Tag::SECRET_DATA => Self::SecretData(decode_struct(item, |f| {
                Ok(SecretData {
                    secret_data_type: SecretDataType(f.req_enum(Tag::SECRET_DATA_TYPE)?),
                    key_block: f.req_with(Tag::KEY_BLOCK, |i| KeyBlock::decode(i, v))?,
                })
            })?),
            Tag::OPAQUE_OBJECT => Self::OpaqueObject(decode_struct(item, |f| {
                Ok(OpaqueObject {
                    opaque_data_type: OpaqueDataType(f.req_enum(Tag::OPAQUE_DATA_TYPE)?),
                    opaque_data_value: f.req_bytes(Tag::OPAQUE_DATA_VALUE)?,
                })
            })?),
            _ => Self::Other(item.clone()),
        })
    }

    /// The object's item.
    pub(crate) fn encode(&self, v: ProtocolVersion) -> Ttlv {
        match self {
            Self::SymmetricKey(k) => {
                Ttlv::structure(Tag::SYMMETRIC_KEY, vec![k.key_block.encode(v)])
            }
            Self::SecretData(s) => {
                let mut out = Out::new();
                out.enumeration(Tag::SECRET_DATA_TYPE, s.secret_data_type.0)
                    .push(s.key_block.encode(v));
                out.into_struct(Tag::SECRET_DATA)
            }
            Self::OpaqueObject(o) => {
                let mut out = Out::new();
                out.enumeration(Tag::OPAQUE_DATA_TYPE, o.opaque_data_type.0)
                    .bytes(Tag::OPAQUE_DATA_VALUE, &o.opaque_data_value);
                out.into_struct(Tag::OPAQUE_OBJECT)
            }
            Self::Other(t) => t.clone(),
        }
    }

    /// Reads the one managed object field of a payload, if any.
    pub(crate) fn read_opt(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Option<Self>> {
        let mut found = f.take_where(|t| OBJECT_TAGS.contains(&t));
        if found.len() > 1 {
            return Err(crate::error::Error::new(
                crate::error::ErrorKind::UnexpectedTag(found[1].tag),
            ));
        }
        found.pop().map(|i| Self::decode(i, v)).transpose()
    }
}

/// Symmetric Key (KMIP 1.4 section 2.2.2, KMIP 2.1 section 2.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymmetricKey {
    /// Key Block.
    pub key_block: KeyBlock,
}

/// Secret Data (KMIP 1.4 section 2.2.7, KMIP 2.1 section 2.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretData {
    /// Secret Data Type.
    pub secret_data_type: SecretDataType,
    /// Key Block.
    pub key_block: KeyBlock,
}

/// Opaque Object (KMIP 1.4 section 2.2.8, KMIP 2.1 section 2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpaqueObject {
    /// Opaque Data Type.
    pub opaque_data_type: OpaqueDataType,
    /// Opaque Data Value (zeroizing: it may be secret).
    pub opaque_data_value: Bytes,
}

/// Key Block (KMIP 1.4 section 2.1.3, KMIP 2.1 section 3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyBlock {
    /// Key Format Type.
    pub key_format_type: KeyFormatType,
    /// Key Compression Type.
    pub key_compression_type: Option<KeyCompressionType>,
    /// Key Value (absent only when Key Value Present is false).
    pub key_value: Option<KeyValue>,
    /// Cryptographic Algorithm.
    pub cryptographic_algorithm: Option<CryptographicAlgorithm>,
    /// Cryptographic Length in bits.
    pub cryptographic_length: Option<i32>,
    /// Key Wrapping Data, when the Key Value is wrapped.
    pub key_wrapping_data: Option<Box<KeyWrappingData>>,
}

impl KeyBlock {
    /// A plain (unwrapped) key block with raw key material: what Get returns for a symmetric key.
    pub fn raw(material: Bytes, algorithm: CryptographicAlgorithm, length: i32) -> Self {
        Self {
            key_format_type: KeyFormatType::RAW,
            key_compression_type: None,
            key_value: Some(KeyValue::Plain {
                key_material: KeyMaterial::Bytes(material),
                attributes: Attributes::new(),
            }),
            cryptographic_algorithm: Some(algorithm),
            cryptographic_length: Some(length),
            key_wrapping_data: None,
        }
    }

    pub(crate) fn decode(item: &Ttlv, v: ProtocolVersion) -> Result<Self> {
        decode_struct(item, |f| {
            let key_format_type = KeyFormatType(f.req_enum(Tag::KEY_FORMAT_TYPE)?);
            Ok(Self {
                key_format_type,
                key_compression_type: f
                    .opt_enum(Tag::KEY_COMPRESSION_TYPE)?
                    .map(KeyCompressionType),
                key_value: f
                    .opt_with(Tag::KEY_VALUE, |i| KeyValue::decode(i, key_format_type, v))?,
                cryptographic_algorithm: f
                    .opt_enum(Tag::CRYPTOGRAPHIC_ALGORITHM)?
                    .map(CryptographicAlgorithm),
                cryptographic_length: f.opt_int(Tag::CRYPTOGRAPHIC_LENGTH)?,
                key_wrapping_data: f
                    .opt_with(Tag::KEY_WRAPPING_DATA, KeyWrappingData::decode)?
                    .map(Box::new),
            })
        })
    }

    pub(crate) fn encode(&self, v: ProtocolVersion) -> Ttlv {
        let mut out = Out::new();
        out.enumeration(Tag::KEY_FORMAT_TYPE, self.key_format_type.0)
            .opt_enum(
                Tag::KEY_COMPRESSION_TYPE,
                self.key_compression_type.map(|k| k.0),
            )
            .push_opt(self.key_value.as_ref().map(|kv| kv.encode(v)))
            .opt_enum(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                self.cryptographic_algorithm.map(|a| a.0),
            )
            .opt_int(Tag::CRYPTOGRAPHIC_LENGTH, self.cryptographic_length)
            .push_opt(
                self.key_wrapping_data
                    .as_ref()
                    .map(|w| w.encode(Tag::KEY_WRAPPING_DATA)),
            );
        out.into_struct(Tag::KEY_BLOCK)
    }
}

/// Key Value (KMIP 1.4 section 2.1.4, KMIP 2.1 section 3.2).
#[derive(Clone, PartialEq, Eq)]
pub enum KeyValue {
    /// Not wrapped: Key Material and optional attributes bound to it.
    Plain {
        /// Key Material.
        key_material: KeyMaterial,
        /// Attributes inside the Key Value (1.x Attribute items, 2.x Attributes). Leave empty
        /// for 1.x clients, several of which reject them.
        attributes: Attributes,
    },
    /// Wrapped: the encrypted Key Value (or Key Material) bytes.
    Wrapped(Bytes),
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain {
                key_material,
                attributes,
            } => f
                .debug_struct("Plain")
                .field("key_material", key_material)
                .field("attributes", &attributes.len())
                .finish(),
            Self::Wrapped(b) => f.debug_tuple("Wrapped").field(b).finish(),
        }
    }
}

impl KeyValue {
    fn decode(item: &Ttlv, format: KeyFormatType, v: ProtocolVersion) -> Result<Self> {
        match &item.value {
            Value::ByteString(b) => Ok(Self::Wrapped(b.clone())),
            Value::Structure(_) => decode_struct(item, |f| {
                let material = f.require(Tag::KEY_MATERIAL)?;
                let key_material = KeyMaterial::decode(material, format)?;
                Ok(Self::Plain {
                    key_material,
                    attributes: forms::read_list(f, v, false)?,
                })
            }),
            _ => Err(wrong_type(item, ItemType::Structure)),
        }
    }

    /// The Key Value item in the form of `v` (what key wrapping with TTLV encoding wraps).
    pub fn to_ttlv(&self, v: ProtocolVersion) -> Ttlv {
        self.encode(v)
    }

    fn encode(&self, v: ProtocolVersion) -> Ttlv {
        match self {
            Self::Wrapped(b) => Ttlv::new(Tag::KEY_VALUE, Value::ByteString(b.clone())),
            Self::Plain {
                key_material,
                attributes,
            } => {
                let mut out = Out::new();
                out.push(key_material.encode());
                forms::write_list(&mut out, attributes, v, false);
                out.into_struct(Tag::KEY_VALUE)
            }
        }
    }
}

/// Key Material (KMIP 1.4 section 2.1.4, KMIP 2.1 section 3.2).
#[derive(Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// A Byte String (Raw, Opaque, PKCS#1, PKCS#8, ... key formats).
    Bytes(Bytes),
    /// Transparent Symmetric Key: its Key (KMIP 1.4 section 2.1.7.2).
    TransparentSymmetricKey(Bytes),
    /// Any other transparent structure, raw (its Byte Strings are zeroizing).
    Structure(Vec<Ttlv>),
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes(b) => f.debug_tuple("Bytes").field(b).finish(),
            Self::TransparentSymmetricKey(b) => {
                f.debug_tuple("TransparentSymmetricKey").field(b).finish()
            }
            Self::Structure(c) => write!(f, "Structure(<{} items>)", c.len()),
        }
    }
}

impl KeyMaterial {
    fn decode(item: &Ttlv, format: KeyFormatType) -> Result<Self> {
        match &item.value {
            Value::ByteString(b) => Ok(Self::Bytes(b.clone())),
            Value::Structure(c) if format == KeyFormatType::TRANSPARENT_SYMMETRIC_KEY => {
                decode_struct(item, |f| {
                    Ok(Self::TransparentSymmetricKey(f.req_bytes(Tag::KEY)?))
                })
                .or_else(|_| Ok(Self::Structure(c.clone())))
            }
            Value::Structure(c) => Ok(Self::Structure(c.clone())),
            _ => Err(wrong_type(item, ItemType::ByteString)),
        }
    }

    fn encode(&self) -> Ttlv {
        match self {
            Self::Bytes(b) => Ttlv::new(Tag::KEY_MATERIAL, Value::ByteString(b.clone())),
            Self::TransparentSymmetricKey(b) => Ttlv::structure(
                Tag::KEY_MATERIAL,
                vec![Ttlv::new(Tag::KEY, Value::ByteString(b.clone()))],
            ),
            Self::Structure(c) => Ttlv::structure(Tag::KEY_MATERIAL, c.clone()),
        }
    }

    /// The key bytes, for byte-string and transparent symmetric material.
    pub fn bytes(&self) -> Option<&Bytes> {
        match self {
            Self::Bytes(b) | Self::TransparentSymmetricKey(b) => Some(b),
            Self::Structure(_) => None,
        }
    }
}

/// Encryption Key Information and MAC/Signature Key Information (KMIP 1.4 section 2.1.5, KMIP
/// 2.1 section 3.4-3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInformation {
    /// Unique Identifier of the wrapping (or MAC/signing) key.
    pub unique_identifier: String,
    /// Cryptographic Parameters.
    pub cryptographic_parameters: Option<CryptographicParameters>,
}

impl Fielded for KeyInformation {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            cryptographic_parameters: f.opt_with(
                Tag::CRYPTOGRAPHIC_PARAMETERS,
                CryptographicParameters::decode,
            )?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier)
            .push_opt(
                self.cryptographic_parameters
                    .as_ref()
                    .map(|p| p.encode(Tag::CRYPTOGRAPHIC_PARAMETERS)),
            );
    }
}

/// Key Wrapping Data (KMIP 1.4 section 2.1.5, KMIP 2.1 section 3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyWrappingData {
    /// Wrapping Method.
    pub wrapping_method: WrappingMethod,
    /// Encryption Key Information.
    pub encryption_key_information: Option<KeyInformation>,
    /// MAC/Signature Key Information.
    pub mac_signature_key_information: Option<KeyInformation>,
    /// MAC/Signature.
    pub mac_signature: Option<Vec<u8>>,
    /// IV/Counter/Nonce.
    pub iv_counter_nonce: Option<Vec<u8>>,
    /// Encoding Option (1.1+).
    pub encoding_option: Option<EncodingOption>,
}

impl Fielded for KeyWrappingData {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            wrapping_method: WrappingMethod(f.req_enum(Tag::WRAPPING_METHOD)?),
            encryption_key_information: f
                .opt_with(Tag::ENCRYPTION_KEY_INFORMATION, KeyInformation::decode)?,
            mac_signature_key_information: f
                .opt_with(Tag::MAC_SIGNATURE_KEY_INFORMATION, KeyInformation::decode)?,
            mac_signature: f.opt_plain_bytes(Tag::MAC_SIGNATURE)?,
            iv_counter_nonce: f.opt_plain_bytes(Tag::IV_COUNTER_NONCE)?,
            encoding_option: f.opt_enum(Tag::ENCODING_OPTION)?.map(EncodingOption),
        })
    }
    fn write(&self, out: &mut Out) {
        out.enumeration(Tag::WRAPPING_METHOD, self.wrapping_method.0)
            .push_opt(
                self.encryption_key_information
                    .as_ref()
                    .map(|k| k.encode(Tag::ENCRYPTION_KEY_INFORMATION)),
            )
            .push_opt(
                self.mac_signature_key_information
                    .as_ref()
                    .map(|k| k.encode(Tag::MAC_SIGNATURE_KEY_INFORMATION)),
            )
            .opt_plain_bytes(Tag::MAC_SIGNATURE, self.mac_signature.as_deref())
            .opt_plain_bytes(Tag::IV_COUNTER_NONCE, self.iv_counter_nonce.as_deref())
            .opt_enum(Tag::ENCODING_OPTION, self.encoding_option.map(|e| e.0));
    }
}

/// Key Wrapping Specification (KMIP 1.4 section 2.1.6, KMIP 2.1 section 3.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyWrappingSpecification {
    /// Wrapping Method.
    pub wrapping_method: WrappingMethod,
    /// Encryption Key Information.
    pub encryption_key_information: Option<KeyInformation>,
    /// MAC/Signature Key Information.
    pub mac_signature_key_information: Option<KeyInformation>,
    /// Attribute Names of the attributes to wrap with the key.
    pub attribute_names: Vec<String>,
    /// Encoding Option (1.1+).
    pub encoding_option: Option<EncodingOption>,
}

impl Fielded for KeyWrappingSpecification {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            wrapping_method: WrappingMethod(f.req_enum(Tag::WRAPPING_METHOD)?),
            encryption_key_information: f
                .opt_with(Tag::ENCRYPTION_KEY_INFORMATION, KeyInformation::decode)?,
            mac_signature_key_information: f
                .opt_with(Tag::MAC_SIGNATURE_KEY_INFORMATION, KeyInformation::decode)?,
            attribute_names: f.all_text(Tag::ATTRIBUTE_NAME)?,
            encoding_option: f.opt_enum(Tag::ENCODING_OPTION)?.map(EncodingOption),
        })
    }
    fn write(&self, out: &mut Out) {
        out.enumeration(Tag::WRAPPING_METHOD, self.wrapping_method.0)
            .push_opt(
                self.encryption_key_information
                    .as_ref()
                    .map(|k| k.encode(Tag::ENCRYPTION_KEY_INFORMATION)),
            )
            .push_opt(
                self.mac_signature_key_information
                    .as_ref()
                    .map(|k| k.encode(Tag::MAC_SIGNATURE_KEY_INFORMATION)),
            );
        for n in &self.attribute_names {
            out.text(Tag::ATTRIBUTE_NAME, n);
        }
        out.opt_enum(Tag::ENCODING_OPTION, self.encoding_option.map(|e| e.0));
    }
}
