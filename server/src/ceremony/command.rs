//! The command line of `kmsd ceremony`: one clap struct per step.

use std::path::PathBuf;

/// `kmsd ceremony`: one step of the key ceremony.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The step to run.
    #[command(subcommand)]
    pub step: Step,
}

/// The ceremony steps, in the order docs/KEY-CEREMONY.md runs them.
#[derive(Debug, clap::Subcommand)]
pub enum Step {
    /// Generate the Root of Trust on this token (source HSM, or a single HSM). Logs in as user.
    InitRoot(InitRoot),
    /// Print the token's Root of Trust: KCV and security attributes. Logs in as user.
    Status(Status),
    /// Generate an RSA-3072 transport key pair on this (target) token; write its public key.
    TransportKeygen(TransportKeygen),
    /// Wrap the root under a target's transport key (source HSM). Logs in as SO, then user.
    ExportRoot(ExportRoot),
    /// Unwrap a wrapped root with this token's transport key (target HSM). Logs in as user.
    ImportRoot(ImportRoot),
    /// Wrap the root under a fresh backup key split M-of-N among custodians (source HSM).
    /// Logs in as SO, then user.
    BackupCreate(BackupCreate),
    /// Restore the root from the backup record and at least M custodian shares (new HSM).
    /// Logs in as user.
    BackupRestore(BackupRestore),
}

/// Which token a step works on.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// TOML file with an [hsm] table: the node's kmsd.toml as it is (other tables are
    /// ignored, environment overrides are not applied), or a file holding only [hsm].
    #[arg(long, short, env = "KMSD_CONFIG", value_name = "FILE")]
    pub config: PathBuf,
}

/// Where the Security Officer PIN comes from.
#[derive(Debug, clap::Args)]
pub struct SoPinArgs {
    /// File holding the token's Security Officer PIN (one trailing newline is ignored).
    /// Without it the PIN is read from the KMSD_SO_PIN environment variable.
    #[arg(long, value_name = "FILE")]
    pub so_pin_file: Option<PathBuf>,
}

/// `init-root`
#[derive(Debug, clap::Args)]
pub struct InitRoot {
    #[command(flatten)]
    pub token: TokenArgs,
    /// Make the root leave the HSM only wrapped under SO-trusted keys (the ceremony's source
    /// HSM). Without it the root can never leave (a single HSM, or vendor cloning).
    #[arg(long)]
    pub exportable: bool,
}

/// `status`
#[derive(Debug, clap::Args)]
pub struct Status {
    #[command(flatten)]
    pub token: TokenArgs,
    /// Print JSON ({"token_label", "kcv", "attributes"}) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `transport-keygen`
#[derive(Debug, clap::Args)]
pub struct TransportKeygen {
    #[command(flatten)]
    pub token: TokenArgs,
    /// Where to write the transport public key (SubjectPublicKeyInfo PEM).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// `export-root`
#[derive(Debug, clap::Args)]
pub struct ExportRoot {
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub so_pin: SoPinArgs,
    /// The target's transport public key (PEM from transport-keygen).
    #[arg(long, value_name = "FILE")]
    pub transport: PathBuf,
    /// The transport key's SHA-256 fingerprint (hex) as read from the target's screen.
    #[arg(long, value_name = "HEX")]
    pub expect_fingerprint: String,
    /// Where to write the wrapped-root record (JSON).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// `import-root`
#[derive(Debug, clap::Args)]
pub struct ImportRoot {
    #[command(flatten)]
    pub token: TokenArgs,
    /// The wrapped-root record from export-root. The root is imported non-extractable.
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
}

/// `backup-create`
#[derive(Debug, clap::Args)]
pub struct BackupCreate {
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub so_pin: SoPinArgs,
    /// How many shares restore the backup (M, at least 2).
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u8).range(2..))]
    pub threshold: u8,
    /// How many shares to make, one per custodian (N, M..=255).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(2..))]
    pub shares: u8,
    /// Directory for backup.json and share-1.txt..share-N.txt (made, mode 0700, if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
}

/// `backup-restore`
#[derive(Debug, clap::Args)]
pub struct BackupRestore {
    #[command(flatten)]
    pub token: TokenArgs,
    /// The backup record (backup.json from backup-create).
    #[arg(long, value_name = "FILE")]
    pub backup: PathBuf,
    /// A custodian's share file; repeat for each share (at least M).
    #[arg(long = "share", value_name = "FILE", required = true)]
    pub shares: Vec<PathBuf>,
    /// Restore the root as exportable under SO-trusted keys, so this HSM can be the source
    /// of further exports (replacing a lost source AZ). Without it the root can never leave.
    #[arg(long)]
    pub exportable: bool,
}
