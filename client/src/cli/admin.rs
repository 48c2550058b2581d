//! `kmsctl` commands over the admin API (`docs/ADMIN-API.md`): tenants, the node, clients,
//! the key inventory, key actions, Domain Key rotation, health (clients: [`super::clients`]).

use std::time::Duration;

use clap::Subcommand;
use serde_json::json;

use super::output::{self, Table};
use super::settings::{Global, Settings};
use super::values::{Reason, StateArg};
use super::{Console, Exit};
use crate::admin::{AdminClient, Key, KeyAction, KeyFilter, Tenant};
use crate::error::Result;

/// Inventory page size asked for.
const PAGE: u32 = 1000;

pub(super) fn connect(global: &Global, console: &Console<'_>) -> Result<(AdminClient, Settings)> {
    let settings = Settings::resolve(global, console.env)?;
    let config = settings.client_config(&settings.admin_addr)?;
    Ok((
        AdminClient::new(settings.admin_addr.clone(), &config)?,
        settings,
    ))
}

/// `kmsctl tenant`.
#[derive(Debug, clap::Args)]
pub(super) struct TenantArgs {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: TenantCmd,
}

#[derive(Debug, Subcommand)]
enum TenantCmd {
    #[command(flatten)]
    Admin(TenantAdminCmd),
    /// Pulls every object a foreign KMIP server shows into a tenant here (as its KMIP client).
    ///
    /// Locate and Get on the foreign server, KMIP 2.1 Import here under the same UID with the
    /// origin in x-kms-migrated-from ("<host:port> <uid>"). Symmetric keys and secret data
    /// travel wrapped under a transfer key (made here, copied there, destroyed on both sides
    /// afterwards) where the foreign server can wrap them, else plain with a warning on stderr
    /// (--require-wrapping: a failure instead). One line per object, a summary; exit 1 when an
    /// object failed. Idempotent: objects pulled before are reported as already present.
    Pull(super::pull::PullArgs),
}

/// The `tenant` commands of the admin API.
#[derive(Debug, Subcommand)]
enum TenantAdminCmd {
    /// Creates a tenant and its first Domain Key in the HSM (operators).
    Create {
        /// Tenant ID (lowercase letters, digits, '-').
        id: String,
    },
    /// Lists every tenant (operators).
    List,
    /// Shows one tenant (operators, its own admins and auditors).
    Show {
        /// Tenant ID.
        id: String,
    },
    /// Suspends a tenant: its clients and admins are refused from their next request.
    Suspend {
        /// Tenant ID.
        id: String,
    },
    /// Resumes a suspended tenant.
    Resume {
        /// Tenant ID.
        id: String,
    },
    /// Exports every key of the tenant as a signed bundle of wrapped keys (with the
    /// two-person rule: asks for the export, a second admin approves, then `--job` takes it).
    Export(super::migration::ExportArgs),
    /// Approves another tenant admin's export (the two-person rule).
    ApproveExport {
        /// Tenant ID.
        id: String,
        /// The export job.
        job: String,
    },
    /// Lists the tenant's export jobs.
    Exports {
        /// Tenant ID.
        id: String,
    },
    /// Imports a bundle into the tenant, all or nothing, keeping every key's UID.
    Import(super::migration::ImportArgs),
    /// Makes the tenant's import key pair (RSA-3072, the private key never extractable) and
    /// writes its public key for the exporting side.
    ImportKey {
        /// Tenant ID.
        id: String,
        /// Where to write the public key (PEM).
        #[arg(long, value_name = "PEM")]
        out: std::path::PathBuf,
    },
}

pub(super) async fn tenant(args: TenantArgs, console: &mut Console<'_>) -> Result<Exit> {
    let command = match args.command {
        TenantCmd::Pull(pull) => return super::pull::run(pull, &args.global, console).await,
        TenantCmd::Admin(command) => command,
    };
    let (api, settings) = connect(&args.global, console)?;
    let tenants = match command {
        TenantAdminCmd::Export(a) => return super::migration::export(&api, a, console).await,
        TenantAdminCmd::Import(a) => {
            return super::migration::import(&api, a, console.out).await;
        }
        TenantAdminCmd::ImportKey { id, out } => {
            return super::migration::import_key(&api, &id, &out, console.out).await;
        }
        TenantAdminCmd::ApproveExport { id, job } => {
            output::json(console.out, &api.approve_export(&id, &job).await?)?;
            return Ok(Exit::Success);
        }
        TenantAdminCmd::Exports { id } => {
            output::json(console.out, &api.exports(&id).await?)?;
            return Ok(Exit::Success);
        }
        TenantAdminCmd::Create { id } => vec![api.create_tenant(&id).await?],
        TenantAdminCmd::List => api.tenants().await?,
        TenantAdminCmd::Show { id } => vec![api.tenant(&id).await?],
        TenantAdminCmd::Suspend { id } => vec![api.suspend(&id).await?],
        TenantAdminCmd::Resume { id } => vec![api.resume(&id).await?],
    };
    if settings.json {
        output::json(console.out, &json!({ "tenants": tenants }))?;
    } else {
        tenant_table(&tenants).write(console.out)?;
    }
    Ok(Exit::Success)
}

fn tenant_table(tenants: &[Tenant]) -> Table {
    let mut table = Table::new(&["TENANT", "SUSPENDED", "DOMAIN KEY", "VERSIONS", "CREATED"]);
    for t in tenants {
        let versions: Vec<String> = t.domain_key_versions.iter().map(u32::to_string).collect();
        table.row(vec![
            Some(t.id.clone()),
            Some(t.suspended.to_string()),
            t.domain_key_version.map(|v| v.to_string()),
            Some(versions.join(",")),
            t.created_at.clone(),
        ]);
    }
    table
}

/// `kmsctl node`.
#[derive(Debug, clap::Args)]
pub(super) struct NodeArgs {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: NodeCmd,
}

#[derive(Debug, Subcommand)]
enum NodeCmd {
    /// Node ID, version, Root of Trust check value, HSM token, counts, cache, rotations.
    Status,
    /// The Prometheus metrics text (operators).
    Metrics,
    /// Re-read the node's certificate files (server, admin, node, client CA) without a restart
    /// (operators); a bad file is refused and the certificates in use stay.
    ReloadCertificates,
}

pub(super) async fn node(args: NodeArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, settings) = connect(&args.global, console)?;
    match args.command {
        NodeCmd::Status => {
            let s = api.node_status().await?;
            if settings.json {
                output::json(console.out, &s)?;
            } else {
                let mut table = Table::new(&["FIELD", "VALUE"]);
                let rows = [
                    ("node id", s.node_id.to_string()),
                    ("version", s.version.clone()),
                    ("root of trust KCV", s.root_kcv.clone()),
                    ("HSM token", s.hsm_token.clone()),
                    ("uptime", format!("{} s", s.uptime_secs)),
                    ("tenants", s.counts.tenants.to_string()),
                    ("clients", s.counts.clients.to_string()),
                    ("objects", s.counts.objects.to_string()),
                    ("cached keys", s.counts.cached_keys.to_string()),
                    (
                        "key cache hits/misses",
                        format!("{}/{}", s.key_cache.hits, s.key_cache.misses),
                    ),
                    ("rotations running", s.rotations_running.to_string()),
                ];
                for (k, v) in rows {
                    table.row(vec![Some(k.to_owned()), Some(v)]);
                }
                table.write(console.out)?;
            }
        }
        NodeCmd::ReloadCertificates => {
            let r = api.reload_certificates().await?;
            if settings.json {
                output::json(console.out, &r)?;
            } else {
                let mut table = Table::new(&["ROLE", "FILE", "SHA-256", "NOT AFTER"]);
                for c in &r.certificates {
                    let not_after = time::OffsetDateTime::from_unix_timestamp(c.not_after)
                        .ok()
                        .and_then(|t| {
                            t.format(&time::format_description::well_known::Rfc3339)
                                .ok()
                        })
                        .unwrap_or_else(|| c.not_after.to_string());
                    table.row(vec![
                        Some(c.role.clone()),
                        Some(c.file.clone()),
                        Some(c.fingerprint_sha256.clone()),
                        Some(not_after),
                    ]);
                }
                table.write(console.out)?;
            }
        }
        NodeCmd::Metrics => {
            let text = api.metrics().await?;
            console
                .out
                .write_all(text.as_bytes())
                .map_err(output::stdout_error)?;
        }
    }
    Ok(Exit::Success)
}

/// `kmsctl inventory`.
#[derive(Debug, clap::Args)]
pub(super) struct InventoryArgs {
    #[command(flatten)]
    global: Global,
    /// Tenant ID.
    #[arg(long)]
    tenant: String,
    /// Only keys in this state.
    #[arg(long, value_enum)]
    state: Option<StateArg>,
    /// Only keys whose x-Component equals this ("Virtual Machine", "ESXi Server").
    #[arg(long)]
    component: Option<String>,
    /// Only keys whose x-Name or KMIP Name equals this.
    #[arg(long)]
    name: Option<String>,
    /// Only keys unchanged (Last Change Date) for at least this many days.
    #[arg(long, value_name = "DAYS")]
    stale_days: Option<u32>,
    /// Show at most this many keys [default: all, fetched 1000 per request].
    #[arg(long)]
    limit: Option<usize>,
}

pub(super) async fn inventory(args: InventoryArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, settings) = connect(&args.global, console)?;
    let wanted = args.limit.unwrap_or(usize::MAX);
    let mut filter = KeyFilter {
        state: args.state.map(|s| s.xml().to_owned()),
        component: args.component,
        name: args.name,
        stale_days: args.stale_days,
        limit: Some(PAGE),
        after: None,
    };
    let mut keys: Vec<Key> = Vec::new();
    loop {
        let page = api.keys(&args.tenant, &filter).await?;
        keys.extend(page.keys);
        match page.next {
            Some(next) if keys.len() < wanted && filter.after.as_ref() != Some(&next) => {
                filter.after = Some(next);
            }
            _ => break,
        }
    }
    keys.truncate(wanted);
    if settings.json {
        output::json(console.out, &json!({ "keys": keys }))?;
    } else {
        key_table(&keys).write(console.out)?;
    }
    Ok(Exit::Success)
}

fn key_table(keys: &[Key]) -> Table {
    let mut table = Table::new(&[
        "UID",
        "STATE",
        "CREATED",
        "ALG",
        "BITS",
        "X-COMPONENT",
        "X-NAME",
        "X-IDENTIFIER",
    ]);
    for k in keys {
        table.row(vec![
            Some(k.uid.clone()),
            Some(k.state.clone()),
            k.initial_date.clone(),
            k.algorithm.clone(),
            k.length.map(|l| l.to_string()),
            k.vmware.component.clone(),
            k.vmware.name.clone(),
            k.vmware.identifier.clone(),
        ]);
    }
    table
}

/// `kmsctl key-admin`.
#[derive(Debug, clap::Args)]
pub(super) struct KeyAdminArgs {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: KeyAdminCmd,
}

#[derive(Debug, Subcommand)]
enum KeyAdminCmd {
    /// Shows one key of the inventory.
    Show {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Unique Identifier.
        uid: String,
    },
    /// Pre-Active to Active.
    Activate {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Unique Identifier.
        uid: String,
    },
    /// Revokes: compromise reasons make it Compromised, others Deactivated.
    Revoke {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Unique Identifier.
        uid: String,
        /// Revocation Reason Code.
        #[arg(long, value_enum, default_value_t = Reason::Unspecified)]
        reason: Reason,
        /// Revocation Message.
        #[arg(long)]
        message: Option<String>,
    },
    /// Destroys the key (Active keys must be revoked first): its material is erased at once,
    /// or, when the tenant has a destroy grace, kept until the grace ends (see cancel-destroy).
    Destroy {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Unique Identifier.
        uid: String,
    },
    /// Cancels a pending destruction before its grace ends: the key returns to its state
    /// before the destroy, its material intact.
    CancelDestroy {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Unique Identifier.
        uid: String,
    },
    /// A new key of the same length takes over the names and attributes; shows the new key.
    Rekey {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Unique Identifier.
        uid: String,
    },
    /// Trusts a wrapping key: Sensitive keys may then leave wrapped under it (a Sensitive or
    /// non-Extractable AES key, or a registered RSA public key, with Wrap Key and not Unwrap Key).
    TrustWrapping {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Unique Identifier.
        uid: String,
    },
    /// Withdraws that trust.
    DistrustWrapping {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
        /// Unique Identifier.
        uid: String,
    },
}

pub(super) async fn key_admin(args: KeyAdminArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, settings) = connect(&args.global, console)?;
    let key = match args.command {
        KeyAdminCmd::Show { tenant, uid } => api.key(&tenant, &uid).await?,
        KeyAdminCmd::Activate { tenant, uid } => {
            api.key_action(&tenant, &uid, KeyAction::Activate, None, None)
                .await?
        }
        KeyAdminCmd::Revoke {
            tenant,
            uid,
            reason,
            message,
        } => {
            api.key_action(
                &tenant,
                &uid,
                KeyAction::Revoke,
                Some(reason.xml()),
                message.as_deref(),
            )
            .await?
        }
        KeyAdminCmd::Destroy { tenant, uid } => {
            api.key_action(&tenant, &uid, KeyAction::Destroy, None, None)
                .await?
        }
        KeyAdminCmd::Rekey { tenant, uid } => {
            api.key_action(&tenant, &uid, KeyAction::Rekey, None, None)
                .await?
        }
        KeyAdminCmd::TrustWrapping { tenant, uid } => {
            api.key_action(&tenant, &uid, KeyAction::TrustWrapping, None, None)
                .await?
        }
        KeyAdminCmd::DistrustWrapping { tenant, uid } => {
            api.key_action(&tenant, &uid, KeyAction::DistrustWrapping, None, None)
                .await?
        }
        KeyAdminCmd::CancelDestroy { tenant, uid } => {
            api.key_action(&tenant, &uid, KeyAction::CancelDestroy, None, None)
                .await?
        }
    };
    if settings.json {
        output::json(console.out, &key)?;
    } else {
        key_table(std::slice::from_ref(&key)).write(console.out)?;
    }
    Ok(Exit::Success)
}

/// `kmsctl rotate-domain-key`.
#[derive(Debug, clap::Args)]
pub(super) struct RotateArgs {
    #[command(flatten)]
    global: Global,
    /// Tenant ID.
    #[arg(long)]
    tenant: String,
    /// Start the job and print its ID without waiting for it.
    #[arg(long)]
    no_wait: bool,
    /// Milliseconds between progress polls.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    poll_ms: u64,
}

pub(super) async fn rotate(args: RotateArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, settings) = connect(&args.global, console)?;
    let started = api.rotate_domain_key(&args.tenant).await?;
    let _ = writeln!(
        console.err,
        "rotating {}: Domain Key version {}, job {}",
        output::clean(&args.tenant),
        started.domain_key_version,
        output::clean(&started.job)
    );
    if args.no_wait {
        if settings.json {
            output::json(console.out, &started)?;
        } else {
            output::line(console.out, &output::clean(&started.job))?;
        }
        return Ok(Exit::Success);
    }
    let mut last = None;
    let job = loop {
        let job = api.job(&args.tenant, &started.job).await?;
        let progress = (job.resealed, job.total);
        if last != Some(progress) {
            let _ = writeln!(console.err, "re-sealed {}/{}", job.resealed, job.total);
            last = Some(progress);
        }
        if job.is_finished() {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(args.poll_ms)).await;
    };
    if settings.json {
        output::json(console.out, &job)?;
    } else {
        let mut table = Table::new(&["JOB", "STATE", "VERSION", "RESEALED", "TOTAL", "FINISHED"]);
        table.row(vec![
            Some(job.job.clone()),
            Some(job.state.clone()),
            Some(job.domain_key_version.to_string()),
            Some(job.resealed.to_string()),
            Some(job.total.to_string()),
            job.finished_at.clone(),
        ]);
        table.write(console.out)?;
    }
    if job.state == "completed" {
        Ok(Exit::Success)
    } else {
        let _ = writeln!(
            console.err,
            "kmsctl: rotation {}: {}",
            output::clean(&job.state),
            output::clean(job.error.as_deref().unwrap_or("no reason given"))
        );
        Ok(Exit::Failure)
    }
}

/// `kmsctl health`.
#[derive(Debug, clap::Args)]
pub(super) struct HealthArgs {
    #[command(flatten)]
    global: Global,
}

pub(super) async fn health(args: HealthArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, settings) = connect(&args.global, console)?;
    let live = api.healthz().await?;
    let ready = api.readyz().await;
    let (ready_text, exit) = match &ready {
        Ok(r) => (r.status.clone(), Exit::Success),
        Err(e) => (super::one_line(e), Exit::Failure),
    };
    if settings.json {
        output::json(
            console.out,
            &json!({ "live": live.status, "ready": ready.as_ref().ok(), "error": ready.as_ref().err().map(|_| &ready_text) }),
        )?;
    } else {
        let mut table = Table::new(&["CHECK", "RESULT"]);
        table.row(vec![Some("live".to_owned()), Some(live.status)]);
        table.row(vec![Some("ready".to_owned()), Some(ready_text)]);
        if let Ok(r) = &ready {
            table.row(vec![Some("store".to_owned()), r.store.clone()]);
            table.row(vec![Some("hsm".to_owned()), r.hsm.clone()]);
            table.row(vec![Some("audit".to_owned()), r.audit.clone()]);
            table.row(vec![Some("audit disk".to_owned()), r.audit_disk.clone()]);
            table.row(vec![
                Some("certificates".to_owned()),
                r.certificates.clone(),
            ]);
            for warning in &r.warnings {
                table.row(vec![Some("warning".to_owned()), Some(warning.clone())]);
            }
        }
        table.write(console.out)?;
    }
    Ok(exit)
}
