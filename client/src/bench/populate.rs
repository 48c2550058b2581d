//! `kmsctl bench populate` and `kmsctl bench ready`: the two client-side steps of the scale
//! test (`scripts/bench-scale.sh`, docs/PERFORMANCE.md).
//!
//! - populate: `--tenants N` tenants `<prefix>-<i>` made through the admin API (operator
//!   certificate), a CA-issued KMIP client enrolled in each (its certificate made beforehand
//!   by `kms-certs client`, read from `--clients-dir`), then `--keys K` AES-256 keys per tenant
//!   over KMIP as that client, `--connections` tenants at a time. Tenants and clients that
//!   already exist are reused, so a run can be repeated or extended.
//! - ready: repeats a KMIP Get of one key until it succeeds; prints how long that took (the
//!   restart-to-serving time when started together with the server).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask};
use kmip_codec::model::{AttributeValue, Attributes};
use kmip_codec::tags::Tag;
use serde::Serialize;

use super::args::parse_duration;
use crate::admin::{AdminClient, Enrollment};
use crate::config::ClientConfig;
use crate::connection::Connector;
use crate::error::{ClientError, Result};

/// Most tenants one populate run makes.
pub const MAX_TENANTS: usize = 100_000;
/// Most keys per tenant.
pub const MAX_KEYS_PER_TENANT: usize = 1_000_000;
/// Object Group of the keys populate makes.
pub const POPULATE_GROUP: &str = "kmsctl-populate";
/// Pause between two attempts of `ready`.
pub const READY_RETRY: Duration = Duration::from_millis(20);

/// How to reach and trust the server (both tools).
#[derive(Clone, Debug, clap::Args)]
pub struct Target {
    /// KMIP server address, `host:port`.
    #[arg(long, default_value = "127.0.0.1:5696")]
    pub addr: String,
    /// Name the server certificate must carry [default: the host of --addr].
    #[arg(long)]
    pub server_name: Option<String>,
    /// PEM file of the CA certificate the server certificate chains to.
    #[arg(long)]
    pub ca: PathBuf,
    /// Limit on connect plus handshake, and on each request.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub timeout: Duration,
}

impl Target {
    fn config(&self, addr: &str) -> ClientConfig {
        let name = self.server_name.clone().unwrap_or_else(|| {
            addr.rsplit_once(':')
                .map_or(addr, |(h, _)| h)
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned()
        });
        ClientConfig::new(addr, name)
            .with_ca_file(&self.ca)
            .with_timeouts(self.timeout, self.timeout)
    }
}

/// Creates N tenants, a KMIP client in each and K keys per tenant (the scale test's data).
#[derive(Clone, Debug, clap::Args)]
pub struct PopulateArgs {
    #[command(flatten)]
    pub target: Target,
    /// Admin API address, `host:port`.
    #[arg(long, default_value = "127.0.0.1:5697")]
    pub admin_addr: String,
    /// Operator certificate (PEM) for the admin API.
    #[arg(long)]
    pub operator_cert: PathBuf,
    /// Operator private key (PEM).
    #[arg(long)]
    pub operator_key: PathBuf,
    /// Directory of the clients' certificates as `kms-certs client` names them:
    /// `kmip-client-<tenant>-<name>.pem` and `.key`.
    #[arg(long)]
    pub clients_dir: PathBuf,
    /// Tenant IDs are `<prefix>-<i>`, i from 0.
    #[arg(long, default_value = "scale")]
    pub tenant_prefix: String,
    /// Name of the KMIP client enrolled in each tenant.
    #[arg(long, default_value = "bench")]
    pub client_name: String,
    /// Tenants.
    #[arg(long)]
    pub tenants: usize,
    /// Keys per tenant.
    #[arg(long)]
    pub keys: usize,
    /// Tenants worked on at the same time (one admin exchange or KMIP connection each).
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// What populate made.
#[derive(Clone, Debug, Serialize)]
pub struct Populated {
    /// Tenants made or reused.
    pub tenants: usize,
    /// Keys created (all tenants).
    pub keys: u64,
    /// Wall time, seconds.
    pub secs: f64,
    /// Keys created per second.
    pub keys_per_sec: f64,
    /// A key that exists when populate is done, for `bench ready`.
    pub known_key: Option<KnownKey>,
}

/// One key and the client that may Get it.
#[derive(Clone, Debug, Serialize)]
pub struct KnownKey {
    /// Its tenant.
    pub tenant: String,
    /// Unique Identifier.
    pub uid: String,
    /// The client's certificate.
    pub cert: PathBuf,
    /// The client's key.
    pub key: PathBuf,
}

impl PopulateArgs {
    fn tenant(&self, i: usize) -> String {
        format!("{}-{i}", self.tenant_prefix)
    }

    fn identity(&self, tenant: &str) -> (PathBuf, PathBuf) {
        let stem = format!("kmip-client-{tenant}-{}", self.client_name);
        (
            self.clients_dir.join(format!("{stem}.pem")),
            self.clients_dir.join(format!("{stem}.key")),
        )
    }
}

/// An admin answer of 409 Conflict (tenant or client exists) counts as done.
fn exists_is_fine<T>(result: Result<T>) -> Result<()> {
    match result {
        Ok(_) | Err(ClientError::Admin { status: 409, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Carries out populate; the first error stops it (what was made stays).
pub async fn populate(args: &PopulateArgs) -> Result<Populated> {
    if args.tenants == 0 || args.tenants > MAX_TENANTS {
        return Err(ClientError::Config("--tenants must be 1 to 100000"));
    }
    if args.keys > MAX_KEYS_PER_TENANT {
        return Err(ClientError::Config("--keys must be at most 1000000"));
    }
    if args.connections == 0 || args.connections > super::MAX_CONNECTIONS {
        return Err(ClientError::Config("--connections must be 1 to 10000"));
    }
    let admin_config = args
        .target
        .config(&args.admin_addr)
        .with_identity(&args.operator_cert, &args.operator_key);
    let admin = Arc::new(AdminClient::new(args.admin_addr.clone(), &admin_config)?);
    let next = Arc::new(AtomicUsize::new(0));
    let keys = Arc::new(AtomicU64::new(0));
    let tenants_done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let progress = (!args.quiet).then(|| {
        let (keys, done, total) = (Arc::clone(&keys), Arc::clone(&tenants_done), args.tenants);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                let made = keys.load(Ordering::Relaxed);
                eprintln!(
                    "[{:>5}s] {}/{total} tenants, {made} keys ({:.0}/s)",
                    started.elapsed().as_secs(),
                    done.load(Ordering::Relaxed),
                    made as f64 / started.elapsed().as_secs_f64()
                );
            }
        })
    });
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.connections.min(args.tenants) {
        let (args, admin, next) = (args.clone(), Arc::clone(&admin), Arc::clone(&next));
        let (keys, done) = (Arc::clone(&keys), Arc::clone(&tenants_done));
        workers.spawn(async move {
            let mut first = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= args.tenants {
                    return Ok::<_, ClientError>(first);
                }
                let made = one_tenant(&args, &admin, i, &keys).await?;
                done.fetch_add(1, Ordering::Relaxed);
                if i == 0 {
                    first = made;
                }
            }
        });
    }
    let mut known_key = None;
    let mut failure = None;
    while let Some(joined) = workers.join_next().await {
        match joined.map_err(|_| ClientError::Config("a populate worker panicked")) {
            Ok(Ok(Some(k))) => known_key = Some(k),
            Ok(Ok(None)) => {}
            Ok(Err(e)) | Err(e) => {
                // Stop the others at their next tenant.
                next.store(args.tenants, Ordering::Relaxed);
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(task) = progress {
        task.abort();
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let secs = started.elapsed().as_secs_f64();
    let keys = keys.load(Ordering::Relaxed);
    Ok(Populated {
        tenants: args.tenants,
        keys,
        secs,
        keys_per_sec: if secs > 0.0 { keys as f64 / secs } else { 0.0 },
        known_key,
    })
}

/// Tenant `i`: the tenant and its client (admin API), then its keys (KMIP, one connection).
/// Returns the first key made.
async fn one_tenant(
    args: &PopulateArgs,
    admin: &AdminClient,
    i: usize,
    keys: &AtomicU64,
) -> Result<Option<KnownKey>> {
    let tenant = args.tenant(i);
    exists_is_fine(admin.create_tenant(&tenant).await)?;
    let enrollment = Enrollment {
        name: args.client_name.clone(),
        role: None,
        certificate: None,
    };
    exists_is_fine(admin.enroll(&tenant, &enrollment).await)?;
    if args.keys == 0 {
        return Ok(None);
    }
    let (cert, key) = identity_files(&args.identity(&tenant))?;
    let config = args
        .target
        .config(&args.target.addr)
        .with_identity(&cert, &key);
    let mut conn = Connector::new(config)?.connect().await?;
    let attributes = Attributes::new().with(
        Tag::OBJECT_GROUP,
        AttributeValue::TextString(POPULATE_GROUP.to_owned()),
    );
    let mut first = None;
    for _ in 0..args.keys {
        let uid = conn
            .create_symmetric_key(
                CryptographicAlgorithm::AES,
                256,
                CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
                attributes.clone(),
            )
            .await?;
        keys.fetch_add(1, Ordering::Relaxed);
        first.get_or_insert(uid);
    }
    let _closed = conn.close().await;
    Ok(first.map(|uid| KnownKey {
        tenant,
        uid,
        cert,
        key,
    }))
}

/// The pair, or a clear error naming the missing file.
fn identity_files((cert, key): &(PathBuf, PathBuf)) -> Result<(PathBuf, PathBuf)> {
    for path in [cert, key] {
        if !Path::new(path).is_file() {
            return Err(ClientError::ReadFile {
                path: path.clone(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
    }
    Ok((cert.clone(), key.clone()))
}

/// Repeats a KMIP Get of one key until it succeeds (a server coming up).
#[derive(Clone, Debug, clap::Args)]
pub struct ReadyArgs {
    #[command(flatten)]
    pub target: Target,
    /// Client certificate (PEM) of the key's tenant.
    #[arg(long)]
    pub cert: PathBuf,
    /// Client private key (PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// Unique Identifier of the key to Get.
    #[arg(long)]
    pub uid: String,
    /// Give up after this long.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub within: Duration,
}

/// When `ready` saw the Get succeed.
#[derive(Clone, Debug, Serialize)]
pub struct Ready {
    /// Milliseconds from the start of `ready` to the successful Get's answer.
    pub ready_after_ms: u128,
    /// Get attempts (connections) made.
    pub attempts: u64,
}

/// Carries out `ready`. Errors: the last failure, once `within` is over.
pub async fn ready(args: &ReadyArgs) -> Result<Ready> {
    let started = Instant::now();
    let config = args
        .target
        .config(&args.target.addr)
        .with_identity(&args.cert, &args.key)
        // Each attempt is short: a server still starting refuses or does not answer.
        .with_timeouts(
            args.target.timeout.min(Duration::from_secs(2)),
            args.target.timeout,
        );
    let connector = Connector::new(config)?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let result = async {
            let mut conn = connector.connect().await?;
            drop(conn.get(&args.uid, None).await?);
            let _closed = conn.close().await;
            Ok::<_, ClientError>(())
        }
        .await;
        match result {
            Ok(()) => {
                return Ok(Ready {
                    ready_after_ms: started.elapsed().as_millis(),
                    attempts,
                });
            }
            Err(e) if started.elapsed() >= args.within => return Err(e),
            Err(_) => tokio::time::sleep(READY_RETRY).await,
        }
    }
}
