//! `kmsctl`'s commands, as a library so tests run the real thing in-process
//! ([`execute`] with captured output) instead of a possibly stale binary.
//!
//! KMIP key commands (`key ...`) use the KMIP client over mutual TLS; admin commands
//! (`tenant`, `node`, `client`, `inventory`, `key-admin`, `rotate-domain-key`, `health`,
//! `audit export | tail`, `backup create`) use the admin API ([`crate::admin`]); `audit
//! verify`, `audit export --from-dir` and `backup verify` work on files only. Settings come from flags, `KMSCTL_*` variables and a TOML
//! file ([`settings`]).
//!
//! Exit codes ([`Exit`]): 0 success, 1 error, 2 usage (bad arguments or missing settings),
//! 3 not found (no such tenant, client, key or job; KMIP Item Not Found), 4 permission
//! denied (admin API 401/403; KMIP Permission Denied or Authentication Not Successful; a TLS
//! alert refusing the certificate), 5 audit findings (`audit verify` found the trail altered,
//! incomplete or irregular; `audit export --from-dir` read irregular lines).

mod admin;
mod attributes;
mod audit;
mod backup;
mod clients;
mod cluster;
mod keys;
mod migration;
pub mod output;
mod platform;
mod pull;
pub mod settings;
pub mod values;

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use kmip_codec::enums::ResultReason;

use crate::bench;
use crate::error::{ClientError, Result};
pub use clients::fingerprint_of;
pub use settings::{FileConfig, Global, Settings};

/// Command-line tool for the KMIP key-management server: KMIP keys, tenants, clients, the key
/// inventory, Domain Key rotation, the audit trail, health, load tests.
///
/// Settings: each option also comes from an environment variable (KMSCTL_ADDR,
/// KMSCTL_ADMIN_ADDR, KMSCTL_SERVER_NAME, KMSCTL_CA, KMSCTL_CERT, KMSCTL_KEY,
/// KMSCTL_PROTOCOL, KMSCTL_TIMEOUT, KMSCTL_CONFIG) or the TOML file of --config; a flag wins
/// over the environment, which wins over the file.
///
/// Exit codes: 0 success, 1 error, 2 usage (bad arguments, missing settings), 3 not found
/// (tenant, client, key or job), 4 permission denied (certificate refused, role not allowed),
/// 5 audit findings (the audit trail is altered, incomplete or irregular).
#[derive(Debug, Parser)]
#[command(name = "kmsctl", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    // Its help text is `bench::BenchCommand`'s doc comment.
    Bench(bench::BenchCommand),
    /// KMIP key operations as a KMIP client of one tenant (its certificate).
    Key(keys::KeyArgs),
    /// Tenants (operators): create, list, show, suspend, resume; pull a tenant's keys from a
    /// foreign KMIP server (as its KMIP client).
    Tenant(admin::TenantArgs),
    /// The node (operators).
    Node(admin::NodeArgs),
    /// The cluster (operators): status, init, add-node, remove-node, rebuild-node, digest.
    Cluster(cluster::ClusterArgs),
    /// A tenant's enrolled clients, admins and auditors.
    Client(clients::ClientArgs),
    /// A tenant's key inventory: UID, state, dates and the VMware VM/host of each key.
    Inventory(admin::InventoryArgs),
    /// Key lifecycle actions through the admin API (tenant admins, operators).
    KeyAdmin(admin::KeyAdminArgs),
    /// Rotates a tenant's Domain Key and waits for every key to be re-sealed under the new
    /// version (progress on stderr).
    RotateDomainKey(admin::RotateArgs),
    /// Encrypted VMs (platform): eligibility check, registry.
    Vm(platform::VmArgs),
    /// Backup holds on keys (platform): place, release, list, show.
    Hold(platform::HoldArgs),
    /// A tenant's platform policy: advanced-protection subscription, maximum KEK age.
    Policy(platform::PolicyArgs),
    /// The replication check (platform): Global Mirror is refused for encrypted VMs.
    Replication(platform::ReplicationArgs),
    /// Platform services (operators) and a tenant's key providers.
    Platform(platform::PlatformArgs),
    /// A tenant's platform events (key revoked, destroyed, rekeyed; holds; policy), one JSON
    /// object per line; --follow keeps waiting for new ones.
    Events(platform::EventsArgs),
    /// The tamper-evident audit trail: export it, verify it offline, follow it.
    Audit(audit::AuditArgs),
    /// Backups of the KMS itself (operators): take one through the admin API, verify one
    /// offline. Restore with `kmsd restore`.
    Backup(backup::BackupArgs),
    /// Liveness and readiness of the admin API's node (/healthz, /readyz).
    Health(admin::HealthArgs),
    /// Prints a shell completion script on stdout (`kmsctl completions bash >
    /// /etc/bash_completion.d/kmsctl`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The process exit status of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Success,
    /// 1: failed (network, TLS, server error, conflict, ...).
    Failure,
    /// 2: bad arguments or missing settings.
    Usage,
    /// 3: the tenant, client, key or job does not exist (or is not visible to the caller).
    NotFound,
    /// 4: the certificate was refused or its role may not do this.
    PermissionDenied,
    /// 5: `audit verify` (or `audit export --from-dir`) found the audit trail altered,
    /// incomplete or irregular.
    AuditFindings,
}

impl Exit {
    /// The numeric status.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::NotFound => 3,
            Self::PermissionDenied => 4,
            Self::AuditFindings => 5,
        }
    }

    /// The status an error ends the process with.
    pub fn of(error: &ClientError) -> Self {
        match error {
            ClientError::Admin { status: 404, .. } => Self::NotFound,
            ClientError::Admin {
                status: 401 | 403, ..
            } => Self::PermissionDenied,
            ClientError::Kmip {
                reason: Some(reason),
                ..
            } if *reason == ResultReason::ITEM_NOT_FOUND => Self::NotFound,
            ClientError::Kmip {
                reason: Some(reason),
                ..
            } if *reason == ResultReason::PERMISSION_DENIED
                || *reason == ResultReason::AUTHENTICATION_NOT_SUCCESSFUL =>
            {
                Self::PermissionDenied
            }
            ClientError::Tls(rustls::Error::AlertReceived(alert)) if refusal(*alert) => {
                Self::PermissionDenied
            }
            ClientError::Usage(_) | ClientError::Config(_) | ClientError::ConfigFile { .. } => {
                Self::Usage
            }
            _ => Self::Failure,
        }
    }
}

/// TLS alerts a server sends when it refuses the client certificate.
fn refusal(alert: rustls::AlertDescription) -> bool {
    use rustls::AlertDescription as A;
    matches!(
        alert,
        A::BadCertificate
            | A::UnknownCA
            | A::CertificateUnknown
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::AccessDenied
            | A::CertificateRequired
    )
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

/// Where a command reads and writes, and how it sees the environment.
pub struct Console<'a> {
    /// Results.
    pub out: &'a mut dyn Write,
    /// Errors and progress.
    pub err: &'a mut dyn Write,
    /// Standard input (`client password` reads the password from it).
    pub input: &'a mut dyn Read,
    /// True when standard input is a terminal (a password would echo: refused).
    pub input_is_terminal: bool,
    /// Environment lookup (`KMSCTL_*`).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl std::fmt::Debug for Console<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("input_is_terminal", &self.input_is_terminal)
            .finish_non_exhaustive()
    }
}

/// Runs `kmsctl` with the process's arguments, environment and standard streams; for `main`.
pub fn run() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kmsctl: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    let (mut stdout, mut stderr, mut stdin) =
        (std::io::stdout(), std::io::stderr(), std::io::stdin());
    let input_is_terminal = stdin.is_terminal();
    let mut console = Console {
        out: &mut stdout,
        err: &mut stderr,
        input: &mut stdin,
        input_is_terminal,
        env: &env,
    };
    runtime
        .block_on(execute(std::env::args_os(), &mut console))
        .into()
}

/// Parses `args` (the first is the program name) and runs the command. Errors are printed as
/// one line on `console.err`; the result is the exit status.
pub async fn execute<I, T>(args: I, console: &mut Console<'_>) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let text = e.render().to_string();
            return if e.use_stderr() {
                let _ = write!(console.err, "{text}");
                Exit::Usage
            } else {
                let _ = write!(console.out, "{text}");
                Exit::Success
            };
        }
    };
    match dispatch(cli.command, console).await {
        Ok(exit) => exit,
        Err(e) => {
            let _ = writeln!(console.err, "kmsctl: {}", one_line(&e));
            Exit::of(&e)
        }
    }
}

async fn dispatch(command: Cmd, console: &mut Console<'_>) -> Result<Exit> {
    match command {
        Cmd::Bench(bench::BenchCommand { tool: None, run }) => bench_command(&run, console).await,
        Cmd::Bench(bench::BenchCommand {
            tool: Some(bench::Tool::Populate(args)),
            ..
        }) => {
            let made = bench::populate::populate(&args).await?;
            if args.json {
                output::json(console.out, &made)?;
            } else {
                output::line(
                    console.out,
                    &format!(
                        "{} tenants, {} keys in {:.1} s ({:.0} keys/s)",
                        made.tenants, made.keys, made.secs, made.keys_per_sec
                    ),
                )?;
            }
            Ok(Exit::Success)
        }
        Cmd::Bench(bench::BenchCommand {
            tool: Some(bench::Tool::Ready(args)),
            ..
        }) => {
            let ready = bench::populate::ready(&args).await?;
            output::json(console.out, &ready)?;
            Ok(Exit::Success)
        }
        Cmd::Key(args) => keys::run(args, console).await,
        Cmd::Tenant(args) => admin::tenant(args, console).await,
        Cmd::Node(args) => admin::node(args, console).await,
        Cmd::Cluster(args) => cluster::run(args, console).await,
        Cmd::Client(args) => clients::client(args, console).await,
        Cmd::Inventory(args) => admin::inventory(args, console).await,
        Cmd::Vm(args) => platform::vm(args, console).await,
        Cmd::Hold(args) => platform::hold(args, console).await,
        Cmd::Policy(args) => platform::policy(args, console).await,
        Cmd::Replication(args) => platform::replication(args, console).await,
        Cmd::Platform(args) => platform::platform(args, console).await,
        Cmd::Events(args) => platform::events(args, console).await,
        Cmd::KeyAdmin(args) => admin::key_admin(args, console).await,
        Cmd::RotateDomainKey(args) => admin::rotate(args, console).await,
        Cmd::Audit(args) => audit::run(args, console).await,
        Cmd::Backup(args) => backup::run(args, console).await,
        Cmd::Health(args) => admin::health(args, console).await,
        Cmd::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "kmsctl", console.out);
            Ok(Exit::Success)
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text the message before
/// it already holds (the library's messages quote their I/O source).
pub fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut next = Some(e);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        next = cause.source();
    }
    line
}

/// Runs the bench and prints its report (text, or JSON with `--json`) on stdout. Fails
/// when the run measured no successful operation at all (the report is printed first, with
/// `unsupported` set when the server refused the workload).
async fn bench_command(args: &bench::Args, console: &mut Console<'_>) -> Result<Exit> {
    let plan = args.plan()?;
    let interrupt = async {
        // Without a signal handler, Ctrl-C keeps its default action (exit without report).
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let report = bench::run(plan, interrupt).await?;
    if args.json {
        output::json(console.out, &report)?;
    } else {
        output::line(console.out, &report.to_string())?;
    }
    if let Some(why) = &report.unsupported {
        let _ = writeln!(console.err, "kmsctl: unsupported by the server: {why}");
        return Ok(Exit::Failure);
    }
    if report.ok == 0 {
        let _ = writeln!(console.err, "kmsctl: no operation succeeded");
        return Ok(Exit::Failure);
    }
    Ok(Exit::Success)
}
