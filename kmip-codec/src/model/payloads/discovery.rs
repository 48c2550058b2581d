//! Discover Versions (KMIP 1.4 section 4.26, KMIP 2.1 section 6.1.16) and Query (KMIP 1.4
//! section 4.25, KMIP 2.1 section 6.1.40).

use super::Payload;
use crate::enums::{ObjectType, Operation, QueryFunction};
use crate::error::Result;
use crate::model::fields::{Fields, Out};
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

/// Query request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryRequest {
    /// Query Functions.
    pub query_functions: Vec<QueryFunction>,
    /// Object Groups (2.1).
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
            object_groups: f.all_text(Tag::OBJECT_GROUP)?,
        })
    }
    fn write(&self, out: &mut Out, _v: ProtocolVersion) {
        for q in &self.query_functions {
            out.enumeration(Tag::QUERY_FUNCTION, q.0);
        }
        for g in &self.object_groups {
            out.text(Tag::OBJECT_GROUP, g);
        }
    }
}

/// The Query response fields after Application Namespace, kept raw in the order received
/// (they are advertised capabilities the server builds once).
const QUERY_TRAILING: [Tag; 9] = [
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

/// Query response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryResponse {
    /// Operations supported.
    pub operations: Vec<Operation>,
    /// Object Types supported.
    pub object_types: Vec<ObjectType>,
    /// Vendor Identification.
    pub vendor_identification: Option<String>,
    /// Server Information (vendor-defined structure), raw.
    pub server_information: Option<Ttlv>,
    /// Application Namespaces.
    pub application_namespaces: Vec<String>,
    /// Extension Information, Attestation Types, RNG Parameters, Profile / Validation /
    /// Capability Information, Client Registration Methods, Defaults Information, Protection
    /// Storage Masks: raw, in order.
    pub other: Vec<Ttlv>,
}

impl Payload for QueryResponse {
    fn read(f: &mut Fields<'_>, _v: ProtocolVersion) -> Result<Self> {
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
                .take_where(|t| QUERY_TRAILING.contains(&t))
                .into_iter()
                .cloned()
                .collect(),
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
