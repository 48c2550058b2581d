//! The crate's one error type.
//!
//! Every failing PKCS#11 call is recorded with the function that failed, the way `cryptoki`
//! does (`Error::Pkcs11(RvError, Function)`). No variant carries key material or a PIN.

use std::path::PathBuf;

use cryptoki::context::Function;
use cryptoki::error::RvError;

use crate::root::Kcv;

/// Errors of the `hsm` crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is incomplete or contradictory.
    #[error("invalid HSM configuration: {0}")]
    Config(#[from] ConfigError),

    /// The user PIN could not be read from its source.
    #[error("cannot read the HSM PIN: {0}")]
    Pin(#[from] PinError),

    /// The PKCS#11 module could not be loaded or does not look like a PKCS#11 module.
    #[error("cannot load PKCS#11 module {path}")]
    ModuleLoad {
        /// The module path from the configuration.
        path: PathBuf,
        /// What `cryptoki` reported.
        #[source]
        source: cryptoki::error::Error,
    },

    /// No slot holds an initialised token with this label.
    #[error("no initialised token labelled {label:?} in PKCS#11 module {module}")]
    TokenNotFound {
        /// The token label that was looked for.
        label: String,
        /// The module that was searched.
        module: PathBuf,
    },

    /// More than one slot holds a token with this label; the choice would be a guess.
    #[error("{count} tokens are labelled {label:?}; token labels must be unique")]
    TokenAmbiguous {
        /// The duplicated label.
        label: String,
        /// How many slots carry it.
        count: usize,
    },

    /// `C_Login` refused the PIN (CKR_PIN_INCORRECT).
    #[error("the HSM refused the PIN for token {label:?} (C_Login: CKR_PIN_INCORRECT)")]
    WrongPin {
        /// The token label.
        label: String,
    },

    /// `C_Login` reports the PIN is locked after too many failures (CKR_PIN_LOCKED).
    #[error("the PIN of token {label:?} is locked (C_Login: CKR_PIN_LOCKED)")]
    PinLocked {
        /// The token label.
        label: String,
    },

    /// A PKCS#11 function returned an error code.
    #[error("{1} failed: {0:?}")]
    Pkcs11(RvError, Function),

    /// `cryptoki` failed before or after calling into the module (conversions, missing symbols).
    #[error("cryptoki: {0}")]
    Cryptoki(#[source] cryptoki::error::Error),

    /// The Root of Trust is not on the token (it is created by the key ceremony).
    #[error("no Root of Trust labelled {label:?} on the token; run the key ceremony first")]
    RootNotFound {
        /// The label looked for.
        label: String,
    },

    /// A Root of Trust already exists where the ceremony was about to create or import one.
    #[error("a Root of Trust labelled {label:?} already exists on the token")]
    RootExists {
        /// The label that is taken.
        label: String,
    },

    /// More than one key carries a label that must be unique (the root, the audit key).
    #[error("{count} keys are labelled {label:?}; the label must be unique")]
    Ambiguous {
        /// The label.
        label: String,
        /// How many objects carry it.
        count: usize,
    },

    /// The audit-signing key pair has not been created ([`crate::Hsm::create_audit_key`]).
    #[error("no audit-signing key labelled {label:?} on the token")]
    AuditKeyNotFound {
        /// The label looked for.
        label: String,
    },

    /// A blob was made under a different Root of Trust than the one in this HSM.
    #[error(
        "blob was wrapped under the Root of Trust with KCV {expected}, this HSM holds {actual}"
    )]
    RootMismatch {
        /// The KCV recorded in the blob.
        expected: Kcv,
        /// The KCV of this HSM's root.
        actual: Kcv,
    },

    /// The token provides no key check value for the root and the configuration asked for it.
    #[error(
        "the token does not provide CKA_CHECK_VALUE for the Root of Trust; set kcv = \"wrap_zero_key\""
    )]
    KcvUnavailable,

    /// A sealed blob failed authentication: wrong tenant, object, version or Domain Key, or it
    /// was altered. Deliberately says no more.
    #[error("sealed blob failed authentication")]
    UnsealFailed,

    /// A blob could not be parsed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which kind of blob.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// An input is longer (or shorter) than this crate accepts.
    #[error("{what} is {len} bytes; allowed {min}..={max}")]
    Length {
        /// Which input.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The smallest accepted length.
        min: usize,
        /// The largest accepted length.
        max: usize,
    },

    /// A mechanism that the blob or configuration names cannot be used with this crate.
    #[error("mechanism {0} is not supported")]
    UnsupportedMechanism(&'static str),

    /// A transport public key could not be parsed or encoded.
    #[error("transport public key: {0}")]
    TransportKey(#[from] rsa::pkcs8::spki::Error),

    /// The transport key pair for an import is not on the target token.
    #[error("no transport key with fingerprint {fingerprint} on the token")]
    TransportKeyNotFound {
        /// The SHA-256 fingerprint (hex) of the public key.
        fingerprint: String,
    },

    /// The transport public key is not the one whose fingerprint the officers compared.
    #[error("transport key fingerprint is {actual}, expected {expected}")]
    FingerprintMismatch {
        /// The fingerprint compared out of band.
        expected: String,
        /// The fingerprint of the key in the file.
        actual: String,
    },

    /// An imported root does not have the KCV recorded with it; it was destroyed again.
    #[error("imported key has KCV {actual}, the ceremony record says {expected}")]
    KcvMismatch {
        /// The KCV in the ceremony record.
        expected: Kcv,
        /// The KCV the token computed.
        actual: Kcv,
    },

    /// Shamir secret sharing failed (bad threshold, inconsistent or too few shares).
    #[error("secret sharing: {0}")]
    Sharing(vsss_rs::Error),

    /// The custodian shares do not fit together.
    #[error("custodian shares: {0}")]
    Shares(&'static str),

    /// A blocking HSM task panicked or was cancelled.
    #[error("HSM task did not complete: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither `pin_env` nor `pin_file` was given.
    #[error("one of pin_env or pin_file is required")]
    PinSourceMissing,
    /// Both `pin_env` and `pin_file` were given.
    #[error("pin_env and pin_file are mutually exclusive")]
    PinSourceAmbiguous,
    /// The session pool size is zero or absurd.
    #[error("pool_size must be 1..={max}, got {got}")]
    PoolSize {
        /// The configured value.
        got: usize,
        /// The largest accepted value.
        max: usize,
    },
    /// A label is empty or longer than PKCS#11 allows for a token label (32 bytes).
    #[error("{what} must be 1..=32 bytes, got {len}")]
    Label {
        /// Which label.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
    },
}

/// The PIN source named in the configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// The environment variable is unset or not UTF-8.
    #[error("environment variable {var} is not set (or not UTF-8)")]
    EnvUnset {
        /// The variable name.
        var: String,
    },
    /// The PIN file could not be read.
    #[error("cannot read PIN file {path}")]
    File {
        /// The file path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The PIN is empty (after trimming one trailing newline).
    #[error("the PIN is empty")]
    Empty,
}

impl From<cryptoki::error::Error> for Error {
    fn from(err: cryptoki::error::Error) -> Self {
        match err {
            cryptoki::error::Error::Pkcs11(rv, function) => Error::Pkcs11(rv, function),
            other => Error::Cryptoki(other),
        }
    }
}

impl Error {
    /// The PKCS#11 return value, when this error is a failed PKCS#11 call.
    pub fn rv(&self) -> Option<RvError> {
        match self {
            Error::Pkcs11(rv, _) => Some(*rv),
            _ => None,
        }
    }

    /// Whether the failure means the session (or the login behind it) is gone, so that
    /// dropping the session, opening a new one, logging in again and retrying once can help.
    pub(crate) fn is_session_lost(&self) -> bool {
        matches!(
            self.rv(),
            Some(
                RvError::SessionHandleInvalid
                    | RvError::SessionClosed
                    | RvError::UserNotLoggedIn
                    | RvError::DeviceRemoved
                    | RvError::DeviceError
                    | RvError::TokenNotPresent
                    | RvError::TokenNotRecognized
                    | RvError::CryptokiNotInitialized
            )
        )
    }

    /// Whether the whole login (and so every private session object) is gone, not just one
    /// session.
    pub(crate) fn is_login_lost(&self) -> bool {
        self.is_session_lost()
            && !matches!(
                self.rv(),
                Some(RvError::SessionHandleInvalid | RvError::SessionClosed)
            )
    }

    /// Whether an object handle (e.g. a cached Domain Key) went stale.
    pub(crate) fn is_stale_handle(&self) -> bool {
        matches!(
            self.rv(),
            Some(RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid)
        )
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
