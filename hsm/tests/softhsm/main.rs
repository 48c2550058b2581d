//! Tests against a real SoftHSM2. One binary of modules (link once); each test re-runs
//! itself in a child process with its own `SOFTHSM2_CONF` and token directory (see
//! `support.rs`), so tests are isolated and run in parallel.

#[macro_use]
mod support;

mod ceremony;
mod errors;
mod pool;
mod root;
mod seal;
