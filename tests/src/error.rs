//! The harness's one error type.

use std::path::PathBuf;

use kmip_codec::tags::Tag;
use kmip_codec::ttlv::ItemType;

/// Why the harness or the vector runner could not do its job (as opposed to a server answer that
/// differs from a vector, which is a [`crate::vectors::Difference`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{what} {path}: {source}")]
    File {
        /// What was being done.
        what: &'static str,
        /// Which file.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A vector file is not valid KMIP XML.
    #[error("vector XML: {0}")]
    Xml(#[source] kmip_codec::error::Error),
    /// A vector file does not alternate Request and Response Messages.
    #[error("vector item {index} is {found:?}, expected {expected:?}")]
    VectorShape {
        /// Index of the top-level item.
        index: usize,
        /// What was expected there.
        expected: Tag,
        /// What was found.
        found: Tag,
    },
    /// A vector file ends with a request that has no expected response.
    #[error("vector ends with a request without a response")]
    UnpairedRequest,
    /// An erratum names a value its file does not have.
    #[error("erratum for {file} step {step} does not match the file")]
    ErratumNotFound {
        /// The file.
        file: &'static str,
        /// The step.
        step: usize,
    },
    /// A placeholder was filled with a value of another type than the vector declares.
    #[error("placeholder {placeholder} is declared {declared:?} but its value has another type")]
    PlaceholderType {
        /// The placeholder.
        placeholder: String,
        /// The declared type.
        declared: ItemType,
    },
    /// A request uses a placeholder no earlier response defined.
    #[error("placeholder {0} is used before any response gave it a value")]
    Unresolved(String),
    /// A network step failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
    /// TLS configuration failed.
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// The KMIP client failed (connect, handshake, framing, timeout).
    #[error("KMIP client: {0}")]
    Client(#[from] client::ClientError),
    /// The dev environment (token, Root of Trust, PKI, config) could not be prepared.
    #[error("dev environment: {0}")]
    Dev(#[from] server::dev::DevError),
    /// No SoftHSM2 module was found.
    #[error(transparent)]
    NoModule(#[from] softhsm_support::NoModule),
    /// The server configuration did not load.
    #[error("server configuration: {0}")]
    Config(#[from] server::config::ConfigError),
    /// The node did not start.
    #[error("server start: {0}")]
    Start(#[from] server::node::StartError),
    /// An administrative action (tenant, enrollment) failed.
    #[error("admin action: {0}")]
    Admin(#[from] server::tenancy::AdminError),
    /// Certificates could not be made or read.
    #[error("certificates: {0}")]
    Certs(#[from] certs::Error),
    /// No KMIP client is known for this tenant.
    #[error("no KMIP client for tenant {0}")]
    UnknownTenant(String),
    /// A test thread panicked while holding the harness's lock.
    #[error("harness lock poisoned")]
    Poisoned,
    /// The server's answer is not a TTLV message.
    #[error("response does not decode: {0}")]
    Decode(#[source] kmip_codec::error::Error),
    /// A command the cluster fixture runs (`softhsm2-util`, `kmsd ceremony`,
    /// `kmsd enroll-operator`) failed or is missing.
    #[error("{command}: {detail}")]
    Command {
        /// The command line, without secrets.
        command: String,
        /// Its exit status and the end of its output.
        detail: String,
    },
    /// A cluster node's process did not start, stop or answer as expected.
    #[error("node {node}: {detail}")]
    Node {
        /// The node ID.
        node: u64,
        /// What went wrong.
        detail: String,
    },
    /// Something the cluster fixture waits for did not happen in time.
    #[error("timed out after {secs} s waiting for {what}")]
    Timeout {
        /// What was awaited, with the last thing seen.
        what: String,
        /// How long it waited.
        secs: u64,
    },
}
