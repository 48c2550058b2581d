//! The one error type of the crate.

use std::path::PathBuf;

/// Which kind of label failed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    /// A tenant identifier.
    Tenant,
    /// A principal name (client, admin, auditor or operator name).
    Name,
}

impl std::fmt::Display for LabelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Tenant => "tenant",
            Self::Name => "name",
        })
    }
}

/// Which part of a `urn:kms:` URI is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriProblem {
    /// Longer than [`crate::identity::MAX_URI_LEN`].
    TooLong,
    /// Does not start with `urn:kms:principal:` or `urn:kms:node:`.
    UnknownPrefix,
    /// Wrong number of `:`-separated fields.
    FieldCount,
    /// The role is not one of the known roles.
    UnknownRole,
    /// The tenant field is wrong for the role (`-` is required for, and only for, `operator`).
    TenantForRole,
    /// A tenant or name label breaks the label rules.
    Label,
    /// The node ID is not a canonical decimal `u64`.
    NodeId,
}

impl std::fmt::Display for UriProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TooLong => "too long",
            Self::UnknownPrefix => "unknown prefix",
            Self::FieldCount => "wrong number of fields",
            Self::UnknownRole => "unknown role",
            Self::TenantForRole => "tenant must be `-` for, and only for, the operator role",
            Self::Label => "tenant or name breaks the label rules",
            Self::NodeId => "node ID is not a canonical decimal u64",
        })
    }
}

/// What the crate can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tenant or name does not match `[a-z0-9][a-z0-9-_.]{0,62}`.
    #[error("invalid {kind} {value:?}: must match [a-z0-9][a-z0-9-_.]{{0,62}}")]
    InvalidLabel {
        /// Which label.
        kind: LabelKind,
        /// The rejected value (never secret).
        value: String,
    },
    /// A `urn:kms:` URI is malformed.
    #[error("malformed KMS URI {uri:?}: {problem}")]
    MalformedUri {
        /// The URI, cut to [`crate::identity::MAX_URI_LEN`] characters.
        uri: String,
        /// What is wrong with it.
        problem: UriProblem,
    },
    /// A role name is not one of `kmip-client`, `tenant-admin`, `auditor`, `operator`.
    #[error("unknown role {0:?}")]
    UnknownRole(String),
    /// A key algorithm name is not `ecdsa-p256`, `rsa-2048` or `rsa-3072`.
    #[error("unknown key algorithm {0:?} (ecdsa-p256, rsa-2048, rsa-3072)")]
    UnknownKeyAlgorithm(String),
    /// A host is neither an IP address nor a valid DNS name.
    #[error("invalid host {0:?}: not an IP address nor a DNS name")]
    InvalidHost(String),
    /// A subject common name is empty or too long.
    #[error("invalid common name: must be 1 to 64 characters without control characters")]
    InvalidCommonName,
    /// A validity period of zero days or more than the maximum.
    #[error("invalid validity of {0} days (must be 1 to 36500)")]
    InvalidValidity(u32),
    /// A fingerprint string is not 32 bytes of hex.
    #[error("invalid SHA-256 fingerprint text")]
    InvalidFingerprint,
    /// A certificate is larger than [`crate::identity::MAX_CERT_DER_LEN`].
    #[error("certificate of {0} bytes is larger than the limit")]
    CertificateTooLarge(usize),
    /// A certificate failed to parse as X.509 DER.
    #[error("certificate does not parse as X.509")]
    ParseCertificate(#[source] x509_parser::error::X509Error),
    /// A certificate has trailing bytes after its DER encoding.
    #[error("certificate has trailing bytes after its DER encoding")]
    TrailingBytes,
    /// A certificate carries no `urn:kms:` principal or node URI.
    #[error("certificate carries no urn:kms: principal or node URI")]
    NoIdentityUri,
    /// A certificate carries more than one `urn:kms:` URI.
    #[error("certificate carries {0} urn:kms: URIs; exactly one is allowed")]
    SeveralIdentityUris(usize),
    /// A CSR failed to parse.
    #[error("CSR does not parse as PKCS#10")]
    ParseCsr(#[source] x509_parser::error::X509Error),
    /// A CSR's self-signature does not verify.
    #[error("CSR self-signature does not verify")]
    CsrSignature(#[source] x509_parser::error::X509Error),
    /// A CSR's public key is of a kind we do not issue for.
    #[error("CSR public key algorithm is not supported")]
    CsrPublicKey(#[source] rcgen::Error),
    /// A CSR's key is not RSA 2048 to 4096 bits nor ECDSA on P-256 or P-384.
    #[error("CSR key must be RSA of 2048 to 4096 bits or ECDSA on P-256 or P-384")]
    CsrKeyRefused,
    /// PEM input holds no object of the expected kind, or is broken.
    #[error("no valid PEM {what} found")]
    Pem {
        /// What was expected (`certificate`, `private key`, `certificate request`).
        what: &'static str,
        /// The PEM decoder's error.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// A private key could not be loaded (not PKCS#8, or an algorithm we do not use).
    #[error("private key is not a PKCS#8 ECDSA P-256 or RSA key")]
    LoadKey(#[source] rcgen::Error),
    /// An RSA key of a size we do not use (0 when the modulus could not be read).
    #[error("RSA key of {0} bits: only 2048 and 3072 are supported")]
    UnsupportedRsaSize(usize),
    /// A CA private key does not belong to the CA certificate.
    #[error("CA private key does not match the CA certificate")]
    CaKeyMismatch,
    /// A CA certificate is not a CA (no basic constraints CA=true).
    #[error("certificate is not a CA certificate")]
    NotCa,
    /// RSA key generation failed.
    #[error("RSA key generation failed")]
    RsaKeyGeneration(#[source] rsa::Error),
    /// Encoding an RSA key as PKCS#8 failed.
    #[error("RSA key PKCS#8 encoding failed")]
    RsaPkcs8(#[source] rsa::pkcs8::Error),
    /// An `rcgen` call failed.
    #[error("{op} failed")]
    Rcgen {
        /// Which step.
        op: &'static str,
        /// rcgen's error.
        #[source]
        source: rcgen::Error,
    },
    /// A file already exists and `force` was not given.
    #[error("{} already exists (use --force to overwrite)", .0.display())]
    AlreadyExists(PathBuf),
    /// Of a certificate/key pair only one file exists.
    #[error("{} exists but {} does not; remove it or use --force", .present.display(), .missing.display())]
    IncompletePair {
        /// The file that exists.
        present: PathBuf,
        /// The file that is missing.
        missing: PathBuf,
    },
    /// A file to read is larger than [`crate::files::MAX_PEM_FILE_LEN`].
    #[error("{} is {len} bytes, larger than a PEM file can be", .path.display())]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        len: u64,
    },
    /// A file system call failed.
    #[error("{op} {}", .path.display())]
    Io {
        /// What was being done (`create`, `read`, `write`, `rename`).
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn rcgen(op: &'static str) -> impl FnOnce(rcgen::Error) -> Self {
        move |source| Self::Rcgen { op, source }
    }

    pub(crate) fn io(
        op: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| Self::Io { op, path, source }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
