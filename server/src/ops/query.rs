//! Query (KMIP 1.4 section 4.25): what the server performs, manages and is.

use kmip_codec::enums::{ObjectType, QueryFunction};
use kmip_codec::model::{QueryRequest, QueryResponse};
use kmip_codec::tags::Tag;
use kmip_codec::ttlv::Ttlv;
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
            let mut types = OBJECT_TYPES.to_vec();
            // Templates are stored and applied in the versions that have them (`templates`).
            if ctx.version < ProtocolVersion::V2_0 {
                types.push(ObjectType::TEMPLATE);
            }
            types
        } else {
            Vec::new()
        },
        vendor_identification: asks(QueryFunction::QUERY_SERVER_INFORMATION)
            .then(|| VENDOR_IDENTIFICATION.to_owned()),
        // Vendor-specific and optional in content (KMIP 1.4 section 4.25): this server tells
        // nothing more than its Vendor Identification, so the structure is empty.
        server_information: asks(QueryFunction::QUERY_SERVER_INFORMATION)
            .then(|| Ttlv::structure(Tag::SERVER_INFORMATION, Vec::new())),
        application_namespaces: Vec::new(),
        other: Vec::new(),
    }
}
