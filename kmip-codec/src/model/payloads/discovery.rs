//! Discover Versions (KMIP 1.4 section 4.26, KMIP 2.1 section 6.1.16) and Query (KMIP 1.4
//! section 4.25, KMIP 2.1 section 6.1.40).

use super::Payload;
use crate::enums::{ObjectType, Operation, QueryFunction};
use crate::error::Result;
use crate::model::capabilities::{QUERY_INFORMATION_TAGS, QueryInformation};
use crate::model::fields::{Fields, Out, decode_struct};
use crate::model::header::{decode_version, encode_version};
use crate::tags::Tag;
use crate::ttlv::Ttlv;
use crate::version::ProtocolVersion;

/// Discover Versions request: the versions the client supports, preferred first (empty: ask
/// for all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscoverVersionsRequest {
    /// Protocol Versions.
    pub protocol_versions: Vec<ProtocolVersion>,
}

/// Discover Versions response: the versions both sides support, server's preference first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscoverVersionsResponse {
    /// Protocol Versions.
    pub protocol_versions: Vec<ProtocolVersion>,
}

fn read_versions(f: &mut Fields<'_>) -> Result<Vec<ProtocolVersion>> {
    f.all_with(Tag::PROTOCOL_VERSION, decode_version)
}

fn write_versions(out: &mut Out, versions: &[ProtocolVersion]) {
    for v in versions {
        out.push(encode_version(*v));
    }
}

impl Payload for DiscoverVersionsRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            protocol_versions: read_versions(f)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        write_versions(out, &self.protocol_versions);
    }
}

impl Payload for DiscoverVersionsResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            protocol_versions: read_versions(f)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        write_versions(out, &self.protocol_versions);
    }
}

/// Query request (KMIP 1.4 section 4.25, KMIP 2.1 section 6.1.40).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryRequest {
    /// Query Functions.
    pub query_functions: Vec<QueryFunction>,
    /// The Object Group names of the 2.1 Object Groups structure (KMIP 2.1 section 7.23); an
    /// empty list is sent as no structure.
    pub object_groups: Vec<String>,
}

impl Payload for QueryRequest {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            query_functions: f
                .all_enum(Tag::QUERY_FUNCTION)?
                .into_iter()
                .map(QueryFunction)
                .collect(),
            object_groups: f
                .opt_with(Tag::OBJECT_GROUPS, |g| {
                    decode_struct(g, |f| f.all_text(Tag::OBJECT_GROUP))
                })?
                .unwrap_or_default(),
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        for q in &self.query_functions {
            out.enumeration(Tag::QUERY_FUNCTION, q.0);
        }
        if !self.object_groups.is_empty() {
            let mut groups = Out::new();
            for g in &self.object_groups {
                groups.text(Tag::OBJECT_GROUP, g);
            }
            out.push(groups.into_struct(Tag::OBJECT_GROUPS));
        }
    }
}

/// Query response (KMIP 1.4 section 4.25, KMIP 2.1 section 6.1.40).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryResponse {
    /// Operations supported.
    pub operations: Vec<Operation>,
    /// Object Types supported.
    pub object_types: Vec<ObjectType>,
    /// Vendor Identification.
    pub vendor_identification: Option<String>,
    /// Server Information: a structure whose contents the vendor defines (KMIP 2.1 section
    /// 7.37), hence raw.
    pub server_information: Option<Ttlv>,
    /// Application Namespaces.
    pub application_namespaces: Vec<String>,
    /// Extension Information, Attestation Types, RNG Parameters, Profile / Validation /
    /// Capability Information, Client Registration Methods, Defaults Information, Protection
    /// Storage Masks, in order, as their TTLV: decoding checked each against its typed form
    /// ([`QueryInformation`]); use [`QueryResponse::information`] and
    /// [`QueryResponse::push_information`] to read and write them typed.
    pub other: Vec<Ttlv>,
}

impl QueryResponse {
    /// The items after the Application Namespaces, typed (decoded in version `v`).
    pub fn information(&self, v: ProtocolVersion) -> Result<Vec<QueryInformation>> {
        self.other
            .iter()
            .map(|i| QueryInformation::decode(i, v))
            .collect()
    }

    /// Appends an item after the Application Namespaces, in the form of `v`.
    pub fn push_information(&mut self, info: &QueryInformation, v: ProtocolVersion) {
        self.other.push(info.encode(v));
    }
}

impl Payload for QueryResponse {
    fn read(f: &mut Fields<'_>, v: ProtocolVersion) -> Result<Self> {
        Ok(Self {
            operations: f
                .all_enum(Tag::OPERATION)?
                .into_iter()
                .map(Operation)
                .collect(),
            object_types: f
                .all_enum(Tag::OBJECT_TYPE)?
                .into_iter()
                .map(ObjectType)
                .collect(),
            vendor_identification: f.opt_text(Tag::VENDOR_IDENTIFICATION)?,
            server_information: f.take(Tag::SERVER_INFORMATION).cloned(),
            application_namespaces: f.all_text(Tag::APPLICATION_NAMESPACE)?,
            other: f
                .take_where(|t| QUERY_INFORMATION_TAGS.contains(&t))
                .into_iter()
                .map(|i| QueryInformation::decode(i, v).map(|_| i.clone()))
                .collect::<Result<_>>()?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        for o in &self.operations {
            out.enumeration(Tag::OPERATION, o.0);
        }
        for o in &self.object_types {
            out.enumeration(Tag::OBJECT_TYPE, o.0);
        }
        out.opt_text(
            Tag::VENDOR_IDENTIFICATION,
            self.vendor_identification.as_deref(),
        )
        .push_opt(self.server_information.clone());
        for n in &self.application_namespaces {
            out.text(Tag::APPLICATION_NAMESPACE, n);
        }
        out.raw(&self.other);
    }
}
