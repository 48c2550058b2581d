//! The crate's one error type. Verification problems are not errors: they are
//! [`crate::Finding`]s in a [`crate::Report`]; errors are for bad arguments and I/O.

/// What went wrong outside of verification proper.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading an exported file failed.
    #[error("reading audit data failed")]
    Io(#[from] std::io::Error),
    /// Encoding a record or checkpoint as JSON failed.
    #[error("encoding audit data as JSON failed")]
    Json(#[from] serde_json::Error),
    /// A public key is not an uncompressed SEC1 P-256 point (65 bytes starting with 0x04).
    #[error("the audit public key is not an uncompressed P-256 point ({len} bytes)")]
    PublicKey {
        /// Length of what was given.
        len: usize,
    },
    /// A signature is not the 64-byte `r || s` form that `CKM_ECDSA` produces.
    #[error("a checkpoint signature must be 64 bytes (r || s), not {len}")]
    SignatureLength {
        /// Length of what was given.
        len: usize,
    },
    /// A hex string (hash, key or signature) is not lowercase hex of the expected length.
    #[error("{what} is not lowercase hex of {bytes} bytes")]
    Hex {
        /// Which field.
        what: &'static str,
        /// Expected decoded length.
        bytes: usize,
    },
    /// A checkpoint was asked to prove a tenant it does not list.
    #[error("the checkpoint does not list that tenant")]
    NoSuchTenantHead,
    /// A chain-state checkpoint lacks the full list of tenant heads (it is a tenant's view).
    #[error("the checkpoint carries no full list of tenant heads")]
    NotFullCheckpoint,
    /// Records do not continue the chain (found while replaying a log the writer owns).
    #[error("record {seq} of log {log:?} does not continue the chain ({what})")]
    Chain {
        /// The log.
        log: String,
        /// The record's global sequence number.
        seq: u64,
        /// Which link is broken.
        what: &'static str,
    },
}
