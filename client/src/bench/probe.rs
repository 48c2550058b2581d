//! What the run learns about the server before loading it, so that the tool works against any
//! KMIP server: the protocol versions it speaks (Discover Versions) and its vendor (Query
//! Server Information). Either may be missing from a server; the probe then records nothing
//! and the run goes on. With `--protocol auto` the newest version both sides speak is used.

use kmip_codec::enums::QueryFunction;
use kmip_codec::version::ProtocolVersion;

use crate::connection::Connector;
use crate::error::{ClientError, Result};

/// What the probe found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerFacts {
    /// Versions the server answered to Discover Versions, its preference first (empty when
    /// it does not implement the operation).
    pub versions: Vec<ProtocolVersion>,
    /// Vendor Identification from Query, when the server gives one.
    pub vendor: Option<String>,
}

/// How the run's protocol version was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionChoice {
    /// This version, whatever the server says (a mismatch is reported as unsupported).
    Fixed(ProtocolVersion),
    /// The newest version both sides speak.
    Negotiate,
}

/// Asks the server for its versions and vendor over one connection. Only a failure to
/// connect at all is an error; a KMIP refusal of either operation just leaves that fact out.
pub async fn probe(connector: &Connector) -> Result<ServerFacts> {
    let mut conn = connector.connect().await?;
    let mut facts = ServerFacts::default();
    match conn.discover_versions(&[]).await {
        Ok(versions) => facts.versions = versions,
        Err(ClientError::Kmip { .. } | ClientError::UnexpectedResponse(_)) => {}
        Err(e) => return Err(e),
    }
    if conn.is_usable() {
        match conn.query(&[QueryFunction::QUERY_SERVER_INFORMATION]).await {
            Ok(answer) => facts.vendor = answer.vendor_identification,
            Err(ClientError::Kmip { .. } | ClientError::UnexpectedResponse(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let _closed = conn.close().await;
    Ok(facts)
}

/// The version to speak, or why the server cannot be measured in the one asked for.
pub fn choose(
    choice: VersionChoice,
    facts: &ServerFacts,
) -> std::result::Result<ProtocolVersion, String> {
    match choice {
        // A server that does not answer Discover Versions gets the version asked for.
        VersionChoice::Fixed(v) if facts.versions.is_empty() || facts.versions.contains(&v) => {
            Ok(v)
        }
        VersionChoice::Fixed(v) => Err(format!(
            "server does not speak KMIP {v} (it speaks {})",
            list(&facts.versions)
        )),
        VersionChoice::Negotiate => facts
            .versions
            .iter()
            .copied()
            .find(|v| ProtocolVersion::ALL_NEWEST_FIRST.contains(v))
            .or_else(|| {
                facts
                    .versions
                    .is_empty()
                    .then_some(crate::config::DEFAULT_PROTOCOL_VERSION)
            })
            .ok_or_else(|| {
                format!(
                    "no KMIP version in common (the server speaks {})",
                    list(&facts.versions)
                )
            }),
    }
}

fn list(versions: &[ProtocolVersion]) -> String {
    versions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(versions: &[ProtocolVersion]) -> ServerFacts {
        ServerFacts {
            versions: versions.to_vec(),
            vendor: None,
        }
    }

    #[test]
    fn a_fixed_version_must_be_among_the_servers() {
        let pykmip_like = facts(&[
            ProtocolVersion::V2_0,
            ProtocolVersion::V1_4,
            ProtocolVersion::V1_1,
        ]);
        assert_eq!(
            choose(VersionChoice::Fixed(ProtocolVersion::V1_4), &pykmip_like),
            Ok(ProtocolVersion::V1_4)
        );
        let refused = choose(VersionChoice::Fixed(ProtocolVersion::V2_1), &pykmip_like);
        assert_eq!(
            refused,
            Err("server does not speak KMIP 2.1 (it speaks 2.0, 1.4, 1.1)".to_owned())
        );
        // No Discover Versions answer: trust the user.
        assert_eq!(
            choose(VersionChoice::Fixed(ProtocolVersion::V2_1), &facts(&[])),
            Ok(ProtocolVersion::V2_1)
        );
    }

    #[test]
    fn negotiation_takes_the_servers_preference() {
        let f = facts(&[ProtocolVersion::V1_2, ProtocolVersion::V1_0]);
        assert_eq!(
            choose(VersionChoice::Negotiate, &f),
            Ok(ProtocolVersion::V1_2)
        );
        assert_eq!(
            choose(VersionChoice::Negotiate, &facts(&[])),
            Ok(crate::config::DEFAULT_PROTOCOL_VERSION)
        );
    }
}
