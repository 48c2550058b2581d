//! Finding objects and moving them through their life: Locate (KMIP 1.4 section 4.9, KMIP 2.1
//! section 6.1.28), Activate (4.19 / 6.1.1), Revoke (4.20 / 6.1.44), Destroy (4.21 / 6.1.15),
//! Archive (4.22 / 6.1.4) and Recover (4.23 / 6.1.42).

use super::Payload;
use crate::enums::ObjectGroupMember;
use crate::error::Result;
use crate::model::attributes::{Attributes, RevocationReason, forms};
use crate::model::fields::{Fielded, Fields, Out};
use crate::tags::Tag;
use crate::version::ProtocolVersion;

/// Locate request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocateRequest {
    /// Maximum Items.
    pub maximum_items: Option<i32>,
    /// Offset Items (1.3+).
    pub offset_items: Option<i32>,
    /// Storage Status Mask.
    pub storage_status_mask: Option<i32>,
    /// Object Group Member (1.1+).
    pub object_group_member: Option<ObjectGroupMember>,
    /// The attributes to match (1.x Attribute items, 2.x Attributes).
    pub attributes: Attributes,
}

impl Payload for LocateRequest {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            maximum_items: f.opt_int(Tag::MAXIMUM_ITEMS)?,
            offset_items: f.opt_int(Tag::OFFSET_ITEMS)?,
            storage_status_mask: f.opt_int(Tag::STORAGE_STATUS_MASK)?,
            object_group_member: f.opt_enum(Tag::OBJECT_GROUP_MEMBER)?.map(ObjectGroupMember),
            attributes: forms::read_list(f, v, false)?,
        })
    }
    fn write(&self, out: &mut Out, v: ProtocolVersion) {
        out.opt_int(Tag::MAXIMUM_ITEMS, self.maximum_items)
            .opt_int(Tag::OFFSET_ITEMS, self.offset_items)
            .opt_int(Tag::STORAGE_STATUS_MASK, self.storage_status_mask)
            .opt_enum(
                Tag::OBJECT_GROUP_MEMBER,
                self.object_group_member.map(|o| o.0),
            );
        forms::write_list(out, &self.attributes, v, true);
    }
}

/// Locate response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocateResponse {
    /// Located Items: how many matched in total (1.3+).
    pub located_items: Option<i32>,
    /// The identifiers found.
    pub unique_identifiers: Vec<String>,
}

impl Payload for LocateResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            located_items: f.opt_int(Tag::LOCATED_ITEMS)?,
            unique_identifiers: f.all_text(Tag::UNIQUE_IDENTIFIER)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_int(Tag::LOCATED_ITEMS, self.located_items);
        for u in &self.unique_identifiers {
            out.text(Tag::UNIQUE_IDENTIFIER, u);
        }
    }
}

uid_payload!(
    /// Activate request.
    ActivateRequest, optional
);
uid_payload!(
    /// Activate response.
    ActivateResponse, required
);
uid_payload!(
    /// Destroy request.
    DestroyRequest, optional
);
uid_payload!(
    /// Destroy response.
    DestroyResponse, required
);
uid_payload!(
    /// Revoke response.
    RevokeResponse, required
);

/// Revoke request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeRequest {
    /// Unique Identifier (ID Placeholder when absent).
    pub unique_identifier: Option<String>,
    /// Revocation Reason.
    pub revocation_reason: RevocationReason,
    /// Compromise Occurrence Date (for reason Key Compromise / CA Compromise).
    pub compromise_occurrence_date: Option<i64>,
}

impl Payload for RevokeRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            unique_identifier: f.opt_text(Tag::UNIQUE_IDENTIFIER)?,
            revocation_reason: f.req_with(Tag::REVOCATION_REASON, RevocationReason::decode)?,
            compromise_occurrence_date: f.opt_datetime(Tag::COMPROMISE_OCCURRENCE_DATE)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        out.opt_text(Tag::UNIQUE_IDENTIFIER, self.unique_identifier.as_deref())
            .push(self.revocation_reason.encode(Tag::REVOCATION_REASON))
            .opt_datetime(
                Tag::COMPROMISE_OCCURRENCE_DATE,
                self.compromise_occurrence_date,
            );
    }
}

uid_payload!(
    /// Archive request (KMIP 1.4 section 4.22, KMIP 2.1 section 6.1.4).
    ArchiveRequest, optional
);
uid_payload!(
    /// Archive response (KMIP 1.4 section 4.22, KMIP 2.1 section 6.1.4).
    ArchiveResponse, required
);
uid_payload!(
    /// Recover request (KMIP 1.4 section 4.23, KMIP 2.1 section 6.1.42).
    RecoverRequest, optional
);
uid_payload!(
    /// Recover response (KMIP 1.4 section 4.23, KMIP 2.1 section 6.1.42).
    RecoverResponse, required
);
