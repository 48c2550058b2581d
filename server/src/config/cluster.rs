//! `[cluster]`: replication across nodes (see `docs/CONFIGURATION.md`). Without the section the
//! node runs alone, writing straight to its store.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// `[cluster]` as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    /// The node-to-node (Raft) listener, mutual TLS with node certificates.
    pub listen: String,
    /// The address peers dial (default: `listen`).
    #[serde(default)]
    pub advertise: Option<String>,
    /// Where clients reach this node's KMIP listener (default: `server.listen`).
    #[serde(default)]
    pub kmip_advertise: Option<String>,
    /// Leader heartbeat interval.
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_ms: u64,
    /// Shortest election timeout (the longest is 1.5 times this).
    #[serde(default = "default_election_timeout_ms")]
    pub election_timeout_ms: u64,
    /// Log entries between snapshots.
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: u64,
}

fn default_heartbeat_ms() -> u64 {
    100
}
fn default_election_timeout_ms() -> u64 {
    400
}
fn default_snapshot_every() -> u64 {
    20_000
}

/// Validated `[cluster]`.
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    /// Raft listener.
    pub listen: SocketAddr,
    /// What peers dial (`host:port`).
    pub advertise: String,
    /// What clients dial for KMIP (`host:port`).
    pub kmip_advertise: String,
    /// Heartbeat interval.
    pub heartbeat: Duration,
    /// Shortest election timeout.
    pub election_timeout: Duration,
    /// Log entries between snapshots.
    pub snapshot_every: u64,
}

impl RawCluster {
    pub(super) fn validate(&self, kmip_listen: SocketAddr) -> Result<ClusterSettings, ConfigError> {
        let listen: SocketAddr = self.listen.parse().map_err(|_| ConfigError::Invalid {
            option: "cluster.listen",
            reason: "must be an address:port such as 0.0.0.0:5698",
        })?;
        for (option, addr) in [
            ("cluster.advertise", &self.advertise),
            ("cluster.kmip_advertise", &self.kmip_advertise),
        ] {
            if let Some(a) = addr
                && !is_host_port(a)
            {
                return Err(ConfigError::Invalid {
                    option,
                    reason: "must be host:port",
                });
            }
        }
        if !(10..=10_000).contains(&self.heartbeat_ms) {
            return Err(ConfigError::Invalid {
                option: "cluster.heartbeat_ms",
                reason: "must be between 10 and 10000",
            });
        }
        if self.election_timeout_ms < 3 * self.heartbeat_ms || self.election_timeout_ms > 60_000 {
            return Err(ConfigError::Invalid {
                option: "cluster.election_timeout_ms",
                reason: "must be at least three heartbeats and at most 60000",
            });
        }
        if self.snapshot_every < 10 {
            return Err(ConfigError::Invalid {
                option: "cluster.snapshot_every",
                reason: "must be at least 10",
            });
        }
        Ok(ClusterSettings {
            listen,
            advertise: self.advertise.clone().unwrap_or_else(|| listen.to_string()),
            kmip_advertise: self
                .kmip_advertise
                .clone()
                .unwrap_or_else(|| kmip_listen.to_string()),
            heartbeat: Duration::from_millis(self.heartbeat_ms),
            election_timeout: Duration::from_millis(self.election_timeout_ms),
            snapshot_every: self.snapshot_every,
        })
    }
}

fn is_host_port(s: &str) -> bool {
    s.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(listen: &str) -> RawCluster {
        RawCluster {
            listen: listen.to_owned(),
            advertise: None,
            kmip_advertise: None,
            heartbeat_ms: default_heartbeat_ms(),
            election_timeout_ms: default_election_timeout_ms(),
            snapshot_every: default_snapshot_every(),
        }
    }

    #[test]
    fn advertised_addresses_default_to_the_listeners() {
        let kmip: SocketAddr = "10.0.0.1:5696".parse().unwrap();
        let s = raw("10.0.0.1:5698").validate(kmip).unwrap();
        assert_eq!(s.advertise, "10.0.0.1:5698");
        assert_eq!(s.kmip_advertise, "10.0.0.1:5696");
    }

    #[test]
    fn bad_values_name_their_option() {
        let kmip: SocketAddr = "10.0.0.1:5696".parse().unwrap();
        let e = raw("nowhere").validate(kmip).unwrap_err();
        assert!(e.to_string().contains("cluster.listen"), "{e}");
        let mut r = raw("10.0.0.1:5698");
        r.advertise = Some("az2".into());
        let e = r.validate(kmip).unwrap_err();
        assert!(e.to_string().contains("cluster.advertise"), "{e}");
        let mut r = raw("10.0.0.1:5698");
        r.election_timeout_ms = 200;
        let e = r.validate(kmip).unwrap_err();
        assert!(e.to_string().contains("cluster.election_timeout_ms"), "{e}");
    }
}
