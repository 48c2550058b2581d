//! The tenancy service: the admin use cases (tenants, enrollment, suspension, passwords,
//! Domain Key rotation) written once, over the store, the command log and (for Domain Keys)
//! the key hierarchy. The admin API, `kmsd dev` seeding and the offline `kmsd
//! enroll-operator` all use it, so each writes the same commands, each in the audit scope its
//! caller names.

use tracing::info;

use crate::command_log::{AuditScope, CommandLog, CommitError};
use crate::keys::{KeyError, Keys};
use crate::store::records::{
    ClientIdentity, ClientRecord, DomainKeyVersion, ObjectRecord, Role, TenantRecord,
};
use crate::store::{Command, Rejection, Store, StoreError};

/// Errors of administrative actions (tenant creation, enrollment).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A change was not committed (or not yet audited).
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// The HSM or key hierarchy failed.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The change conflicts with the current state.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// A name does not follow the label rules.
    #[error("invalid name: {0}")]
    InvalidName(#[from] certs::Error),
    /// No such client is enrolled.
    #[error("no such client")]
    NoSuchClient,
    /// A password could not be hashed.
    #[error("password hashing failed")]
    Password(#[source] argon2::password_hash::Error),
    /// The HSM is not open here (an offline command cannot make or re-seal Domain Keys).
    #[error("HSM not open")]
    NoHsm,
    /// A blocking task (password hashing) did not finish.
    #[error("background task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// The tenancy service over one node's parts.
#[derive(Clone, Copy, Debug)]
pub struct Tenancy<'a> {
    store: &'a Store,
    log: &'a CommandLog,
    keys: Option<&'a Keys>,
}

impl<'a> Tenancy<'a> {
    /// The service of a running node.
    pub fn new(store: &'a Store, log: &'a CommandLog, keys: &'a Keys) -> Self {
        Self {
            store,
            log,
            keys: Some(keys),
        }
    }

    /// The service of an offline command: the HSM is not open (enrollment and tenant state
    /// only; Domain Key changes answer [`AdminError::NoHsm`]).
    pub fn offline(store: &'a Store, log: &'a CommandLog) -> Self {
        Self {
            store,
            log,
            keys: None,
        }
    }

    fn keys(&self) -> Result<&'a Keys, AdminError> {
        self.keys.ok_or(AdminError::NoHsm)
    }

    /// Creates a tenant with a fresh Domain Key (version 1) made in the HSM.
    pub async fn create_tenant(
        &self,
        scope: &AuditScope,
        id: &str,
        now: i64,
    ) -> Result<TenantRecord, AdminError> {
        certs::identity::TenantId::new(id)?;
        let wrapped = self.keys()?.new_domain_key(1).await?;
        let record = TenantRecord {
            id: id.to_owned(),
            suspended: false,
            created_at: now,
            domain_keys: vec![DomainKeyVersion {
                version: 1,
                wrapped,
                created_at: now,
            }],
        };
        self.log
            .commit(scope, Command::CreateTenant(record.clone()))
            .await??;
        info!(tenant = id, "tenant created");
        Ok(record)
    }

    /// Suspends (`true`) or resumes (`false`) a tenant. Identity is re-derived for every
    /// request, so a suspension refuses the tenant's next request, on open connections too.
    pub async fn set_tenant_suspended(
        &self,
        scope: &AuditScope,
        id: &str,
        suspended: bool,
    ) -> Result<TenantRecord, AdminError> {
        self.log
            .commit(
                scope,
                Command::SetTenantSuspended {
                    tenant: id.to_owned(),
                    suspended,
                },
            )
            .await??;
        info!(tenant = id, suspended, "tenant suspension changed");
        let record = self.store.tenant(id)?.ok_or(Rejection::NoSuchTenant)?;
        Ok(TenantRecord::clone(&record))
    }

    /// Enrolls (or re-enrolls) a client.
    pub async fn enroll_client(
        &self,
        scope: &AuditScope,
        client: ClientRecord,
    ) -> Result<(), AdminError> {
        certs::identity::validate_label(certs::LabelKind::Name, &client.name)?;
        self.log.commit(scope, Command::PutClient(client)).await??;
        Ok(())
    }

    /// Enrolls a KMIP client of `tenant` recognised by its CA-issued principal URI.
    pub async fn enroll_ca_issued(
        &self,
        scope: &AuditScope,
        tenant: &str,
        name: &str,
        role: Role,
        now: i64,
    ) -> Result<(), AdminError> {
        self.enroll_client(
            scope,
            ClientRecord {
                tenant: Some(tenant.to_owned()),
                name: name.to_owned(),
                role,
                identity: ClientIdentity::CaIssued,
                enabled: true,
                password_hash: None,
                created_at: now,
            },
        )
        .await
    }

    /// Enrolls an operator (no tenant) recognised by its CA-issued principal URI
    /// `urn:kms:principal:operator:-:<name>`.
    pub async fn enroll_operator(
        &self,
        scope: &AuditScope,
        name: &str,
        now: i64,
    ) -> Result<(), AdminError> {
        self.enroll_client(
            scope,
            ClientRecord {
                tenant: None,
                name: name.to_owned(),
                role: Role::Operator,
                identity: ClientIdentity::CaIssued,
                enabled: true,
                password_hash: None,
                created_at: now,
            },
        )
        .await
    }

    /// Enables or disables a client. Identity is re-derived for every request (and pinned
    /// certificates are checked at every handshake), so a disabled client is refused at once.
    pub async fn set_client_enabled(
        &self,
        scope: &AuditScope,
        tenant: Option<&str>,
        name: &str,
        enabled: bool,
    ) -> Result<ClientRecord, AdminError> {
        self.change_client(scope, tenant, name, |c| c.enabled = enabled)
            .await
    }

    /// Sets (`Some`) or clears (`None`) a client's KMIP Credential password, stored as an
    /// Argon2id hash (computed on the blocking pool). The password is never logged.
    pub async fn set_client_password(
        &self,
        scope: &AuditScope,
        tenant: Option<&str>,
        name: &str,
        password: Option<zeroize::Zeroizing<String>>,
    ) -> Result<ClientRecord, AdminError> {
        let hash = match password {
            Some(p) => Some(
                tokio::task::spawn_blocking(move || crate::credential::hash(&p))
                    .await
                    .map_err(AdminError::Task)?
                    .map_err(AdminError::Password)?,
            ),
            None => None,
        };
        self.change_client(scope, tenant, name, move |c| c.password_hash = hash.clone())
            .await
    }

    async fn change_client(
        &self,
        scope: &AuditScope,
        tenant: Option<&str>,
        name: &str,
        change: impl Fn(&mut ClientRecord),
    ) -> Result<ClientRecord, AdminError> {
        let key = crate::store::records::client_key(tenant, name);
        let current = self.store.client(&key)?.ok_or(AdminError::NoSuchClient)?;
        let mut client = ClientRecord::clone(&current);
        change(&mut client);
        self.log
            .commit(scope, Command::PutClient(client.clone()))
            .await??;
        info!(
            tenant = tenant.unwrap_or("-"),
            client = name,
            enabled = client.enabled,
            "client changed"
        );
        Ok(client)
    }

    /// Domain Key rotation, step 1 as a cluster job: makes the next Domain Key version in the
    /// HSM and, in one replicated batch, adds it and starts job `job_id` (refused while a job
    /// of the tenant runs). The leader of the moment drives the job (`admin::rotation`).
    pub async fn start_rotation(
        &self,
        scope: &AuditScope,
        tenant: &str,
        job_id: &str,
        started_by: String,
        now: i64,
    ) -> Result<crate::store::jobs::RotationJob, AdminError> {
        use crate::store::jobs::{JobPhase, RotationJob};
        let record = self.store.tenant(tenant)?.ok_or(Rejection::NoSuchTenant)?;
        let version = record
            .current_domain_key()
            .map_or(1, |d| d.version.saturating_add(1));
        let wrapped = self.keys()?.new_domain_key(version).await?;
        let job = RotationJob {
            id: job_id.to_owned(),
            tenant: tenant.to_owned(),
            to_version: version,
            phase: JobPhase::Running,
            total: 0,
            resealed: 0,
            started_at: now,
            updated_at: now,
            finished_at: None,
            error: None,
            started_by,
        };
        self.log
            .commit(
                scope,
                Command::Batch(vec![
                    Command::AddDomainKey {
                        tenant: tenant.to_owned(),
                        key: DomainKeyVersion {
                            version,
                            wrapped,
                            created_at: now,
                        },
                    },
                    Command::StartRotation(Box::new(job.clone())),
                ]),
            )
            .await??;
        info!(tenant, version, job = job_id, "domain key rotation started");
        Ok(job)
    }

    /// Domain Key rotation, step 2: re-seals one object's material under the tenant's current
    /// Domain Key (in the HSM; plaintext never leaves zeroizing memory). Returns `false` when
    /// there was nothing to do (no material, already current, or the object is gone). A
    /// concurrent change of the object is retried.
    pub async fn reseal_object(
        &self,
        scope: &AuditScope,
        tenant: &str,
        uid: &str,
    ) -> Result<bool, AdminError> {
        let resealed = crate::command_log::retry_stale(|| async move {
            let record = self.store.tenant(tenant)?.ok_or(Rejection::NoSuchTenant)?;
            let current = record
                .current_domain_key()
                .ok_or(KeyError::MissingDomainKey(0))?
                .version;
            let Some(object) = self.store.object(uid)?.filter(|o| o.tenant == tenant) else {
                return Ok(Ok(false));
            };
            let Some(material) = object.material.as_ref() else {
                return Ok(Ok(false));
            };
            if material.sealed.dk_version() == current {
                return Ok(Ok(false));
            }
            let sealed = self.keys()?.reseal(&record, uid, &material.sealed).await?;
            let mut next = ObjectRecord::clone(&object);
            next.revision = object.revision + 1;
            if let Some(m) = next.material.as_mut() {
                m.sealed = sealed;
            }
            let outcome = self
                .log
                .commit(
                    scope,
                    Command::PutObject {
                        expected_revision: Some(object.revision),
                        record: Box::new(next),
                    },
                )
                .await?;
            Ok::<_, AdminError>(outcome.map(|()| true))
        })
        .await??;
        Ok(resealed)
    }

    /// Counts the tenant's objects whose material is sealed under another Domain Key version
    /// than the current one, and lists their UIDs.
    pub fn objects_on_old_domain_keys(&self, tenant: &str) -> Result<Vec<String>, AdminError> {
        let record = self.store.tenant(tenant)?.ok_or(Rejection::NoSuchTenant)?;
        let current = record
            .current_domain_key()
            .ok_or(KeyError::MissingDomainKey(0))?
            .version;
        let mut out = Vec::new();
        self.store.for_each_object_of(tenant, |o| {
            if o.material
                .as_ref()
                .is_some_and(|m| m.sealed.dk_version() != current)
            {
                out.push(o.uid);
            }
            true
        })?;
        Ok(out)
    }

    /// Domain Key rotation, step 3: drops every Domain Key version but the current one from
    /// the tenant record, and the unwrapped copies from the HSM. Returns the number of objects
    /// still on old versions (nothing changed) unless every blob is resealed. The store checks
    /// this again atomically when it applies the retirement, and refuses material sealed under
    /// a retired version, so no object can end up unreadable.
    pub async fn retire_domain_keys(
        &self,
        scope: &AuditScope,
        tenant: &str,
    ) -> Result<usize, AdminError> {
        let left = self.objects_on_old_domain_keys(tenant)?.len();
        if left > 0 {
            return Ok(left);
        }
        let record = self.store.tenant(tenant)?.ok_or(Rejection::NoSuchTenant)?;
        let Some(current) = record.current_domain_key().map(|d| d.version) else {
            return Ok(0);
        };
        if record.domain_keys.len() > 1 {
            match self
                .log
                .commit(
                    scope,
                    Command::RetireDomainKeys {
                        tenant: tenant.to_owned(),
                        keep_from: current,
                    },
                )
                .await?
            {
                Ok(()) => {}
                // An object sealed under an old version appeared meanwhile: try again later.
                Err(Rejection::DomainKeyInUse) => {
                    return Ok(self.objects_on_old_domain_keys(tenant)?.len().max(1));
                }
                Err(r) => return Err(r.into()),
            }
        }
        let tenant_id = tenant.to_owned();
        self.keys()?
            .hsm()
            .drop_domain_key_async(tenant_id)
            .await
            .map_err(KeyError::from)?;
        info!(tenant, "old domain key versions retired");
        Ok(0)
    }
}
