//! `kmsd dev`: a single-node server on embedded defaults. The first run creates, in one
//! directory (0700, as is the token directory in it): a SoftHSM2 configuration and token
//! holding a Root of Trust, random PINs in 0600 files, a development PKI (CA, ECDSA and RSA
//! server certificates, one KMIP client certificate per demo tenant), the data directory and
//! `kmsd.toml`. Later runs reuse them.
//! Development only: a production node gets its token from the key ceremony.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use certs::identity::TenantId;
use rand::RngCore;

mod kmsctl;

pub use kmsctl::{KmsctlSettings, OPERATOR, banner, reachable, write_kmsctl_settings};

/// The demo tenants and their KMIP client names.
pub const DEMO_CLIENTS: [(&str, &str); 2] = [("acme", "vcenter"), ("globex", "vcenter")];

/// Label of the dev token.
pub const DEV_TOKEN: &str = "kms-dev";

/// The KMIP listener `kmsd dev` writes into a new `kmsd.toml` unless told otherwise: the
/// loopback interface only (a dev server holds a CA key and PINs in plain files).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5696";

/// Environment variable SoftHSM2 reads its configuration path from.
pub const SOFTHSM2_CONF: &str = "SOFTHSM2_CONF";

/// Errors preparing the dev environment (printed as one line).
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// A file or directory could not be made.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `softhsm2-util` failed or is missing.
    #[error("softhsm2-util: {0} (is the softhsm2 package installed?)")]
    SoftHsmUtil(String),
    /// No SoftHSM2 PKCS#11 module was found.
    #[error("no SoftHSM2 module found; set KMS_PKCS11_MODULE")]
    NoModule,
    /// The HSM refused a step.
    #[error("HSM: {0}")]
    Hsm(#[from] hsm::Error),
    /// The PKI could not be made.
    #[error("PKI: {0}")]
    Pki(#[from] certs::Error),
}

/// Files of the dev environment under one directory.
#[derive(Debug, Clone)]
pub struct DevLayout {
    /// The directory.
    pub dir: PathBuf,
}

impl DevLayout {
    /// Layout rooted at `dir` (made absolute).
    pub fn new(dir: &Path) -> Result<Self, DevError> {
        let dir = std::path::absolute(dir).map_err(|source| DevError::Io {
            what: "resolving",
            path: dir.to_owned(),
            source,
        })?;
        Ok(Self { dir })
    }
    /// SoftHSM2 configuration file.
    pub fn softhsm_conf(&self) -> PathBuf {
        self.dir.join("softhsm2.conf")
    }
    /// Token directory.
    pub fn tokens(&self) -> PathBuf {
        self.dir.join("tokens")
    }
    /// User PIN file (0600).
    pub fn pin_file(&self) -> PathBuf {
        self.dir.join("hsm-user.pin")
    }
    /// Security Officer PIN file (0600).
    pub fn so_pin_file(&self) -> PathBuf {
        self.dir.join("hsm-so.pin")
    }
    /// PKI directory.
    pub fn pki(&self) -> PathBuf {
        self.dir.join("pki")
    }
    /// Server configuration.
    pub fn config(&self) -> PathBuf {
        self.dir.join("kmsd.toml")
    }
    /// `kmsctl` settings files, one per demo identity.
    pub fn kmsctl(&self) -> PathBuf {
        self.dir.join("kmsctl")
    }
}

/// The PKCS#11 module: `KMS_PKCS11_MODULE`, else the usual SoftHSM2 locations (the one
/// lookup of the workspace and its scripts: `softhsm_support::module`).
pub fn softhsm_module() -> Result<PathBuf, DevError> {
    softhsm_support::module().map_err(|softhsm_support::NoModule| DevError::NoModule)
}

/// Creates what is missing (first run) and returns the config path. `listen` is written into
/// a new `kmsd.toml` only: an existing file keeps its own. Must run in a process whose
/// `SOFTHSM2_CONF` points at `layout.softhsm_conf()` (the binary re-executes itself so).
pub fn prepare(layout: &DevLayout, listen: &str) -> Result<PathBuf, DevError> {
    mkdir(&layout.dir)?;
    mkdir(&layout.tokens())?;
    if !layout.softhsm_conf().exists() {
        write_new(
            &layout.softhsm_conf(),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                layout.tokens().display()
            )
            .as_bytes(),
            0o600,
        )?;
    }
    let module = softhsm_module()?;
    if !token_exists(layout)? {
        // PINs from an earlier run that failed before the token was made are reused.
        let user = pin_in(&layout.pin_file())?;
        let so = pin_in(&layout.so_pin_file())?;
        softhsm_util(
            layout,
            &[
                "--init-token",
                "--free",
                "--label",
                DEV_TOKEN,
                "--pin",
                &user,
                "--so-pin",
                &so,
            ],
        )?;
    }
    let hsm_config = hsm::HsmConfig::new(
        module.clone(),
        DEV_TOKEN,
        hsm::PinSource::File(layout.pin_file()),
    );
    let token = hsm::ceremony::CeremonyToken::open(&hsm_config)?;
    let pin = token.user_pin()?;
    match hsm::ceremony::root_status(&token, &pin) {
        Ok(_) => {}
        Err(hsm::Error::RootNotFound { .. }) => {
            hsm::ceremony::generate_root(&token, &pin, hsm::RootExport::Never)?;
        }
        Err(e) => return Err(e.into()),
    }
    let clients: Vec<(TenantId, String)> = DEMO_CLIENTS
        .iter()
        .map(|(t, c)| Ok((TenantId::new(*t)?, (*c).to_owned())))
        .collect::<Result<_, certs::Error>>()?;
    let pki = certs::dev::ensure_dev_pki(&layout.pki(), &clients)?;
    if !layout.config().exists() {
        let toml = format!(
            r#"# kmsd configuration written by `kmsd dev` (see docs/CONFIGURATION.md).
[server]
listen = "{listen}"
node_id = 1
data_dir = "data"

[tls]
client_ca = "{ca}"
client_ca_key = "{cak}"
ecdsa_cert = "{ecc}"
ecdsa_key = "{eck}"
rsa_cert = "{rsc}"
rsa_key = "{rsk}"

[hsm]
module = "{module}"
token_label = "{DEV_TOKEN}"
pin_file = "{pin}"
"#,
            ca = pki.ca.cert.display(),
            cak = pki.ca.key.display(),
            ecc = pki.server_ecdsa.cert.display(),
            eck = pki.server_ecdsa.key.display(),
            rsc = pki.server_rsa.cert.display(),
            rsk = pki.server_rsa.key.display(),
            module = module.display(),
            pin = layout.pin_file().display(),
        );
        write_new(&layout.config(), toml.as_bytes(), 0o600)?;
    }
    Ok(layout.config())
}

/// Paths to show the user after start-up.
pub fn client_files(layout: &DevLayout) -> Vec<(String, PathBuf, PathBuf)> {
    DEMO_CLIENTS
        .iter()
        .map(|(tenant, name)| {
            let dir = layout.pki().join("clients").join(tenant);
            (
                format!("{tenant}/{name}"),
                dir.join(format!("{name}.pem")),
                dir.join(format!("{name}.key")),
            )
        })
        .collect()
}

fn token_exists(layout: &DevLayout) -> Result<bool, DevError> {
    let out = softhsm_util(layout, &["--show-slots"])?;
    Ok(out
        .lines()
        .any(|l| l.trim_start().starts_with("Label:") && l.trim_end().ends_with(DEV_TOKEN)))
}

fn softhsm_util(layout: &DevLayout, args: &[&str]) -> Result<String, DevError> {
    let out = Command::new("softhsm2-util")
        .args(args)
        .env(SOFTHSM2_CONF, layout.softhsm_conf())
        .output()
        .map_err(|e| DevError::SoftHsmUtil(e.to_string()))?;
    if !out.status.success() {
        // softhsm2-util prints no secrets on failure; keep only its first line.
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(DevError::SoftHsmUtil(
            err.lines().next().unwrap_or("failed").to_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The PIN stored in `path`, made (random, 0600) when the file does not exist yet.
fn pin_in(path: &Path) -> Result<String, DevError> {
    match std::fs::read_to_string(path) {
        Ok(pin) if !pin.trim().is_empty() => Ok(pin.trim().to_owned()),
        Ok(_) | Err(_) if path.exists() => Err(DevError::Io {
            what: "reading",
            path: path.to_owned(),
            source: std::io::Error::other("empty or unreadable PIN file"),
        }),
        _ => {
            let pin = random_pin();
            write_new(path, pin.as_bytes(), 0o600)?;
            Ok(pin)
        }
    }
}

fn random_pin() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Creates a directory 0700 (the token directory holds the Root of Trust's files).
fn mkdir(path: &Path) -> Result<(), DevError> {
    crate::permissions::create_private_dir(path).map_err(|source| DevError::Io {
        what: "creating",
        path: path.to_owned(),
        source,
    })
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DevError> {
    let io = |source| DevError::Io {
        what: "writing",
        path: path.to_owned(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

/// The dev operator for the admin API: issues (first run) an operator certificate
/// `urn:kms:principal:operator:-:admin` from the dev CA into `pki/admins/` and returns the
/// operator's name and its certificate and key files. The binary enrolls the name with
/// `Kms::enroll_operator` when the store lacks it.
pub fn operator_identity(layout: &DevLayout) -> Result<(String, PathBuf, PathBuf), DevError> {
    const NAME: &str = OPERATOR;
    let dir = layout.pki().join("admins");
    let paths = certs::files::PemPaths::in_dir(&dir, &format!("operator-{NAME}"));
    if !paths.both_exist()? {
        certs::files::create_private_dir(&dir)?;
        let ca = certs::files::load_ca(&certs::files::PemPaths::in_dir(&layout.pki(), "ca"))?;
        let pair = ca.issue_client(&certs::ClientRequest {
            principal: certs::identity::PrincipalUri::new(
                certs::identity::Role::Operator,
                None,
                NAME,
            )?,
            algorithm: certs::KeyAlgorithm::EcdsaP256,
            days: 365,
        })?;
        certs::files::write_certified_key(&paths, &pair, false)?;
    }
    Ok((NAME.to_owned(), paths.cert, paths.key))
}
