//! Where `kmsctl` finds the server and its certificates: the global options as typed
//! ([`Global`]), the environment (`KMSCTL_*`) and a TOML configuration file, merged in one
//! step into [`Settings`]. Precedence: flag, then environment variable, then file, then the
//! built-in default.
//!
//! The environment is passed in as a lookup function, so the merge is tested without touching
//! the process environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kmip_codec::version::ProtocolVersion;
use serde::Deserialize;

use crate::config::{ClientConfig, DEFAULT_PROTOCOL_VERSION};
use crate::error::{ClientError, Result};

/// Default KMIP address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:5696";
/// Default admin API address.
pub const DEFAULT_ADMIN_ADDR: &str = "127.0.0.1:5697";
/// Largest configuration file read.
const MAX_CONFIG_FILE: u64 = 64 * 1024;

/// Options every command but `bench` takes (after the command group's name).
#[derive(Clone, Debug, Default, clap::Args)]
#[command(next_help_heading = "Connection and output")]
pub struct Global {
    /// KMIP server address, host:port [env: KMSCTL_ADDR] [default: 127.0.0.1:5696].
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// Admin API address, host:port [env: KMSCTL_ADMIN_ADDR] [default: 127.0.0.1:5697].
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub admin_addr: Option<String>,
    /// Name the server certificate must carry [env: KMSCTL_SERVER_NAME] [default: the host
    /// of the address used].
    #[arg(long, global = true, value_name = "NAME")]
    pub server_name: Option<String>,
    /// PEM file of the CA the server certificate must chain to [env: KMSCTL_CA].
    #[arg(long, global = true, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Your certificate chain, PEM, leaf first [env: KMSCTL_CERT].
    #[arg(long, global = true, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Your private key, PEM [env: KMSCTL_KEY].
    #[arg(long, global = true, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// KMIP protocol version of key commands: 1.0 to 1.4, 2.0, 2.1 [env: KMSCTL_PROTOCOL]
    /// [default: 1.4].
    #[arg(long, global = true, value_name = "VERSION")]
    pub protocol: Option<String>,
    /// Limit on connect plus handshake, and on each request, in seconds [env:
    /// KMSCTL_TIMEOUT] [default: 30].
    #[arg(long, global = true, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Print results as JSON on stdout, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    /// TOML file with any of the keys addr, admin_addr, server_name, ca, cert, key,
    /// protocol, timeout (relative paths are relative to the file) [env: KMSCTL_CONFIG].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The configuration file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// KMIP server address.
    pub addr: Option<String>,
    /// Admin API address.
    pub admin_addr: Option<String>,
    /// Server certificate name.
    pub server_name: Option<String>,
    /// CA file.
    pub ca: Option<PathBuf>,
    /// Certificate file.
    pub cert: Option<PathBuf>,
    /// Key file.
    pub key: Option<PathBuf>,
    /// KMIP protocol version.
    pub protocol: Option<String>,
    /// Timeout in seconds.
    pub timeout: Option<u64>,
}

impl FileConfig {
    /// Reads and parses `path`; relative file names in it become relative to its directory.
    pub fn load(path: &Path) -> Result<Self> {
        let text = read_small(path, MAX_CONFIG_FILE)?;
        let mut file: Self = toml::from_str(&text).map_err(|e| ClientError::ConfigFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        for p in [&mut file.ca, &mut file.cert, &mut file.key]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(file)
    }
}

/// A whole small text file, refusing one over `max` bytes.
pub(crate) fn read_small(path: &Path, max: u64) -> Result<String> {
    let read_error = |source| ClientError::ReadFile {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read_error)?.len();
    if len > max {
        return Err(ClientError::Usage("file too large"));
    }
    std::fs::read_to_string(path).map_err(read_error)
}

/// The merged settings of one invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// KMIP server address.
    pub addr: String,
    /// Admin API address.
    pub admin_addr: String,
    /// Explicit server certificate name.
    pub server_name: Option<String>,
    /// CA file.
    pub ca: Option<PathBuf>,
    /// Certificate file.
    pub cert: Option<PathBuf>,
    /// Key file.
    pub key: Option<PathBuf>,
    /// KMIP protocol version.
    pub protocol: ProtocolVersion,
    /// Connect and request timeout.
    pub timeout: Duration,
    /// JSON output.
    pub json: bool,
}

impl Settings {
    /// Merges flags, environment (`env("KMSCTL_ADDR")`...) and the configuration file named
    /// by `--config` or `KMSCTL_CONFIG`.
    pub fn resolve(global: &Global, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let config_path = global
            .config
            .clone()
            .or_else(|| env("KMSCTL_CONFIG").map(PathBuf::from));
        let file = match config_path {
            Some(p) => FileConfig::load(&p)?,
            None => FileConfig::default(),
        };
        Self::merge(global, env, file)
    }

    /// The merge itself: flag, else environment, else file, else default.
    pub fn merge(
        global: &Global,
        env: &dyn Fn(&str) -> Option<String>,
        file: FileConfig,
    ) -> Result<Self> {
        let text = |flag: &Option<String>, var: &str, file: Option<String>| {
            flag.clone()
                .or_else(|| env(var).filter(|v| !v.is_empty()))
                .or(file)
        };
        let path = |flag: &Option<PathBuf>, var: &str, file: Option<PathBuf>| {
            flag.clone()
                .or_else(|| env(var).filter(|v| !v.is_empty()).map(PathBuf::from))
                .or(file)
        };
        let protocol = match text(&global.protocol, "KMSCTL_PROTOCOL", file.protocol) {
            Some(p) => parse_protocol(&p)?,
            None => DEFAULT_PROTOCOL_VERSION,
        };
        let timeout = match global.timeout {
            Some(t) => t,
            None => match env("KMSCTL_TIMEOUT").filter(|v| !v.is_empty()) {
                Some(t) => t
                    .parse()
                    .map_err(|_| ClientError::Usage("KMSCTL_TIMEOUT must be whole seconds"))?,
                None => file.timeout.unwrap_or(30),
            },
        };
        if timeout == 0 || timeout > 3600 {
            return Err(ClientError::Usage("the timeout must be 1 to 3600 seconds"));
        }
        Ok(Self {
            addr: text(&global.addr, "KMSCTL_ADDR", file.addr)
                .unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
            admin_addr: text(&global.admin_addr, "KMSCTL_ADMIN_ADDR", file.admin_addr)
                .unwrap_or_else(|| DEFAULT_ADMIN_ADDR.to_owned()),
            server_name: text(&global.server_name, "KMSCTL_SERVER_NAME", file.server_name),
            ca: path(&global.ca, "KMSCTL_CA", file.ca),
            cert: path(&global.cert, "KMSCTL_CERT", file.cert),
            key: path(&global.key, "KMSCTL_KEY", file.key),
            protocol,
            timeout: Duration::from_secs(timeout),
            json: global.json,
        })
    }

    /// Client settings for `addr` (the KMIP or the admin address): CA, certificate, key,
    /// server name (explicit, else the host of `addr`), protocol, timeouts.
    pub fn client_config(&self, addr: &str) -> Result<ClientConfig> {
        let Some(ca) = &self.ca else {
            return Err(ClientError::Usage(
                "no CA file: give --ca, KMSCTL_CA or ca in the configuration file",
            ));
        };
        let name = self
            .server_name
            .clone()
            .unwrap_or_else(|| host_of(addr).to_owned());
        let mut config = ClientConfig::new(addr, name)
            .with_ca_file(ca)
            .with_protocol_version(self.protocol)
            .with_timeouts(self.timeout, self.timeout);
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => config = config.with_identity(cert, key),
            (None, None) => {
                return Err(ClientError::Usage(
                    "no client certificate: give --cert and --key (or KMSCTL_CERT, KMSCTL_KEY)",
                ));
            }
            _ => return Err(ClientError::Usage("--cert and --key go together")),
        }
        Ok(config)
    }
}

/// The host of `host:port` (`[v6]:port` too); the whole text when there is no port.
pub fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => addr,
    }
}

/// `1.4` -> KMIP 1.4; only versions the codec knows.
pub fn parse_protocol(text: &str) -> Result<ProtocolVersion> {
    ProtocolVersion::ALL_NEWEST_FIRST
        .into_iter()
        .find(|v| v.to_string() == text.trim())
        .ok_or(ClientError::Usage(
            "unknown KMIP protocol version (1.0 to 1.4, 2.0, 2.1)",
        ))
}
