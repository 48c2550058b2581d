//! The key inventory of a tenant: what each managed object is (KMIP 1.4 section 3 attributes),
//! its state and dates, its Names, and the VMware attributes vCenter sets (`x-Component`,
//! `x-Identifier`, `x-Name`: which VM or host the key belongs to; see `docs/VMWARE.md`).
//! Filters `?state=&component=&name=&stale_days=`, paging `?limit=&after=` in UID order.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use kmip_codec::enums::{
    CryptographicAlgorithm, ObjectType, RevocationReasonCode, State as KeyState,
};
use kmip_codec::model::Attribute;
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::{AdminState, now, rfc3339};
use crate::store::records::ObjectRecord;

/// Page size when `limit` is absent.
const DEFAULT_LIMIT: usize = 100;
/// Largest page.
const MAX_LIMIT: usize = 1000;
/// Seconds per day, for `stale_days`.
const DAY: i64 = 86_400;

/// Query of `GET /v1/tenants/{tenant}/keys`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Filter {
    /// KMIP State by XML name (`Active`, `PreActive`, `Deactivated`, `Compromised`, ...).
    state: Option<String>,
    /// `x-Component` equals this (`Virtual Machine`, `ESXi Server`).
    component: Option<String>,
    /// `x-Name` or a KMIP Name equals this.
    name: Option<String>,
    /// Last Change Date at least this many days ago.
    stale_days: Option<u32>,
    /// Page size (1..=1000, default 100).
    limit: Option<usize>,
    /// Start after this UID (the previous page's `next`).
    after: Option<String>,
}

/// The VMware attributes of a key.
#[derive(Debug, Default, Serialize)]
pub(crate) struct VmwareView {
    component: Option<String>,
    identifier: Option<String>,
    name: Option<String>,
}

/// One key in the inventory. No material, no digest.
#[derive(Debug, Serialize)]
pub(crate) struct KeyView {
    uid: String,
    object_type: String,
    state: String,
    algorithm: Option<String>,
    length: Option<i32>,
    /// Domain Key version the material is sealed under (`null` once destroyed).
    domain_key_version: Option<u32>,
    initial_date: Option<String>,
    last_change_date: Option<String>,
    activation_date: Option<String>,
    deactivation_date: Option<String>,
    compromise_date: Option<String>,
    destroy_date: Option<String>,
    revocation_reason: Option<String>,
    names: Vec<String>,
    /// Marked by a tenant admin as trusted for wrapping (`ops::wrap_trust`).
    trusted_for_wrapping: bool,
    vmware: VmwareView,
    /// Pending destruction (two-stage destroy): when the material is erased, unless the
    /// destroy is cancelled first. Shown by the single-key reads and the key actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    erase_at: Option<String>,
}

pub(crate) fn custom_text(attrs: &[Attribute], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|a| a.name.to_1x().as_deref() == Some(name))
        .and_then(|a| a.value.as_text().map(str::to_owned))
}

fn enum_name(name: Option<&'static str>, value: u32) -> String {
    name.map_or_else(|| format!("0x{value:08x}"), str::to_owned)
}

impl KeyView {
    pub(crate) fn of(record: &ObjectRecord, now: i64) -> Self {
        let a = &record.attributes;
        let attrs = crate::ops::attribute_model::others(record);
        let date = |d: Option<i64>| d.and_then(rfc3339);
        Self {
            uid: record.uid.clone(),
            object_type: enum_name(ObjectType(record.object_type).name(), record.object_type),
            state: enum_name(
                crate::ops::state::effective(record, now).name(),
                record.state,
            ),
            algorithm: a
                .cryptographic_algorithm
                .map(|v| enum_name(CryptographicAlgorithm(v).name(), v)),
            length: a.cryptographic_length,
            domain_key_version: record.material.as_ref().map(|m| m.sealed.dk_version()),
            initial_date: rfc3339(a.initial_date),
            last_change_date: rfc3339(a.last_change_date),
            activation_date: date(a.activation_date),
            deactivation_date: date(a.deactivation_date),
            compromise_date: date(a.compromise_date),
            destroy_date: date(a.destroy_date),
            revocation_reason: a
                .revocation_reason
                .as_ref()
                .map(|(code, _)| enum_name(RevocationReasonCode(*code).name(), *code)),
            names: a.names.clone(),
            trusted_for_wrapping: crate::ops::wrap_trust::is_trusted(record),
            vmware: VmwareView {
                component: custom_text(&attrs, "x-Component"),
                identifier: custom_text(&attrs, "x-Identifier"),
                name: custom_text(&attrs, "x-Name"),
            },
            erase_at: None,
        }
    }

    /// The view of one key with its pending destruction, if any.
    pub(crate) fn with_pending(
        record: &ObjectRecord,
        now: i64,
        store: &crate::store::Store,
    ) -> Result<Self, ApiError> {
        let mut view = Self::of(record, now);
        view.erase_at = store
            .pending_destroy(&record.uid)?
            .and_then(|p| rfc3339(p.erase_at));
        Ok(view)
    }

    fn matches(&self, f: &Filter, record: &ObjectRecord, now: i64) -> bool {
        if f.state.as_deref().is_some_and(|s| s != self.state) {
            return false;
        }
        if f.component
            .as_deref()
            .is_some_and(|c| self.vmware.component.as_deref() != Some(c))
        {
            return false;
        }
        if let Some(n) = f.name.as_deref()
            && self.vmware.name.as_deref() != Some(n)
            && !self.names.iter().any(|x| x == n)
        {
            return false;
        }
        if let Some(days) = f.stale_days
            && record.attributes.last_change_date > now - i64::from(days) * DAY
        {
            return false;
        }
        true
    }
}

/// `GET /v1/tenants/{tenant}/keys`: `{"keys": [...], "next": uid-or-null}`.
pub(crate) async fn list(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Filter>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(tenant) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let Query(filter) = query.map_err(|_| ApiError::BadRequest("invalid query"))?;
    if let Some(s) = filter.state.as_deref()
        && KeyState::from_name(s).is_none()
    {
        return Err(ApiError::BadRequest("unknown state"));
    }
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest("limit must be 1 to 1000"));
    }
    let now = now();
    let mut keys = Vec::new();
    let mut next = None;
    state.kms.store().for_each_object_of(&tenant, |record| {
        if filter
            .after
            .as_deref()
            .is_some_and(|a| record.uid.as_str() <= a)
        {
            return true;
        }
        let view = KeyView::of(&record, now);
        if !view.matches(&filter, &record, now) {
            return true;
        }
        if keys.len() == limit {
            next = keys.last().map(|k: &KeyView| k.uid.clone());
            return false;
        }
        keys.push(view);
        true
    })?;
    Ok(Json(serde_json::json!({ "keys": keys, "next": next })))
}

/// `GET /v1/tenants/{tenant}/keys/{uid}`.
pub(crate) async fn one(
    State(state): State<Arc<AdminState>>,
    _granted: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<KeyView>, ApiError> {
    let Path((tenant, uid)) = path.map_err(|_| ApiError::NoSuchRoute)?;
    let record = state
        .kms
        .store()
        .object(&uid)?
        .filter(|o| o.tenant == tenant)
        .ok_or(ApiError::NoSuchKey)?;
    Ok(Json(KeyView::with_pending(
        &record,
        now(),
        state.kms.store(),
    )?))
}
