//! Integration tests of the certs crate, one binary made of modules.

mod cli;
mod common;
mod csr;
mod issue;
mod key_files;
mod principal_uris;
mod tls;
