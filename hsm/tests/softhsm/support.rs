//! Test fixtures: a private SoftHSM2 configuration and token directory per test.
//!
//! `SOFTHSM2_CONF` is read once per process at `C_Initialize`, and setting an environment
//! variable in-process needs `unsafe` (forbidden here). So each test, when first run by the
//! test harness, creates a temporary directory and re-executes the test binary for just
//! itself with `SOFTHSM2_CONF` pointing there; the child runs the body.

use std::path::{Path, PathBuf};
use std::process::Command;

use hsm::{HsmConfig, OaepHash, PinSource};
use secrecy::SecretString;

pub const SO_PIN: &str = "so-pin-7531";
pub const USER_PIN: &str = "user-pin-8642";
const DIR_VAR: &str = "KMS_HSM_TEST_DIR";

/// The PKCS#11 module under test.
pub fn module() -> PathBuf {
    std::env::var_os("KMS_PKCS11_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"))
}

/// The child's view: a directory with `softhsm2.conf`, `tokens/` and a user PIN file.
pub struct Env {
    dir: PathBuf,
}

impl Env {
    /// Initialises a token with the standard PINs.
    pub fn init_token(&self, label: &str) {
        let output = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", label])
            .args(["--pin", USER_PIN, "--so-pin", SO_PIN])
            .output()
            .expect("run softhsm2-util");
        assert!(
            output.status.success(),
            "softhsm2-util failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A configuration for `label`, PIN from a file, SoftHSM's OAEP hash.
    pub fn config(&self, label: &str) -> HsmConfig {
        let mut config = HsmConfig::new(module(), label, PinSource::File(self.pin_file()));
        config.transport_oaep_hash = OaepHash::Sha1;
        config.pool_size = 4;
        config
    }

    pub fn pin_file(&self) -> PathBuf {
        self.dir.join("user.pin")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

pub fn so_pin() -> SecretString {
    SecretString::from(SO_PIN)
}

pub fn user_pin() -> SecretString {
    SecretString::from(USER_PIN)
}

/// Runs `body` in a child process with a fresh SoftHSM configuration. `path` is the test's
/// module path (`softhsm::seal::name`).
pub fn run(path: &str, body: impl FnOnce(&Env)) {
    if let Some(dir) = std::env::var_os(DIR_VAR) {
        body(&Env {
            dir: PathBuf::from(dir),
        });
        return;
    }
    let name = path.split_once("::").map_or(path, |(_, rest)| rest);
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).expect("token dir");
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        ),
    )
    .expect("write softhsm2.conf");
    std::fs::write(dir.path().join("user.pin"), format!("{USER_PIN}\n")).expect("pin file");
    let exe = std::env::current_exe().expect("current exe");
    let output = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .env(DIR_VAR, dir.path())
        .output()
        .expect("re-run test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child test {name} failed:\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A test that runs against its own SoftHSM token directory.
macro_rules! softhsm_test {
    ($(#[$meta:meta])* fn $name:ident($env:ident) $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            $crate::support::run(
                concat!(module_path!(), "::", stringify!($name)),
                |$env: &$crate::support::Env| $body,
            );
        }
    };
}
