//! `kmsctl client ...`: a tenant's enrolled principals over the admin API: enroll (CA-issued),
//! pin a certificate the KMS CA did not issue (vCenter's self-signed one: a pending claim and
//! its one-time enrollment token), renew the token, bind a claim (operators), sign vCenter's
//! CSR, list, enable, disable, and the optional KMIP Credential password (read from a file or
//! piped stdin, never argv).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::json;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::admin::connect;
use super::output::{self, Table};
use super::settings::{Global, read_small};
use super::{Console, Exit};
use crate::admin::{EnrolledClient, Enrollment, SignedCertificate};
use crate::error::{ClientError, Result};

/// Largest password file read (the server takes at most 1024 bytes).
const MAX_PASSWORD_FILE: u64 = 4096;
/// Largest certificate or CSR file `client pin` and `client sign-csr` read (the admin API
/// takes request bodies of at most 64 KiB).
const MAX_CERT_FILE: u64 = 64 * 1024;

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
    /// Enrolls a principal whose certificate the KMS client CA issues: it must carry
    /// urn:kms:principal:<role>:<tenant>:<name> (kms-certs client, or client sign-csr).
    Enroll {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Client name.
        #[arg(long)]
        name: String,
        /// Role.
        #[arg(long, value_enum, default_value_t = RoleArg::KmipClient)]
        role: RoleArg,
    },
    /// Claims a certificate the KMS CA did not issue (vCenter's self-signed one) for a new
    /// kmip-client. The claim binds when the certificate's holder sends, over KMIP, Username =
    /// the client name and Password = the one-time token printed here (vCenter: the key
    /// provider's password settings), or when an operator runs `client bind`.
    Pin {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Client name (the KMIP Username that binds the claim).
        #[arg(long)]
        name: String,
        /// The certificate to pin (PEM), as vCenter shows it. (--cert is your own.)
        #[arg(long, value_name = "FILE")]
        pin_cert: PathBuf,
    },
    /// A new one-time enrollment token for a pending pin claim (the old one stops working).
    ClaimToken {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Client name.
        #[arg(long)]
        name: String,
    },
    /// Operators: binds a pending pin claim without its token, after checking out of band
    /// that the certificate with this SHA-256 fingerprint is the tenant's.
    Bind {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Client name.
        #[arg(long)]
        name: String,
        /// SHA-256 of the certificate, hex (':' separators allowed).
        #[arg(long)]
        fingerprint: String,
    },
    /// Has the KMS CA sign a CSR (vCenter's "New CSR") for an enrolled CA-issued kmip-client;
    /// writes the certificate (and with --ca-out the CA certificate) to new files.
    SignCsr {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Client name.
        #[arg(long)]
        name: String,
        /// The certificate request (PEM).
        #[arg(long, value_name = "FILE")]
        csr: PathBuf,
        /// Where to write the signed certificate (a new file).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Where to write the KMS CA certificate (a new file).
        #[arg(long, value_name = "FILE")]
        ca_out: Option<PathBuf>,
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
        ClientCmd::Enroll { tenant, name, role } => {
            let enrollment = Enrollment {
                name,
                role: Some(role.as_str().to_owned()),
                certificate: None,
            };
            vec![api.enroll(&tenant, &enrollment).await?]
        }
        ClientCmd::Pin {
            tenant,
            name,
            pin_cert,
        } => {
            let enrollment = Enrollment {
                name,
                role: None,
                certificate: Some(read_small(&pin_cert, MAX_CERT_FILE)?),
            };
            vec![api.enroll(&tenant, &enrollment).await?]
        }
        ClientCmd::ClaimToken { tenant, name } => {
            vec![api.renew_claim_token(&tenant, &name).await?]
        }
        ClientCmd::Bind {
            tenant,
            name,
            fingerprint,
        } => vec![api.bind_pin(&tenant, &name, &fingerprint).await?],
        ClientCmd::SignCsr {
            tenant,
            name,
            csr,
            out,
            ca_out,
        } => {
            if out.exists() || ca_out.as_ref().is_some_and(|p| p.exists()) {
                return Err(ClientError::Usage(
                    "the --out or --ca-out file exists; it is never overwritten",
                ));
            }
            let request = read_small(&csr, MAX_CERT_FILE)?;
            let signed = api.sign_csr(&tenant, &name, &request).await?;
            write_new(&out, signed.certificate.as_bytes())?;
            if let Some(path) = &ca_out {
                write_new(path, signed.ca.as_bytes())?;
            }
            signed_report(console, settings.json, &signed, &out)?;
            return Ok(Exit::Success);
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
        for c in &clients {
            if let Some(token) = &c.claim_token {
                output::line(
                    console.out,
                    &format!(
                        "enrollment token (shown once; KMIP Username {}, Password this token): {}",
                        output::clean(&c.name),
                        output::clean(token.expose())
                    ),
                )?;
            }
        }
    }
    Ok(Exit::Success)
}

/// What `client sign-csr` prints.
fn signed_report(
    console: &mut Console<'_>,
    json: bool,
    signed: &SignedCertificate,
    out: &Path,
) -> Result<()> {
    if json {
        output::json(
            console.out,
            &json!({
                "certificate_file": out.display().to_string(),
                "fingerprint": signed.fingerprint,
                "principal": signed.principal,
                "not_after": signed.not_after,
            }),
        )?;
    } else {
        output::line(
            console.out,
            &format!(
                "{}: {} (SHA-256 {}, until {})",
                out.display(),
                output::clean(&signed.principal),
                output::clean(&signed.fingerprint),
                output::clean(signed.not_after.as_deref().unwrap_or("-"))
            ),
        )?;
    }
    Ok(())
}

/// Creates `path` (it must not exist) and writes `bytes`: certificates are public.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let write_error = |source| ClientError::WriteFile {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(write_error)?;
    file.write_all(bytes).map_err(write_error)?;
    file.sync_all().map_err(write_error)
}

fn client_table(clients: &[EnrolledClient]) -> Table {
    let mut table = Table::new(&[
        "NAME",
        "ROLE",
        "IDENTITY",
        "PIN",
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
            c.pin.clone(),
            Some(c.enabled.to_string()),
            Some(if c.has_password { "set" } else { "-" }.to_owned()),
            c.fingerprint.clone(),
            c.created_at.clone(),
        ]);
    }
    table
}

/// SHA-256 of the first certificate in a PEM file, lowercase hex: the fingerprint a pin claim
/// names and `client bind --fingerprint` approves.
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
