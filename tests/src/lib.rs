//! Shared harness for the integration tests (`tests/it/`): a private SoftHSM2 token directory
//! per test ([`softhsm`], which is `softhsm_support::harness`), a real server started in-process on `127.0.0.1:0` with the dev PKI
//! ([`testbed`]), the OASIS KMIP test-vector replay runner ([`vectors`]), and a three-node
//! cluster of real `kmsd serve` processes ([`cluster`]) partitioned through TCP proxies
//! ([`fault_proxy`]), and a checker of recorded histories of keys for linearizability
//! ([`linearizability`]) with the fault battery's clients that record them ([`battery`]).
//!
//! ```sh
//! cargo test -p kms-tests                       # runner unit tests + integration tests
//! cargo test -p kms-tests --test it conformance -- --nocapture   # per-file vector report
//! KMS_VECTORS=SKLC-M-1 cargo test -p kms-tests --test it conformance -- --nocapture
//! cargo build -p server --bin kmsd && cargo test -p kms-tests --test it cluster:: -- --nocapture
//! ```
//!
//! The vector files are read from `KMS_SHARED_DIR/kmip-vectors` (default: `shared/` beside the
//! checkout).
#![forbid(unsafe_code)]

pub mod battery;
pub mod cluster;
pub mod dev_server;
pub mod error;
pub mod fault_proxy;
pub mod kmsctl;
pub mod linearizability;
pub mod testbed;
pub mod transport;
pub mod vectors;

pub use error::Error;
/// The per-test process re-run with a private SoftHSM2 token directory (one implementation for
/// the workspace: the `softhsm-support` crate). [`server_test!`] runs on it.
pub use softhsm_support::harness as softhsm;
/// A test in its own process with its own SoftHSM2 token directory (see [`softhsm`]).
pub use softhsm_support::softhsm_test;
