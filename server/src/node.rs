//! One running node: opens the HSM and the store, builds TLS, binds the KMIP listener and (when
//! configured) the admin API listener, and serves until told to stop. Tests start it on
//! `127.0.0.1:0`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kmip_codec::limits::Limits;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::config::Settings;
use crate::keys::Keys;
use crate::kms::{Kms, StorePins};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};
use crate::tls::{self, TlsError};

pub use crate::store::STORE_FILE;

/// Time given to open connections to finish after a shutdown request.
const DRAIN: Duration = Duration::from_secs(5);

/// Why a node could not start. Printed as one line by the binary.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The HSM could not be opened (module, token, PIN, root).
    #[error("HSM: {0}")]
    Hsm(#[from] hsm::Error),
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The Raft member could not start.
    #[error("cluster: {0}")]
    Cluster(#[from] crate::cluster::ClusterStartError),
    /// The audit trail could not be opened or brought level with the store.
    #[error("audit: {0}")]
    Audit(#[from] crate::audit::OutboxError),
    /// The data or audit directory, or a file in them, is open to the group or others.
    #[error("{0}")]
    Permissions(#[from] crate::permissions::PermissionError),
    /// TLS material is missing or unusable.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// The data directory or listener failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// A node serving KMIP.
#[derive(Debug)]
pub struct Node {
    kms: Arc<Kms>,
    addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    admin_task: Option<JoinHandle<()>>,
    audit_task: JoinHandle<()>,
    /// The cluster's time-driven work (`platform::steward`), proposing while this node leads.
    steward_task: JoinHandle<()>,
    /// Drives the Domain Key rotation jobs while this node leads (`admin::rotation`).
    rotation_task: JoinHandle<()>,
    forward_task: Option<JoinHandle<()>>,
    raft_addr: Option<SocketAddr>,
    raft_task: Option<JoinHandle<()>>,
    certificates: Arc<tls::Certificates>,
}

impl Node {
    /// Opens everything named in `settings` and starts serving.
    pub async fn start(settings: Settings) -> Result<Node, StartError> {
        // Before anything is opened: the node's files are its own (crate::permissions).
        for (dir, what) in [
            (&settings.data_dir, "creating the data directory"),
            (&settings.audit.dir, "creating the audit directory"),
        ] {
            crate::permissions::create_private_dir(dir)
                .map_err(|source| StartError::Io { what, source })?;
            crate::permissions::check_private_tree(dir)?;
        }
        let hsm_config = settings.hsm.clone();
        // The audit signing key lives in the HSM; made on first start.
        let hsm = tokio::task::spawn_blocking(move || {
            let hsm = hsm::Hsm::open(&hsm_config)?;
            hsm.create_audit_key()?;
            Ok::<_, hsm::Error>(hsm)
        })
        .await
        .map_err(|e| StartError::Io {
            what: "opening the HSM",
            source: std::io::Error::other(e),
        })??;
        let started = std::time::Instant::now();
        let store = Store::open(&settings.data_dir.join(STORE_FILE))?;
        let store_ms = started.elapsed().as_millis();
        let audit = crate::audit::open_with_store(
            &settings.audit.dir,
            settings.audit.config.clone(),
            &store,
        )
        .await?;
        tracing::info!(
            store_ms,
            audit_ms = started.elapsed().as_millis() - store_ms,
            "store and audit trail open"
        );
        let (stop, stopped) = watch::channel(false);
        let certificates = Arc::new(tls::Certificates::load(&settings.tls)?);
        let cluster = match &settings.cluster {
            Some(c) => Some(
                crate::cluster::start(
                    crate::cluster::StartArgs {
                        node_id: settings.node_id,
                        settings: c,
                        tls: &certificates,
                        data_dir: &settings.data_dir,
                        store: store.clone(),
                        audit: crate::command_log::AuditHandOff::new(audit.clone())
                            .for_state_machine(),
                        kcv: hsm.root_kcv().to_string(),
                    },
                    stopped.clone(),
                )
                .await?,
            ),
            None => None,
        };
        let (log, raft) = match cluster {
            Some(started) => {
                tracing::info!(raft_addr = %started.addr, node = settings.node_id, "cluster member started");
                (
                    crate::command_log::CommandLog::raft(started.node),
                    Some((started.addr, started.task)),
                )
            }
            None => (
                crate::command_log::CommandLog::local(&store, audit.clone())?,
                None,
            ),
        };
        let verifier = tls::client_verifier(&certificates, Arc::new(StorePins(store.clone())));
        let tls_config = tls::server_config(
            &certificates,
            verifier.clone(),
            settings.tls.session_cache_entries,
        )?;
        let metrics = Arc::new(Metrics::new());
        let keys = Keys::new(hsm, settings.key_cache_entries, metrics.clone());
        let limits = Limits::DEFAULT.with_max_message_size(settings.limits.max_message_size);
        let kms = Kms::new(crate::kms::Parts {
            store,
            log,
            keys,
            metrics,
            verifier: verifier.clone(),
            limits,
            node_id: settings.node_id,
            audit,
        })
        .with_limits(settings.service_limits.clone())
        .with_refusal_settings(settings.audit.refusals);
        let (raft_addr, raft_task) = raft.unzip();
        let kms = Arc::new(kms);
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Io {
                    what: "binding the KMIP listener",
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Io {
            what: "reading the listener address",
            source,
        })?;
        let forward_task = match &settings.audit.forward {
            Some(f) => {
                let client_auth = f
                    .client_auth
                    .as_ref()
                    .map(|(c, k)| (c.as_path(), k.as_path()));
                let forwarding = crate::audit::forward::Forwarding {
                    address: f.address.clone(),
                    server_name: f.server_name.clone(),
                    tls: tls::forward_client_config(&f.ca_file, client_auth)?,
                    payload: f.payload,
                    cursor: f.cursor.clone(),
                    batch_records: f.batch_records,
                    max_backoff: f.max_backoff,
                };
                Some(tokio::spawn(crate::audit::forward::run_forwarder(
                    kms.audit().clone(),
                    forwarding,
                    stopped.clone(),
                )))
            }
            None => None,
        };
        let audit_task = tokio::spawn(crate::audit_housekeeping::run_checkpoints(
            kms.clone(),
            settings.audit.checkpoint_interval,
            stopped.clone(),
        ));
        let steward_task = tokio::spawn(crate::platform::steward::run(
            kms.store.clone(),
            kms.log.clone(),
            kms.metrics.clone(),
            kms.log_name().to_owned(),
            stopped.clone(),
        ));
        let rotation_task = tokio::spawn(crate::admin::run_rotation_jobs(
            kms.clone(),
            stopped.clone(),
        ));
        let (admin_addr, admin_task) = match &settings.admin {
            Some(admin) => {
                let admin_tls = tls::server_config(
                    &certificates,
                    verifier.clone(),
                    settings.tls.session_cache_entries,
                )?;
                let listener =
                    TcpListener::bind(admin.listen)
                        .await
                        .map_err(|source| StartError::Io {
                            what: "binding the admin listener",
                            source,
                        })?;
                let addr = listener.local_addr().map_err(|source| StartError::Io {
                    what: "reading the admin listener address",
                    source,
                })?;
                let csr_signer = admin
                    .csr_ca_key
                    .as_deref()
                    .map(|key| tls::client_ca_signer(&settings.tls.client_ca, key))
                    .transpose()?;
                let enrollment = crate::admin::Enrollment {
                    pin_claim_ttl: admin.pin_claim_ttl,
                    csr_signer,
                };
                let task = tokio::spawn(crate::admin::serve(
                    listener,
                    TlsAcceptor::from(admin_tls),
                    crate::admin::AdminState::new(
                        kms.clone(),
                        enrollment,
                        certificates.clone(),
                        admin.two_person_export,
                    ),
                    admin.clone(),
                    stopped.clone(),
                    DRAIN,
                ));
                (Some(addr), Some(task))
            }
            None => (None, None),
        };
        let task = tokio::spawn(crate::net::serve(
            listener,
            TlsAcceptor::from(tls_config),
            kms.clone(),
            settings.limits.clone(),
            stopped,
            DRAIN,
        ));
        Ok(Node {
            kms,
            addr,
            admin_addr,
            stop,
            task,
            admin_task,
            audit_task,
            steward_task,
            rotation_task,
            forward_task,
            raft_addr,
            raft_task,
            certificates,
        })
    }

    /// The KMIP listener's address (the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin API listener's address, when the admin API is enabled.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The Raft listener's address, when the node belongs to a cluster.
    pub fn raft_addr(&self) -> Option<SocketAddr> {
        self.raft_addr
    }

    /// The node's certificates (reloadable).
    pub fn certificates(&self) -> &Arc<tls::Certificates> {
        &self.certificates
    }

    /// Re-reads the certificate files on a signal from the host (SIGHUP), like
    /// `POST /v1/node/reload-certificates`: logged, and recorded in the audit trail with the
    /// files and the outcome (the caller: `signal/SIGHUP`, whoever on the host may signal the
    /// process). `true` when the new certificates are in use.
    pub async fn reload_certificates_on_signal(&self) -> bool {
        let outcome = self.certificates.reload_logged("SIGHUP");
        let files = outcome.files.join(", ");
        let mut event = crate::audit::success(
            self.kms.log_name(),
            audit_log::Kind::Admin,
            "SIGHUP reload-certificates",
        );
        event.principal = Some(audit_log::Principal::named("signal", "SIGHUP"));
        let reloaded = match &outcome.result {
            Ok(_) => {
                event.reason = Some(format!("reloaded, files: {files}"));
                true
            }
            Err(e) => {
                event.status = audit_log::Status::Failure;
                event.reason = Some(format!("refused, files: {files}: {e}"));
                false
            }
        };
        if let Err(e) = self.kms.audit().record_all(vec![event.clamped()]).await {
            tracing::warn!(error = %e, "audit trail did not take the record of a certificate reload");
        }
        reloaded
    }

    /// The service.
    pub fn kms(&self) -> &Arc<Kms> {
        &self.kms
    }

    /// Stops accepting (KMIP and admin), drains connections, commits what is queued.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        if let Some(admin) = self.admin_task {
            let _ = admin.await;
        }
        let _ = self.audit_task.await;
        let _ = self.steward_task.await;
        let _ = self.rotation_task.await;
        if let Some(forward) = self.forward_task {
            let _ = forward.await;
        }
        // The pending counts of refused connections, then a last checkpoint, then the write
        // side closes.
        crate::audit::refusals::flush(&self.kms.refusals, &self.kms.audit).await;
        crate::audit_housekeeping::final_checkpoint(&self.kms).await;
        self.kms.shutdown().await;
        if let Some(raft) = self.raft_task {
            let _ = raft.await;
        }
    }
}
