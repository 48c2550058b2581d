//! The VM routes of the platform layer (`docs/PLATFORM.md`): the eligibility check the console
//! asks before it encrypts a VM, the encrypted-VM registry (the platform view of the keys
//! vCenter made, by the `x-Identifier` / `x-Component` / `x-Name` attributes it sets, see
//! `docs/VMWARE.md`), and the replication check. The two checks change nothing; their verdict
//! is the call's audit record (`reason`), with the VM (or LUN) it is about as its object.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::inventory::custom_text;
use super::{AdminState, now, rfc3339};
use crate::command_log::AuditScope;
use crate::platform::eligibility::{self, ReplicationMode, TenantFacts, VmFacts, printable};
use crate::store::records::ObjectRecord;

/// Seconds per day.
const DAY: i64 = 86_400;
/// Most VMs one replication check may name (a LUN's VMs).
const MAX_CHECKED_VMS: usize = 1000;
/// The `x-Component` vCenter sets on a VM's key.
const VM_COMPONENT: &str = "Virtual Machine";
/// The refusal code of Global Mirror on an encrypted VM.
const ENCRYPTED_ON_GLOBAL_MIRROR: &str = "encrypted_vm_global_mirror";

/// `POST /v1/tenants/{tenant}/vms/eligibility`: may the console encrypt this VM now. Answers
/// `{"eligible": bool, "failed": [{"code", "message"}]}`.
pub(crate) async fn eligibility(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<VmFacts>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let Json(facts) = body.map_err(|_| {
        ApiError::BadRequest("invalid VM facts: see docs/ADMIN-API.md for the fields and values")
    })?;
    facts.validate().map_err(ApiError::BadRequest)?;
    scope.note_object(&format!("vm:{}", facts.vm_id));
    let platform = state.kms.platform();
    let known = TenantFacts {
        subscribed: state
            .kms
            .store()
            .platform_policy(&tenant)?
            .advanced_protection,
        key_provider: platform.is_key_provider(&tenant, &facts.vcenter)?,
    };
    let failed = eligibility::assess(&facts, known);
    scope.note_detail(eligibility::verdict_text(&failed));
    let failed: Vec<_> = failed
        .iter()
        .map(|p| serde_json::json!({ "code": p.code(), "message": p.message() }))
        .collect();
    Ok(Json(serde_json::json!({
        "tenant": tenant,
        "vm_id": facts.vm_id,
        "eligible": failed.is_empty(),
        "failed": failed,
    })))
}

/// One KEK of a VM.
#[derive(Debug, Serialize)]
pub(crate) struct KekView {
    uid: String,
    state: String,
    created_at: Option<String>,
    age_days: i64,
    /// Backup sets holding it.
    held_by: Vec<String>,
}

/// An encrypted VM: the keys vCenter bound to it, the current one first.
#[derive(Debug, Serialize)]
pub(crate) struct VmView {
    vm_id: String,
    vm_name: Option<String>,
    /// The KEK in use: the newest key of the VM that is not destroyed.
    kek_uid: Option<String>,
    /// Its state.
    state: Option<String>,
    /// Its age in days.
    key_age_days: Option<i64>,
    /// When the VM last got a new KEK (the current one's creation), if it had one before.
    last_rekey: Option<String>,
    /// The current KEK is older than the tenant's maximum KEK age.
    rekey_due: bool,
    /// Backup sets holding any of its keys.
    held_by: Vec<String>,
    keks: Vec<KekView>,
}

/// The tenant's keys of VMs, by VM identifier.
fn vm_keys(
    state: &AdminState,
    tenant: &str,
) -> Result<BTreeMap<String, Vec<Arc<ObjectRecord>>>, ApiError> {
    let mut vms: BTreeMap<String, Vec<Arc<ObjectRecord>>> = BTreeMap::new();
    state.kms.store().for_each_object_of(tenant, |record| {
        let attrs = crate::ops::attribute_model::others(&record);
        if custom_text(&attrs, "x-Component").as_deref() == Some(VM_COMPONENT)
            && let Some(id) = custom_text(&attrs, "x-Identifier")
        {
            vms.entry(id).or_default().push(Arc::new(record));
        }
        true
    })?;
    Ok(vms)
}

fn view(
    state: &AdminState,
    vm_id: String,
    mut keys: Vec<Arc<ObjectRecord>>,
    max_age_days: Option<u32>,
    now: i64,
) -> Result<VmView, ApiError> {
    // Newest first.
    keys.sort_by(|a, b| {
        (b.attributes.initial_date, &b.uid).cmp(&(a.attributes.initial_date, &a.uid))
    });
    let vm_name = keys
        .iter()
        .find_map(|k| custom_text(&crate::ops::attribute_model::others(k), "x-Name"));
    let mut keks = Vec::with_capacity(keys.len());
    let mut held_by = Vec::new();
    for k in &keys {
        let holds: Vec<String> = state
            .kms
            .store()
            .holds_on(&k.uid)?
            .into_iter()
            .map(|(set, _)| set)
            .collect();
        held_by.extend(holds.iter().cloned());
        let key_state = crate::ops::state::effective(k, now);
        keks.push(KekView {
            uid: k.uid.clone(),
            state: key_state.name().unwrap_or("Unknown").to_owned(),
            created_at: rfc3339(k.attributes.initial_date),
            age_days: (now - k.attributes.initial_date).div_euclid(DAY),
            held_by: holds,
        });
    }
    held_by.sort();
    held_by.dedup();
    let current = keys.iter().zip(&keks).find(|(k, _)| k.material.is_some());
    let age = current.map(|(_, v)| v.age_days);
    Ok(VmView {
        vm_id,
        vm_name,
        kek_uid: current.map(|(k, _)| k.uid.clone()),
        state: current.map(|(_, v)| v.state.clone()),
        key_age_days: age,
        last_rekey: current
            .filter(|_| keys.len() > 1)
            .and_then(|(k, _)| rfc3339(k.attributes.initial_date)),
        rekey_due: match (age, max_age_days) {
            (Some(age), Some(max)) => age >= i64::from(max),
            _ => false,
        },
        held_by,
        keks,
    })
}

/// `GET /v1/tenants/{tenant}/vms`: the tenant's encrypted VMs.
pub(crate) async fn list(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let max_age = state.kms.store().platform_policy(&tenant)?.max_kek_age_days;
    let now = now();
    let mut vms = Vec::new();
    for (id, keys) in vm_keys(&state, &tenant)? {
        vms.push(view(&state, id, keys, max_age, now)?);
    }
    let due = vms.iter().filter(|v| v.rekey_due).count();
    Ok(Json(serde_json::json!({
        "tenant": tenant,
        "vms": vms,
        "rekey_due": due,
    })))
}

/// `GET /v1/tenants/{tenant}/vms/{vm}`: one encrypted VM (404 "no such VM" if no key is bound
/// to it).
pub(crate) async fn one(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<VmView>, ApiError> {
    let Path((tenant, vm)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let max_age = state.kms.store().platform_policy(&tenant)?.max_kek_age_days;
    let keys = vm_keys(&state, &tenant)?
        .remove(&vm)
        .ok_or(ApiError::NoSuchVm)?;
    Ok(Json(view(&state, vm, keys, max_age, now())?))
}

/// `POST /v1/tenants/{tenant}/replication/check` body: the mode the replication service is
/// about to enable on a VM, or on a LUN's VMs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplicationCheck {
    mode: ReplicationMode,
    vm_ids: Vec<String>,
    #[serde(default)]
    lun: Option<String>,
    /// Asks to enable the mode despite a refusal: recorded, and refused all the same (an
    /// encrypted VM on Global Mirror would be unrecoverable in the other AZ).
    #[serde(default)]
    r#override: bool,
}

/// `POST /v1/tenants/{tenant}/replication/check`: `{"allowed": bool, "refused": [...]}`.
/// Global Mirror is refused for every VM with a KEK that is not destroyed.
pub(crate) async fn replication_check(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    Extension(scope): Extension<Arc<AuditScope>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<ReplicationCheck>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let Json(check) = body.map_err(|_| ApiError::BadRequest("invalid JSON body"))?;
    if check.vm_ids.is_empty() || check.vm_ids.len() > MAX_CHECKED_VMS {
        return Err(ApiError::BadRequest("vm_ids must name 1 to 1000 VMs"));
    }
    if !check.vm_ids.iter().all(|v| printable(v))
        || check.lun.as_deref().is_some_and(|l| !printable(l))
    {
        return Err(ApiError::BadRequest(
            "vm_ids and lun must be 1 to 256 printable characters",
        ));
    }
    let subject = match (&check.lun, check.vm_ids.as_slice()) {
        (Some(lun), _) => format!("lun:{lun}"),
        (None, [one]) => format!("vm:{one}"),
        (None, many) => format!("vms:{}", many.len()),
    };
    scope.note_object(&subject);
    let mut refused = Vec::new();
    if check.mode == ReplicationMode::GlobalMirror {
        let vms = vm_keys(&state, &tenant)?;
        for vm in &check.vm_ids {
            let bound = vms
                .get(vm)
                .and_then(|keys| keys.iter().find(|k| k.material.is_some()));
            if let Some(kek) = bound {
                refused.push(serde_json::json!({
                    "vm_id": vm,
                    "kek_uid": kek.uid,
                    "code": ENCRYPTED_ON_GLOBAL_MIRROR,
                    "message": "the VM is encrypted: Global Mirror is not compatible with encrypted VMs",
                }));
            }
        }
    }
    let allowed = refused.is_empty();
    let verdict = match (allowed, check.r#override) {
        (true, _) => "allowed".to_owned(),
        (false, false) => format!("refused: {ENCRYPTED_ON_GLOBAL_MIRROR} x{}", refused.len()),
        (false, true) => format!(
            "override refused: {ENCRYPTED_ON_GLOBAL_MIRROR} x{}",
            refused.len()
        ),
    };
    scope.note_detail(verdict);
    Ok(Json(serde_json::json!({
        "tenant": tenant,
        "mode": check.mode,
        "allowed": allowed,
        "override_refused": !allowed && check.r#override,
        "refused": refused,
    })))
}
