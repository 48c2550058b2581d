//! Integration tests of the certs crate, one binary made of modules.

mod cli;
mod common;
mod csr;
mod files;
mod identity;
mod issue;
mod tls;
