//! The files of a test cluster, made before any node starts: the PKI, one SoftHSM2 token with
//! a Root of Trust copied to every node, and each node's `kmsd.toml`.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use certs::files::PemPaths;
use certs::{CaParams, CertificateAuthority, ClientRequest, Host, KeyAlgorithm, NodeRequest};
use certs::{PrincipalUri, Role, TenantId};
use client::IdentityFiles;

use crate::error::Error;

/// Label of the token every node uses (each node has its own copy).
pub const TOKEN_LABEL: &str = "kms-cluster";

/// Days of validity of the test certificates.
const DAYS: u32 = 2;

/// Time allowed to one setup command (`softhsm2-util`, `kmsd ceremony`, `kmsd enroll-operator`).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The loopback address of node `id`: `127.0.0.<10 + id>`.
pub fn node_ip(id: u64) -> IpAddr {
    let last = u8::try_from(10 + id).expect("node IDs are small");
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// The certificates and keys of the test PKI.
#[derive(Debug, Clone)]
pub(super) struct Pki {
    /// The CA certificate (trust anchor of nodes and clients).
    pub ca: PathBuf,
    /// Node certificate and key, by node ID - 1.
    pub nodes: Vec<PemPaths>,
    /// The operator `urn:kms:principal:operator:-:<OPERATOR>`.
    pub operator: IdentityFiles,
    /// The KMIP client of the test tenant.
    pub tenant_client: IdentityFiles,
}

/// Makes a CA, node certificates for nodes `1..=nodes` (hosts `127.0.0.1` and the node's own
/// loopback address), an operator certificate and a KMIP client certificate of `tenant`.
/// Issues a client certificate for `role` in `tenant` named `name` from the CA in `dir`.
pub(super) fn issue_identity(
    dir: &Path,
    role: Role,
    tenant: Option<&str>,
    name: &str,
) -> Result<IdentityFiles, Error> {
    let ca = certs::files::load_ca(&PemPaths::in_dir(dir, "ca"))?;
    let tenant = tenant.map(TenantId::new).transpose()?;
    let pair = ca.issue_client(&ClientRequest {
        principal: PrincipalUri::new(role, tenant, name)?,
        algorithm: KeyAlgorithm::EcdsaP256,
        days: DAYS,
    })?;
    let paths = PemPaths::in_dir(dir, &format!("{}-{name}", role.as_str()));
    certs::files::write_certified_key(&paths, &pair, false)?;
    Ok(IdentityFiles {
        cert: paths.cert,
        key: paths.key,
    })
}

pub(super) fn make_pki(
    dir: &Path,
    nodes: u64,
    operator: &str,
    tenant: &str,
    client: &str,
) -> Result<Pki, Error> {
    certs::files::create_private_dir(dir)?;
    let ca = CertificateAuthority::generate(&CaParams {
        common_name: "KMS cluster test CA".to_owned(),
        days: DAYS,
        algorithm: KeyAlgorithm::EcdsaP256,
    })?;
    let ca_paths = PemPaths::in_dir(dir, "ca");
    certs::files::write_ca(&ca_paths, &ca, false)?;
    let mut node_paths = Vec::new();
    for id in 1..=nodes {
        let pair = ca.issue_node(&NodeRequest {
            node_id: id,
            hosts: vec![
                Host::Ip("127.0.0.1".parse().expect("IP")),
                Host::Ip(node_ip(id)),
            ],
            algorithm: KeyAlgorithm::EcdsaP256,
            days: DAYS,
        })?;
        let paths = PemPaths::in_dir(dir, &format!("node-{id}"));
        certs::files::write_certified_key(&paths, &pair, false)?;
        node_paths.push(paths);
    }
    let issue = |principal: PrincipalUri, stem: &str| -> Result<IdentityFiles, Error> {
        let pair = ca.issue_client(&ClientRequest {
            principal,
            algorithm: KeyAlgorithm::EcdsaP256,
            days: DAYS,
        })?;
        let paths = PemPaths::in_dir(dir, stem);
        certs::files::write_certified_key(&paths, &pair, false)?;
        Ok(IdentityFiles {
            cert: paths.cert,
            key: paths.key,
        })
    };
    let operator = issue(
        PrincipalUri::new(Role::Operator, None, operator)?,
        "operator",
    )?;
    let tenant_client = issue(
        PrincipalUri::kmip_client(TenantId::new(tenant)?, client)?,
        "tenant-client",
    )?;
    Ok(Pki {
        ca: ca_paths.cert,
        nodes: node_paths,
        operator,
        tenant_client,
    })
}

/// A token with a Root of Trust, to be copied to every node.
#[derive(Debug, Clone)]
pub(super) struct RootToken {
    /// The token directory (SoftHSM2's `directories.tokendir`).
    pub tokens: PathBuf,
    /// The user PIN file, the same for every copy.
    pub pin_file: PathBuf,
    /// The PKCS#11 module.
    pub module: PathBuf,
    /// The Root of Trust's key check value as `kmsd ceremony init-root` printed it.
    pub kcv: String,
}

/// Initialises a token in `dir` and generates the Root of Trust on it with
/// `kmsd ceremony init-root` (as an operator would on the first HSM).
pub(super) async fn make_root_token(kmsd: &Path, dir: &Path) -> Result<RootToken, Error> {
    let tokens = dir.join("tokens");
    mkdir(&tokens)?;
    let conf = dir.join("softhsm2.conf");
    write_softhsm_conf(&conf, &tokens)?;
    let module = softhsm_support::module()?;
    let pin_file = dir.join("hsm-user.pin");
    let pin = random_hex()?;
    write_private(&pin_file, pin.as_bytes())?;
    let so_pin = random_hex()?;
    // softhsm2-util takes the PINs only as arguments; they are test PINs of a throw-away token.
    let mut init = tokio::process::Command::from(softhsm_support::init_token_command(
        &conf,
        TOKEN_LABEL,
        &pin,
        &so_pin,
    ));
    run("softhsm2-util --init-token", &mut init).await?;
    let hsm_toml = dir.join("hsm.toml");
    write_private(&hsm_toml, hsm_table(&module, &pin_file).as_bytes())?;
    let mut root = tokio::process::Command::new(kmsd);
    root.args(["ceremony", "init-root", "-c"])
        .arg(&hsm_toml)
        .env(softhsm_support::SOFTHSM2_CONF, &conf)
        .env("RUST_LOG", "warn");
    let out = run("kmsd ceremony init-root", &mut root).await?;
    let kcv = out
        .lines()
        .find_map(|l| l.strip_prefix("KCV: "))
        .map(|k| k.trim().to_owned())
        .ok_or_else(|| Error::Command {
            command: "kmsd ceremony init-root".to_owned(),
            detail: format!("printed no KCV line: {out}"),
        })?;
    Ok(RootToken {
        tokens,
        pin_file,
        module,
        kcv,
    })
}

/// Enrolls the operator in the store of the node configured by `config` (offline, as an
/// operator does before the first start).
pub(super) async fn enroll_operator(
    kmsd: &Path,
    config: &Path,
    softhsm_conf: &Path,
    name: &str,
) -> Result<(), Error> {
    let mut cmd = tokio::process::Command::new(kmsd);
    cmd.args(["enroll-operator", "--config"])
        .arg(config)
        .args(["--name", name])
        .env(softhsm_support::SOFTHSM2_CONF, softhsm_conf)
        .env("RUST_LOG", "warn");
    remove_kmsd_overrides(&mut cmd);
    run("kmsd enroll-operator", &mut cmd).await.map(drop)
}

/// What goes into one node's `kmsd.toml`.
#[derive(Debug, Clone)]
pub(super) struct NodeConfig<'a> {
    pub id: u64,
    pub kmip: SocketAddr,
    pub admin: SocketAddr,
    pub pki: &'a Pki,
    pub token: &'a RootToken,
    /// `[cluster]`, or `None` for a standalone node.
    pub cluster: Option<ClusterSection>,
}

/// The `[cluster]` table.
#[derive(Debug, Clone)]
pub(super) struct ClusterSection {
    pub listen: SocketAddr,
    pub advertise: SocketAddr,
    pub kmip_advertise: SocketAddr,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: u64,
    pub snapshot_every: Option<u64>,
}

impl NodeConfig<'_> {
    /// The TOML text (docs/CONFIGURATION.md).
    pub fn toml(&self) -> String {
        let node = &self.pki.nodes[usize::try_from(self.id - 1).expect("small")];
        let mut text = format!(
            r#"# kmsd.toml of test cluster node {id}, written by kms_tests::cluster.
[server]
listen = "{kmip}"
node_id = {id}
data_dir = "data"

[tls]
client_ca = "{ca}"
ecdsa_cert = "{cert}"
ecdsa_key = "{key}"

{hsm}
[admin]
listen = "{admin}"
"#,
            id = self.id,
            kmip = self.kmip,
            ca = self.pki.ca.display(),
            cert = node.cert.display(),
            key = node.key.display(),
            hsm = hsm_table(&self.token.module, &self.token.pin_file),
            admin = self.admin,
        );
        if let Some(c) = &self.cluster {
            text.push_str(&format!(
                r#"
[cluster]
listen = "{listen}"
advertise = "{advertise}"
kmip_advertise = "{kmip_advertise}"
heartbeat_ms = {heartbeat}
election_timeout_ms = {election}
"#,
                listen = c.listen,
                advertise = c.advertise,
                kmip_advertise = c.kmip_advertise,
                heartbeat = c.heartbeat_ms,
                election = c.election_timeout_ms,
            ));
            if let Some(n) = c.snapshot_every {
                text.push_str(&format!("snapshot_every = {n}\n"));
            }
        }
        text
    }
}

fn hsm_table(module: &Path, pin_file: &Path) -> String {
    format!(
        "[hsm]\nmodule = \"{}\"\ntoken_label = \"{TOKEN_LABEL}\"\npin_file = \"{}\"\n",
        module.display(),
        pin_file.display()
    )
}

/// A SoftHSM2 configuration whose token directory is `tokens`, readable by the owner only.
pub(super) fn write_softhsm_conf(path: &Path, tokens: &Path) -> Result<(), Error> {
    write_private(path, softhsm_support::conf_text(tokens).as_bytes())
}

/// Copies a directory tree (a SoftHSM2 token directory: directories and regular files).
pub(super) fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    mkdir(to)?;
    let io = |source| Error::File {
        what: "copying",
        path: from.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(from).map_err(io)? {
        let entry = entry.map_err(io)?;
        let target = to.join(entry.file_name());
        if entry.file_type().map_err(io)?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(io)?;
        }
    }
    Ok(())
}

/// A free TCP port on `ip`: bound once on port 0 and released (the node binds it right after).
/// The kernel may hand a released port out again at once, so a node's KMIP, admin and Raft
/// ports could come out equal and the node fail to bind: every port given out by this process
/// is remembered and never given out twice.
pub(super) fn free_port(ip: IpAddr) -> Result<SocketAddr, Error> {
    static GIVEN: std::sync::Mutex<Vec<SocketAddr>> = std::sync::Mutex::new(Vec::new());
    let io = |source| Error::Io {
        what: "finding a free port",
        source,
    };
    for _ in 0..64 {
        let addr = std::net::TcpListener::bind(SocketAddr::new(ip, 0))
            .and_then(|l| l.local_addr())
            .map_err(io)?;
        let mut given = GIVEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !given.contains(&addr) {
            given.push(addr);
            return Ok(addr);
        }
    }
    Err(io(std::io::Error::other("no port not given out already")))
}

/// Removes every `KMSD_*` variable the test process has, so that none overrides the file.
pub(super) fn remove_kmsd_overrides(cmd: &mut tokio::process::Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KMSD_") {
            cmd.env_remove(name);
        }
    }
}

/// Runs a setup command to its end (bounded) and returns its stdout; fails on a non-zero exit.
async fn run(label: &str, cmd: &mut tokio::process::Command) -> Result<String, Error> {
    cmd.kill_on_drop(true);
    let failed = |detail: String| Error::Command {
        command: label.to_owned(),
        detail,
    };
    let out = tokio::time::timeout(COMMAND_TIMEOUT, cmd.output())
        .await
        .map_err(|_| failed(format!("no exit within {COMMAND_TIMEOUT:?}")))?
        .map_err(|e| failed(format!("cannot run: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(failed(format!("{}: {}", out.status, tail(&stderr, 20))));
    }
    Ok(stdout)
}

/// The last `lines` lines of `text`.
pub(super) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn random_hex() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| Error::Io {
            what: "reading /dev/urandom",
            source,
        })?;
    Ok(hex::encode(bytes))
}

pub(super) fn mkdir(path: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(path).map_err(|source| Error::File {
        what: "creating",
        path: path.to_owned(),
        source,
    })
}

/// Writes a new file readable by the owner only.
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|source| Error::File {
            what: "writing",
            path: path.to_owned(),
            source,
        })
}
