//! `kmsd`, the KMIP server: mutual TLS, identity and tenancy, KMIP operations, the key
//! hierarchy, the store, replication and the audit trail. The binary is a thin layer over this
//! library so that integration tests start the real server in-process.
#![forbid(unsafe_code)]

pub mod store;
