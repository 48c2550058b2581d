//! Asking the server whether and how long an object may be used: Check (KMIP 1.4 section 4.10,
//! KMIP 2.1 section 6.1.7), Get Usage Allocation (4.18 / 6.1.23) and Obtain Lease (4.17 /
//! 6.1.35).

use super::Payload;
use crate::error::Result;
use crate::model::fields::{Fields, Out};
use crate::tags::Tag;
use crate::version::ProtocolVersion;

/// The fields of a Check request and of its response, which repeats those the server refused
/// (KMIP 1.4 section 4.10, KMIP 2.1 section 6.1.7).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckFields {
    /// Unique Identifier (request: the ID Placeholder when absent; response: absent on
    /// failure).
    pub unique_identifier: Option<String>,
    /// Usage Limits Count to be protected.
    pub usage_limits_count: Option<i64>,
    /// Cryptographic Usage Mask the client means to use the object for.
    pub cryptographic_usage_mask: Option<i32>,
    /// Lease Time the client asks to be validated.
    pub lease_time: Option<u32>,
}

impl CheckFields {
    fn read(f: &mut Fields<'_>) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            usage_limits_count: f.opt_long(Tag::USAGE_LIMITS_COUNT)?,
            cryptographic_usage_mask: f.opt_int(Tag::CRYPTOGRAPHIC_USAGE_MASK)?,
            lease_time: f.opt_interval(Tag::LEASE_TIME)?,
        })
    }
    fn write(&self, out: &mut Out) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref())
            .opt_long(Tag::USAGE_LIMITS_COUNT, self.usage_limits_count)
            .opt_int(Tag::CRYPTOGRAPHIC_USAGE_MASK, self.cryptographic_usage_mask)
            .opt_interval(Tag::LEASE_TIME, self.lease_time);
    }
}

/// Check request (KMIP 1.4 section 4.10, KMIP 2.1 section 6.1.7).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckRequest(pub CheckFields);

/// Check response (KMIP 1.4 section 4.10, KMIP 2.1 section 6.1.7).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckResponse(pub CheckFields);

impl Payload for CheckRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        CheckFields::read(f).map(Self)
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        self.0.write(out);
    }
}

impl Payload for CheckResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        CheckFields::read(f).map(Self)
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        self.0.write(out);
    }
}

/// Get Usage Allocation request (KMIP 1.4 section 4.18, KMIP 2.1 section 6.1.23).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetUsageAllocationRequest {
    /// Unique Identifier (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// Usage Limits Count: how many Usage Limits Units to allocate.
    pub usage_limits_count: i64,
}

impl Payload for GetUsageAllocationRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            usage_limits_count: f.req_long(Tag::USAGE_LIMITS_COUNT)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref())
            .long(Tag::USAGE_LIMITS_COUNT, self.usage_limits_count);
    }
}

uid_payload!(
    /// Get Usage Allocation response (KMIP 1.4 section 4.18, KMIP 2.1 section 6.1.23).
    GetUsageAllocationResponse, required
);
uid_payload!(
    /// Obtain Lease request (KMIP 1.4 section 4.17, KMIP 2.1 section 6.1.35).
    ObtainLeaseRequest, optional
);

/// Obtain Lease response (KMIP 1.4 section 4.17, KMIP 2.1 section 6.1.35).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObtainLeaseResponse {
    /// Unique Identifier.
    pub unique_identifier: String,
    /// Lease Time: how long the object may be used before a new lease is needed.
    pub lease_time: u32,
    /// Last Change Date of the object.
    pub last_change_date: i64,
}

impl Payload for ObtainLeaseResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.req_text(Tag::UNIQUE_IDENTIFIER)?,
            lease_time: f.req_interval(Tag::LEASE_TIME)?,
            last_change_date: f.req_datetime(Tag::LAST_CHANGE_DATE)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.text(Tag::UNIQUE_IDENTIFIER, &self.unique_identifier)
            .interval(Tag::LEASE_TIME, self.lease_time)
            .datetime(Tag::LAST_CHANGE_DATE, self.last_change_date);
    }
}
