//! Why the audit trail refused. Any of these on the request path means the request is refused
//! (fail-closed): the client gets a fixed "audit trail unavailable" answer, details go to
//! tracing. No variant carries record contents.

use std::io;
use std::path::PathBuf;

/// Errors of the audit trail.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file-system call on the audit directory failed.
    #[error("audit trail unavailable: {what} {path} failed")]
    Io {
        /// Which call.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// Another process holds the audit directory.
    #[error("audit directory {path} is in use by another process")]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// An audit file does not hold what this log wrote: it was edited, or records are missing.
    /// The log refuses to open rather than continue a chain it cannot vouch for.
    #[error("audit file {path} is inconsistent at line {line}: {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line (0: the file as a whole).
        line: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// A record or checkpoint could not be encoded (a time outside years 0000-9999).
    #[error("audit record cannot be encoded")]
    Encode(#[source] audit_log::Error),
    /// An fsync failed earlier; the log refuses writes until it is reopened (the kernel may
    /// have dropped the unsynced pages, so retrying the fsync proves nothing).
    #[error("audit trail unavailable: an earlier fsync failed; restart to recover")]
    Poisoned,
    /// The writer thread has stopped.
    #[error("audit trail unavailable: the writer has stopped")]
    ShutDown,
    /// The writer thread could not be started.
    #[error("cannot start the audit writer thread")]
    Thread(#[source] io::Error),
    /// The HSM did not sign the checkpoint.
    #[error("the HSM did not sign the audit checkpoint")]
    Sign(#[source] hsm::Error),
    /// The signer returned something that is not a 64-byte `r || s` signature.
    #[error("the audit checkpoint signature is malformed")]
    Signature(#[source] audit_log::Error),
    /// A state change's record arrived out of order: the one before it is not written yet
    /// (an earlier write failed; the node writes the missing ones from the store's outbox).
    #[error("audit record of change {found} cannot be written before change {expected}")]
    ChangeGap {
        /// The change the log expects next (0: the log does not take changes yet).
        expected: u64,
        /// The change offered.
        found: u64,
    },
    /// The configuration cannot work.
    #[error("invalid audit configuration: {0}")]
    Config(&'static str),
}

impl AuditError {
    pub(super) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { what, path, source }
    }
}
