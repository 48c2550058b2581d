//! `kmsd`: the KMIP server binary. A thin layer over the `server` library: parse arguments,
//! load configuration, start the node, wait for a signal.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::command_log::AuditScope;
use server::config::Settings;
use server::dev::{self, DevLayout};
use server::node::Node;

/// mimalloc instead of glibc's allocator: under replicated writes glibc's `malloc`/`free`
/// (redb's page buffers) took about a fifth of the CPU samples (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// KMIP key-management server fronting a PKCS#11 HSM.
#[derive(Debug, Parser)]
#[command(name = "kmsd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve KMIP with the given configuration file (see docs/CONFIGURATION.md).
    Serve {
        /// Path of the TOML configuration; `KMSD_<SECTION>__<KEY>` variables override it.
        #[arg(long, short, env = "KMSD_CONFIG")]
        config: PathBuf,
    },
    /// Enroll an operator (the first admin of a new node) in the store. Run it while the
    /// server is stopped; issue the operator's certificate with
    /// `kms-certs client --role operator --name <NAME>`.
    EnrollOperator {
        /// Path of the TOML configuration (its data directory is used).
        #[arg(long, short, env = "KMSD_CONFIG")]
        config: PathBuf,
        /// Operator name, as in the certificate's `urn:kms:principal:operator:-:<NAME>`.
        #[arg(long)]
        name: String,
    },
    /// Run a single-node development server on embedded defaults: the first run creates a
    /// SoftHSM2 token with a Root of Trust, a dev PKI, two demo tenants, a data directory and
    /// a kmsctl settings file per demo identity.
    Dev {
        /// Directory holding everything the dev server makes.
        #[arg(long, default_value = ".kms-dev")]
        dir: PathBuf,
        /// KMIP listener address. The first run writes it into <DIR>/kmsd.toml (default
        /// 127.0.0.1:5696: loopback only); later runs use the file's `listen` unless this is
        /// given.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Run one step of the HSM key ceremony (see docs/KEY-CEREMONY.md).
    Ceremony(server::ceremony::Args),
    /// Restore a backup (`kmsctl backup create`) into this node's data directory, which must
    /// be empty: offline, before the node first starts. The token must hold the backup's Root
    /// of Trust. The restore is recorded in the node's audit trail (docs/OPERATIONS.md,
    /// Backup and restore).
    Restore {
        /// The backup directory (backup.bin, manifest.json, manifest.sig).
        #[arg(long, value_name = "DIR")]
        backup: PathBuf,
        /// The audit public key that signed the backup, known out of band: a PEM file, a file
        /// holding the SEC1 point in hex (audit-public-key.hex), or that hex.
        #[arg(long, value_name = "PEM|HEX")]
        signer: String,
        /// Path of the TOML configuration of the node to restore into.
        #[arg(long, short, env = "KMSD_CONFIG")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kmsd: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once: errors that show their source in
/// their own message (`StartError`'s `"store: {0}"`) would otherwise print it twice.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// `RUST_LOG`, default `info`. rustls logs some handshake failures a peer can provoke at will
/// (a record of the wrong type before the handshake) as WARN, once per connection: those are
/// kept to errors unless `RUST_LOG` names rustls, so that a peer without a certificate cannot
/// grow the log faster than the aggregated refusal lines allow (`server::audit::refusals`).
fn log_filter() -> tracing_subscriber::EnvFilter {
    let spec = std::env::var("RUST_LOG").unwrap_or_default();
    let filter = tracing_subscriber::EnvFilter::try_new(&spec)
        .ok()
        .filter(|_| !spec.trim().is_empty())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    if spec.contains("rustls") {
        return filter;
    }
    match "rustls=error".parse() {
        Ok(quiet) => filter.add_directive(quiet),
        Err(_) => filter,
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Serve { config } => {
            let settings = Settings::load(&config, std::env::vars())?;
            runtime()?.block_on(serve(settings, None))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Dev { dir, listen } => {
            let layout = DevLayout::new(&dir)?;
            // SoftHSM2 reads its configuration from the environment at load time, and
            // setting the variable in-process needs `unsafe`: re-execute with it set.
            let conf = layout.softhsm_conf();
            if std::env::var_os(dev::SOFTHSM2_CONF).as_deref() != Some(conf.as_os_str()) {
                return reexec_with(dev::SOFTHSM2_CONF, &conf);
            }
            let config = dev::prepare(&layout, listen.as_deref().unwrap_or(dev::DEFAULT_LISTEN))?;
            // A `--listen` given wins over the file (and the environment); else the file's.
            let listen = listen.map(|l| ("KMSD_SERVER__LISTEN".to_owned(), l));
            let settings = Settings::load(&config, std::env::vars().chain(listen))?;
            runtime()?.block_on(serve(settings, Some(layout)))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::EnrollOperator { config, name } => {
            let settings = Settings::load(&config, std::env::vars())?;
            runtime()?.block_on(enroll_operator(&settings, &name))?;
            println!("operator {name} enrolled");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Restore {
            backup,
            signer,
            config,
        } => {
            let settings = Settings::load(&config, std::env::vars())?;
            let started = std::time::Instant::now();
            let done = runtime()?.block_on(server::backup::restore(&settings, &backup, &signer))?;
            let m = &done.manifest;
            let total: u64 = m.tables.values().sum();
            println!(
                "restored backup of {} taken {} ({} records, root KCV {}) into {}",
                m.node,
                m.created_at,
                total,
                m.root_kcv.join(","),
                settings.data_dir.display()
            );
            if let Some(cp) = &done.continued_from {
                println!("audit log continues from checkpoint {}#{}", cp.log, cp.seq);
            }
            println!(
                "restore recorded as audit record {} (backup:{}) in {:.1} s",
                done.audit_seq,
                done.manifest_sha256,
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Ceremony(args) => {
            print!("{}", server::ceremony::run(&args)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs this binary again with one more environment variable, forwarding SIGINT and SIGTERM
/// (and SIGHUP, which reloads the certificates) to the child so that it shuts down gracefully whichever process is signalled.
fn reexec_with(var: &str, value: &std::path::Path) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .args(std::env::args_os().skip(1))
            .env(var, value)
            .spawn()
            .context("re-executing kmsd")?;
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(nix::unistd::Pid::from_raw);
        let mut hangups = hangups();
        let status = loop {
            tokio::select! {
                status = child.wait() => break status?,
                _ = wait_for_signal() => {
                    if let Some(pid) = pid {
                        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
                    }
                }
                _ = next_hangup(&mut hangups) => {
                    if let Some(pid) = pid {
                        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP);
                    }
                }
            }
        };
        Ok(ExitCode::from(
            u8::try_from(status.code().unwrap_or(1).clamp(0, 255)).unwrap_or(1),
        ))
    })
}

/// `kmsd enroll-operator`: writes the operator's enrollment through a local command log, so
/// that it leaves its audit record in the node's audit trail like any other change.
async fn enroll_operator(settings: &Settings, name: &str) -> anyhow::Result<()> {
    certs::identity::validate_label(certs::LabelKind::Name, name)?;
    for dir in [&settings.data_dir, &settings.audit.dir] {
        server::permissions::create_private_dir(dir)?;
    }
    let store = server::store::Store::open(&settings.data_dir.join(server::node::STORE_FILE))
        .context("opening the store (is the server still running?)")?;
    let audit =
        server::audit::open_with_store(&settings.audit.dir, settings.audit.config.clone(), &store)
            .await
            .context("opening the audit trail")?;
    let log = server::command_log::CommandLog::local(&store, audit.clone())?;
    let scope = AuditScope::offline(audit.log_name(), "kmsd enroll-operator");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let enrolled = server::tenancy::Tenancy::offline(&store, &log)
        .enroll_operator(&scope, name, now)
        .await;
    log.shutdown().await;
    audit.shutdown().await;
    enrolled?;
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn serve(settings: Settings, dev: Option<DevLayout>) -> anyhow::Result<()> {
    let node = Node::start(settings).await?;
    if let Some(layout) = dev {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // Each seeding write is a command of its own, with its own record.
        let seeding = || AuditScope::offline(node.kms().log_name(), "kmsd dev seeding");
        for (tenant, client) in dev::DEMO_CLIENTS {
            if node.kms().store().tenant(tenant)?.is_none() {
                node.kms()
                    .tenancy()
                    .create_tenant(&seeding(), tenant, now)
                    .await?;
            }
            let key = server::store::records::client_key(Some(tenant), client);
            if node.kms().store().client(&key)?.is_none() {
                let role = certs::identity::Role::KmipClient;
                node.kms()
                    .tenancy()
                    .enroll_ca_issued(&seeding(), tenant, client, role, now)
                    .await?;
            }
        }
        let (operator, _, _) = dev::operator_identity(&layout)?;
        if node
            .kms()
            .store()
            .client(&server::store::records::client_key(None, &operator))?
            .is_none()
        {
            node.kms()
                .tenancy()
                .enroll_operator(&seeding(), &operator, now)
                .await?;
        }
        let settings = dev::write_kmsctl_settings(&layout, node.addr(), node.admin_addr())?;
        // The kmsctl built beside this kmsd (scripts/dev-server.sh builds both), else on PATH.
        let kmsctl = std::env::current_exe()
            .map(|exe| exe.with_file_name("kmsctl"))
            .ok()
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("kmsctl"));
        print!(
            "{}",
            dev::banner(&layout, node.addr(), node.admin_addr(), &settings, &kmsctl)
        );
    }
    serve_until_stopped(&node).await;
    eprintln!("kmsd: shutting down");
    node.shutdown().await;
    Ok(())
}

/// Serves until SIGINT or SIGTERM; each SIGHUP meanwhile reloads the certificates
/// (`Node::reload_certificates_on_signal`).
async fn serve_until_stopped(node: &Node) {
    let stop = wait_for_signal();
    tokio::pin!(stop);
    let mut hangups = hangups();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = next_hangup(&mut hangups) => {
                node.reload_certificates_on_signal().await;
            }
        }
    }
}

/// SIGHUP, when it can be listened for.
#[cfg(unix)]
fn hangups() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    signal(SignalKind::hangup()).ok()
}

#[cfg(not(unix))]
fn hangups() -> Option<()> {
    None
}

/// The next SIGHUP (never, when there is no listening for it).
#[cfg(unix)]
async fn next_hangup(hangups: &mut Option<tokio::signal::unix::Signal>) {
    let received = match hangups {
        Some(h) => h.recv().await.is_some(),
        None => false,
    };
    if !received {
        // No SIGHUP stream (or it ended): stop listening for it.
        *hangups = None;
        std::future::pending::<()>().await;
    }
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Option<()>) {
    std::future::pending().await
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
