//! Server configuration: a TOML file, then `KMSD_<SECTION>__<KEY>` environment overrides, then
//! one validation step into typed [`Settings`] (raw input first, typed settings after, as
//! ripgrep does with its flags). Every option is documented in `docs/CONFIGURATION.md`.

pub mod audit;
mod cluster;
mod limits;
mod raw;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use cluster::{ClusterSettings, RawCluster};
pub use limits::{RawLimits, RequestRate, ServiceLimits};
pub use raw::RawConfig;

/// Prefix of environment overrides: `KMSD_SERVER__LISTEN=0.0.0.0:5696` sets `[server] listen`.
pub const ENV_PREFIX: &str = "KMSD_";

/// `KMSD_` variables that belong to the command line, not to the configuration file
/// (`KMSD_CONFIG` names the file, `KMSD_SO_PIN` feeds ceremony steps); overrides skip them.
pub const NOT_OVERRIDES: [&str; 2] = ["KMSD_CONFIG", "KMSD_SO_PIN"];

/// Configuration errors: one clear line each, naming the option.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file (after overrides) is not valid TOML for this schema.
    #[error("invalid configuration: {0}")]
    Parse(#[from] toml::de::Error),
    /// An environment override names no option or has a malformed name.
    #[error(
        "environment variable {0} does not name a configuration option (expected {ENV_PREFIX}<SECTION>__<KEY>)"
    )]
    BadOverride(String),
    /// A value is out of its allowed range.
    #[error("option {option}: {reason}")]
    Invalid {
        /// `section.key`.
        option: &'static str,
        /// What is allowed.
        reason: &'static str,
    },
}

/// Validated settings of one node.
#[derive(Clone, Debug)]
pub struct Settings {
    /// KMIP listener address (port 5696 by default).
    pub listen: SocketAddr,
    /// This node's ID (unique in the cluster, never reused).
    pub node_id: u64,
    /// Where the store and node state live.
    pub data_dir: PathBuf,
    /// Network limits and timeouts.
    pub limits: NetLimits,
    /// What one message, client and tenant may cost (`[limits]`).
    pub service_limits: ServiceLimits,
    /// TLS material.
    pub tls: TlsFiles,
    /// HSM access.
    pub hsm: hsm::HsmConfig,
    /// Unsealed-key cache capacity (number of keys).
    pub key_cache_entries: u64,
    /// The HTTPS admin API; `None` when `[admin] enabled = false`.
    pub admin: Option<AdminSettings>,
    /// The audit trail.
    pub audit: AuditSettings,
    /// Replication; `None` for a node running alone.
    pub cluster: Option<ClusterSettings>,
}

/// The audit trail (`[audit]`, see `docs/AUDIT.md`).
#[derive(Clone, Debug)]
pub struct AuditSettings {
    /// Directory of the audit files.
    pub dir: PathBuf,
    /// Log name, segment size, retention.
    pub config: audit::AuditConfig,
    /// Time between signed checkpoints.
    pub checkpoint_interval: Duration,
    /// How refused connections are aggregated in the trail and the log.
    pub refusals: audit::RefusalSettings,
    /// Forwarding to a SIEM (`[audit.forward]`), when configured.
    pub forward: Option<ForwardSettings>,
}

/// Forwarding the trail to a SIEM (`[audit.forward]`, see `docs/AUDIT.md`), checked.
#[derive(Clone, Debug)]
pub struct ForwardSettings {
    /// `host:port` of the SIEM's syslog-over-TLS listener.
    pub address: String,
    /// The name the SIEM's certificate must carry.
    pub server_name: rustls::pki_types::ServerName<'static>,
    /// CA certificates of the SIEM (PEM).
    pub ca_file: PathBuf,
    /// Client certificate chain and key (PEM), for a SIEM that asks for one.
    pub client_auth: Option<(PathBuf, PathBuf)>,
    /// CEF or JSON in each message.
    pub payload: audit_log::syslog::Payload,
    /// The cursor file.
    pub cursor: PathBuf,
    /// Most records per write.
    pub batch_records: usize,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
}

/// The admin listener (`[admin]`, see `docs/ADMIN-API.md`).
#[derive(Clone, Debug)]
pub struct AdminSettings {
    /// Listener address (default `127.0.0.1:5697`: loopback only).
    pub listen: SocketAddr,
    /// Most concurrent admin connections; further ones may only take a reserved slot.
    pub max_connections: usize,
    /// How long a pin claim's enrollment token binds (`[admin] pin_claim_ttl_secs`).
    pub pin_claim_ttl: Duration,
    /// The client CA's private key for signing CSRs (`[tls] client_ca_key`); `None`: the CSR
    /// route answers 501.
    pub csr_ca_key: Option<PathBuf>,
    /// Most concurrent admin connections from one source address (IPv6: one /64); further
    /// ones may only take a reserved slot.
    pub max_connections_per_ip: usize,
    /// Slots kept for operators beyond the caps above: taken by a connection over a cap,
    /// kept only if its certificate inspects as an enrolled operator's.
    pub operator_reserved_connections: usize,
    /// Time for a request body to arrive once its headers did.
    pub body_timeout: Duration,
    /// Whether a whole-tenant export needs a second tenant admin's approval
    /// (`[admin] two_person_export`, default on).
    pub two_person_export: bool,
}

/// Connection limits and timeouts.
#[derive(Clone, Debug)]
pub struct NetLimits {
    /// Most concurrent connections; further ones are closed at once.
    pub max_connections: usize,
    /// Most concurrent connections from one source address (IPv6: one /64), counted from
    /// `accept` to close; further ones are closed at once, before the TLS handshake.
    pub max_connections_per_ip: usize,
    /// Time allowed for the TLS handshake.
    pub handshake_timeout: Duration,
    /// Time allowed to receive one whole message once its first byte arrived.
    pub read_timeout: Duration,
    /// Time a connection may sit between messages.
    pub idle_timeout: Duration,
    /// Largest accepted KMIP message, in bytes.
    pub max_message_size: usize,
}

/// PEM files for TLS.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// CA certificate(s) that issue KMIP client certificates.
    pub client_ca: PathBuf,
    /// ECDSA server certificate chain and key.
    pub ecdsa_cert: PathBuf,
    /// Key of `ecdsa_cert`.
    pub ecdsa_key: PathBuf,
    /// RSA server certificate chain and key (for clients that offer no ECDSA scheme).
    pub rsa_cert: Option<PathBuf>,
    /// Key of `rsa_cert`.
    pub rsa_key: Option<PathBuf>,
    /// TLS 1.2 session-ID cache size (TLS 1.3 uses stateless tickets).
    pub session_cache_entries: usize,
}

impl Settings {
    /// Reads `path`, applies environment overrides from `env`, and validates.
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        RawConfig::parse(&text, env)?.validate(base)
    }
}
