//! Client integration tests against an in-test KMIP-over-TLS server (one binary, modules).

mod bench_accounting;
mod kmsctl_audit;
mod kmsctl_offline;
mod lifecycle;
mod operations;
mod scripted_server;
mod timing;
mod tls_and_framing;
