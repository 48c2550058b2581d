//! Structured attribute values. Their fields are the same in 1.x (inside Attribute Value) and
//! 2.x (inside the structure tagged by the attribute), so each is written once.

use crate::enums::{
    AlternativeNameType, HashingAlgorithm, KeyFormatType, KeyValueLocationType, LinkType, NameType,
    RevocationReasonCode, UsageLimitsUnit,
};
use crate::error::Result;
use crate::model::fields::{Fielded, Fields, Out};
use crate::tags::Tag;

/// Name attribute (KMIP 1.4 section 3.2, KMIP 2.1 section 4.32).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    /// Name Value.
    pub value: String,
    /// Name Type.
    pub name_type: NameType,
}

impl Fielded for Name {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            value: f.req_text(Tag::NAME_VALUE)?,
            name_type: NameType(f.req_enum(Tag::NAME_TYPE)?),
        })
    }
    fn write(&self, out: &mut Out) {
        out.text(Tag::NAME_VALUE, &self.value)
            .enumeration(Tag::NAME_TYPE, self.name_type.0);
    }
}

/// Link attribute (KMIP 1.4 section 3.35, KMIP 2.1 section 4.31).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Link Type.
    pub link_type: LinkType,
    /// Linked Object Identifier.
    pub linked_object_identifier: String,
}

impl Fielded for Link {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            link_type: LinkType(f.req_enum(Tag::LINK_TYPE)?),
            linked_object_identifier: f.req_text(Tag::LINKED_OBJECT_IDENTIFIER)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.enumeration(Tag::LINK_TYPE, self.link_type.0).text(
            Tag::LINKED_OBJECT_IDENTIFIER,
            &self.linked_object_identifier,
        );
    }
}

/// Digest attribute (KMIP 1.4 section 3.17, KMIP 2.1 section 4.21).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest {
    /// Hashing Algorithm.
    pub hashing_algorithm: HashingAlgorithm,
    /// Digest Value (a hash, not secret).
    pub digest_value: Option<Vec<u8>>,
    /// Key Format Type the digest was computed over (1.1+).
    pub key_format_type: Option<KeyFormatType>,
}

impl Fielded for Digest {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            hashing_algorithm: HashingAlgorithm(f.req_enum(Tag::HASHING_ALGORITHM)?),
            digest_value: f.opt_plain_bytes(Tag::DIGEST_VALUE)?,
            key_format_type: f.opt_enum(Tag::KEY_FORMAT_TYPE)?.map(KeyFormatType),
        })
    }
    fn write(&self, out: &mut Out) {
        out.enumeration(Tag::HASHING_ALGORITHM, self.hashing_algorithm.0)
            .opt_plain_bytes(Tag::DIGEST_VALUE, self.digest_value.as_deref())
            .opt_enum(Tag::KEY_FORMAT_TYPE, self.key_format_type.map(|k| k.0));
    }
}

/// Revocation Reason attribute (KMIP 1.4 section 3.31, KMIP 2.1 section 4.47).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationReason {
    /// Revocation Reason Code.
    pub code: RevocationReasonCode,
    /// Revocation Message.
    pub message: Option<String>,
}

impl Fielded for RevocationReason {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            code: RevocationReasonCode(f.req_enum(Tag::REVOCATION_REASON_CODE)?),
            message: f.opt_text(Tag::REVOCATION_MESSAGE)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.enumeration(Tag::REVOCATION_REASON_CODE, self.code.0)
            .opt_text(Tag::REVOCATION_MESSAGE, self.message.as_deref());
    }
}

/// Application Specific Information attribute (KMIP 1.4 section 3.36, KMIP 2.1 section 4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationSpecificInformation {
    /// Application Namespace.
    pub namespace: String,
    /// Application Data (optional from 1.3 on, when the server generates it).
    pub data: Option<String>,
}

impl Fielded for ApplicationSpecificInformation {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            namespace: f.req_text(Tag::APPLICATION_NAMESPACE)?,
            data: f.opt_text(Tag::APPLICATION_DATA)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.text(Tag::APPLICATION_NAMESPACE, &self.namespace)
            .opt_text(Tag::APPLICATION_DATA, self.data.as_deref());
    }
}

/// Usage Limits attribute (KMIP 1.4 section 3.21, KMIP 2.1 section 4.59).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageLimits {
    /// Usage Limits Total.
    pub total: i64,
    /// Usage Limits Count.
    pub count: Option<i64>,
    /// Usage Limits Unit.
    pub unit: UsageLimitsUnit,
}

impl Fielded for UsageLimits {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            total: f.req_long(Tag::USAGE_LIMITS_TOTAL)?,
            count: f.opt_long(Tag::USAGE_LIMITS_COUNT)?,
            unit: UsageLimitsUnit(f.req_enum(Tag::USAGE_LIMITS_UNIT)?),
        })
    }
    fn write(&self, out: &mut Out) {
        out.value(
            Tag::USAGE_LIMITS_TOTAL,
            crate::ttlv::Value::LongInteger(self.total),
        )
        .opt_long(Tag::USAGE_LIMITS_COUNT, self.count)
        .enumeration(Tag::USAGE_LIMITS_UNIT, self.unit.0);
    }
}

/// Alternative Name attribute (KMIP 1.4 section 3.40, KMIP 2.1 section 4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlternativeName {
    /// Alternative Name Value.
    pub value: String,
    /// Alternative Name Type.
    pub name_type: AlternativeNameType,
}

impl Fielded for AlternativeName {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            value: f.req_text(Tag::ALTERNATIVE_NAME_VALUE)?,
            name_type: AlternativeNameType(f.req_enum(Tag::ALTERNATIVE_NAME_TYPE)?),
        })
    }
    fn write(&self, out: &mut Out) {
        out.text(Tag::ALTERNATIVE_NAME_VALUE, &self.value)
            .enumeration(Tag::ALTERNATIVE_NAME_TYPE, self.name_type.0);
    }
}

/// Key Value Location attribute (KMIP 1.4 section 3.42, KMIP 2.1 section 4.27).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValueLocation {
    /// Key Value Location Value.
    pub value: String,
    /// Key Value Location Type.
    pub location_type: KeyValueLocationType,
}

impl Fielded for KeyValueLocation {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            value: f.req_text(Tag::KEY_VALUE_LOCATION_VALUE)?,
            location_type: KeyValueLocationType(f.req_enum(Tag::KEY_VALUE_LOCATION_TYPE)?),
        })
    }
    fn write(&self, out: &mut Out) {
        out.text(Tag::KEY_VALUE_LOCATION_VALUE, &self.value)
            .enumeration(Tag::KEY_VALUE_LOCATION_TYPE, self.location_type.0);
    }
}
