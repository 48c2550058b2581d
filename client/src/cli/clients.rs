//! `kmsctl client ...`: a tenant's enrolled principals over the admin API: enroll (CA-issued,
//! or pinned by fingerprint: vCenter's self-signed certificate), list, enable, disable, and
//! the optional KMIP Credential password (read from a file or piped stdin, never argv).

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::json;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::admin::connect;
use super::output::{self, Table};
use super::settings::{Global, read_small};
use super::{Console, Exit};
use crate::admin::{EnrolledClient, Enrollment};
use crate::error::{ClientError, Result};

/// Largest password file read (the server takes at most 1024 bytes).
const MAX_PASSWORD_FILE: u64 = 4096;
/// Largest certificate file `client enroll --pin-cert` reads.
const MAX_CERT_FILE: u64 = 1024 * 1024;

/// `kmsctl client`.
#[derive(Debug, clap::Args)]
pub(super) struct ClientArgs {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: ClientCmd,
}

/// `--role` of an enrolled principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum RoleArg {
    /// A KMIP client (vCenter, a service).
    KmipClient,
    /// Administers its tenant.
    TenantAdmin,
    /// Reads its tenant.
    Auditor,
}

impl RoleArg {
    fn as_str(self) -> &'static str {
        match self {
            Self::KmipClient => "kmip-client",
            Self::TenantAdmin => "tenant-admin",
            Self::Auditor => "auditor",
        }
    }
}

#[derive(Debug, Subcommand)]
enum ClientCmd {
    /// Enrolls a client. Without --fingerprint or --pin-cert, its certificate must be issued
    /// by the KMS client CA and name urn:kms:principal:<role>:<tenant>:<name>; with one, any
    /// certificate with that SHA-256 (vCenter's self-signed one) is admitted as this client.
    Enroll {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Client name.
        #[arg(long)]
        name: String,
        /// SHA-256 of the client's certificate, hex (':' separators allowed).
        #[arg(long, conflicts_with = "pin_cert")]
        fingerprint: Option<String>,
        /// The client's certificate (PEM); its SHA-256 fingerprint is pinned. (--cert is your
        /// own certificate.)
        #[arg(long, value_name = "FILE")]
        pin_cert: Option<PathBuf>,
        /// Role.
        #[arg(long, value_enum, default_value_t = RoleArg::KmipClient)]
        role: RoleArg,
    },
    /// Lists a tenant's clients, admins and auditors.
    List {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
    },
    /// Disables a client: refused from its next request, open connections included.
    Disable {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Client name.
        #[arg(long)]
        name: String,
    },
    /// Enables a disabled client.
    Enable {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Client name.
        #[arg(long)]
        name: String,
    },
    /// Sets (or with --clear removes) the client's KMIP Credential password. The password is
    /// read from --password-file or from stdin (piped, not typed: a terminal is refused);
    /// never from the command line.
    Password {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Client name.
        #[arg(long)]
        name: String,
        /// Remove the password.
        #[arg(long, conflicts_with = "password_file")]
        clear: bool,
        /// File holding the password (one trailing newline is dropped).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

pub(super) async fn client(args: ClientArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, settings) = connect(&args.global, console)?;
    let clients = match args.command {
        ClientCmd::Enroll {
            tenant,
            name,
            fingerprint,
            pin_cert,
            role,
        } => {
            let fingerprint = match (fingerprint, pin_cert) {
                (Some(f), _) => Some(f),
                (None, Some(path)) => Some(fingerprint_of(&path)?),
                (None, None) => None,
            };
            let enrollment = Enrollment {
                name,
                role: Some(role.as_str().to_owned()),
                fingerprint,
            };
            vec![api.enroll(&tenant, &enrollment).await?]
        }
        ClientCmd::List { tenant } => api.clients(&tenant).await?,
        ClientCmd::Disable { tenant, name } => {
            vec![api.set_client_enabled(&tenant, &name, false).await?]
        }
        ClientCmd::Enable { tenant, name } => {
            vec![api.set_client_enabled(&tenant, &name, true).await?]
        }
        ClientCmd::Password {
            tenant,
            name,
            clear,
            password_file,
        } => {
            let password = if clear {
                None
            } else {
                Some(read_password(password_file.as_deref(), console)?)
            };
            let password = password.as_ref().map(|p| p.as_str());
            vec![api.set_password(&tenant, &name, password).await?]
        }
    };
    if settings.json {
        output::json(console.out, &json!({ "clients": clients }))?;
    } else {
        client_table(&clients).write(console.out)?;
    }
    Ok(Exit::Success)
}

fn client_table(clients: &[EnrolledClient]) -> Table {
    let mut table = Table::new(&[
        "NAME",
        "ROLE",
        "IDENTITY",
        "ENABLED",
        "PASSWORD",
        "FINGERPRINT",
        "CREATED",
    ]);
    for c in clients {
        table.row(vec![
            Some(c.name.clone()),
            Some(c.role.clone()),
            Some(c.identity.clone()),
            Some(c.enabled.to_string()),
            Some(if c.has_password { "set" } else { "-" }.to_owned()),
            c.fingerprint.clone(),
            c.created_at.clone(),
        ]);
    }
    table
}

/// SHA-256 of the first certificate in a PEM file, lowercase hex.
pub fn fingerprint_of(path: &Path) -> Result<String> {
    let pem = read_small(path, MAX_CERT_FILE)?;
    let cert = rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .ok_or_else(|| ClientError::MissingPem {
            path: path.to_path_buf(),
            what: "certificate",
        })?
        .map_err(|source| ClientError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(hex::encode(Sha256::digest(cert.as_ref())))
}

/// The password from `file`, else from piped stdin; one trailing newline dropped.
fn read_password(file: Option<&Path>, console: &mut Console<'_>) -> Result<Zeroizing<String>> {
    let mut text = Zeroizing::new(match file {
        Some(path) => read_small(path, MAX_PASSWORD_FILE)?,
        None => {
            if console.input_is_terminal {
                return Err(ClientError::Usage(
                    "pipe the password into stdin or give --password-file (it is not read from a terminal)",
                ));
            }
            let mut buf =
                String::with_capacity(usize::try_from(MAX_PASSWORD_FILE).unwrap_or(0) + 1);
            console
                .input
                .take(MAX_PASSWORD_FILE + 1)
                .read_to_string(&mut buf)
                .map_err(|source| ClientError::ReadFile {
                    path: "<stdin>".into(),
                    source,
                })?;
            if buf.len() as u64 > MAX_PASSWORD_FILE {
                return Err(ClientError::Usage("password longer than 4096 bytes"));
            }
            buf
        }
    });
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(ClientError::Usage("the password is empty"));
    }
    Ok(text)
}
