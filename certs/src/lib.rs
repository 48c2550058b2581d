//! The KMS PKI: a root CA, per-node server certificates, per-tenant KMIP client certificates and
//! CSR signing, built on `rcgen`.
#![forbid(unsafe_code)]
