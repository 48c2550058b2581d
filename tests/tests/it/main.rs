//! Integration tests: one binary made of modules, to keep link time down. Every test that needs
//! SoftHSM2 re-executes this binary for itself with a private token directory (see
//! `kms_tests::softhsm`).
#![forbid(unsafe_code)]

mod admin;
mod attributes;
mod audit;
mod bench;
mod cluster;
mod conformance;
mod dev_command;
mod disk_watermark;
mod file_permissions;
mod flood;
mod hostile;
mod kmsctl;
mod per_ip;
mod pinned;
mod pykmip;
mod replication;
mod tenancy;
mod transport;
mod versions;
mod vmware;
