//! Shared harness for the integration tests: SoftHSM2 tokens, generated PKI, servers started on
//! loopback ports.
#![forbid(unsafe_code)]
