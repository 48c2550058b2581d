//! Shared harness for the integration tests: SoftHSM2 tokens, generated PKI, servers started on
//! loopback ports, and the OASIS KMIP test-vector replay runner.
#![forbid(unsafe_code)]

pub mod error;
pub mod softhsm;
pub mod testbed;
pub mod transport;
pub mod vectors;

pub use error::Error;
