//! `kmsctl audit`: export the audit trail (admin API, or a node's audit directory read
//! directly), verify exported files offline against the audit public key, and follow new
//! records. What the checks mean: `docs/AUDIT.md`.

mod export;
mod files;
mod tail;
mod verify;

use std::path::PathBuf;

use audit_log::{Filter, PublicKey};
use clap::Subcommand;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::settings::Global;
use super::{Console, Exit};
use crate::admin::AuditQuery;
use crate::error::{ClientError, Result};

/// `kmsctl audit`.
#[derive(Debug, clap::Args)]
pub(super) struct AuditArgs {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: AuditCmd,
}

#[derive(Debug, Subcommand)]
enum AuditCmd {
    /// Exports records, checkpoints and the audit public key (from the admin API, or from a
    /// node's audit directory with --from-dir) for `audit verify` or a SIEM (--format cef).
    Export(export::ExportArgs),
    /// Verifies exported records against the signed checkpoints and the audit public key,
    /// offline. Exit status 0 when everything verifies, 5 when anything is wrong.
    Verify(verify::VerifyArgs),
    /// Prints the newest records; with --follow, keeps printing new ones until Ctrl-C.
    Tail(tail::TailArgs),
}

pub(super) async fn run(args: AuditArgs, console: &mut Console<'_>) -> Result<Exit> {
    match args.command {
        AuditCmd::Export(a) => export::run(a, &args.global, console).await,
        AuditCmd::Verify(a) => verify::run(a, &args.global, console),
        AuditCmd::Tail(a) => tail::run(a, &args.global, console).await,
    }
}

/// Which records: every given filter must match.
#[derive(Clone, Debug, Default, clap::Args)]
#[command(next_help_heading = "Record filters")]
struct FilterArgs {
    /// Only this tenant's records.
    #[arg(long)]
    tenant: Option<String>,
    /// Only records at or after this time (RFC 3339, e.g. 2025-01-31T00:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    from: Option<OffsetDateTime>,
    /// Only records before this time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<OffsetDateTime>,
    /// Only this operation: a KMIP operation (Create), an admin method and route template
    /// (POST /v1/tenants, "POST /v1/tenants/{tenant}/suspend"), or connect (a connection
    /// refused before any request).
    #[arg(long)]
    operation: Option<String>,
    /// Only records naming this object UID.
    #[arg(long, value_name = "UID")]
    object: Option<String>,
    /// Only this principal: certificate fingerprint (hex), subject DN or client name.
    #[arg(long)]
    principal: Option<String>,
}

impl FilterArgs {
    /// The filter as the admin API takes it.
    fn query(&self) -> AuditQuery {
        AuditQuery {
            tenant: self.tenant.clone(),
            operation: self.operation.clone(),
            object: self.object.clone(),
            principal: self.principal.clone(),
            from: self.from,
            until: self.until,
        }
    }

    /// The filter applied locally (records read from files).
    fn filter(&self) -> Filter {
        Filter {
            tenant: self.tenant.clone().map(Some),
            from: self.from,
            until: self.until,
            operation: self.operation.clone(),
            object: self.object.clone(),
            principal: self.principal.clone(),
        }
    }

    /// Whether a filter other than the tenant is set: the records then no longer form a
    /// chain that `audit verify` can check.
    fn cuts_chains(&self) -> bool {
        self.from.is_some()
            || self.until.is_some()
            || self.operation.is_some()
            || self.object.is_some()
            || self.principal.is_some()
    }
}

fn parse_time(text: &str) -> std::result::Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| "expected an RFC 3339 time such as 2025-01-31T00:00:00Z".to_owned())
}

/// A record time as RFC 3339 (UTC, as stored).
fn format_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Lowercase hex SHA-256 of the key's SEC1 bytes: what to compare with the fingerprint
/// recorded at the key ceremony.
fn key_fingerprint(key: &PublicKey) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// `--public-key`: a file holding the hex key, or the hex itself.
fn public_key_arg(arg: &str) -> Result<PublicKey> {
    let path = PathBuf::from(arg);
    if path.is_file() {
        return public_key_file(&path);
    }
    if arg.len() != 2 * audit_log::PUBLIC_KEY_LEN {
        return Err(ClientError::ReadFile {
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file, and not 130 hex digits either",
            ),
        });
    }
    public_key_hex(arg)
}

/// A file holding the key's hex (`audit-public-key.hex`).
fn public_key_file(path: &std::path::Path) -> Result<PublicKey> {
    public_key_hex(&super::settings::read_small(path, 4096)?)
}

fn public_key_hex(text: &str) -> Result<PublicKey> {
    PublicKey::from_hex(&text.trim().to_ascii_lowercase()).map_err(|_| {
        ClientError::Usage("the audit public key is not the hex of a 65-byte P-256 point")
    })
}
