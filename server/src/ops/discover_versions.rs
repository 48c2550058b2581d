//! Discover Versions (KMIP 1.4 section 4.26).

use kmip_codec::model::{DiscoverVersionsRequest, DiscoverVersionsResponse};
use kmip_codec::version::ProtocolVersion;

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
