//! The Key Block and what it is made of (KMIP 1.4 sections 2.1.3-2.1.7, KMIP 2.1 sections 3.1-3.12
//! and 7.18): Key Value, Key Material (byte strings and the transparent key structures of
//! [`super::transparent`]), Key Wrapping Data and Key Wrapping Specification.

use std::fmt;

use super::transparent::TransparentKey;
use crate::enums::{
    CryptographicAlgorithm, EncodingOption, KeyCompressionType, KeyFormatType, WrappingMethod,
};
use crate::error::Result;
use crate::model::attributes::{Attributes, forms};
use crate::model::fields::{Fielded, Fields, Out, decode_struct, wrong_type};
use crate::model::parameters::CryptographicParameters;
use crate::tags::Tag;
use crate::ttlv::{Bytes, ItemType, Ttlv, Value};
use crate::version::ProtocolVersion;

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
///
/// A transparent key structure other than the symmetric one is carried as its children
/// ([`KeyMaterial::Structure`]); decoding checks it against the structure its Key Format Type
/// names (KMIP 1.4 section 2.1.7, KMIP 2.1 sections 3.4-3.12), and [`KeyMaterial::transparent`]
/// gives its typed form.
#[derive(Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// A Byte String (Raw, Opaque, PKCS#1, PKCS#8, ... key formats).
    Bytes(Bytes),
    /// Transparent Symmetric Key: its Key (KMIP 1.4 section 2.1.7.1).
    TransparentSymmetricKey(Bytes),
    /// Any other transparent structure, as its children (its Byte Strings and Big Integers are
    /// zeroizing). For a Key Format Type this crate knows, the children were checked to be that
    /// structure; a vendor format's are kept as they came.
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
            Value::Structure(c) => match TransparentKey::decode(item, format)? {
                Some(TransparentKey::Symmetric(k)) => Ok(Self::TransparentSymmetricKey(k.key)),
                // Checked; kept as children so the type of this enum does not change.
                Some(_) | None => Ok(Self::Structure(c.clone())),
            },
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

    /// The typed transparent key, when `format` (the Key Block's Key Format Type) is one of the
    /// transparent formats; `None` for byte-string material and for formats without a
    /// transparent structure. Fails when the structure is not the one `format` names.
    pub fn transparent(&self, format: KeyFormatType) -> Result<Option<TransparentKey>> {
        TransparentKey::decode(&self.encode(), format)
    }

    /// The Key Material of a transparent key.
    pub fn from_transparent(key: &TransparentKey) -> Self {
        match key {
            TransparentKey::Symmetric(k) => Self::TransparentSymmetricKey(k.key.clone()),
            other => Self::Structure(other.children()),
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
