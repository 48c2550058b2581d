//! The platform layer (`docs/PLATFORM.md`): what the cloud's platform services (the console
//! that encrypts VMs, backup, replication) ask of the KMS, written once over the store and the
//! command log, like the tenancy service: the platform services' enrollment, each tenant's
//! platform policy, backup holds, and the facts the eligibility rule needs. Every change is
//! one audited command in the scope its caller names; who may ask what is decided by
//! `policy::platform` before any of this runs.

pub mod eligibility;
pub mod steward;
#[cfg(test)]
mod steward_tests;

use crate::command_log::{AuditScope, CommandLog};
use crate::policy::platform::Service;
use crate::store::platform::{HoldRecord, PlatformPolicy, PolicyChange};
use crate::store::records::{ClientIdentity, ClientRecord, Role, client_key};
use crate::store::{Command, Store};
use crate::tenancy::AdminError;

/// Most keys one backup hold may name.
pub const MAX_HOLD_KEYS: usize = 1000;

/// The platform service over one node's store and command log.
#[derive(Clone, Copy, Debug)]
pub struct Platform<'a> {
    store: &'a Store,
    log: &'a CommandLog,
}

impl<'a> Platform<'a> {
    /// The service over `store` and `log`.
    pub fn new(store: &'a Store, log: &'a CommandLog) -> Self {
        Self { store, log }
    }

    /// Enrolls (or re-enrolls, enabled) a platform service, recognised by its CA-issued
    /// principal URI `urn:kms:principal:platform-service:-:<service>`.
    pub async fn enroll_service(
        &self,
        scope: &AuditScope,
        service: Service,
        now: i64,
    ) -> Result<ClientRecord, AdminError> {
        let record = ClientRecord {
            tenant: None,
            name: service.as_str().to_owned(),
            role: Role::PlatformService,
            identity: ClientIdentity::CaIssued,
            enabled: true,
            password_hash: None,
            created_at: now,
        };
        self.log
            .commit(scope, Command::PutClient(record.clone()))
            .await??;
        Ok(record)
    }

    /// Every enrolled platform service.
    pub fn services(&self) -> Result<Vec<ClientRecord>, AdminError> {
        Ok(self
            .store
            .clients_of(None)?
            .into_iter()
            .filter(|c| c.role == Role::PlatformService)
            .collect())
    }

    /// Makes one change to `tenant`'s platform policy; answers the policy as it now is.
    pub async fn change_policy(
        &self,
        scope: &AuditScope,
        tenant: &str,
        change: PolicyChange,
        now: i64,
    ) -> Result<PlatformPolicy, AdminError> {
        self.log
            .commit(
                scope,
                Command::SetPlatformPolicy {
                    tenant: tenant.to_owned(),
                    change,
                    at: now,
                },
            )
            .await??;
        Ok(self.store.platform_policy(tenant)?)
    }

    /// Places a backup hold (its keys checked in the same replicated step).
    pub async fn place_hold(&self, scope: &AuditScope, hold: HoldRecord) -> Result<(), AdminError> {
        self.log
            .commit(scope, Command::PlaceHold(Box::new(hold)))
            .await??;
        Ok(())
    }

    /// Releases a backup hold.
    pub async fn release_hold(
        &self,
        scope: &AuditScope,
        tenant: &str,
        backup_set: &str,
    ) -> Result<(), AdminError> {
        self.log
            .commit(
                scope,
                Command::ReleaseHold {
                    tenant: tenant.to_owned(),
                    backup_set: backup_set.to_owned(),
                },
            )
            .await??;
        Ok(())
    }

    /// Cancels the pending destruction of key `uid` of `tenant`: the key returns to its state
    /// before the destroy, its material never erased.
    pub async fn cancel_destroy(
        &self,
        scope: &AuditScope,
        tenant: &str,
        uid: &str,
        now: i64,
    ) -> Result<(), AdminError> {
        self.log
            .commit(
                scope,
                Command::CancelDestroy {
                    tenant: tenant.to_owned(),
                    uid: uid.to_owned(),
                    at: now,
                },
            )
            .await??;
        Ok(())
    }

    /// Whether `vcenter` is a key provider of `tenant`: an enrolled, enabled KMIP client with
    /// an identity that identifies it (CA-issued, or a bound pin; a pending claim does not).
    pub fn is_key_provider(&self, tenant: &str, vcenter: &str) -> Result<bool, AdminError> {
        Ok(self
            .store
            .client(&client_key(Some(tenant), vcenter))?
            .is_some_and(|c| {
                c.enabled
                    && c.role == Role::KmipClient
                    && !matches!(c.identity, ClientIdentity::PendingPin { .. })
            }))
    }
}
