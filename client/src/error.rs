//! The crate's one error type.
//!
//! Messages name the step that failed (connect, handshake, write, read), the file a
//! configuration problem is in, or the KMIP Result Status / Reason the server answered. They
//! never hold message bytes: requests and responses may carry key material.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use kmip_codec::enums::{Operation, ResultReason, ResultStatus};

/// Shorthand for this crate's results.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// The network step an I/O error or a timeout happened in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// TCP connect (name resolution included).
    Connect,
    /// TLS handshake.
    Handshake,
    /// Writing the request.
    Write,
    /// Reading the response.
    Read,
    /// Sending TLS close_notify.
    Close,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Handshake => "TLS handshake",
            Self::Write => "write",
            Self::Read => "read",
            Self::Close => "close",
        })
    }
}

/// Everything that can go wrong talking KMIP to a server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A socket operation failed.
    #[error("{step} failed: {source}")]
    Io {
        /// Which step.
        step: Step,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// TLS failed: the handshake (bad certificate, no common version or suite, alert from
    /// the server) or building the TLS configuration.
    #[error("TLS error: {0}")]
    Tls(#[source] rustls::Error),
    /// A step did not finish within its timeout.
    #[error("{step} timed out after {after:?}")]
    Timeout {
        /// Which step.
        step: Step,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The server closed the connection before sending a whole response.
    #[error("server closed the connection after {received} of {expected} response bytes")]
    Closed {
        /// Bytes of the response received.
        received: usize,
        /// Bytes the response needed (8 while the header is still missing).
        expected: usize,
    },
    /// A previous request on this connection failed midway; the stream is out of step and
    /// the connection must be dropped.
    #[error("connection unusable after an earlier failure")]
    Broken,
    /// The response (or its length header) did not decode, or exceeded a limit.
    #[error("bad response: {0}")]
    Codec(#[from] kmip_codec::error::Error),
    /// The server answered a batch item with a status other than Success.
    #[error("{}", kmip_failure(operation, status, reason.as_ref(), message.as_deref()))]
    Kmip {
        /// The operation of the failed item.
        operation: Operation,
        /// Result Status.
        status: ResultStatus,
        /// Result Reason, when the server gave one.
        reason: Option<ResultReason>,
        /// Result Message, when the server gave one.
        message: Option<String>,
    },
    /// The response decoded but does not answer the request (wrong operation, missing
    /// payload, batch item count or ID mismatch).
    #[error("unexpected response: {0}")]
    UnexpectedResponse(&'static str),
    /// The operation does not exist in the protocol version the connection speaks (RNG
    /// Retrieve in 1.1, Set Attribute in 1.x...); nothing was sent.
    #[error("{operation:?} is not defined in KMIP {version}")]
    NotInVersion {
        /// The operation.
        operation: Operation,
        /// The connection's protocol version.
        version: kmip_codec::version::ProtocolVersion,
    },
    /// A PEM file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A PEM file holds no certificate, or no private key, where one was required.
    #[error("{path} holds no {what}")]
    MissingPem {
        /// The file.
        path: PathBuf,
        /// "certificate" or "private key".
        what: &'static str,
    },
    /// The server name is neither a DNS name nor an IP address.
    #[error("invalid server name: {0}")]
    ServerName(#[source] rustls_pki_types::InvalidDnsNameError),
    /// The configuration is incomplete or contradictory.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
    /// The admin API answered with an error status. `message` is the server's fixed error
    /// text (`no such key`, `forbidden`, ...), cut to a few hundred printable characters.
    #[error("admin API: {message} (HTTP {status})")]
    Admin {
        /// HTTP status code.
        status: u16,
        /// The `error` field of the answer.
        message: String,
    },
    /// An HTTP exchange with the admin API failed (framing, connection closed early).
    #[error("admin API {step} failed: {source}")]
    Http {
        /// Which step.
        step: Step,
        /// hyper's error.
        #[source]
        source: hyper::Error,
    },
    /// A JSON document of the admin API did not have the expected shape.
    #[error("admin API sent unexpected JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// A `kmsctl` configuration file did not parse.
    #[error("cannot parse {path}: {source}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// The TOML error.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A file could not be written (`kmsctl key get --out`).
    #[error("cannot write {path}: {source}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Audit data could not be encoded, or a checkpoint could not be cut to a tenant's view.
    #[error("audit data: {0}")]
    Audit(#[source] audit_log::Error),
    /// A tenant bundle directory cannot be written or read as one (`kmsctl tenant export |
    /// import`): what is wrong with it.
    #[error("bundle: {0}")]
    Bundle(String),
    /// A KMS backup directory cannot be written, or does not verify (`kmsctl backup create |
    /// verify`): what is wrong with it.
    #[error("backup: {0}")]
    Backup(String),
    /// The command line, environment and configuration file together do not make a usable
    /// command (a required setting is missing, two options contradict each other).
    #[error("{0}")]
    Usage(&'static str),
    /// `kmsctl tenant pull --require-wrapping`: the transfer key could not be set up on both
    /// servers, so no object could travel wrapped.
    #[error("no transfer key could be set up (--require-wrapping is set): {0}")]
    TransferKey(#[source] Box<ClientError>),
}

impl ClientError {
    /// An I/O error of `step`; a TLS error tokio-rustls wrapped in `io::Error` becomes
    /// [`ClientError::Tls`], an early end of stream while reading becomes
    /// [`ClientError::Closed`] via the caller.
    pub(crate) fn io(step: Step, source: io::Error) -> Self {
        if let Some(tls) = source
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Self::Tls(tls.clone());
        }
        Self::Io { step, source }
    }

    /// The Result Reason of a [`ClientError::Kmip`] error.
    pub fn result_reason(&self) -> Option<ResultReason> {
        match self {
            Self::Kmip { reason, .. } => *reason,
            _ => None,
        }
    }
}

/// `Register failed: OperationFailed (InvalidField): name already in use`, by KMIP XML names.
fn kmip_failure(
    operation: &Operation,
    status: &ResultStatus,
    reason: Option<&ResultReason>,
    message: Option<&str>,
) -> String {
    let name =
        |n: Option<&'static str>, v: u32| n.map_or_else(|| format!("0x{v:08x}"), str::to_owned);
    let mut text = format!(
        "{} failed: {}",
        name(operation.name(), operation.0),
        name(status.name(), status.0)
    );
    if let Some(r) = reason {
        text.push_str(&format!(" ({})", name(r.name(), r.0)));
    }
    if let Some(m) = message {
        text.push_str(": ");
        text.extend(m.chars().filter(|c| !c.is_control()).take(200));
    }
    text
}

impl From<rustls::Error> for ClientError {
    fn from(e: rustls::Error) -> Self {
        Self::Tls(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmip_failures_read_by_their_kmip_names_on_one_line() {
        let e = ClientError::Kmip {
            operation: Operation::REGISTER,
            status: ResultStatus::OPERATION_FAILED,
            reason: Some(ResultReason::INVALID_FIELD),
            message: Some("name already\nin use".to_owned()),
        };
        assert_eq!(
            e.to_string(),
            "Register failed: OperationFailed (InvalidField): name alreadyin use"
        );
    }
}
