//! The KMS PKI: a root CA, per-node server certificates, per-tenant KMIP client certificates and
//! CSR signing, built on `rcgen`; and the ONE definition of the certificate identities the
//! server decides access by ([`identity`]).
//!
//! - [`CertificateAuthority`] makes or loads the root CA and issues node certificates
//!   ([`CertificateAuthority::issue_node`]), client certificates
//!   ([`CertificateAuthority::issue_client`]) and certificates for CSRs
//!   ([`CertificateAuthority::sign_csr`]).
//! - [`identity::identity_from_cert_der`] reads the `urn:kms:` SAN URI back.
//! - [`files`] writes PEM files (keys created 0600, no silent overwrite).
//! - [`dev::ensure_dev_pki`] makes the development PKI `kmsd dev` uses.
//!
//! Keys: ECDSA P-256 through ring (via rcgen); RSA keys are generated with the RustCrypto
//! `rsa` crate because ring cannot generate RSA keys, then handed to ring as PKCS#8. All
//! signing (certificates here, TLS in the server) is done by ring.
//!
//! Unix only: key files are created with an explicit mode.
#![forbid(unsafe_code)]

mod authority;
mod certificate;
mod csr;
pub mod dev;
mod error;
pub mod files;
pub mod identity;
mod key;

pub use authority::{
    CA_DEFAULT_DAYS, CaParams, CertificateAuthority, ClientRequest, Host, LEAF_DEFAULT_DAYS,
    MAX_DAYS, NodeRequest,
};
pub use certificate::{Certificate, CertifiedKey};
pub use csr::{MAX_CSR_DER_LEN, MAX_CSR_RSA_BITS, MIN_CSR_RSA_BITS};
pub use error::{Error, LabelKind, Result, UriProblem};
pub use identity::{
    CertIdentity, CertInfo, Fingerprint, Identity, NodeUri, PrincipalUri, Role, TenantId,
    fingerprint_sha256, identity_from_cert_der,
};
pub use key::{KeyAlgorithm, PrivateKey};
