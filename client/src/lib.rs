//! KMIP client library over mutual TLS, built on `kmip-codec`, and the `kmsctl` tool for tenant
//! admins, operators and auditors.
//!
//! - [`ClientConfig`]: server address and name, CA and client certificate files, KMIP
//!   protocol version, timeouts, TLS versions, session resumption, optional Credential.
//! - [`Connector`]: built once from the settings (reads the PEM files, holds the rustls
//!   configuration and its session cache); cheap to clone; `connect()` opens a
//!   [`Connection`].
//! - [`Connection`]: raw exchange ([`Connection::send_raw`]), whole messages
//!   ([`Connection::request`]), batches ([`Connection::batch`]) and typed operations
//!   (`create_symmetric_key`, `get`, `locate`, `encrypt`, ...), failures as
//!   [`ClientError::Kmip`].
//! - [`Client`]: a connection per call (as vCenter) or one kept open.
//! - [`admin`]: an HTTPS client of the admin API (tenants, clients, inventory, rotation).
//! - [`cli`]: the `kmsctl` commands, runnable in-process ([`cli::execute`]).
//! - [`bench`]: the closed-loop load generator behind `kmsctl bench`.
//! - [`migrate`]: inbound migration from a foreign KMIP server (`kmsctl tenant pull`).
//!
//! Every response is framed under [`kmip_codec::limits::Limits`]: a length header above the
//! message-size limit is refused before the body is read or allocated. Every network step
//! has a timeout. Key material stays in `kmip_codec::ttlv::Bytes` (wiped, redacted `Debug`);
//! request and response buffers are wiped after use.
//!
//! ```no_run
//! use client::{ClientConfig, Connector};
//! use kmip_codec::enums::{CryptographicAlgorithm, CryptographicUsageMask};
//! use kmip_codec::model::Attributes;
//! # async fn f() -> Result<(), client::ClientError> {
//! let settings = ClientConfig::new("kms.example:5696", "kms.example")
//!     .with_ca_file("ca.pem")
//!     .with_identity("client.pem", "client.key");
//! let connector = Connector::new(settings)?;
//! let mut conn = connector.connect().await?;
//! let uid = conn
//!     .create_symmetric_key(
//!         CryptographicAlgorithm::AES,
//!         256,
//!         CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT,
//!         Attributes::new(),
//!     )
//!     .await?;
//! conn.activate(&uid).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod admin;
pub mod bench;
pub mod cli;
mod client;
pub mod config;
mod connection;
pub mod error;
pub mod frame;
pub mod migrate;
mod operations;

pub use client::{Client, ConnectionPolicy};
pub use config::{ClientConfig, IdentityFiles, SessionResumption, TlsVersions};
pub use connection::{Connection, Connector};
pub use error::{ClientError, Result, Step};
pub use operations::CipherOptions;
pub use rustls::HandshakeKind;
