//! `kmsd`, the KMIP server: mutual TLS, identity and tenancy, KMIP operations, the key
//! hierarchy, the store, replication and the audit trail. The binary is a thin layer over this
//! library so that integration tests start the real server in-process.
#![forbid(unsafe_code)]

pub mod admin;
pub mod audit;
pub mod audit_housekeeping;
pub mod backup;
pub mod ceremony;
pub mod cluster;
pub mod command_log;
pub mod config;
pub mod credential;
pub mod dev;
pub mod identity;
pub mod keys;
pub mod kms;
pub mod metrics;
pub mod net;
pub mod node;
pub mod ops;
pub mod peer;
pub mod permissions;
pub mod platform;
pub mod policy;
pub mod quota;
pub mod store;
pub mod tenancy;
pub mod tls;
