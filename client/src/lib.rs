//! KMIP client library over mutual TLS, built on `kmip-codec`, and the `kmsctl` tool for tenant
//! admins, operators and auditors.
#![forbid(unsafe_code)]
