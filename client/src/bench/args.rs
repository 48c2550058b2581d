//! `kmsctl bench` arguments as typed on the command line ([`Args`]) and the one step that
//! validates them into a [`Plan`].

use std::path::PathBuf;
use std::time::Duration;

use kmip_codec::version::ProtocolVersion;

use super::probe::VersionChoice;
use super::workload::Workload;
use super::{Plan, Stop};
use crate::config::{ClientConfig, SessionResumption, TlsVersions};
use crate::error::{ClientError, Result};

/// Most concurrent connections (workers) one run opens; far above what one client machine
/// can keep busy, and bounds a typo (`--connections 320000`).
pub const MAX_CONNECTIONS: usize = 10_000;

/// Most keys the setup step creates.
pub const MAX_KEYS: usize = 1_000_000;

// `kmsctl bench`: a load run (the flags of `Args`) or one of the scale-test `Tool`s. The doc
// comment below is the command's help text.
/// Closed-loop KMIP load: ops/s, latency percentiles, errors by kind.
///
/// N connections, each sending its next request as soon as the previous one is answered.
/// Uses only standard KMIP, so any KMIP server can be measured: the run first asks the
/// server for its versions (Discover Versions) and vendor (Query), and a workload the server
/// refuses is reported as unsupported with the KMIP error. Progress goes to stderr once a
/// second; the report to stdout (`--json` for JSON). Exits with failure when nothing
/// succeeded.
///
/// Workloads: `get` (persistent connections, Get of keys created and activated up front),
/// `create` (Create of AES-256 keys), `mixed` (a key's lifecycle: Create, Get, Activate,
/// Get Attributes, Revoke, Destroy), `locate` (Locate by the Object Group the setup gave its
/// keys), `locate-name` and `locate-attr` (Locate by the Name, or the `x-bench-tag`, each key
/// of the setup has alone: one identifier answered), `vcenter` (a new TLS connection per operation, Discover Versions then Get, as
/// VMware vCenter does). Keys made by the run carry the Object Group `kmsctl-bench-<hex>` and
/// are not deleted afterwards (except by `mixed`, which destroys its own).
///
/// `bench populate` and `bench ready` are the steps of the scale test
/// (scripts/bench-scale.sh).
#[derive(Clone, Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BenchCommand {
    /// A scale-test step instead of a load run.
    #[command(subcommand)]
    pub tool: Option<Tool>,
    /// The load run.
    #[command(flatten)]
    pub run: Args,
}

/// The scale-test steps.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum Tool {
    /// Creates N tenants (admin API), a CA-issued KMIP client in each and K keys per tenant.
    Populate(super::populate::PopulateArgs),
    /// Repeats a KMIP Get of one key until it succeeds; prints the time it took (JSON).
    Ready(super::populate::ReadyArgs),
}

/// The flags of a load run (the workloads are described on [`BenchCommand`]).
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Server address, `host:port`.
    #[arg(long, default_value = "127.0.0.1:5696")]
    pub addr: String,
    /// Name the server certificate must carry (DNS name or IP address) [default: the host
    /// of --addr].
    #[arg(long)]
    pub server_name: Option<String>,
    /// PEM file of the CA certificate(s) the server certificate must chain to (repeatable).
    #[arg(long, required = true)]
    pub ca: Vec<PathBuf>,
    /// Client certificate chain, PEM, leaf first.
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// Client private key, PEM.
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// KMIP protocol version of every request: 1.0 to 1.4, 2.0 or 2.1, or `auto` for the
    /// newest one the server lists in Discover Versions [default: 1.1 for the vcenter
    /// workload, else 1.4].
    #[arg(long, value_parser = parse_protocol_choice)]
    pub protocol: Option<VersionChoice>,
    /// TLS versions offered.
    #[arg(long, value_enum, default_value_t = TlsChoice::Any)]
    pub tls: TlsChoice,
    /// What each connection does.
    #[arg(long, value_enum, default_value_t = Workload::Get)]
    pub workload: Workload,
    /// Concurrent connections (one worker each).
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// How long to measure, after the warm-up (`10s`, `500ms`, `2m`) [default: 10s].
    #[arg(long, value_parser = parse_duration, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Measure this many workload iterations instead of a duration (a `mixed` lifecycle
    /// counts as one iteration).
    #[arg(long)]
    pub requests: Option<u64>,
    /// Load sent before measuring starts, not counted in the report.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub warmup: Duration,
    /// Keys the setup creates for `get`, `locate`, `locate-name`, `locate-attr` and `vcenter`.
    #[arg(long, default_value_t = 1000)]
    pub keys: usize,
    /// TLS session resumption (matters for `vcenter`, where each worker resumes its own
    /// sessions, as one vCenter host would).
    #[arg(long, value_enum, default_value_t = Toggle::On)]
    pub resumption: Toggle,
    /// Limit on connect plus handshake, and on each request.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub timeout: Duration,
    /// Print the final report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// The server's process, for its CPU time per operation in the report [default: the
    /// process listening on the port of --addr, when --addr names this machine].
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// `on` / `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Toggle {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// The `--tls` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsChoice {
    /// TLS 1.2 and 1.3.
    Any,
    /// TLS 1.2 only (what vCenter 7 was seen using).
    #[value(name = "1.2")]
    Tls12,
    /// TLS 1.3 only.
    #[value(name = "1.3")]
    Tls13,
}

impl Args {
    /// Validates the arguments into a plan.
    pub fn plan(&self) -> Result<Plan> {
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            return Err(ClientError::Config("--connections must be 1 to 10000"));
        }
        if self.workload.needs_keys() && (self.keys == 0 || self.keys > MAX_KEYS) {
            return Err(ClientError::Config("--keys must be 1 to 1000000"));
        }
        let stop = match (self.requests, self.duration) {
            (Some(0), _) => return Err(ClientError::Config("--requests must be at least 1")),
            (Some(n), _) => Stop::Requests(n),
            (None, Some(d)) if d.is_zero() => {
                return Err(ClientError::Config("--duration must be above zero"));
            }
            (None, Some(d)) => Stop::After(d),
            (None, None) => Stop::After(Duration::from_secs(10)),
        };
        if self.timeout.is_zero() {
            return Err(ClientError::Config("--timeout must be above zero"));
        }
        let server_name = match &self.server_name {
            Some(name) => name.clone(),
            None => host_of(&self.addr)
                .ok_or(ClientError::Config(
                    "--addr must be host:port (or give --server-name)",
                ))?
                .to_owned(),
        };
        let version = self
            .protocol
            .unwrap_or(VersionChoice::Fixed(self.workload.default_protocol()));
        let mut settings = ClientConfig::new(self.addr.clone(), server_name)
            .with_protocol_version(match version {
                VersionChoice::Fixed(v) => v,
                // What the probe speaks before the server has said what it speaks.
                VersionChoice::Negotiate => crate::config::DEFAULT_PROTOCOL_VERSION,
            })
            .with_timeouts(self.timeout, self.timeout)
            .with_tls_versions(match self.tls {
                TlsChoice::Any => TlsVersions::Tls12And13,
                TlsChoice::Tls12 => TlsVersions::Tls12Only,
                TlsChoice::Tls13 => TlsVersions::Tls13Only,
            })
            .with_resumption(match self.resumption {
                Toggle::On => SessionResumption::InMemory {
                    // One session per worker at least, so no worker evicts another's.
                    sessions: self
                        .connections
                        .max(crate::config::DEFAULT_RESUMPTION_SESSIONS),
                },
                Toggle::Off => SessionResumption::Disabled,
            });
        settings.ca_files.clone_from(&self.ca);
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            settings = settings.with_identity(cert, key);
        }
        Ok(Plan {
            settings,
            version,
            workload: self.workload,
            connections: self.connections,
            stop,
            warmup: self.warmup,
            keys: self.keys,
            progress: !self.quiet,
            server_pid: self.server_pid.or_else(|| {
                let port = self.addr.rsplit_once(':')?.1.parse().ok()?;
                super::cpu::local_server_pid(host_of(&self.addr)?, port)
            }),
        })
    }
}

/// The host part of `host:port` or `[v6]:port`.
fn host_of(addr: &str) -> Option<&str> {
    let (host, port) = addr.rsplit_once(':')?;
    if port.is_empty() || host.is_empty() {
        return None;
    }
    Some(
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host),
    )
}

/// `1.1`, `1.4`, `2.1`...: a version KMIP defines.
pub fn parse_protocol(text: &str) -> std::result::Result<ProtocolVersion, String> {
    ProtocolVersion::ALL_NEWEST_FIRST
        .into_iter()
        .find(|v| v.to_string() == text.trim())
        .ok_or_else(|| format!("unknown KMIP version {text:?} (1.0 to 1.4, 2.0, 2.1)"))
}

/// A version as [`parse_protocol`], or `auto` (negotiate).
pub fn parse_protocol_choice(text: &str) -> std::result::Result<VersionChoice, String> {
    if text.trim() == "auto" {
        return Ok(VersionChoice::Negotiate);
    }
    parse_protocol(text).map(VersionChoice::Fixed)
}

/// A whole number followed by a unit: `ms`, `s`, `m` (`10s`, `500ms`, `2m`); `0` alone is
/// zero.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit (ms, s or m)"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => n
            .checked_mul(60)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{text:?} is too long")),
        _ => Err(format!("{text:?}: unit must be ms, s or m")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(extra: &[&str]) -> std::result::Result<Args, clap::Error> {
        let base = ["bench", "--addr", "kms.example:5696", "--ca", "ca.pem"];
        Cli::try_parse_from(base.iter().chain(extra)).map(|c| c.args)
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("99999999999999999999m").is_err());
    }

    #[test]
    fn protocol_versions_are_the_known_ones() {
        assert_eq!(parse_protocol("1.1"), Ok(ProtocolVersion::V1_1));
        assert_eq!(parse_protocol("2.1"), Ok(ProtocolVersion::V2_1));
        assert!(parse_protocol("3.0").is_err());
        assert!(parse_protocol("1").is_err());
    }

    #[test]
    fn defaults_make_a_ten_second_get_run_named_after_the_host() {
        let plan = parse(&[]).expect("args").plan().expect("plan");
        assert_eq!(plan.workload, Workload::Get);
        assert_eq!(plan.connections, 32);
        assert_eq!(plan.stop, Stop::After(Duration::from_secs(10)));
        assert_eq!(plan.warmup, Duration::from_secs(2));
        assert_eq!(plan.settings.server_name, "kms.example");
        assert_eq!(plan.settings.protocol_version, ProtocolVersion::V1_4);
        assert!(matches!(
            plan.settings.resumption,
            SessionResumption::InMemory { .. }
        ));
    }

    #[test]
    fn vcenter_speaks_1_1_unless_told_and_resumption_can_be_off() {
        let plan = parse(&["--workload", "vcenter", "--resumption", "off"])
            .expect("args")
            .plan()
            .expect("plan");
        assert_eq!(plan.settings.protocol_version, ProtocolVersion::V1_1);
        assert_eq!(plan.settings.resumption, SessionResumption::Disabled);
        let plan = parse(&["--workload", "vcenter", "--protocol", "2.1"])
            .expect("args")
            .plan()
            .expect("plan");
        assert_eq!(plan.settings.protocol_version, ProtocolVersion::V2_1);
        assert_eq!(plan.version, VersionChoice::Fixed(ProtocolVersion::V2_1));
        let plan = parse(&["--protocol", "auto"])
            .expect("args")
            .plan()
            .expect("plan");
        assert_eq!(plan.version, VersionChoice::Negotiate);
    }

    #[test]
    fn bad_combinations_are_refused() {
        assert!(parse(&["--duration", "5s", "--requests", "10"]).is_err());
        assert!(parse(&["--cert", "c.pem"]).is_err());
        for bad in [
            &["--connections", "0"][..],
            &["--keys", "0"],
            &["--requests", "0"],
            &["--duration", "0"],
        ] {
            let plan = parse(bad).expect("args").plan();
            assert!(
                matches!(plan, Err(ClientError::Config(_))),
                "{bad:?}: {plan:?}"
            );
        }
        let args = Args {
            addr: "no-port".to_owned(),
            ..parse(&[]).expect("args")
        };
        assert!(args.plan().is_err());
        assert_eq!(host_of("[::1]:5696"), Some("::1"));
    }
}
