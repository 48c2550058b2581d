//! The platform commands (`docs/PLATFORM.md`): `vm check | list | show`, `hold place |
//! release | list | show`, `policy show | set`, `replication check`, `platform services |
//! enroll | key-providers`. Each is one admin API call; `--json` prints the server's answer as
//! it is, otherwise a table or the answer's main facts.

use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::admin::connect;
use super::output::{self, Table};
use super::settings::Global;
use super::{Console, Exit};
use crate::admin::ReplicationCheck;
use crate::error::{ClientError, Result};

/// A VM's power state.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Power {
    PoweredOff,
    PoweredOn,
    Suspended,
}

/// A replication mode.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    None,
    VmReplication,
    MetroMirror,
    GlobalMirror,
}

fn wire<T: ValueEnum>(v: T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().replace('-', "_"))
        .unwrap_or_default()
}

/// `kmsctl vm`.
#[derive(Debug, clap::Args)]
pub(super) struct VmArgs {
    #[command(flatten)]
    global: Global,
    /// Tenant ID (required).
    #[arg(long, global = true)]
    tenant: Option<String>,
    #[command(subcommand)]
    command: VmCmd,
}

#[derive(Debug, Subcommand)]
enum VmCmd {
    /// Whether the VM may be encrypted now: `eligible`, or each failed prerequisite with its
    /// code (exit 0 eligible, 1 not eligible).
    Check {
        /// vCenter's VM identifier.
        #[arg(long)]
        vm_id: String,
        /// The VM's name.
        #[arg(long)]
        vm_name: String,
        /// The enrolled name of the vCenter managing the VM.
        #[arg(long)]
        vcenter: String,
        /// Power state.
        #[arg(long, value_enum)]
        power_state: Power,
        /// Number of snapshots.
        #[arg(long, default_value_t = 0)]
        snapshots: u32,
        /// Replication mode.
        #[arg(long, value_enum, default_value = "none")]
        replication: Mode,
        /// Backup policy, if any.
        #[arg(long)]
        backup_policy: Option<String>,
    },
    /// The tenant's encrypted VMs: KEK, state, key age, holds.
    List,
    /// One encrypted VM with every KEK it had.
    Show {
        /// vCenter's VM identifier.
        vm_id: String,
    },
}

pub(super) async fn vm(args: VmArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, settings) = connect(&args.global, console)?;
    let tenant = &tenant_of(args.tenant)?;
    match args.command {
        VmCmd::Check {
            vm_id,
            vm_name,
            vcenter,
            power_state,
            snapshots,
            replication,
            backup_policy,
        } => {
            let facts = json!({
                "vm_id": vm_id,
                "vm_name": vm_name,
                "vcenter": vcenter,
                "power_state": wire(power_state),
                "snapshot_count": snapshots,
                "replication_mode": wire(replication),
                "backup_policy": backup_policy,
            });
            let answer = api.vm_eligibility(tenant, facts).await?;
            let eligible = answer["eligible"].as_bool() == Some(true);
            if settings.json {
                output::json(console.out, &answer)?;
            } else {
                let mut table = Table::new(&["VERDICT", "CODE", "MESSAGE"]);
                if eligible {
                    table.row(vec![Some("eligible".into()), None, None]);
                }
                for f in answer["failed"].as_array().into_iter().flatten() {
                    table.row(vec![
                        Some("not eligible".into()),
                        text(&f["code"]),
                        text(&f["message"]),
                    ]);
                }
                table.write(console.out)?;
            }
            return Ok(if eligible {
                Exit::Success
            } else {
                Exit::Failure
            });
        }
        VmCmd::List => {
            let answer = api.vms(tenant).await?;
            if settings.json {
                output::json(console.out, &answer)?;
            } else {
                let mut table = Table::new(&[
                    "VM",
                    "NAME",
                    "KEK",
                    "STATE",
                    "AGE_DAYS",
                    "REKEY_DUE",
                    "HELD_BY",
                ]);
                for v in answer["vms"].as_array().into_iter().flatten() {
                    table.row(vec![
                        text(&v["vm_id"]),
                        text(&v["vm_name"]),
                        text(&v["kek_uid"]),
                        text(&v["state"]),
                        text(&v["key_age_days"]),
                        text(&v["rekey_due"]),
                        list(&v["held_by"]),
                    ]);
                }
                table.write(console.out)?;
            }
        }
        VmCmd::Show { vm_id } => {
            let answer = api.vm(tenant, &vm_id).await?;
            output::json(console.out, &answer)?;
        }
    }
    Ok(Exit::Success)
}

/// `kmsctl hold`.
#[derive(Debug, clap::Args)]
pub(super) struct HoldArgs {
    #[command(flatten)]
    global: Global,
    /// Tenant ID (required).
    #[arg(long, global = true)]
    tenant: Option<String>,
    #[command(subcommand)]
    command: HoldCmd,
}

#[derive(Debug, Subcommand)]
enum HoldCmd {
    /// Holds the keys a backup set needs until its retention ends (backup service,
    /// operators): they cannot be destroyed meanwhile.
    Place {
        /// The backup set's identifier.
        #[arg(long)]
        backup_set: String,
        /// End of the retention (RFC 3339, e.g. 2027-06-30T00:00:00Z).
        #[arg(long)]
        until: String,
        /// The keys' Unique Identifiers.
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Releases a backup set's hold.
    Release {
        /// The backup set's identifier.
        backup_set: String,
    },
    /// The tenant's holds.
    List,
    /// The keys a backup set needs, and whether it can be restored now from this node.
    Show {
        /// The backup set's identifier.
        backup_set: String,
    },
}

pub(super) async fn hold(args: HoldArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, settings) = connect(&args.global, console)?;
    let tenant = &tenant_of(args.tenant)?;
    let answer = match args.command {
        HoldCmd::Place {
            backup_set,
            until,
            keys,
        } => api.place_hold(tenant, &backup_set, &keys, &until).await?,
        HoldCmd::Release { backup_set } => api.release_hold(tenant, &backup_set).await?,
        HoldCmd::Show { backup_set } => api.hold(tenant, &backup_set).await?,
        HoldCmd::List => {
            let answer = api.holds(tenant).await?;
            if !settings.json {
                let mut table = Table::new(&["BACKUP_SET", "KEYS", "UNTIL", "EXPIRED", "BY"]);
                for h in answer["holds"].as_array().into_iter().flatten() {
                    table.row(vec![
                        text(&h["backup_set"]),
                        h["keys"].as_array().map(|k| k.len().to_string()),
                        text(&h["retention_until"]),
                        text(&h["expired"]),
                        text(&h["placed_by"]),
                    ]);
                }
                table.write(console.out)?;
                return Ok(Exit::Success);
            }
            answer
        }
    };
    output::json(console.out, &answer)?;
    Ok(Exit::Success)
}

/// `kmsctl policy`.
#[derive(Debug, clap::Args)]
pub(super) struct PolicyArgs {
    #[command(flatten)]
    global: Global,
    /// Tenant ID (required).
    #[arg(long, global = true)]
    tenant: Option<String>,
    #[command(subcommand)]
    command: PolicyCmd,
}

#[derive(Debug, Subcommand)]
enum PolicyCmd {
    /// The tenant's platform policy: subscription, maximum KEK age, destroy grace, Domain Key
    /// rotation schedule.
    Show,
    /// Changes the subscription (operators, the console), the maximum KEK age or the destroy
    /// grace (operators, tenant admins).
    Set {
        /// Subscribes (`on`) or unsubscribes (`off`) the tenant to advanced protection.
        #[arg(long, value_parser = ["on", "off"])]
        advanced_protection: Option<String>,
        /// KEKs older than this many days are reported as due for a rekey; `none` clears it.
        #[arg(long)]
        max_kek_age_days: Option<String>,
        /// A destroyed key keeps its material this many seconds (cancellable with `kmsctl
        /// key-admin cancel-destroy`) before it is erased; 0 erases at once.
        #[arg(long)]
        destroy_grace_secs: Option<u32>,
        /// The cluster rotates the tenant's Domain Key by itself every this many days; `none`
        /// clears the schedule.
        #[arg(long)]
        domain_key_rotation_days: Option<String>,
    },
}

/// A `--...-days` value: a number of days, or `none` (`Some(None)`); `None` when not given.
fn days_arg(value: Option<&str>, usage: &'static str) -> Result<Option<Option<u32>>> {
    match value {
        None => Ok(None),
        Some("none") => Ok(Some(None)),
        Some(d) => d
            .parse::<u32>()
            .map(|d| Some(Some(d)))
            .map_err(|_| ClientError::Usage(usage)),
    }
}

pub(super) async fn policy(args: PolicyArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, _) = connect(&args.global, console)?;
    let tenant = &tenant_of(args.tenant)?;
    let mut answer = match args.command {
        PolicyCmd::Show => api.platform_policy(tenant).await?,
        PolicyCmd::Set {
            advanced_protection,
            max_kek_age_days,
            destroy_grace_secs,
            domain_key_rotation_days,
        } => {
            if advanced_protection.is_none()
                && max_kek_age_days.is_none()
                && destroy_grace_secs.is_none()
                && domain_key_rotation_days.is_none()
            {
                return Err(ClientError::Usage(
                    "give --advanced-protection, --max-kek-age-days, --destroy-grace-secs or \
                     --domain-key-rotation-days",
                ));
            }
            let days = days_arg(
                max_kek_age_days.as_deref(),
                "--max-kek-age-days takes a number of days or none",
            )?;
            let rotation = days_arg(
                domain_key_rotation_days.as_deref(),
                "--domain-key-rotation-days takes a number of days or none",
            )?;
            let mut answer = Value::Null;
            if let Some(on) = advanced_protection {
                answer = api.set_subscription(tenant, on == "on").await?;
            }
            if let Some(days) = days {
                answer = api.set_max_kek_age(tenant, days).await?;
            }
            if let Some(secs) = destroy_grace_secs {
                answer = api.set_destroy_grace(tenant, secs).await?;
            }
            if let Some(days) = rotation {
                answer = api.set_domain_key_rotation(tenant, days).await?;
            }
            answer
        }
    };
    if let Some(map) = answer.as_object_mut() {
        map.remove("changed_at");
    }
    output::json(console.out, &answer)?;
    Ok(Exit::Success)
}

/// `kmsctl replication`.
#[derive(Debug, clap::Args)]
pub(super) struct ReplicationArgs {
    #[command(flatten)]
    global: Global,
    /// Tenant ID (required).
    #[arg(long, global = true)]
    tenant: Option<String>,
    #[command(subcommand)]
    command: ReplicationCmd,
}

#[derive(Debug, Subcommand)]
enum ReplicationCmd {
    /// May this replication mode be enabled on these VMs (a LUN's VMs with --lun)? Global
    /// Mirror is refused for encrypted VMs (exit 0 allowed, 1 refused).
    Check {
        /// The mode to enable.
        #[arg(long, value_enum)]
        mode: Mode,
        /// The LUN the VMs are on.
        #[arg(long)]
        lun: Option<String>,
        /// Ask to enable it despite a refusal (recorded; refused all the same).
        #[arg(long)]
        r#override: bool,
        /// vCenter VM identifiers.
        #[arg(required = true)]
        vm_ids: Vec<String>,
    },
}

pub(super) async fn replication(args: ReplicationArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, _) = connect(&args.global, console)?;
    let ReplicationCmd::Check {
        mode,
        lun,
        r#override,
        vm_ids,
    } = args.command;
    let mode = wire(mode);
    let check = ReplicationCheck {
        mode: &mode,
        vm_ids: &vm_ids,
        lun: lun.as_deref(),
        r#override,
    };
    let answer = api
        .replication_check(&tenant_of(args.tenant)?, &check)
        .await?;
    output::json(console.out, &answer)?;
    Ok(if answer["allowed"].as_bool() == Some(true) {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// `kmsctl platform`.
#[derive(Debug, clap::Args)]
pub(super) struct PlatformArgs {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: PlatformCmd,
}

#[derive(Debug, Subcommand)]
enum PlatformCmd {
    /// The enrolled platform services (operators).
    Services,
    /// Enrolls a platform service (operators): its CA-issued certificate names
    /// `urn:kms:principal:platform-service:-:<name>`.
    Enroll {
        /// The service.
        #[arg(value_parser = ["console", "backup", "replication"])]
        name: String,
    },
    /// A tenant's key providers (its vCenters) with what this node saw of them.
    KeyProviders {
        /// Tenant ID.
        #[arg(long)]
        tenant: String,
    },
}

pub(super) async fn platform(args: PlatformArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, settings) = connect(&args.global, console)?;
    let answer = match args.command {
        PlatformCmd::Services => api.platform_services().await?,
        PlatformCmd::Enroll { name } => api.enroll_platform_service(&name).await?,
        PlatformCmd::KeyProviders { tenant } => {
            let answer = api.key_providers(&tenant).await?;
            if !settings.json {
                let mut table = Table::new(&[
                    "NAME",
                    "IDENTITY",
                    "CONFIGURED",
                    "LAST_REQUEST",
                    "CERT_DAYS_LEFT",
                ]);
                for p in answer["key_providers"].as_array().into_iter().flatten() {
                    table.row(vec![
                        text(&p["name"]),
                        text(&p["identity"]),
                        text(&p["configured"]),
                        text(&p["last_successful_request"]),
                        text(&p["certificate_days_left"]),
                    ]);
                }
                table.write(console.out)?;
                return Ok(Exit::Success);
            }
            answer
        }
    };
    output::json(console.out, &answer)?;
    Ok(Exit::Success)
}

/// The `--tenant` every tenant command needs.
fn tenant_of(tenant: Option<String>) -> Result<String> {
    tenant.ok_or(ClientError::Usage("--tenant is required"))
}

/// A JSON scalar as a cell (`None` for null).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A JSON array of strings as one cell.
fn list(v: &Value) -> Option<String> {
    let items: Vec<String> = v
        .as_array()?
        .iter()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .collect();
    (!items.is_empty()).then(|| items.join(","))
}

/// Seconds one `events --follow` call waits for an event (under the request timeout).
const FOLLOW_WAIT_SECS: u64 = 20;

/// `kmsctl events`.
#[derive(Debug, clap::Args)]
pub(super) struct EventsArgs {
    #[command(flatten)]
    global: Global,
    /// Tenant ID.
    #[arg(long)]
    tenant: String,
    /// Start after this cursor (a previous answer's `change`); 0: from the oldest kept.
    #[arg(long, default_value_t = 0)]
    after: u64,
    /// Keep waiting for new events, printing each as it comes (until interrupted).
    #[arg(long)]
    follow: bool,
}

/// Prints the tenant's events, one JSON object per line.
pub(super) async fn events(args: EventsArgs, console: &mut Console<'_>) -> Result<Exit> {
    let (api, _) = connect(&args.global, console)?;
    let mut after = args.after;
    loop {
        let wait = if args.follow { FOLLOW_WAIT_SECS } else { 0 };
        let page = api.events(&args.tenant, after, wait).await?;
        for event in page["events"].as_array().into_iter().flatten() {
            let line = serde_json::to_string(event).map_err(ClientError::Json)?;
            output::line(console.out, &line)?;
        }
        let next = page["next"].as_u64().unwrap_or(after);
        let drained = next == after;
        after = next;
        if drained && !args.follow {
            return Ok(Exit::Success);
        }
    }
}
