//! A development PKI in one directory, made on first use and loaded afterwards.
//!
//! Layout (all keys mode 0600, directories created 0700):
//!
//! ```text
//! <dir>/ca.pem, ca.key                                  root CA
//! <dir>/node-1/server-ecdsa.pem, server-ecdsa.key      node 1, ECDSA P-256
//! <dir>/node-1/server-rsa.pem, server-rsa.key          node 1, RSA 2048
//! <dir>/clients/<tenant>/<name>.pem, <name>.key        kmip-client principals
//! ```
//!
//! Node 1's certificates name `localhost`, `127.0.0.1` and `::1`. Files that exist are kept
//! (and checked to parse); missing ones are made with the existing CA.

use std::path::{Path, PathBuf};

use crate::authority::{
    CaParams, CertificateAuthority, ClientRequest, Host, LEAF_DEFAULT_DAYS, NodeRequest,
};
use crate::error::Result;
use crate::files::{self, PemPaths};
use crate::identity::{PrincipalUri, TenantId};
use crate::key::KeyAlgorithm;

/// The node ID of the dev server.
pub const DEV_NODE_ID: u64 = 1;

/// Hosts the dev server certificates name.
pub const DEV_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// One dev client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevClient {
    /// Its principal (`kmip-client` of the tenant).
    pub principal: PrincipalUri,
    /// Its files.
    pub paths: PemPaths,
}

/// The files of a dev PKI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPki {
    /// The directory.
    pub dir: PathBuf,
    /// The root CA.
    pub ca: PemPaths,
    /// Node 1's ECDSA P-256 server certificate.
    pub server_ecdsa: PemPaths,
    /// Node 1's RSA 2048 server certificate.
    pub server_rsa: PemPaths,
    /// One client per requested (tenant, name).
    pub clients: Vec<DevClient>,
    /// The files this call created (empty when everything was already there).
    pub created: Vec<PathBuf>,
}

/// Makes (first run) or loads (later runs) the dev PKI in `dir`, with a `kmip-client`
/// certificate for each `(tenant, name)`.
pub fn ensure_dev_pki(dir: &Path, clients: &[(TenantId, String)]) -> Result<DevPki> {
    let principals = clients
        .iter()
        .map(|(tenant, name)| PrincipalUri::kmip_client(tenant.clone(), name.clone()))
        .collect::<Result<Vec<_>>>()?;
    files::create_private_dir(dir)?;
    let mut created = Vec::new();

    let ca_paths = PemPaths::in_dir(dir, "ca");
    let ca = if ca_paths.both_exist()? {
        files::load_ca(&ca_paths)?
    } else {
        let ca = CertificateAuthority::generate(&CaParams {
            common_name: "KMS Dev Root CA".to_owned(),
            ..CaParams::default()
        })?;
        files::write_ca(&ca_paths, &ca, false)?;
        created.extend([ca_paths.cert.clone(), ca_paths.key.clone()]);
        ca
    };

    let node_dir = dir.join(format!("node-{DEV_NODE_ID}"));
    files::create_private_dir(&node_dir)?;
    let hosts = DEV_HOSTS
        .iter()
        .map(|h| h.parse::<Host>())
        .collect::<Result<Vec<_>>>()?;
    let server = |stem: &str, algorithm: KeyAlgorithm, created: &mut Vec<PathBuf>| {
        let paths = PemPaths::in_dir(&node_dir, stem);
        ensure_pair(&paths, created, || {
            ca.issue_node(&NodeRequest {
                node_id: DEV_NODE_ID,
                hosts: hosts.clone(),
                algorithm,
                days: LEAF_DEFAULT_DAYS,
            })
        })
        .map(|()| paths)
    };
    let server_ecdsa = server("server-ecdsa", KeyAlgorithm::EcdsaP256, &mut created)?;
    let server_rsa = server("server-rsa", KeyAlgorithm::Rsa2048, &mut created)?;

    let mut dev_clients = Vec::new();
    for principal in principals {
        let tenant_dir = dir
            .join("clients")
            .join(principal.tenant.as_ref().map_or("-", TenantId::as_str));
        files::create_private_dir(&tenant_dir)?;
        let paths = PemPaths::in_dir(&tenant_dir, &principal.name);
        ensure_pair(&paths, &mut created, || {
            ca.issue_client(&ClientRequest {
                principal: principal.clone(),
                algorithm: KeyAlgorithm::EcdsaP256,
                days: LEAF_DEFAULT_DAYS,
            })
        })?;
        dev_clients.push(DevClient { principal, paths });
    }

    Ok(DevPki {
        dir: dir.to_path_buf(),
        ca: ca_paths,
        server_ecdsa,
        server_rsa,
        clients: dev_clients,
        created,
    })
}

/// Loads the pair at `paths` if both files exist (checking they parse), else issues and
/// writes a new one.
fn ensure_pair(
    paths: &PemPaths,
    created: &mut Vec<PathBuf>,
    issue: impl FnOnce() -> Result<crate::CertifiedKey>,
) -> Result<()> {
    if paths.both_exist()? {
        files::load_certified_key(paths)?;
        return Ok(());
    }
    files::write_certified_key(paths, &issue()?, false)?;
    created.extend([paths.cert.clone(), paths.key.clone()]);
    Ok(())
}
