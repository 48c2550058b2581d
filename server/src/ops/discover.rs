//! Discover Versions (KMIP 1.4 section 4.26) and Query (4.25).

use kmip_codec::enums::{ObjectType, QueryFunction};
use kmip_codec::model::{
    DiscoverVersionsRequest, DiscoverVersionsResponse, QueryRequest, QueryResponse,
};
use kmip_codec::version::ProtocolVersion;

use super::Ctx;

/// Vendor Identification returned by Query.
pub(crate) const VENDOR_IDENTIFICATION: &str = "kms";

/// Object types this server manages (Public Keys, Private Keys and Certificates are stored and
/// returned, not used).
pub(crate) const OBJECT_TYPES: [ObjectType; 6] = [
    ObjectType::SYMMETRIC_KEY,
    ObjectType::SECRET_DATA,
    ObjectType::OPAQUE_OBJECT,
    ObjectType::PUBLIC_KEY,
    ObjectType::PRIVATE_KEY,
    ObjectType::CERTIFICATE,
];

/// The versions the server speaks that the client also listed (all when it listed none),
/// newest first.
pub(super) fn discover_versions(r: &DiscoverVersionsRequest) -> DiscoverVersionsResponse {
    DiscoverVersionsResponse {
        protocol_versions: ProtocolVersion::ALL_NEWEST_FIRST
            .into_iter()
            .filter(|v| r.protocol_versions.is_empty() || r.protocol_versions.contains(v))
            .collect(),
    }
}

/// Answers the query functions the server knows; unknown ones are ignored, as the spec
/// allows. What a version does not define (e.g. Set Attribute for 1.x) is dropped by the
/// codec's version filter.
pub(super) fn query(ctx: &Ctx<'_>, r: &QueryRequest) -> QueryResponse {
    let asks = |f: QueryFunction| r.query_functions.contains(&f);
    QueryResponse {
        operations: if asks(QueryFunction::QUERY_OPERATIONS) {
            super::OPERATIONS
                .into_iter()
                .filter(|op| op.is_defined_in(ctx.version))
                .filter(|op| !crate::policy::kmip::roles(*op).is_empty())
                .collect()
        } else {
            Vec::new()
        },
        object_types: if asks(QueryFunction::QUERY_OBJECTS) {
            OBJECT_TYPES.to_vec()
        } else {
            Vec::new()
        },
        vendor_identification: asks(QueryFunction::QUERY_SERVER_INFORMATION)
            .then(|| VENDOR_IDENTIFICATION.to_owned()),
        server_information: None,
        application_namespaces: Vec::new(),
        other: Vec::new(),
    }
}
