//! Why a tenant export or import was refused: fixed texts that say what to fix, never a key
//! byte, and never anything about another tenant (a UID in use is "in use on this
//! installation", whichever tenant holds it).

use super::super::OpError;

/// Why a tenant export or import was refused.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The recipient's public key is not one RSA SubjectPublicKeyInfo in PEM.
    #[error("the recipient key must be one RSA public key (PEM, SubjectPublicKeyInfo)")]
    RecipientKey,
    /// An RSA key under 2048 bits (recipient or unwrapping key).
    #[error("RSA keys under 2048 bits are refused")]
    WeakRsaKey,
    /// The transfer key is not an active AES-256 key of the tenant.
    #[error("the transfer key must be an active AES-256 key of the tenant")]
    TransferKey,
    /// The unwrapping key is not the right kind for the bundle.
    #[error(
        "the unwrapping key must be an active key of the tenant: an RSA private key for a bundle \
         wrapped for an RSA key, the AES-256 transfer key for one wrapped under a transfer key"
    )]
    UnwrapKey,
    /// More objects than a bundle takes.
    #[error("the tenant holds more objects than one bundle takes ({0})")]
    TooManyObjects(usize),
    /// The bundle is not a bundle of this format, or a part is missing or malformed.
    #[error("the bundle is malformed or truncated: {0}")]
    Malformed(&'static str),
    /// The signer key given is not the key that signed the bundle.
    #[error("the bundle was signed by another key than the signer key you trust")]
    SignerMismatch,
    /// The manifest's signature does not verify.
    #[error("the manifest's signature does not verify: the bundle was altered or is not whole")]
    BadSignature,
    /// A file's digest is not the manifest's.
    #[error("the digest of {0} does not match the manifest")]
    DigestMismatch(String),
    /// The bundle was wrapped for another key than the unwrapping key.
    #[error("the bundle was wrapped for another recipient than this unwrapping key")]
    WrongRecipient,
    /// A key file does not unwrap (wrong transfer key, or altered).
    #[error("key {0} does not unwrap with the bundle's transfer key")]
    UnwrapFailed(String),
    /// A UID of the bundle is in use on this installation (in any tenant: never said which).
    #[error("key {0}: its unique identifier is already in use on this installation")]
    UidInUse(String),
    /// A Name of the bundle is used by another key of the tenant.
    #[error("a name of the bundle is already used by another key of the tenant")]
    NameTaken,
    /// The tenant is suspended (or does not exist).
    #[error("the tenant is suspended or does not exist")]
    TenantUnavailable,
    /// A key of the bundle was refused by the import checks.
    #[error("key {uid} refused: {reason}")]
    KeyRefused {
        /// The key.
        uid: String,
        /// The operation's refusal (its KMIP reason).
        reason: String,
    },
    /// The export job is not approved yet, was taken already, or is past its time.
    #[error("the export job is not approved yet, was taken already, or has expired")]
    ExportNotReady,
    /// Any other failure of the operation code (HSM, store, commit...).
    #[error("{0}")]
    Operation(#[source] OpError),
}

impl From<OpError> for MigrationError {
    fn from(e: OpError) -> Self {
        Self::Operation(e)
    }
}

impl From<crate::keys::KeyError> for MigrationError {
    fn from(e: crate::keys::KeyError) -> Self {
        Self::Operation(e.into())
    }
}

impl From<crate::store::StoreError> for MigrationError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Operation(e.into())
    }
}

impl MigrationError {
    /// Whether the request (the bundle, the keys named) is at fault, as opposed to the node.
    pub fn is_request_fault(&self) -> bool {
        !matches!(self, Self::Operation(_))
    }
}
