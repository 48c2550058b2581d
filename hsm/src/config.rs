//! HSM configuration, as the server embeds it in its TOML file.
//!
//! The raw [`HsmConfig`] is deserialised as written; [`HsmConfig::validate`] turns it into
//! checked [`Settings`] (ripgrep's low-level/high-level split). The PIN is never part of the
//! configuration itself: only where to read it from (`pin_env` or `pin_file`).
//!
//! ```toml
//! [hsm]
//! module = "/usr/lib/softhsm/libsofthsm2.so"
//! token_label = "kms-az1"
//! pin_env = "KMS_HSM_PIN"
//! pool_size = 8
//! key_wrap = "aes_key_wrap_pad"
//! ```

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, PinError, Result};

/// Largest accepted session pool.
pub const MAX_POOL_SIZE: usize = 256;
/// PKCS#11 token labels are 32 bytes, blank padded.
const MAX_LABEL_LEN: usize = 32;

/// The raw `[hsm]` configuration section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HsmConfig {
    /// Path of the PKCS#11 module (shared library).
    pub module: PathBuf,
    /// Label of the token to use. The slot is found by label: slot numbers are not stable
    /// (SoftHSM renumbers them, a Luna's depend on partition order).
    pub token_label: String,
    /// Name of an environment variable holding the user (Crypto Officer) PIN.
    #[serde(default)]
    pub pin_env: Option<String>,
    /// Path of a file holding the user PIN (one trailing newline is ignored).
    #[serde(default)]
    pub pin_file: Option<PathBuf>,
    /// How many PKCS#11 sessions the pool opens at most.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// Label of the Root of Trust token object.
    #[serde(default = "default_root_label")]
    pub root_label: String,
    /// Label of the audit-signing key pair.
    #[serde(default = "default_audit_key_label")]
    pub audit_key_label: String,
    /// The mechanism wrapping Domain Keys under the root. Recorded in every blob, so changing
    /// it later keeps old blobs readable.
    #[serde(default)]
    pub key_wrap: KeyWrapMechanism,
    /// Where the Root of Trust's key check value comes from.
    #[serde(default)]
    pub kcv: KcvSource,
    /// Hash used with RSA-OAEP when the ceremony wraps the root for transport.
    #[serde(default)]
    pub transport_oaep_hash: OaepHash,
    /// How many unwrapped Domain Keys stay in the HSM as session objects.
    #[serde(default = "default_domain_key_cache")]
    pub domain_key_cache: usize,
}

fn default_pool_size() -> usize {
    8
}
fn default_root_label() -> String {
    "kms-root-of-trust".to_owned()
}
fn default_audit_key_label() -> String {
    "kms-audit-signing".to_owned()
}
fn default_domain_key_cache() -> usize {
    1024
}

/// How a key is wrapped under an AES key. HSMs name RFC 5649 differently: SoftHSM (and
/// PKCS#11 2.40 drafts) call it `CKM_AES_KEY_WRAP_PAD`, PKCS#11 3.0 `CKM_AES_KEY_WRAP_KWP`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyWrapMechanism {
    /// RFC 5649 (AES key wrap with padding) as `CKM_AES_KEY_WRAP_PAD` (0x210A).
    #[default]
    AesKeyWrapPad,
    /// RFC 3394 (AES key wrap, no padding; fine for 32-byte keys) as `CKM_AES_KEY_WRAP`
    /// (0x2109). The most widely implemented of the three.
    AesKeyWrap,
    /// RFC 5649 as PKCS#11 3.0's `CKM_AES_KEY_WRAP_KWP` (0x210B). `cryptoki` 0.12 cannot
    /// express it, so choosing it fails with [`crate::Error::UnsupportedMechanism`] for now.
    AesKeyWrapKwp,
}

/// Where the Root of Trust's key check value comes from. All HSMs of a cluster must use the
/// same source: the two give different values for the same key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KcvSource {
    /// Computed inside the HSM with only `CKA_WRAP` on the root: the first 3 bytes of the
    /// RFC 3394 wrap of an all-zero AES-256 session key under the root. Works on any token
    /// that lets the user create a secret key from a value. The default, because SoftHSM
    /// sets `CKA_CHECK_VALUE` on generated keys but not on unwrapped ones, so an imported
    /// root would have none.
    #[default]
    WrapZeroKey,
    /// The token's `CKA_CHECK_VALUE` (PKCS#11 3.0: first 3 bytes of AES-ECB of a zero
    /// block). For HSMs that set it on generated and unwrapped keys alike (e.g. a Luna) and
    /// refuse plaintext key creation.
    CheckValue,
}

/// The OAEP hash (and MGF1 hash) for the ceremony's transport wrap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OaepHash {
    /// SHA-256: what a Luna and most HSMs should use.
    #[default]
    Sha256,
    /// SHA-1: SoftHSM 2.6 implements OAEP only with SHA-1. OAEP's security does not rest on
    /// collision resistance, but prefer SHA-256 wherever the HSM offers it.
    Sha1,
}

/// Validated settings, made by [`HsmConfig::validate`].
#[derive(Debug, Clone)]
pub struct Settings {
    pub(crate) module: PathBuf,
    pub(crate) token_label: String,
    pub(crate) pin_source: PinSource,
    pub(crate) pool_size: usize,
    pub(crate) root_label: String,
    pub(crate) audit_key_label: String,
    pub(crate) key_wrap: KeyWrapMechanism,
    pub(crate) kcv: KcvSource,
    pub(crate) transport_oaep_hash: OaepHash,
    pub(crate) domain_key_cache: usize,
}

/// Where the user PIN is read from. Holds no secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// An environment variable.
    Env(String),
    /// A file.
    File(PathBuf),
}

impl HsmConfig {
    /// A configuration with defaults for everything but the module, token and PIN source.
    pub fn new(module: impl Into<PathBuf>, token_label: impl Into<String>, pin: PinSource) -> Self {
        let (pin_env, pin_file) = match pin {
            PinSource::Env(var) => (Some(var), None),
            PinSource::File(path) => (None, Some(path)),
        };
        HsmConfig {
            module: module.into(),
            token_label: token_label.into(),
            pin_env,
            pin_file,
            pool_size: default_pool_size(),
            root_label: default_root_label(),
            audit_key_label: default_audit_key_label(),
            key_wrap: KeyWrapMechanism::default(),
            kcv: KcvSource::default(),
            transport_oaep_hash: OaepHash::default(),
            domain_key_cache: default_domain_key_cache(),
        }
    }

    /// Checks the configuration and turns it into [`Settings`].
    pub fn validate(&self) -> Result<Settings, ConfigError> {
        let pin_source = match (&self.pin_env, &self.pin_file) {
            (Some(var), None) => PinSource::Env(var.clone()),
            (None, Some(path)) => PinSource::File(path.clone()),
            (None, None) => return Err(ConfigError::PinSourceMissing),
            (Some(_), Some(_)) => return Err(ConfigError::PinSourceAmbiguous),
        };
        if self.pool_size == 0 || self.pool_size > MAX_POOL_SIZE {
            return Err(ConfigError::PoolSize {
                got: self.pool_size,
                max: MAX_POOL_SIZE,
            });
        }
        check_label("token_label", &self.token_label)?;
        check_label("root_label", &self.root_label)?;
        check_label("audit_key_label", &self.audit_key_label)?;
        Ok(Settings {
            module: self.module.clone(),
            token_label: self.token_label.clone(),
            pin_source,
            pool_size: self.pool_size,
            root_label: self.root_label.clone(),
            audit_key_label: self.audit_key_label.clone(),
            key_wrap: self.key_wrap,
            kcv: self.kcv,
            transport_oaep_hash: self.transport_oaep_hash,
            domain_key_cache: self.domain_key_cache.max(1),
        })
    }
}

fn check_label(what: &'static str, label: &str) -> Result<(), ConfigError> {
    if label.is_empty() || label.len() > MAX_LABEL_LEN {
        return Err(ConfigError::Label {
            what,
            len: label.len(),
        });
    }
    Ok(())
}

impl PinSource {
    /// Reads the PIN. A file's single trailing newline (`\n` or `\r\n`) is dropped.
    pub fn read(&self) -> Result<SecretString, PinError> {
        let pin = match self {
            PinSource::Env(var) => {
                std::env::var(var).map_err(|_| PinError::EnvUnset { var: var.clone() })?
            }
            PinSource::File(path) => read_pin_file(path)?,
        };
        let pin = zeroize::Zeroizing::new(pin);
        let trimmed = pin
            .strip_suffix("\r\n")
            .or_else(|| pin.strip_suffix('\n'))
            .unwrap_or(&pin);
        if trimmed.is_empty() {
            return Err(PinError::Empty);
        }
        Ok(SecretString::from(trimmed))
    }
}

fn read_pin_file(path: &Path) -> Result<String, PinError> {
    std::fs::read_to_string(path).map_err(|source| PinError::File {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn parse(text: &str) -> HsmConfig {
        toml::from_str(text).expect("test config parses")
    }

    #[test]
    fn toml_with_defaults_validates() {
        let config = parse(
            "module = \"/usr/lib/softhsm/libsofthsm2.so\"\ntoken_label = \"az1\"\npin_env = \"PIN\"\n",
        );
        let settings = config.validate().expect("valid");
        assert_eq!(settings.pin_source, PinSource::Env("PIN".to_owned()));
        assert_eq!(settings.pool_size, 8);
        assert_eq!(settings.key_wrap, KeyWrapMechanism::AesKeyWrapPad);
        assert_eq!(settings.root_label, "kms-root-of-trust");
    }

    #[test]
    fn mechanisms_are_named_in_snake_case() {
        let config = parse(
            "module = \"m\"\ntoken_label = \"t\"\npin_file = \"/p\"\nkey_wrap = \"aes_key_wrap\"\nkcv = \"check_value\"\ntransport_oaep_hash = \"sha1\"\n",
        );
        assert_eq!(config.key_wrap, KeyWrapMechanism::AesKeyWrap);
        assert_eq!(config.kcv, KcvSource::CheckValue);
        assert_eq!(config.transport_oaep_hash, OaepHash::Sha1);
    }

    #[test]
    fn inline_pin_is_rejected() {
        let result: Result<HsmConfig, _> =
            toml::from_str("module = \"m\"\ntoken_label = \"t\"\npin = \"1234\"\n");
        assert!(result.is_err());
    }

    #[test]
    fn pin_source_must_be_exactly_one() {
        let mut config = HsmConfig::new("m", "t", PinSource::Env("X".to_owned()));
        config.pin_file = Some(PathBuf::from("/p"));
        assert!(matches!(
            config.validate(),
            Err(ConfigError::PinSourceAmbiguous)
        ));
        config.pin_env = None;
        config.pin_file = None;
        assert!(matches!(
            config.validate(),
            Err(ConfigError::PinSourceMissing)
        ));
    }

    #[test]
    fn bad_pool_size_and_label_are_rejected() {
        let mut config = HsmConfig::new("m", "t", PinSource::Env("X".to_owned()));
        config.pool_size = 0;
        assert!(matches!(
            config.validate(),
            Err(ConfigError::PoolSize { got: 0, .. })
        ));
        config.pool_size = 4;
        config.token_label = "x".repeat(33);
        assert!(matches!(
            config.validate(),
            Err(ConfigError::Label { len: 33, .. })
        ));
    }

    #[test]
    fn pin_file_trailing_newline_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pin");
        std::fs::write(&path, "s3cret\n").expect("write");
        let pin = PinSource::File(path.clone()).read().expect("pin");
        assert_eq!(pin.expose_secret(), "s3cret");
        std::fs::write(&path, "\n").expect("write");
        assert!(matches!(PinSource::File(path).read(), Err(PinError::Empty)));
    }

    #[test]
    fn missing_pin_sources_are_typed_errors() {
        let missing = PinSource::File(PathBuf::from("/nonexistent/kms/pin"));
        assert!(matches!(missing.read(), Err(PinError::File { .. })));
        let unset = PinSource::Env("KMS_HSM_TEST_SURELY_UNSET_VARIABLE".to_owned());
        assert!(matches!(unset.read(), Err(PinError::EnvUnset { .. })));
    }
}
