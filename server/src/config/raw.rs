//! The configuration as written: TOML sections with defaults, before validation.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{
    AdminSettings, AuditSettings, ConfigError, ENV_PREFIX, NOT_OVERRIDES, NetLimits, RawLimits,
    Settings, TlsFiles,
};

/// Upper bound for `server.max_message_size`: KMIP messages carrying keys are a few KiB; the
/// cap keeps a misconfiguration from letting one peer pin large buffers.
const MAX_MESSAGE_SIZE_CEILING: usize = 64 << 20;

/// The TOML file, section by section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[server]`
    #[serde(default)]
    pub server: RawServer,
    /// `[tls]`
    pub tls: RawTls,
    /// `[hsm]`: see `hsm::HsmConfig`.
    pub hsm: hsm::HsmConfig,
    /// `[cache]`
    #[serde(default)]
    pub cache: RawCache,
    /// `[cluster]`: present on nodes of a replicated cluster.
    #[serde(default)]
    pub cluster: Option<super::cluster::RawCluster>,
    /// `[admin]`
    #[serde(default)]
    pub admin: RawAdmin,
    /// `[audit]`
    #[serde(default)]
    pub audit: RawAudit,
    /// `[limits]`
    #[serde(default)]
    pub limits: RawLimits,
}

/// `[audit]`: the tamper-evident audit trail (see `docs/AUDIT.md`). Always on.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAudit {
    /// Directory of the audit files (default: `<data_dir>/audit`).
    pub dir: Option<PathBuf>,
    /// Name of this node's log (default `node-<node_id>`).
    pub log: Option<String>,
    /// Segment size before rotation, in bytes.
    pub segment_bytes: u64,
    /// Segments kept (0: all); older ones are deleted only where a signed checkpoint ends one.
    pub retain_segments: usize,
    /// Segments last written more than this many days ago are removed (0: no age limit).
    pub retain_days: u32,
    /// The oldest segments are removed while all take more than this many bytes (0: none).
    pub retain_bytes: u64,
    /// Removed segments are moved here instead of deleted.
    pub archive_dir: Option<PathBuf>,
    /// Seconds between signed checkpoints (taken only when records were added).
    pub checkpoint_interval_secs: u64,
    /// Audit record queries of the admin API that run at once (one per tenant at a time).
    pub max_concurrent_queries: usize,
    /// Alert (metric, `/readyz`) below this many free bytes under the audit directory.
    pub min_free_bytes: u64,
    /// Alert below this share of the audit directory's file system, in percent.
    pub min_free_percent: u8,
    /// Seconds over which refused connections are aggregated into one record per source
    /// and reason.
    pub refusal_interval_secs: u64,
    /// Most (source, reason) keys of refused connections recorded apart at a time.
    pub refusal_keys: usize,
    /// `[audit.forward]`: forward the trail to a SIEM (off when absent).
    pub forward: Option<RawForward>,
}

/// `[audit.forward]`: syslog (RFC 5424) over TLS to a SIEM, at least once (see
/// `docs/AUDIT.md`, "Forwarding to a SIEM").
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawForward {
    /// The SIEM's syslog-over-TLS listener, `host:port` (RFC 5425's port is 6514).
    pub address: String,
    /// The name the SIEM's certificate must carry (default: the host of `address`).
    pub server_name: Option<String>,
    /// PEM file of the CA certificates that issue the SIEM's certificate.
    pub ca_file: PathBuf,
    /// PEM client certificate chain, for a SIEM that asks for one (with `key_file`).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// `cef` (default) or `json` (the record's own line, verifiable offline).
    #[serde(default = "default_forward_format")]
    pub format: String,
    /// File holding the last record sent (default `<audit dir>/forward.cursor`).
    pub cursor_file: Option<PathBuf>,
    /// Most records per write (1 to 10000, default 256).
    #[serde(default = "default_forward_batch")]
    pub batch_records: usize,
    /// Longest wait between attempts while the SIEM is unreachable (1 to 3600 s, default 30).
    #[serde(default = "default_forward_backoff")]
    pub max_backoff_secs: u64,
}

fn default_forward_format() -> String {
    "cef".to_owned()
}

fn default_forward_batch() -> usize {
    256
}

fn default_forward_backoff() -> u64 {
    30
}

impl Default for RawAudit {
    fn default() -> Self {
        let refusals = super::audit::RefusalSettings::default();
        let watermark = super::audit::DiskWatermark::default();
        Self {
            dir: None,
            log: None,
            segment_bytes: 16 << 20,
            retain_segments: 0,
            retain_days: 0,
            retain_bytes: 0,
            archive_dir: None,
            checkpoint_interval_secs: 60,
            max_concurrent_queries: super::audit::DEFAULT_MAX_CONCURRENT_QUERIES,
            min_free_bytes: watermark.min_free_bytes,
            min_free_percent: watermark.min_free_percent,
            refusal_interval_secs: refusals.interval.as_secs(),
            refusal_keys: refusals.max_keys,
            forward: None,
        }
    }
}

/// `[admin]`: the HTTPS admin API (see `docs/ADMIN-API.md`). Enabled by default on the
/// loopback interface only; `enabled = false` turns it off.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAdmin {
    /// Whether the admin listener runs.
    pub enabled: bool,
    /// Admin listener address.
    pub listen: String,
    /// Most concurrent admin connections.
    pub max_connections: usize,
    /// Seconds a pin claim's enrollment token binds the claimed certificate.
    pub pin_claim_ttl_secs: u64,
    /// Most concurrent admin connections from one source address.
    pub max_connections_per_ip: usize,
    /// Slots kept for operators beyond the caps.
    pub operator_reserved_connections: usize,
    /// Seconds for a request body to arrive once its headers did.
    pub body_timeout_secs: u64,
    /// Whether a whole-tenant export needs a second tenant admin's approval.
    pub two_person_export: bool,
}

impl Default for RawAdmin {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "127.0.0.1:5697".into(),
            max_connections: 64,
            pin_claim_ttl_secs: 7 * 86_400,
            max_connections_per_ip: 16,
            operator_reserved_connections: 4,
            body_timeout_secs: 10,
            two_person_export: true,
        }
    }
}

/// `[server]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    /// KMIP listener.
    pub listen: String,
    /// This node's ID.
    pub node_id: u64,
    /// Data directory (relative paths are relative to the config file).
    pub data_dir: PathBuf,
    /// Most concurrent connections.
    pub max_connections: usize,
    /// Most concurrent connections from one source address.
    pub max_connections_per_ip: usize,
    /// Seconds allowed for the TLS handshake.
    pub handshake_timeout_secs: u64,
    /// Seconds allowed to receive one message once it started.
    pub read_timeout_secs: u64,
    /// Seconds a connection may sit idle between messages.
    pub idle_timeout_secs: u64,
    /// Largest accepted message in bytes.
    pub max_message_size: usize,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:5696".into(),
            node_id: 1,
            data_dir: PathBuf::from("data"),
            max_connections: 4096,
            max_connections_per_ip: 256,
            handshake_timeout_secs: 10,
            read_timeout_secs: 30,
            idle_timeout_secs: 300,
            max_message_size: kmip_codec::limits::DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

/// `[tls]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// CA bundle that issues client certificates.
    pub client_ca: PathBuf,
    /// ECDSA certificate chain (PEM).
    pub ecdsa_cert: PathBuf,
    /// ECDSA key (PEM, PKCS#8).
    pub ecdsa_key: PathBuf,
    /// RSA certificate chain (PEM), optional.
    #[serde(default)]
    pub rsa_cert: Option<PathBuf>,
    /// RSA key (PEM), optional.
    #[serde(default)]
    pub rsa_key: Option<PathBuf>,
    /// TLS 1.2 session cache entries.
    #[serde(default = "default_session_cache")]
    pub session_cache_entries: usize,
    /// Private key of the client CA (PEM, PKCS#8), for signing CSRs through the admin API;
    /// optional (empty: none).
    #[serde(default)]
    pub client_ca_key: Option<PathBuf>,
}

fn default_session_cache() -> usize {
    65_536
}

/// `[cache]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCache {
    /// Unsealed keys kept in memory.
    pub unsealed_keys: u64,
}

impl Default for RawCache {
    fn default() -> Self {
        Self {
            unsealed_keys: 100_000,
        }
    }
}

impl RawConfig {
    /// Parses TOML text and applies `KMSD_<SECTION>__<KEY>` overrides from `env` (other
    /// variables are ignored). An override value is read as a TOML value when it parses as
    /// one (`5696`, `true`), else as a string.
    pub fn parse(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut doc: toml::Table = toml::from_str(text)?;
        for (name, value) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if NOT_OVERRIDES.contains(&name.as_str()) {
                continue;
            }
            // KMSD_SECTION__KEY, or KMSD_SECTION__TABLE__KEY for a nested table
            // (`[audit.forward]`).
            let path: Vec<&str> = rest.split("__").collect();
            let Some((key, tables)) = path.split_last() else {
                return Err(ConfigError::BadOverride(name));
            };
            if tables.is_empty() || path.iter().any(|p| p.is_empty()) {
                return Err(ConfigError::BadOverride(name));
            }
            let mut table = &mut doc;
            for part in tables {
                let entry = table
                    .entry(part.to_ascii_lowercase())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                let Some(inner) = entry.as_table_mut() else {
                    return Err(ConfigError::BadOverride(name));
                };
                table = inner;
            }
            table.insert(key.to_ascii_lowercase(), override_value(&value));
        }
        Ok(doc.try_into()?)
    }

    /// Validates into [`Settings`]; relative paths are resolved against `base`.
    pub fn validate(self, base: &Path) -> Result<Settings, ConfigError> {
        let s = &self.server;
        let listen: SocketAddr = s.listen.parse().map_err(|_| ConfigError::Invalid {
            option: "server.listen",
            reason: "must be an address:port such as 0.0.0.0:5696",
        })?;
        if s.node_id == 0 {
            return Err(ConfigError::Invalid {
                option: "server.node_id",
                reason: "must be at least 1",
            });
        }
        if s.max_connections == 0 {
            return Err(ConfigError::Invalid {
                option: "server.max_connections",
                reason: "must be at least 1",
            });
        }
        if s.max_connections_per_ip == 0 {
            return Err(ConfigError::Invalid {
                option: "server.max_connections_per_ip",
                reason: "must be at least 1",
            });
        }
        for (option, secs) in [
            ("server.handshake_timeout_secs", s.handshake_timeout_secs),
            ("server.read_timeout_secs", s.read_timeout_secs),
            ("server.idle_timeout_secs", s.idle_timeout_secs),
        ] {
            if secs == 0 || secs > 86_400 {
                return Err(ConfigError::Invalid {
                    option,
                    reason: "must be between 1 and 86400 seconds",
                });
            }
        }
        if !(1024..=MAX_MESSAGE_SIZE_CEILING).contains(&s.max_message_size) {
            return Err(ConfigError::Invalid {
                option: "server.max_message_size",
                reason: "must be between 1 KiB and 64 MiB",
            });
        }
        if self.tls.rsa_cert.is_some() != self.tls.rsa_key.is_some() {
            return Err(ConfigError::Invalid {
                option: "tls.rsa_cert",
                reason: "rsa_cert and rsa_key go together",
            });
        }
        let csr_ca_key = self
            .tls
            .client_ca_key
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| base.join(p));
        let admin = self.admin.validate(csr_ca_key)?;
        let service_limits = self.limits.validate(s.max_message_size)?;
        let cluster = self
            .cluster
            .as_ref()
            .map(|c| c.validate(listen))
            .transpose()?;
        let at = |p: &Path| base.join(p);
        let a = &self.audit;
        if !(1..=86_400).contains(&a.checkpoint_interval_secs) {
            return Err(ConfigError::Invalid {
                option: "audit.checkpoint_interval_secs",
                reason: "must be between 1 and 86400 seconds",
            });
        }
        if !(1..=3_600).contains(&a.refusal_interval_secs) {
            return Err(ConfigError::Invalid {
                option: "audit.refusal_interval_secs",
                reason: "must be between 1 and 3600 seconds",
            });
        }
        if !(1..=65_536).contains(&a.refusal_keys) {
            return Err(ConfigError::Invalid {
                option: "audit.refusal_keys",
                reason: "must be between 1 and 65536",
            });
        }
        if a.min_free_percent > 100 {
            return Err(ConfigError::Invalid {
                option: "audit.min_free_percent",
                reason: "must be between 0 and 100",
            });
        }
        let audit_config = super::audit::AuditConfig {
            log: a
                .log
                .clone()
                .unwrap_or_else(|| format!("node-{}", s.node_id)),
            segment_bytes: a.segment_bytes,
            retain_segments: a.retain_segments,
            retain_days: a.retain_days,
            retain_bytes: a.retain_bytes,
            archive_dir: a.archive_dir.as_deref().map(at),
            max_concurrent_queries: a.max_concurrent_queries,
            watermark: super::audit::DiskWatermark {
                min_free_bytes: a.min_free_bytes,
                min_free_percent: a.min_free_percent,
            },
        };
        audit_config
            .validate()
            .map_err(|reason| ConfigError::Invalid {
                option: "audit",
                reason,
            })?;
        let audit_dir = a
            .dir
            .as_deref()
            .map_or_else(|| at(&s.data_dir).join("audit"), at);
        if a.archive_dir.as_deref().map(at).as_deref() == Some(audit_dir.as_path()) {
            return Err(ConfigError::Invalid {
                option: "audit.archive_dir",
                reason: "must not be the audit directory itself",
            });
        }
        let forward = a
            .forward
            .as_ref()
            .map(|f| f.validate(&audit_dir, at))
            .transpose()?;
        let audit = AuditSettings {
            forward,
            dir: audit_dir,
            config: audit_config,
            checkpoint_interval: Duration::from_secs(a.checkpoint_interval_secs),
            refusals: super::audit::RefusalSettings {
                interval: Duration::from_secs(a.refusal_interval_secs),
                max_keys: a.refusal_keys,
            },
        };
        Ok(Settings {
            listen,
            node_id: s.node_id,
            data_dir: at(&s.data_dir),
            limits: NetLimits {
                max_connections: s.max_connections,
                max_connections_per_ip: s.max_connections_per_ip,
                handshake_timeout: Duration::from_secs(s.handshake_timeout_secs),
                read_timeout: Duration::from_secs(s.read_timeout_secs),
                idle_timeout: Duration::from_secs(s.idle_timeout_secs),
                max_message_size: s.max_message_size,
            },
            service_limits,
            tls: TlsFiles {
                client_ca: at(&self.tls.client_ca),
                ecdsa_cert: at(&self.tls.ecdsa_cert),
                ecdsa_key: at(&self.tls.ecdsa_key),
                rsa_cert: self.tls.rsa_cert.as_deref().map(at),
                rsa_key: self.tls.rsa_key.as_deref().map(at),
                session_cache_entries: self.tls.session_cache_entries.max(1),
            },
            hsm: hsm::HsmConfig {
                module: at(&self.hsm.module),
                pin_file: self.hsm.pin_file.as_deref().map(at),
                ..self.hsm
            },
            key_cache_entries: self.cache.unsealed_keys,
            admin,
            audit,
            cluster,
        })
    }
}

impl RawAdmin {
    fn validate(&self, csr_ca_key: Option<PathBuf>) -> Result<Option<AdminSettings>, ConfigError> {
        if !self.enabled {
            return Ok(None);
        }
        let listen: SocketAddr = self.listen.parse().map_err(|_| ConfigError::Invalid {
            option: "admin.listen",
            reason: "must be an address:port such as 127.0.0.1:5697",
        })?;
        if self.max_connections == 0 || self.max_connections > 65_536 {
            return Err(ConfigError::Invalid {
                option: "admin.max_connections",
                reason: "must be between 1 and 65536",
            });
        }
        if !(300..=30 * 86_400).contains(&self.pin_claim_ttl_secs) {
            return Err(ConfigError::Invalid {
                option: "admin.pin_claim_ttl_secs",
                reason: "must be between 300 seconds and 30 days",
            });
        }
        if self.max_connections_per_ip == 0 {
            return Err(ConfigError::Invalid {
                option: "admin.max_connections_per_ip",
                reason: "must be at least 1",
            });
        }
        if self.operator_reserved_connections > 1024 {
            return Err(ConfigError::Invalid {
                option: "admin.operator_reserved_connections",
                reason: "must be at most 1024",
            });
        }
        if !(1..=3600).contains(&self.body_timeout_secs) {
            return Err(ConfigError::Invalid {
                option: "admin.body_timeout_secs",
                reason: "must be between 1 and 3600 seconds",
            });
        }
        Ok(Some(AdminSettings {
            listen,
            max_connections: self.max_connections,
            pin_claim_ttl: Duration::from_secs(self.pin_claim_ttl_secs),
            csr_ca_key,
            max_connections_per_ip: self.max_connections_per_ip,
            operator_reserved_connections: self.operator_reserved_connections,
            body_timeout: Duration::from_secs(self.body_timeout_secs),
            two_person_export: self.two_person_export,
        }))
    }
}

fn override_value(raw: &str) -> toml::Value {
    // Parse "x = <raw>" so numbers, booleans and arrays keep their types.
    toml::from_str::<toml::Table>(&format!("x = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("x"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

impl RawForward {
    fn validate(
        &self,
        audit_dir: &Path,
        at: impl Fn(&Path) -> PathBuf,
    ) -> Result<super::ForwardSettings, ConfigError> {
        let invalid = |option, reason| ConfigError::Invalid { option, reason };
        let host = self
            .address
            .rsplit_once(':')
            .filter(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
            .map(|(host, _)| host.trim_start_matches('[').trim_end_matches(']'))
            .ok_or(invalid(
                "audit.forward.address",
                "must be host:port with a port from 1 to 65535",
            ))?;
        let name = self.server_name.as_deref().unwrap_or(host).to_owned();
        let server_name = rustls::pki_types::ServerName::try_from(name).map_err(|_| {
            invalid(
                "audit.forward.server_name",
                "must be a DNS name or an IP address",
            )
        })?;
        let payload = match self.format.as_str() {
            "cef" => audit_log::syslog::Payload::Cef,
            "json" => audit_log::syslog::Payload::Json,
            _ => return Err(invalid("audit.forward.format", "must be cef or json")),
        };
        if !(1..=10_000).contains(&self.batch_records) {
            return Err(invalid(
                "audit.forward.batch_records",
                "must be between 1 and 10000",
            ));
        }
        if !(1..=3_600).contains(&self.max_backoff_secs) {
            return Err(invalid(
                "audit.forward.max_backoff_secs",
                "must be between 1 and 3600 seconds",
            ));
        }
        let client_auth = match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => Some((at(cert), at(key))),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "audit.forward.cert_file",
                    "cert_file and key_file go together",
                ));
            }
        };
        Ok(super::ForwardSettings {
            address: self.address.clone(),
            server_name,
            ca_file: at(&self.ca_file),
            client_auth,
            payload,
            cursor: self
                .cursor_file
                .as_deref()
                .map_or_else(|| audit_dir.join("forward.cursor"), &at),
            batch_records: self.batch_records,
            max_backoff: Duration::from_secs(self.max_backoff_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::RawConfig;
    use crate::config::ConfigError;

    const MINIMAL: &str = r#"
[tls]
client_ca = "ca.pem"
ecdsa_cert = "server.pem"
ecdsa_key = "server.key"

[hsm]
module = "/usr/lib/softhsm/libsofthsm2.so"
token_label = "kms"
pin_file = "pin"
"#;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<crate::config::Settings, ConfigError> {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        RawConfig::parse(text, env)?.validate(Path::new("/etc/kms"))
    }

    #[test]
    fn audit_forwarding_is_off_by_default_and_nested_overrides_configure_it() {
        assert!(load(MINIMAL, &[]).unwrap().audit.forward.is_none());
        let f = load(
            MINIMAL,
            &[
                ("KMSD_AUDIT__FORWARD__ADDRESS", "siem.example:6514"),
                ("KMSD_AUDIT__FORWARD__CA_FILE", "siem-ca.pem"),
            ],
        )
        .unwrap()
        .audit
        .forward
        .expect("configured");
        assert_eq!(f.address, "siem.example:6514");
        assert_eq!(f.server_name.to_str(), "siem.example");
        assert_eq!(f.ca_file, Path::new("/etc/kms/siem-ca.pem"));
        assert_eq!(f.payload, audit_log::syslog::Payload::Cef);
        assert!(f.cursor.ends_with("audit/forward.cursor"));
        for (key, value, option) in [
            ("ADDRESS", "no-port", "audit.forward.address"),
            ("ADDRESS", "host:0", "audit.forward.address"),
            ("FORMAT", "xml", "audit.forward.format"),
            ("BATCH_RECORDS", "0", "audit.forward.batch_records"),
            ("MAX_BACKOFF_SECS", "0", "audit.forward.max_backoff_secs"),
            ("CERT_FILE", "client.pem", "audit.forward.cert_file"),
        ] {
            let mut env = vec![
                ("KMSD_AUDIT__FORWARD__ADDRESS", "siem.example:6514"),
                ("KMSD_AUDIT__FORWARD__CA_FILE", "siem-ca.pem"),
            ];
            let name = format!("KMSD_AUDIT__FORWARD__{key}");
            env.retain(|(k, _)| *k != name);
            env.push((&name, value));
            match load(MINIMAL, &env) {
                Err(ConfigError::Invalid { option: o, .. }) => {
                    assert_eq!(o, option, "{key}={value}")
                }
                other => panic!("{key}={value}: {other:?}"),
            }
        }
        // A key under an option that is not a table is refused, not ignored.
        let text = format!("{MINIMAL}\n[audit]\nlog = \"n\"\n");
        assert!(matches!(
            load(&text, &[("KMSD_AUDIT__LOG__X", "1")]),
            Err(ConfigError::BadOverride(_))
        ));
        assert!(load(MINIMAL, &[("KMSD_AUDIT__FORWARD__", "1")]).is_err());
    }

    #[test]
    fn admin_api_listens_on_loopback_unless_told_otherwise() {
        let admin = load(MINIMAL, &[])
            .unwrap()
            .admin
            .expect("enabled by default");
        assert_eq!(admin.listen.to_string(), "127.0.0.1:5697");
        assert_eq!(admin.max_connections, 64);
        assert_eq!(admin.max_connections_per_ip, 16);
        assert_eq!(admin.operator_reserved_connections, 4);
        assert_eq!(admin.body_timeout.as_secs(), 10);
        // The binary's own variables are not configuration overrides.
        load(
            MINIMAL,
            &[("KMSD_CONFIG", "/etc/kmsd.toml"), ("KMSD_SO_PIN", "x")],
        )
        .unwrap();
        let moved = load(MINIMAL, &[("KMSD_ADMIN__LISTEN", "0.0.0.0:8443")]).unwrap();
        assert_eq!(moved.admin.unwrap().listen.to_string(), "0.0.0.0:8443");
    }

    #[test]
    fn admin_api_can_be_turned_off_and_bad_values_are_named() {
        let off = format!("{MINIMAL}\n[admin]\nenabled = false\n");
        assert!(load(&off, &[]).unwrap().admin.is_none());
        let bad = load(MINIMAL, &[("KMSD_ADMIN__LISTEN", "localhost")]).unwrap_err();
        assert!(bad.to_string().contains("admin.listen"), "{bad}");
        let bad = load(MINIMAL, &[("KMSD_ADMIN__MAX_CONNECTIONS", "0")]).unwrap_err();
        assert!(bad.to_string().contains("admin.max_connections"), "{bad}");
        let bad = load(MINIMAL, &[("KMSD_ADMIN__MAX_CONNECTIONS_PER_IP", "0")]).unwrap_err();
        assert!(
            bad.to_string().contains("admin.max_connections_per_ip"),
            "{bad}"
        );
        let bad = load(MINIMAL, &[("KMSD_ADMIN__BODY_TIMEOUT_SECS", "0")]).unwrap_err();
        assert!(bad.to_string().contains("admin.body_timeout_secs"), "{bad}");
    }

    #[test]
    fn limits_section_is_optional_and_checked_against_the_message_size() {
        let s = load(MINIMAL, &[]).unwrap();
        assert_eq!(s.service_limits, crate::config::ServiceLimits::default());
        let set = load(MINIMAL, &[("KMSD_LIMITS__MAX_OBJECTS_PER_TENANT", "7")]).unwrap();
        assert_eq!(set.service_limits.max_objects_per_tenant, Some(7));
        // The in-flight budget must hold one largest request and one largest answer.
        let bad = load(
            MINIMAL,
            &[
                ("KMSD_SERVER__MAX_MESSAGE_SIZE", "67108864"),
                ("KMSD_LIMITS__MAX_INFLIGHT_BYTES", "67108864"),
            ],
        )
        .unwrap_err();
        assert!(
            bad.to_string().contains("limits.max_inflight_bytes"),
            "{bad}"
        );
    }

    #[test]
    fn pin_claims_last_a_week_and_csr_signing_needs_the_ca_key() {
        let admin = load(MINIMAL, &[]).unwrap().admin.unwrap();
        assert_eq!(admin.pin_claim_ttl.as_secs(), 7 * 86_400);
        assert_eq!(admin.csr_ca_key, None);
        let bad = load(MINIMAL, &[("KMSD_ADMIN__PIN_CLAIM_TTL_SECS", "10")]).unwrap_err();
        assert!(
            bad.to_string().contains("admin.pin_claim_ttl_secs"),
            "{bad}"
        );
        let signing = load(MINIMAL, &[("KMSD_TLS__CLIENT_CA_KEY", "ca.key")]).unwrap();
        assert_eq!(
            signing.admin.unwrap().csr_ca_key,
            Some(Path::new("/etc/kms/ca.key").to_owned())
        );
        // An empty path turns it off (an environment override cannot remove a key).
        let off = load(MINIMAL, &[("KMSD_TLS__CLIENT_CA_KEY", "")]).unwrap();
        assert_eq!(off.admin.unwrap().csr_ca_key, None);
    }

    #[test]
    fn refusal_aggregation_and_the_audit_disk_watermark_have_defaults_and_bounds() {
        let audit = load(MINIMAL, &[]).unwrap().audit;
        assert_eq!(audit.refusals.interval.as_secs(), 10);
        assert_eq!(audit.refusals.max_keys, 64);
        assert_eq!(audit.config.watermark.min_free_bytes, 1 << 30);
        assert_eq!(audit.config.watermark.min_free_percent, 5);
        for (name, value, option) in [
            (
                "KMSD_AUDIT__REFUSAL_INTERVAL_SECS",
                "0",
                "audit.refusal_interval_secs",
            ),
            (
                "KMSD_AUDIT__REFUSAL_INTERVAL_SECS",
                "3601",
                "audit.refusal_interval_secs",
            ),
            ("KMSD_AUDIT__REFUSAL_KEYS", "0", "audit.refusal_keys"),
            (
                "KMSD_AUDIT__MIN_FREE_PERCENT",
                "101",
                "audit.min_free_percent",
            ),
        ] {
            let bad = load(MINIMAL, &[(name, value)]).unwrap_err();
            assert!(bad.to_string().contains(option), "{name}={value}: {bad}");
        }
        let off = load(
            MINIMAL,
            &[
                ("KMSD_AUDIT__MIN_FREE_BYTES", "0"),
                ("KMSD_AUDIT__MIN_FREE_PERCENT", "0"),
            ],
        )
        .unwrap();
        assert_eq!(off.audit.config.watermark.min_free_bytes, 0);
    }

    #[test]
    fn per_address_cap_is_generous_by_default_and_at_least_one() {
        // vCenter opens many connections from one address: the default must leave room.
        assert_eq!(
            load(MINIMAL, &[]).unwrap().limits.max_connections_per_ip,
            256
        );
        let set = load(MINIMAL, &[("KMSD_SERVER__MAX_CONNECTIONS_PER_IP", "3")]).unwrap();
        assert_eq!(set.limits.max_connections_per_ip, 3);
        let bad = load(MINIMAL, &[("KMSD_SERVER__MAX_CONNECTIONS_PER_IP", "0")]).unwrap_err();
        assert!(
            bad.to_string().contains("server.max_connections_per_ip"),
            "{bad}"
        );
    }
}
