//! Structured attribute values. Their fields are the same in 1.x (inside Attribute Value) and
//! 2.x (inside the structure tagged by the attribute), so each is written once.

use crate::enums::{
    AlternativeNameType, CryptographicAlgorithm, DrbgAlgorithm, Fips186Variation, HashingAlgorithm,
    KeyFormatType, KeyValueLocationType, LinkType, NameType, RecommendedCurve,
    RevocationReasonCode, RngAlgorithm, UsageLimitsUnit,
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

/// RNG Parameters (KMIP 1.4 section 2.1.18, KMIP 2.1 section 7.36): the value of the Random
/// Number Generator attribute (KMIP 1.4 section 3.44, KMIP 2.1 section 4.46) and an item of a
/// Query response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RngParameters {
    /// RNG Algorithm.
    pub rng_algorithm: RngAlgorithm,
    /// Cryptographic Algorithm.
    pub cryptographic_algorithm: Option<CryptographicAlgorithm>,
    /// Cryptographic Length.
    pub cryptographic_length: Option<i32>,
    /// Hashing Algorithm.
    pub hashing_algorithm: Option<HashingAlgorithm>,
    /// DRBG Algorithm.
    pub drbg_algorithm: Option<DrbgAlgorithm>,
    /// Recommended Curve.
    pub recommended_curve: Option<RecommendedCurve>,
    /// FIPS186 Variation.
    pub fips186_variation: Option<Fips186Variation>,
    /// Prediction Resistance.
    pub prediction_resistance: Option<bool>,
}

impl RngParameters {
    /// Parameters naming only the algorithm.
    pub fn new(rng_algorithm: RngAlgorithm) -> Self {
        Self {
            rng_algorithm,
            cryptographic_algorithm: None,
            cryptographic_length: None,
            hashing_algorithm: None,
            drbg_algorithm: None,
            recommended_curve: None,
            fips186_variation: None,
            prediction_resistance: None,
        }
    }
}

impl Fielded for RngParameters {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            rng_algorithm: RngAlgorithm(f.req_enum(Tag::RNG_ALGORITHM)?),
            cryptographic_algorithm: f
                .opt_enum(Tag::CRYPTOGRAPHIC_ALGORITHM)?
                .map(CryptographicAlgorithm),
            cryptographic_length: f.opt_int(Tag::CRYPTOGRAPHIC_LENGTH)?,
            hashing_algorithm: f.opt_enum(Tag::HASHING_ALGORITHM)?.map(HashingAlgorithm),
            drbg_algorithm: f.opt_enum(Tag::DRBG_ALGORITHM)?.map(DrbgAlgorithm),
            recommended_curve: f.opt_enum(Tag::RECOMMENDED_CURVE)?.map(RecommendedCurve),
            fips186_variation: f.opt_enum(Tag::FIPS186_VARIATION)?.map(Fips186Variation),
            prediction_resistance: f.opt_bool(Tag::PREDICTION_RESISTANCE)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.enumeration(Tag::RNG_ALGORITHM, self.rng_algorithm.0)
            .opt_enum(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                self.cryptographic_algorithm.map(|e| e.0),
            )
            .opt_int(Tag::CRYPTOGRAPHIC_LENGTH, self.cryptographic_length)
            .opt_enum(Tag::HASHING_ALGORITHM, self.hashing_algorithm.map(|e| e.0))
            .opt_enum(Tag::DRBG_ALGORITHM, self.drbg_algorithm.map(|e| e.0))
            .opt_enum(Tag::RECOMMENDED_CURVE, self.recommended_curve.map(|e| e.0))
            .opt_enum(Tag::FIPS186_VARIATION, self.fips186_variation.map(|e| e.0))
            .opt_bool(Tag::PREDICTION_RESISTANCE, self.prediction_resistance);
    }
}

/// Cryptographic Domain Parameters attribute (KMIP 1.4 section 3.7, KMIP 2.1 section 4.14).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CryptographicDomainParameters {
    /// Qlength: the length of Q in bits (DSA, DH).
    pub qlength: Option<i32>,
    /// Recommended Curve (EC).
    pub recommended_curve: Option<RecommendedCurve>,
}

impl Fielded for CryptographicDomainParameters {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            qlength: f.opt_int(Tag::QLENGTH)?,
            recommended_curve: f.opt_enum(Tag::RECOMMENDED_CURVE)?.map(RecommendedCurve),
        })
    }
    fn write(&self, out: &mut Out) {
        out.opt_int(Tag::QLENGTH, self.qlength)
            .opt_enum(Tag::RECOMMENDED_CURVE, self.recommended_curve.map(|e| e.0));
    }
}
