//! What the hsm tests add to `softhsm_support`'s per-test token directory (each test runs in a
//! child process of its own with `SOFTHSM2_CONF` pointing there: `softhsm_support::harness`):
//! tokens with the standard PINs, a user PIN file, and an `HsmConfig` for a token.

use std::path::PathBuf;

use hsm::{HsmConfig, OaepHash, PinSource};
use secrecy::SecretString;
use softhsm_support::harness::Env;

pub const SO_PIN: &str = "so-pin-7531";
pub const USER_PIN: &str = "user-pin-8642";

/// The PKCS#11 module under test (`KMS_PKCS11_MODULE`, else the usual places).
pub fn module() -> PathBuf {
    softhsm_support::module().expect("a SoftHSM2 module")
}

/// Tokens and configurations in a test's directory.
pub trait TestTokens {
    /// Initialises a token with the standard PINs (and writes the user PIN file).
    fn init_token(&self, label: &str);
    /// A configuration for `label`, PIN from the file, SoftHSM's OAEP hash, a pool of 4.
    fn config(&self, label: &str) -> HsmConfig;
    /// The user PIN file.
    fn pin_file(&self) -> PathBuf;
}

impl TestTokens for Env {
    fn init_token(&self, label: &str) {
        std::fs::write(self.pin_file(), format!("{USER_PIN}\n")).expect("pin file");
        softhsm_support::init_token(&self.softhsm_conf(), label, USER_PIN, SO_PIN)
            .expect("init token");
    }

    fn config(&self, label: &str) -> HsmConfig {
        let mut config = HsmConfig::new(module(), label, PinSource::File(self.pin_file()));
        config.transport_oaep_hash = OaepHash::Sha1;
        config.pool_size = 4;
        config
    }

    fn pin_file(&self) -> PathBuf {
        self.dir().join("user.pin")
    }
}

pub fn so_pin() -> SecretString {
    SecretString::from(SO_PIN)
}

pub fn user_pin() -> SecretString {
    SecretString::from(USER_PIN)
}
