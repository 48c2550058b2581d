//! Client integration tests against an in-test KMIP-over-TLS server (one binary, modules).

mod audit;
mod bench;
mod kmsctl;
mod lifecycle;
mod operations;
mod support;
mod timing;
mod transport;
