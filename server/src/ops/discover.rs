//! Discover Versions (KMIP 1.4 section 4.26) and Query (4.25).

use kmip_codec::enums::{ObjectType, Operation, QueryFunction};
use kmip_codec::model::{
    DiscoverVersionsRequest, DiscoverVersionsResponse, QueryRequest, QueryResponse,
};
use kmip_codec::version::ProtocolVersion;

use super::Ctx;

/// Vendor Identification returned by Query.
pub(crate) const VENDOR_IDENTIFICATION: &str = "kms";

/// Operations this server implements, in the order Query lists them.
pub(crate) const OPERATIONS: [Operation; 21] = [
    Operation::CREATE,
    Operation::REGISTER,
    Operation::RE_KEY,
    Operation::LOCATE,
    Operation::CHECK,
    Operation::GET,
    Operation::GET_ATTRIBUTES,
    Operation::GET_ATTRIBUTE_LIST,
    Operation::ADD_ATTRIBUTE,
    Operation::MODIFY_ATTRIBUTE,
    Operation::DELETE_ATTRIBUTE,
    Operation::SET_ATTRIBUTE,
    Operation::ACTIVATE,
    Operation::REVOKE,
    Operation::DESTROY,
    Operation::QUERY,
    Operation::DISCOVER_VERSIONS,
    Operation::ENCRYPT,
    Operation::DECRYPT,
    Operation::RNG_RETRIEVE,
    Operation::LOG,
];

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
            OPERATIONS
                .into_iter()
                .filter(|op| op.is_defined_in(ctx.version))
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
