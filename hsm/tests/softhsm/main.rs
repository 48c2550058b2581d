//! Tests against a real SoftHSM2. One binary of modules (link once); each test re-runs
//! itself in a child process with its own `SOFTHSM2_CONF` and token directory
//! (`softhsm_support::softhsm_test!`), so tests are isolated and run in parallel.

mod ceremony;
mod errors;
mod kek_sealing;
mod pool;
mod root;
mod token_setup;
