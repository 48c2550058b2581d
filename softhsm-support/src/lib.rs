//! SoftHSM2 for development and tests, in one place: where its PKCS#11 module is
//! ([`module`]), what a private `softhsm2.conf` says ([`conf_text`]), how a token is
//! initialised ([`init_token`]), and, with the `harness` feature (the default), the per-test
//! process re-run ([`harness::run`], [`softhsm_test!`]) and temporary token directories
//! ([`harness::TokenDir`]).
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once per process, when the module is initialised, and setting
//! an environment variable in-process needs `unsafe` (forbidden in this workspace). So a test
//! that needs its own tokens runs its body in a child process started with the variable set.
//!
//! The shell scripts cannot call Rust: they use `scripts/softhsm-module.sh`, which holds the
//! same lookup (a test here checks that its list of places is [`MODULE_CANDIDATES`]).
//!
//! ```no_run
//! let module = softhsm_support::module()?;
//! println!("SoftHSM2 module: {}", module.display());
//! # Ok::<(), softhsm_support::NoModule>(())
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "harness")]
pub mod harness;
mod module;
mod token;

pub use module::{MODULE_CANDIDATES, MODULE_VAR, NoModule, find_module, module};
pub use token::{SOFTHSM2_CONF, TokenError, conf_text, init_token, init_token_command};
