//! The cluster's time-driven work (`docs/PLATFORM.md`, Time-driven work): a task on every node
//! that, while its node leads (a node alone always does), proposes what the clock has made
//! due, as audited commands through the one command log, each carrying the time it was decided
//! at so that every node applies it alike:
//! - the material of a key pending destruction whose grace ended is erased
//!   (`Command::EraseMaterial`);
//! - a backup hold whose retention ended is noticed once (`Notice::HoldExpired`);
//! - an in-service key (Pre-Active or Active, material kept) at least as old as its tenant's
//!   maximum KEK age is noticed once (`Notice::KekPastMaxAge`).
//!
//! Nothing is kept in the task's memory: what is due is read from the replicated store on
//! every pass, and every command is refused by apply when it is not due or was done already,
//! so a new leader simply carries on where the old one stopped, and a command proposed twice
//! (by an old and a new leader) changes the state once. Every node (leader or not) samples the
//! `kms_keys_past_max_age` gauge.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kmip_codec::enums::State;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::command_log::{AuditScope, CommandLog};
use crate::metrics::Metrics;
use crate::store::pending::{Notice, past_max_age};
use crate::store::{Command, Store, StoreError};

/// How often the task looks for due work.
pub const TICK: Duration = Duration::from_secs(1);

/// How often the maximum-age pass (which reads every key of the tenants that set a maximum)
/// runs; ages are counted in days.
pub const AGE_PASS_EVERY: Duration = Duration::from_secs(60);

/// Most commands one pass proposes (the rest are found by the next pass).
pub const MAX_PER_PASS: usize = 256;

/// The audit operation names of the task's writes.
pub const ERASE_OPERATION: &str = "erase after destroy grace";
/// See [`ERASE_OPERATION`].
pub const NOTICE_OPERATION: &str = "platform notice";

/// What one pass found.
#[derive(Debug, Default)]
pub struct Due {
    /// The commands to propose, each with its tenant.
    pub commands: Vec<(String, Command)>,
    /// Per tenant that sets a maximum KEK age (when the age pass ran): its in-service keys
    /// past it.
    pub past_max_age: Vec<(String, u64)>,
}

/// Finds what is due at `now`: erasures and expired holds always, keys past the maximum age
/// when `ages` (the slower pass). Reads only; deterministic in the store and `now`.
pub fn due(store: &Store, now: i64, ages: bool) -> Result<Due, StoreError> {
    let mut out = Due::default();
    for p in store.pending_destroys(None)? {
        if p.erase_at <= now {
            out.commands.push((
                p.tenant.clone(),
                Command::EraseMaterial {
                    tenant: p.tenant,
                    uid: p.uid,
                    at: now,
                },
            ));
        }
    }
    for tenant in store.tenants()? {
        let tenant = tenant.id;
        for hold in store.holds_of(&tenant)? {
            let notice = Notice::HoldExpired {
                backup_set: hold.backup_set,
            };
            if hold.retention_until <= now && !store.noticed(&tenant, &notice)? {
                out.commands.push((
                    tenant.clone(),
                    Command::Notice {
                        tenant: tenant.clone(),
                        notice,
                        at: now,
                    },
                ));
            }
        }
        if !ages {
            continue;
        }
        let max_days = store.platform_policy(&tenant)?.max_kek_age_days;
        if max_days.is_none() {
            out.past_max_age.push((tenant, 0));
            continue;
        }
        let mut past = Vec::new();
        store.for_each_object_of(&tenant, |o| {
            let in_service = o.state == State::ACTIVE.0 || o.state == State::PRE_ACTIVE.0;
            if in_service && o.material.is_some() && past_max_age(&o, max_days, now) {
                past.push(o.uid);
            }
            true
        })?;
        out.past_max_age.push((tenant.clone(), past.len() as u64));
        for uid in past {
            let notice = Notice::KekPastMaxAge { uid };
            if !store.noticed(&tenant, &notice)? {
                out.commands.push((
                    tenant.clone(),
                    Command::Notice {
                        tenant: tenant.clone(),
                        notice,
                        at: now,
                    },
                ));
            }
        }
    }
    Ok(out)
}

/// Whether this node should propose the cluster's time-driven work now.
pub fn leads(log: &CommandLog) -> bool {
    log.cluster().is_none_or(|node| node.is_leader())
}

/// Proposes `commands` (from [`due`]) in audited scopes filed in each tenant's chain, named
/// by this node's log `node`. Answers how many were applied; a refused one (done meanwhile, by
/// this leader or an earlier one) is skipped.
pub async fn propose(log: &CommandLog, node: &str, commands: Vec<(String, Command)>) -> usize {
    let mut applied = 0;
    for (tenant, command) in commands.into_iter().take(MAX_PER_PASS) {
        let operation = match command {
            Command::EraseMaterial { .. } => ERASE_OPERATION,
            _ => NOTICE_OPERATION,
        };
        let mut template = crate::audit::success(node, audit_log::Kind::Admin, operation);
        template.tenant = Some(tenant);
        template.principal = Some(audit_log::Principal::named("node", "steward"));
        let scope = AuditScope::cluster_task(template);
        match log.commit(&scope, command).await {
            Ok(Ok(())) => applied += 1,
            Ok(Err(rejection)) => debug!(%rejection, "time-driven command not applied"),
            Err(e) => {
                warn!(error = %e, "time-driven command not committed; retried next pass");
                break;
            }
        }
    }
    applied
}

/// Runs until `stop` turns true: every [`TICK`], samples the gauge and, while the node leads,
/// proposes what is due.
pub async fn run(
    store: Store,
    log: CommandLog,
    metrics: Arc<Metrics>,
    node: String,
    mut stop: watch::Receiver<bool>,
) {
    let mut ages_at: Option<Instant> = None;
    loop {
        tokio::select! {
            () = tokio::time::sleep(TICK) => {}
            _ = stop.changed() => return,
        }
        let ages = ages_at.is_none_or(|t| t.elapsed() >= AGE_PASS_EVERY);
        if ages {
            ages_at = Some(Instant::now());
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let found = match due(&store, now, ages) {
            Ok(found) => found,
            Err(e) => {
                warn!(error = %e, "reading the time-driven work failed");
                continue;
            }
        };
        if ages {
            metrics.keys_past_max_age(&found.past_max_age);
        }
        if found.commands.is_empty() || !leads(&log) {
            continue;
        }
        let applied = propose(&log, &node, found.commands).await;
        if applied > 0 {
            info!(applied, "time-driven commands applied");
        }
    }
}
