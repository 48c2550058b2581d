//! A three-node cluster of real `kmsd serve` processes for replication tests.
//!
//! [`Cluster::start`] makes, in a temporary directory: a CA with node certificates for nodes
//! 1..=3 (hosts `127.0.0.1` and the node's own `127.0.0.<10+id>`), an operator certificate and
//! a KMIP client certificate of the tenant [`TENANT`]; one SoftHSM2 token whose Root of Trust
//! `kmsd ceremony init-root` generates, copied to every node (same KCV everywhere); per node a
//! `kmsd.toml` (KMIP, admin and Raft listeners on free ports of the node's own loopback
//! address) and the operator enrolled offline. In front of each node's Raft listener runs a
//! [`FaultProxy`] (on the node's own address); the node advertises it, so peers reach it only
//! through the proxy (writes forwarded to the leader too: they travel over the Raft
//! connections) and [`Cluster::isolate`] can cut it off. Then it starts the three processes,
//! each with its own `SOFTHSM2_CONF`, `RUST_LOG=info` and its output in `node-<id>/kmsd.log`.
//!
//! Every wait is bounded. When the fixture is dropped during a panic it prints the end of every
//! node's log; set `KMS_KEEP_CLUSTER=1` to keep the directory.

mod consensus;
mod process;
mod setup;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use client::admin::{AdminClient, Enrollment};
use client::{ClientConfig, Connector, IdentityFiles};
use kmip_codec::version::ProtocolVersion;
use tokio::process::Child;

use crate::error::Error;
use crate::fault_proxy::FaultProxy;

pub use process::kmsd_path;
pub use setup::{TOKEN_LABEL, node_ip};

/// Node IDs of the cluster: `1..=NODES`.
pub const NODES: u64 = 3;

/// The tenant the KMIP client belongs to.
pub const TENANT: &str = "acme";

/// The tenant's KMIP client name.
pub const CLIENT_NAME: &str = "vcenter";

/// The operator enrolled on every node.
pub const OPERATOR: &str = "admin";

/// Time a node has to answer its admin API after start.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Connect timeout of the fixture's clients.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Request timeout of the fixture's admin client (adding a node waits for it to catch up).
const ADMIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Request timeout of [`Cluster::connector`].
const KMIP_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How the cluster is configured.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Write the `[cluster]` table (else three standalone nodes, for testing the fixture).
    pub cluster: bool,
    /// `cluster.heartbeat_ms`.
    pub heartbeat_ms: u64,
    /// `cluster.election_timeout_ms`.
    pub election_timeout_ms: u64,
    /// `cluster.snapshot_every` (server default when `None`).
    pub snapshot_every: Option<u64>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            cluster: true,
            heartbeat_ms: 100,
            election_timeout_ms: 400,
            snapshot_every: None,
        }
    }
}

/// One node: its addresses, files, proxy and process.
#[derive(Debug)]
struct ClusterNode {
    id: u64,
    dir: PathBuf,
    config: PathBuf,
    softhsm_conf: PathBuf,
    log: PathBuf,
    kmip: SocketAddr,
    admin: SocketAddr,
    raft_proxy: FaultProxy,
    child: Option<Child>,
    /// Frozen with SIGSTOP ([`Cluster::pause`]).
    paused: bool,
    starts: u32,
}

/// The running cluster. See the module documentation.
#[derive(Debug)]
pub struct Cluster {
    dir: Option<tempfile::TempDir>,
    kmsd: PathBuf,
    ca: PathBuf,
    operator: IdentityFiles,
    tenant_client: IdentityFiles,
    kcv: String,
    nodes: Vec<ClusterNode>,
}

impl Cluster {
    /// Prepares the files of three nodes and starts them; returns once each answers its admin
    /// API. The nodes are not yet a cluster: see [`Cluster::bootstrap`].
    pub async fn start(options: &ClusterOptions) -> Result<Cluster, Error> {
        let kmsd = kmsd_path()?;
        let dir = tempfile::Builder::new()
            .prefix("kms-cluster-")
            .tempdir()
            .map_err(|source| Error::Io {
                what: "making the cluster directory",
                source,
            })?;
        let root = dir.path().to_owned();
        let pki = setup::make_pki(&root.join("pki"), NODES, OPERATOR, TENANT, CLIENT_NAME)?;
        let token = setup::make_root_token(&kmsd, &root.join("root-token")).await?;
        let mut nodes = Vec::new();
        for id in 1..=NODES {
            nodes.push(prepare_node(&kmsd, &root, id, &pki, &token, options).await?);
        }
        let mut cluster = Cluster {
            dir: Some(dir),
            kmsd,
            ca: pki.ca,
            operator: pki.operator,
            tenant_client: pki.tenant_client,
            kcv: token.kcv,
            nodes,
        };
        for id in 1..=NODES {
            cluster.spawn(id)?;
        }
        for id in 1..=NODES {
            cluster.wait_ready(id).await?;
        }
        Ok(cluster)
    }

    /// The CA certificate (PEM) the nodes' certificates chain to.
    pub fn ca_path(&self) -> &std::path::Path {
        &self.ca
    }

    /// The operator's certificate and key.
    pub fn operator_files(&self) -> &IdentityFiles {
        &self.operator
    }

    /// Issues a certificate naming `urn:kms:principal:<role>:<tenant>:<name>` from the cluster's
    /// CA (not enrolled: enroll it through the admin API).
    pub fn issue_identity(
        &self,
        role: certs::Role,
        tenant: Option<&str>,
        name: &str,
    ) -> Result<IdentityFiles, Error> {
        let root = self
            .dir
            .as_ref()
            .map(|d| d.path().to_owned())
            .unwrap_or_default();
        setup::issue_identity(&root.join("pki"), role, tenant, name)
    }

    /// The Root of Trust's KCV every node's token holds.
    pub fn kcv(&self) -> &str {
        &self.kcv
    }

    /// The node's KMIP listener.
    pub fn kmip_addr(&self, id: u64) -> SocketAddr {
        self.node(id).kmip
    }

    /// The node's admin API listener.
    pub fn admin_addr(&self, id: u64) -> SocketAddr {
        self.node(id).admin
    }

    /// The address peers reach the node's Raft listener at (its proxy).
    pub fn raft_addr(&self, id: u64) -> SocketAddr {
        self.node(id).raft_proxy.addr()
    }

    /// The node's directory (config, data, token, log).
    pub fn node_dir(&self, id: u64) -> PathBuf {
        self.node(id).dir.clone()
    }

    /// Whether the node's process was started and not stopped by the fixture.
    pub fn is_running(&self, id: u64) -> bool {
        self.node(id).child.is_some()
    }

    /// The IDs of the nodes whose process runs (started, not stopped, not paused).
    pub fn running(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some() && !n.paused)
            .map(|n| n.id)
            .collect()
    }

    /// An admin API client of node `id` holding the operator's certificate.
    pub fn admin(&self, id: u64) -> Result<AdminClient, Error> {
        let settings = self
            .settings(id, self.admin_addr(id), &self.operator)
            .with_timeouts(CONNECT_TIMEOUT, ADMIN_REQUEST_TIMEOUT);
        Ok(AdminClient::new(
            self.admin_addr(id).to_string(),
            &settings,
        )?)
    }

    /// The load tool's TLS arguments for the tenant's client against node `id`: `--addr`,
    /// `--server-name`, `--ca`, `--cert`, `--key`.
    pub fn bench_args(&self, id: u64) -> Vec<String> {
        let path = |p: &std::path::Path| p.display().to_string();
        vec![
            "--addr".into(),
            self.kmip_addr(id).to_string(),
            "--server-name".into(),
            node_ip(id).to_string(),
            "--ca".into(),
            path(&self.ca),
            "--cert".into(),
            path(&self.tenant_client.cert),
            "--key".into(),
            path(&self.tenant_client.key),
        ]
    }

    /// A KMIP connector of the tenant's client to node `id` (10 s request timeout).
    pub fn connector(&self, id: u64) -> Result<Connector, Error> {
        self.connector_with_timeout(id, KMIP_REQUEST_TIMEOUT)
    }

    /// As [`Cluster::connector`], with this request timeout.
    pub fn connector_with_timeout(&self, id: u64, request: Duration) -> Result<Connector, Error> {
        let settings = self
            .settings(id, self.kmip_addr(id), &self.tenant_client)
            .with_timeouts(CONNECT_TIMEOUT, request);
        Ok(Connector::new(settings)?)
    }

    /// As [`Cluster::connector_with_timeout`], speaking KMIP `version` (2.x answers Object
    /// Destroyed and Wrong Key Lifecycle State, which 1.x folds into other reasons).
    pub fn connector_in(
        &self,
        id: u64,
        version: ProtocolVersion,
        request: Duration,
    ) -> Result<Connector, Error> {
        let settings = self
            .settings(id, self.kmip_addr(id), &self.tenant_client)
            .with_timeouts(CONNECT_TIMEOUT, request)
            .with_protocol_version(version);
        Ok(Connector::new(settings)?)
    }

    /// The process ID of node `id`, while it runs.
    pub fn pid(&self, id: u64) -> Option<u32> {
        self.node(id).child.as_ref().and_then(Child::id)
    }

    fn settings(&self, id: u64, addr: SocketAddr, identity: &IdentityFiles) -> ClientConfig {
        ClientConfig::new(addr.to_string(), node_ip(id).to_string())
            .with_ca_file(&self.ca)
            .with_identity(identity.cert.clone(), identity.key.clone())
    }

    /// Creates the tenant [`TENANT`] and enrolls its KMIP client, through node `via`'s admin
    /// API.
    pub async fn add_tenant(&self, via: u64) -> Result<(), Error> {
        let admin = self.admin(via)?;
        admin.create_tenant(TENANT).await?;
        admin
            .enroll(
                TENANT,
                &Enrollment {
                    name: CLIENT_NAME.to_owned(),
                    role: None,
                    certificate: None,
                },
            )
            .await?;
        Ok(())
    }

    /// Starts node `id` (which must not be running) and waits until its admin API answers.
    /// A black hole left by [`Cluster::lose_zone`] ends first: the node is reachable again.
    pub async fn start_node(&mut self, id: u64) -> Result<(), Error> {
        self.node(id).raft_proxy.end_black_hole();
        self.spawn(id)?;
        self.wait_ready(id).await
    }

    /// SIGKILL to node `id`.
    pub async fn kill9(&mut self, id: u64) -> Result<(), Error> {
        let node = self.node_mut(id);
        node.paused = false;
        if let Some(mut child) = node.child.take() {
            process::kill9(&mut child).await?;
        }
        Ok(())
    }

    /// Loses node `id` as a zone is lost: its peers' packets to it are dropped from now on (its
    /// Raft proxy turns into a black hole: connections stay open, nothing answers, nothing is
    /// refused), then the process is killed with SIGKILL. [`Cluster::start_node`] brings it
    /// back.
    pub async fn lose_zone(&mut self, id: u64) -> Result<(), Error> {
        self.node(id).raft_proxy.black_hole();
        self.kill9(id).await
    }

    /// Freezes node `id` with SIGSTOP (as `docker pause` does): its kernel still accepts
    /// connections, nothing answers them. [`Cluster::resume`] lets it go on.
    pub fn pause(&mut self, id: u64) -> Result<(), Error> {
        let node = self.node_mut(id);
        let child = node.child.as_ref().ok_or_else(|| Error::Node {
            node: id,
            detail: "paused while not running".to_owned(),
        })?;
        process::freeze(child, true)?;
        node.paused = true;
        Ok(())
    }

    /// SIGCONT to node `id` after [`Cluster::pause`].
    pub fn resume(&mut self, id: u64) -> Result<(), Error> {
        let node = self.node_mut(id);
        if let Some(child) = node.child.as_ref() {
            process::freeze(child, false)?;
        }
        node.paused = false;
        Ok(())
    }

    /// Whether node `id` is frozen by [`Cluster::pause`].
    pub fn is_paused(&self, id: u64) -> bool {
        self.node(id).paused
    }

    /// SIGTERM to node `id`; fails when it does not exit cleanly within
    /// [`process::STOP_TIMEOUT`] (it is then killed).
    pub async fn stop(&mut self, id: u64) -> Result<(), Error> {
        // A frozen process would not handle SIGTERM.
        self.resume(id)?;
        let Some(mut child) = self.node_mut(id).child.take() else {
            return Ok(());
        };
        if process::terminate(&mut child).await? {
            Ok(())
        } else {
            Err(Error::Node {
                node: id,
                detail: format!(
                    "did not exit cleanly within {:?} of SIGTERM; log:\n{}",
                    process::STOP_TIMEOUT,
                    self.log_tail(id, 20)
                ),
            })
        }
    }

    /// Stops node `id` with SIGTERM if it runs, then starts it again.
    pub async fn restart(&mut self, id: u64) -> Result<(), Error> {
        self.stop(id).await?;
        self.start_node(id).await
    }

    /// Cuts node `id` off from the others in both directions: its Raft proxy refuses the other
    /// nodes, and theirs refuse it. Clients still reach every node directly.
    pub fn isolate(&self, id: u64) {
        let me = self.node(id);
        for other in self.nodes.iter().filter(|n| n.id != id) {
            other.raft_proxy.block(node_ip(id));
            me.raft_proxy.block(node_ip(other.id));
        }
    }

    /// Cuts one direction of one link: node `to`'s Raft proxy refuses node `from` (its live
    /// connections are closed now). What `to` sends `from` still arrives: a leader `from`
    /// neither replicates to nor hears from `to`, while a follower `to` still forwards its
    /// writes to it. [`Cluster::restore_link`] (or [`Cluster::heal`]) ends it.
    pub fn cut_link(&self, from: u64, to: u64) {
        self.node(to).raft_proxy.block(node_ip(from));
    }

    /// Ends [`Cluster::cut_link`].
    pub fn restore_link(&self, from: u64, to: u64) {
        self.node(to).raft_proxy.unblock(node_ip(from));
    }

    /// Makes node `id`'s Raft listener silent while the process runs on (its proxy a black
    /// hole): calls to it, and the replies to calls in flight, are lost without a close or a
    /// refusal; what it sends its peers still arrives. [`Cluster::unsilence`] closes the
    /// connections held silent.
    pub fn silence(&self, id: u64) {
        self.node(id).raft_proxy.black_hole();
    }

    /// Ends [`Cluster::silence`].
    pub fn unsilence(&self, id: u64) {
        self.node(id).raft_proxy.end_black_hole();
    }

    /// Ends every isolation.
    pub fn heal(&self) {
        for node in &self.nodes {
            node.raft_proxy.heal();
        }
    }

    /// The last `lines` lines of node `id`'s log.
    pub fn log_tail(&self, id: u64, lines: usize) -> String {
        process::log_tail(&self.node(id).log, lines)
    }

    /// Node `id`'s log since its last start by the fixture.
    pub fn log_since_start(&self, id: u64) -> String {
        process::log_since_start(&self.node(id).log)
    }

    /// Prints the last 50 lines of every node's log to stderr.
    pub fn dump_logs(&self) {
        for node in &self.nodes {
            eprintln!(
                "----- node {} ({}) log, last 50 lines -----\n{}",
                node.id,
                node.log.display(),
                process::log_tail(&node.log, 50)
            );
        }
    }

    fn node(&self, id: u64) -> &ClusterNode {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id} in the cluster (IDs are 1..={NODES})"))
    }

    fn node_mut(&mut self, id: u64) -> &mut ClusterNode {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id} in the cluster (IDs are 1..={NODES})"))
    }

    fn spawn(&mut self, id: u64) -> Result<(), Error> {
        let kmsd = self.kmsd.clone();
        let node = self.node_mut(id);
        if node.child.is_some() {
            return Err(Error::Node {
                node: id,
                detail: "started while already running".to_owned(),
            });
        }
        node.starts += 1;
        node.child = Some(process::spawn(
            &kmsd,
            &node.config,
            &node.softhsm_conf,
            &node.log,
            node.starts,
        )?);
        Ok(())
    }

    /// Waits until node `id`'s admin API answers `/healthz`; fails early when the process
    /// exits.
    async fn wait_ready(&mut self, id: u64) -> Result<(), Error> {
        let admin = self.admin(id)?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let exited = match self.node_mut(id).child.as_mut() {
                Some(child) => child.try_wait().ok().flatten(),
                None => {
                    return Err(Error::Node {
                        node: id,
                        detail: "not running".to_owned(),
                    });
                }
            };
            if let Some(status) = exited {
                self.node_mut(id).child = None;
                return Err(Error::Node {
                    node: id,
                    detail: format!(
                        "exited at start ({status}); log:\n{}",
                        self.log_tail(id, 30)
                    ),
                });
            }
            if let Ok(Ok(_)) = tokio::time::timeout(CONNECT_TIMEOUT, admin.healthz()).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!(
                        "node {id}'s admin API to answer; log:\n{}",
                        self.log_tail(id, 30)
                    ),
                    secs: READY_TIMEOUT.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_logs();
        }
        for node in &mut self.nodes {
            if let Some(child) = node.child.as_mut() {
                let _ = child.start_kill();
            }
        }
        if std::env::var_os("KMS_KEEP_CLUSTER").is_some()
            && let Some(dir) = self.dir.take()
        {
            eprintln!("cluster directory kept: {}", dir.keep().display());
        }
    }
}

/// Makes node `id`'s directory: token copy, SoftHSM2 configuration, proxy, `kmsd.toml`, and
/// the operator enrolled.
async fn prepare_node(
    kmsd: &std::path::Path,
    root: &std::path::Path,
    id: u64,
    pki: &setup::Pki,
    token: &setup::RootToken,
    options: &ClusterOptions,
) -> Result<ClusterNode, Error> {
    let dir = root.join(format!("node-{id}"));
    setup::mkdir(&dir)?;
    let tokens = dir.join("tokens");
    setup::copy_tree(&token.tokens, &tokens)?;
    let softhsm_conf = dir.join("softhsm2.conf");
    setup::write_softhsm_conf(&softhsm_conf, &tokens)?;
    let ip: IpAddr = node_ip(id);
    let kmip = setup::free_port(ip)?;
    let admin = setup::free_port(ip)?;
    let raft = setup::free_port(ip)?;
    let raft_proxy = FaultProxy::start(SocketAddr::new(ip, 0), raft).await?;
    let cluster = options.cluster.then(|| setup::ClusterSection {
        listen: raft,
        advertise: raft_proxy.addr(),
        kmip_advertise: kmip,
        heartbeat_ms: options.heartbeat_ms,
        election_timeout_ms: options.election_timeout_ms,
        snapshot_every: options.snapshot_every,
    });
    let text = setup::NodeConfig {
        id,
        kmip,
        admin,
        pki,
        token,
        cluster,
    }
    .toml();
    let config = dir.join("kmsd.toml");
    setup::write_private(&config, text.as_bytes())?;
    setup::enroll_operator(kmsd, &config, &softhsm_conf, OPERATOR).await?;
    Ok(ClusterNode {
        id,
        log: dir.join("kmsd.log"),
        dir,
        config,
        softhsm_conf,
        kmip,
        admin,
        raft_proxy,
        child: None,
        paused: false,
        starts: 0,
    })
}
