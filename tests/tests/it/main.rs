//! Integration tests: one binary made of modules, to keep link time down. Every test that needs
//! SoftHSM2 re-executes this binary for itself with a private token directory (see
//! `kms_tests::softhsm`).
#![forbid(unsafe_code)]

mod admin;
mod admin_slots;
mod amplification;
mod asymmetric;
mod attributes;
mod audit_fairness;
mod audit_filing;
mod audit_forwarding;
mod audit_scopes;
mod audit_trail;
mod bench;
mod certificate_reload;
mod cluster;
mod conformance;
mod dev_command;
mod disk_watermark;
mod docs;
mod encrypt_only;
mod file_permissions;
mod flood;
mod fresh_get;
mod hostile;
mod identity;
mod kmsctl;
mod locate;
mod mac;
mod passwords;
mod per_ip;
mod pinned;
mod platform;
mod policy_matrix;
mod protections;
mod pykmip;
mod quotas;
mod replication;
mod schema_version;
mod tenancy;
mod transport;
mod versions;
mod vmware;
mod wrapped_keys;
