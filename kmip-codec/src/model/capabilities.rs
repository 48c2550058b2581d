//! What a server advertises in a Query response (KMIP 1.4 section 4.25, KMIP 2.1 section
//! 6.1.40) after the operations, object types and vendor information: Extension Information,
//! Attestation Types, RNG Parameters, Profile / Validation / Capability Information, Client
//! Registration Methods, Defaults Information and Protection Storage Masks, gathered in
//! [`QueryInformation`].
//!
//! [`crate::model::QueryResponse`] keeps these items in the order received (its `other` field);
//! decoding checks each against its typed form here, and [`crate::model::QueryResponse::information`]
//! / [`crate::model::QueryResponse::push_information`] read and write them typed.

use crate::enums::{
    AttestationType, ClientRegistrationMethod, DestroyAction, ObjectType, ProfileName, RngMode,
    ShreddingAlgorithm, UnwrapMode, ValidationAuthorityType, ValidationType,
};
use crate::error::{Error, ErrorKind, Result};
use crate::model::attributes::{Attributes, RngParameters, forms};
use crate::model::fields::{Fielded, Fields, Out, decode_struct, wrong_type};
use crate::tags::Tag;
use crate::ttlv::{ItemType, Ttlv, Value};
use crate::version::ProtocolVersion;

/// Protection Storage Masks (KMIP 2.1 section 7.33): the Protection Storage Mask values a new
/// object may be stored under, or that a server supports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProtectionStorageMasks {
    /// The Protection Storage Mask values, in order.
    pub masks: Vec<i32>,
}

impl Fielded for ProtectionStorageMasks {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            masks: f.all_int(Tag::PROTECTION_STORAGE_MASK)?,
        })
    }
    fn write(&self, out: &mut Out) {
        for m in &self.masks {
            out.int(Tag::PROTECTION_STORAGE_MASK, *m);
        }
    }
}

impl ProtectionStorageMasks {
    /// Decodes a Protection Storage Masks structure (whatever its tag: Common / Private / Public
    /// Protection Storage Masks share the shape).
    pub fn decode(item: &Ttlv) -> Result<Self> {
        <Self as Fielded>::decode(item)
    }

    /// The structure under `tag`.
    pub fn encode(&self, tag: Tag) -> Ttlv {
        <Self as Fielded>::encode(self, tag)
    }
}

/// Profile Version (KMIP 2.1 section 7.32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileVersion {
    /// Profile Version Major.
    pub major: i32,
    /// Profile Version Minor.
    pub minor: i32,
}

impl Fielded for ProfileVersion {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            major: f.req_int(Tag::PROFILE_VERSION_MAJOR)?,
            minor: f.req_int(Tag::PROFILE_VERSION_MINOR)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.int(Tag::PROFILE_VERSION_MAJOR, self.major)
            .int(Tag::PROFILE_VERSION_MINOR, self.minor);
    }
}

/// Profile Information (KMIP 1.4 section 2.1.19, KMIP 2.1 section 7.31): a profile the server
/// supports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileInformation {
    /// Profile Name.
    pub profile_name: ProfileName,
    /// Profile Version (2.1).
    pub profile_version: Option<ProfileVersion>,
    /// Server URI.
    pub server_uri: Option<String>,
    /// Server Port.
    pub server_port: Option<i32>,
}

impl Fielded for ProfileInformation {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            profile_name: ProfileName(f.req_enum(Tag::PROFILE_NAME)?),
            profile_version: f.opt_with(Tag::PROFILE_VERSION, ProfileVersion::decode)?,
            server_uri: f.opt_text(Tag::SERVER_URI)?,
            server_port: f.opt_int(Tag::SERVER_PORT)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.enumeration(Tag::PROFILE_NAME, self.profile_name.0)
            .push_opt(
                self.profile_version
                    .as_ref()
                    .map(|p| p.encode(Tag::PROFILE_VERSION)),
            )
            .opt_text(Tag::SERVER_URI, self.server_uri.as_deref())
            .opt_int(Tag::SERVER_PORT, self.server_port);
    }
}

/// Validation Information (KMIP 1.4 section 2.1.20, KMIP 2.1 section 7.41): a formal validation
/// the server asserts (FIPS 140, Common Criteria, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationInformation {
    /// Validation Authority Type.
    pub validation_authority_type: ValidationAuthorityType,
    /// Validation Authority Country.
    pub validation_authority_country: Option<String>,
    /// Validation Authority URI.
    pub validation_authority_uri: Option<String>,
    /// Validation Version Major.
    pub validation_version_major: i32,
    /// Validation Version Minor.
    pub validation_version_minor: Option<i32>,
    /// Validation Type.
    pub validation_type: ValidationType,
    /// Validation Level.
    pub validation_level: i32,
    /// Validation Certificate Identifier.
    pub validation_certificate_identifier: Option<String>,
    /// Validation Certificate URI.
    pub validation_certificate_uri: Option<String>,
    /// Validation Vendor URI.
    pub validation_vendor_uri: Option<String>,
    /// Validation Profiles.
    pub validation_profiles: Vec<String>,
}

impl Fielded for ValidationInformation {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            validation_authority_type: ValidationAuthorityType(
                f.req_enum(Tag::VALIDATION_AUTHORITY_TYPE)?,
            ),
            validation_authority_country: f.opt_text(Tag::VALIDATION_AUTHORITY_COUNTRY)?,
            validation_authority_uri: f.opt_text(Tag::VALIDATION_AUTHORITY_URI)?,
            validation_version_major: f.req_int(Tag::VALIDATION_VERSION_MAJOR)?,
            validation_version_minor: f.opt_int(Tag::VALIDATION_VERSION_MINOR)?,
            validation_type: ValidationType(f.req_enum(Tag::VALIDATION_TYPE)?),
            validation_level: f.req_int(Tag::VALIDATION_LEVEL)?,
            validation_certificate_identifier: f
                .opt_text(Tag::VALIDATION_CERTIFICATE_IDENTIFIER)?,
            validation_certificate_uri: f.opt_text(Tag::VALIDATION_CERTIFICATE_URI)?,
            validation_vendor_uri: f.opt_text(Tag::VALIDATION_VENDOR_URI)?,
            validation_profiles: f.all_text(Tag::VALIDATION_PROFILE)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.enumeration(
            Tag::VALIDATION_AUTHORITY_TYPE,
            self.validation_authority_type.0,
        )
        .opt_text(
            Tag::VALIDATION_AUTHORITY_COUNTRY,
            self.validation_authority_country.as_deref(),
        )
        .opt_text(
            Tag::VALIDATION_AUTHORITY_URI,
            self.validation_authority_uri.as_deref(),
        )
        .int(Tag::VALIDATION_VERSION_MAJOR, self.validation_version_major)
        .opt_int(Tag::VALIDATION_VERSION_MINOR, self.validation_version_minor)
        .enumeration(Tag::VALIDATION_TYPE, self.validation_type.0)
        .int(Tag::VALIDATION_LEVEL, self.validation_level)
        .opt_text(
            Tag::VALIDATION_CERTIFICATE_IDENTIFIER,
            self.validation_certificate_identifier.as_deref(),
        )
        .opt_text(
            Tag::VALIDATION_CERTIFICATE_URI,
            self.validation_certificate_uri.as_deref(),
        )
        .opt_text(
            Tag::VALIDATION_VENDOR_URI,
            self.validation_vendor_uri.as_deref(),
        );
        for p in &self.validation_profiles {
            out.text(Tag::VALIDATION_PROFILE, p);
        }
    }
}

/// Capability Information (KMIP 1.4 section 2.1.21, KMIP 2.1 section 7.5): what the server can
/// do beyond the operations it lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapabilityInformation {
    /// Streaming Capability (multi-part cryptographic operations).
    pub streaming_capability: Option<bool>,
    /// Asynchronous Capability.
    pub asynchronous_capability: Option<bool>,
    /// Attestation Capability.
    pub attestation_capability: Option<bool>,
    /// Batch Undo Capability.
    pub batch_undo_capability: Option<bool>,
    /// Batch Continue Capability.
    pub batch_continue_capability: Option<bool>,
    /// Unwrap Mode.
    pub unwrap_mode: Option<UnwrapMode>,
    /// Destroy Action.
    pub destroy_action: Option<DestroyAction>,
    /// Shredding Algorithm.
    pub shredding_algorithm: Option<ShreddingAlgorithm>,
    /// RNG Mode.
    pub rng_mode: Option<RngMode>,
    /// Quantum Safe Capability (2.0+).
    pub quantum_safe_capability: Option<bool>,
}

impl Fielded for CapabilityInformation {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            streaming_capability: f.opt_bool(Tag::STREAMING_CAPABILITY)?,
            asynchronous_capability: f.opt_bool(Tag::ASYNCHRONOUS_CAPABILITY)?,
            attestation_capability: f.opt_bool(Tag::ATTESTATION_CAPABILITY)?,
            batch_undo_capability: f.opt_bool(Tag::BATCH_UNDO_CAPABILITY)?,
            batch_continue_capability: f.opt_bool(Tag::BATCH_CONTINUE_CAPABILITY)?,
            unwrap_mode: f.opt_enum(Tag::UNWRAP_MODE)?.map(UnwrapMode),
            destroy_action: f.opt_enum(Tag::DESTROY_ACTION)?.map(DestroyAction),
            shredding_algorithm: f
                .opt_enum(Tag::SHREDDING_ALGORITHM)?
                .map(ShreddingAlgorithm),
            rng_mode: f.opt_enum(Tag::RNG_MODE)?.map(RngMode),
            quantum_safe_capability: f.opt_bool(Tag::QUANTUM_SAFE_CAPABILITY)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.opt_bool(Tag::STREAMING_CAPABILITY, self.streaming_capability)
            .opt_bool(Tag::ASYNCHRONOUS_CAPABILITY, self.asynchronous_capability)
            .opt_bool(Tag::ATTESTATION_CAPABILITY, self.attestation_capability)
            .opt_bool(Tag::BATCH_UNDO_CAPABILITY, self.batch_undo_capability)
            .opt_bool(
                Tag::BATCH_CONTINUE_CAPABILITY,
                self.batch_continue_capability,
            )
            .opt_enum(Tag::UNWRAP_MODE, self.unwrap_mode.map(|e| e.0))
            .opt_enum(Tag::DESTROY_ACTION, self.destroy_action.map(|e| e.0))
            .opt_enum(
                Tag::SHREDDING_ALGORITHM,
                self.shredding_algorithm.map(|e| e.0),
            )
            .opt_enum(Tag::RNG_MODE, self.rng_mode.map(|e| e.0))
            .opt_bool(Tag::QUANTUM_SAFE_CAPABILITY, self.quantum_safe_capability);
    }
}

/// Extension Information (KMIP 1.4 section 2.1.9, KMIP 2.1 section 7.13): an extension tag the
/// server supports. Extension Type is an Integer in 1.x and an Enumeration (of item types) in
/// 2.x; the fields after it are 2.x only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionInformation {
    /// Extension Name.
    pub extension_name: String,
    /// Extension Tag.
    pub extension_tag: Option<i32>,
    /// Extension Type: the item type byte.
    pub extension_type: Option<u32>,
    /// Extension Enumeration (2.x).
    pub extension_enumeration: Option<i32>,
    /// Extension Attribute (2.x).
    pub extension_attribute: Option<bool>,
    /// Extension Parent Structure Tag (2.x).
    pub extension_parent_structure_tag: Option<i32>,
    /// Extension Description (2.x).
    pub extension_description: Option<String>,
}

impl ExtensionInformation {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        let extension_name = f.req_text(Tag::EXTENSION_NAME)?;
        let extension_tag = f.opt_int(Tag::EXTENSION_TAG)?;
        let extension_type = match f.take(Tag::EXTENSION_TYPE) {
            None => None,
            Some(item) => Some(match (&item.value, v.is_2x()) {
                (Value::Enumeration(e), true) => *e,
                (Value::Integer(i), false) => u32::try_from(*i).map_err(|_| {
                    Error::new(ErrorKind::InvalidValue {
                        tag: Tag::EXTENSION_TYPE,
                        reason: "negative item type",
                    })
                })?,
                (_, true) => return Err(wrong_type(item, ItemType::Enumeration)),
                (_, false) => return Err(wrong_type(item, ItemType::Integer)),
            }),
        };
        Ok(Self {
            extension_name,
            extension_tag,
            extension_type,
            extension_enumeration: f.opt_int(Tag::EXTENSION_ENUMERATION)?,
            extension_attribute: f.opt_bool(Tag::EXTENSION_ATTRIBUTE)?,
            extension_parent_structure_tag: f.opt_int(Tag::EXTENSION_PARENT_STRUCTURE_TAG)?,
            extension_description: f.opt_text(Tag::EXTENSION_DESCRIPTION)?,
        })
    }

    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.text(Tag::EXTENSION_NAME, &self.extension_name)
            .opt_int(Tag::EXTENSION_TAG, self.extension_tag);
        if let Some(t) = self.extension_type {
            if v.is_2x() {
                out.enumeration(Tag::EXTENSION_TYPE, t);
            } else {
                out.int(Tag::EXTENSION_TYPE, i32::try_from(t).unwrap_or(i32::MAX));
            }
        }
        out.opt_int(Tag::EXTENSION_ENUMERATION, self.extension_enumeration)
            .opt_bool(Tag::EXTENSION_ATTRIBUTE, self.extension_attribute)
            .opt_int(
                Tag::EXTENSION_PARENT_STRUCTURE_TAG,
                self.extension_parent_structure_tag,
            )
            .opt_text(
                Tag::EXTENSION_DESCRIPTION,
                self.extension_description.as_deref(),
            );
    }
}

/// Object Defaults (KMIP 2.1 section 7.22): the attribute values a server uses for an object
/// type when the client gives none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectDefaults {
    /// Object Type.
    pub object_type: ObjectType,
    /// The default attributes (2.x Attributes).
    pub attributes: Attributes,
    /// Object Groups the defaults apply to (the Object Groups structure; `None` when absent).
    pub object_groups: Option<Vec<String>>,
}

impl Fielded for ObjectDefaults {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            object_type: ObjectType(f.req_enum(Tag::OBJECT_TYPE)?),
            attributes: f.req_with(Tag::ATTRIBUTES, forms::decode_attributes_2x)?,
            object_groups: f.opt_with(Tag::OBJECT_GROUPS, |g| {
                decode_struct(g, |f| f.all_text(Tag::OBJECT_GROUP))
            })?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.enumeration(Tag::OBJECT_TYPE, self.object_type.0)
            .push(forms::encode_attributes_2x(
                &self.attributes,
                Tag::ATTRIBUTES,
            ));
        if let Some(groups) = &self.object_groups {
            let mut g = Out::new();
            for name in groups {
                g.text(Tag::OBJECT_GROUP, name);
            }
            out.push(g.into_struct(Tag::OBJECT_GROUPS));
        }
    }
}

/// Defaults Information (KMIP 2.1 section 7.11).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DefaultsInformation {
    /// Object Defaults, one per object type (and group).
    pub object_defaults: Vec<ObjectDefaults>,
}

impl Fielded for DefaultsInformation {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            object_defaults: f.all_with(Tag::OBJECT_DEFAULTS, ObjectDefaults::decode)?,
        })
    }
    fn write(&self, out: &mut Out) {
        for d in &self.object_defaults {
            out.push(d.encode(Tag::OBJECT_DEFAULTS));
        }
    }
}

/// One item of a Query response after the Application Namespaces (KMIP 1.4 section 4.25,
/// KMIP 2.1 section 6.1.40).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryInformation {
    /// Extension Information.
    Extension(ExtensionInformation),
    /// Attestation Type (1.2+).
    AttestationType(AttestationType),
    /// RNG Parameters (1.3+).
    RngParameters(RngParameters),
    /// Profile Information (1.3+).
    Profile(ProfileInformation),
    /// Validation Information (1.3+).
    Validation(ValidationInformation),
    /// Capability Information (1.3+).
    Capability(CapabilityInformation),
    /// Client Registration Method (1.3+).
    ClientRegistrationMethod(ClientRegistrationMethod),
    /// Defaults Information (2.0+).
    Defaults(DefaultsInformation),
    /// Protection Storage Masks (2.0+).
    ProtectionStorageMasks(ProtectionStorageMasks),
}

/// The tags of [`QueryInformation`] items, in the order the Query response lists them.
pub(crate) const QUERY_INFORMATION_TAGS: [Tag; 9] = [
    Tag::EXTENSION_INFORMATION,
    Tag::ATTESTATION_TYPE,
    Tag::RNG_PARAMETERS,
    Tag::PROFILE_INFORMATION,
    Tag::VALIDATION_INFORMATION,
    Tag::CAPABILITY_INFORMATION,
    Tag::CLIENT_REGISTRATION_METHOD,
    Tag::DEFAULTS_INFORMATION,
    Tag::PROTECTION_STORAGE_MASKS,
];

fn enumeration(item: &Ttlv) -> Result<u32> {
    match item.value {
        Value::Enumeration(e) => Ok(e),
        _ => Err(wrong_type(item, ItemType::Enumeration)),
    }
}

impl QueryInformation {
    /// Decodes one item (tagged Extension Information, Attestation Type, ..., Protection
    /// Storage Masks) in version `v`.
    pub fn decode(item: &Ttlv, v: ProtocolVersion) -> Result<Self> {
        Ok(match item.tag {
            Tag::EXTENSION_INFORMATION => {
                Self::Extension(decode_struct(item, |f| ExtensionInformation::read(f, v))?)
            }
            Tag::ATTESTATION_TYPE => Self::AttestationType(AttestationType(enumeration(item)?)),
            Tag::RNG_PARAMETERS => Self::RngParameters(RngParameters::decode(item)?),
            Tag::PROFILE_INFORMATION => Self::Profile(ProfileInformation::decode(item)?),
            Tag::VALIDATION_INFORMATION => Self::Validation(ValidationInformation::decode(item)?),
            Tag::CAPABILITY_INFORMATION => Self::Capability(CapabilityInformation::decode(item)?),
            Tag::CLIENT_REGISTRATION_METHOD => {
                Self::ClientRegistrationMethod(ClientRegistrationMethod(enumeration(item)?))
            }
            Tag::DEFAULTS_INFORMATION => Self::Defaults(DefaultsInformation::decode(item)?),
            Tag::PROTECTION_STORAGE_MASKS => {
                Self::ProtectionStorageMasks(ProtectionStorageMasks::decode(item)?)
            }
            other => return Err(Error::new(ErrorKind::UnexpectedTag(other))),
        })
    }

    /// The item in the form of `v`.
    pub fn encode(&self, v: ProtocolVersion) -> Ttlv {
        match self {
            Self::Extension(e) => {
                let mut out = Out::new();
                e.write(&mut out, v);
                out.into_struct(Tag::EXTENSION_INFORMATION)
            }
            Self::AttestationType(a) => Ttlv::new(Tag::ATTESTATION_TYPE, Value::Enumeration(a.0)),
            Self::RngParameters(r) => r.encode(Tag::RNG_PARAMETERS),
            Self::Profile(p) => p.encode(Tag::PROFILE_INFORMATION),
            Self::Validation(p) => p.encode(Tag::VALIDATION_INFORMATION),
            Self::Capability(c) => c.encode(Tag::CAPABILITY_INFORMATION),
            Self::ClientRegistrationMethod(m) => {
                Ttlv::new(Tag::CLIENT_REGISTRATION_METHOD, Value::Enumeration(m.0))
            }
            Self::Defaults(d) => d.encode(Tag::DEFAULTS_INFORMATION),
            Self::ProtectionStorageMasks(m) => m.encode(Tag::PROTECTION_STORAGE_MASKS),
        }
    }
}
