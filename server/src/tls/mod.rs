//! TLS for the KMIP listener: TLS 1.2 (ECDHE with AEAD suites only) and TLS 1.3, an ECDSA and
//! an RSA server certificate chosen per client hello, session resumption (TLS 1.2 session IDs
//! and TLS 1.3 tickets: vCenter opens a new connection for nearly every operation), and a
//! mandatory client certificate that is either issued by the KMS CA (with the clientAuth EKU) or
//! pinned by fingerprint (see `verifier` for the one rule).

pub mod reload;
mod resolver;
pub mod swap;
pub mod verifier;

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::ServerSessionMemoryCache;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

pub use reload::{CertificateFacts, Certificates};
pub use resolver::ServerKeys;
pub use verifier::{ClientVerifier, Origin, PinnedCertificates, Trust};

/// TLS set-up errors (at start-up; never sent to a peer).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A PEM file holds no certificate or no private key.
    #[error("{path} holds no {what}")]
    Empty {
        /// The file.
        path: String,
        /// "certificate" or "private key".
        what: &'static str,
    },
    /// A private key is not the key of the certificate it is configured with.
    #[error("{key} is not the private key of the certificate in {cert}: {source}")]
    KeyMismatch {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
        /// rustls' finding.
        source: rustls::Error,
    },
    /// A certificate does not parse as X.509.
    #[error("{path} holds a certificate that does not parse")]
    Unparsable {
        /// The file.
        path: String,
    },
    /// rustls refused the material or the configuration.
    #[error("TLS configuration rejected: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client CA bundle is unusable.
    #[error("client CA rejected: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// `[tls] client_ca_key` is not the key of a certificate in `client_ca`.
    #[error("{path} is not the key of a certificate in the client CA file: {source}")]
    CaKey {
        /// The key file.
        path: String,
        /// Why.
        source: certs::Error,
    },
}

/// The crypto provider: ring, restricted to ECDHE key exchange and AEAD suites (rustls offers
/// nothing weaker).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Checks a TLS 1.2 handshake signature with `provider`'s algorithms (both verifiers use it).
pub(crate) fn tls12_signature(
    provider: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &rustls::DigitallySignedStruct,
) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls12_signature(
        message,
        cert,
        dss,
        &provider.signature_verification_algorithms,
    )
}

/// Checks a TLS 1.3 handshake signature with `provider`'s algorithms (both verifiers use it).
pub(crate) fn tls13_signature(
    provider: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &rustls::DigitallySignedStruct,
) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(
        message,
        cert,
        dss,
        &provider.signature_verification_algorithms,
    )
}

/// The client certificate verifier over the trusted client CAs of `certificates` (replaced by
/// each reload).
pub fn client_verifier(
    certificates: &Certificates,
    pinned: Arc<dyn PinnedCertificates>,
) -> Arc<ClientVerifier> {
    Arc::new(ClientVerifier::sharing(
        certificates.trust(),
        pinned,
        certificates.provider(),
    ))
}

/// The client CA with its private key, for signing CSRs through the admin API: the
/// certificate of `client_ca` whose public key matches the key in `key_path`.
pub fn client_ca_signer(
    client_ca: &Path,
    key_path: &Path,
) -> Result<certs::CertificateAuthority, TlsError> {
    let key = zeroize::Zeroizing::new(read(key_path)?);
    let ca_key = |source| TlsError::CaKey {
        path: key_path.display().to_string(),
        source,
    };
    let key_pem = std::str::from_utf8(&key).map_err(|_| TlsError::Empty {
        path: key_path.display().to_string(),
        what: "private key",
    })?;
    let bundle = String::from_utf8_lossy(&read(client_ca)?).into_owned();
    let mut last = certs::Error::CaKeyMismatch;
    for cert in certs::Certificate::all_from_pem(&bundle).map_err(ca_key)? {
        match certs::CertificateAuthority::from_pem(cert.pem(), key_pem) {
            Ok(ca) => return Ok(ca),
            Err(e) => last = e,
        }
    }
    Err(ca_key(last))
}

/// Builds the server's TLS configuration (KMIP and admin listeners) around `verifier`, serving
/// the certificates `certificates` holds at each handshake.
pub fn server_config(
    certificates: &Certificates,
    verifier: Arc<ClientVerifier>,
    session_cache_entries: usize,
) -> Result<Arc<ServerConfig>, TlsError> {
    let resolver = Arc::new(resolver::CertResolver::new(certificates.server_keys()));
    let mut config = ServerConfig::builder_with_provider(certificates.provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver);
    config.session_storage = ServerSessionMemoryCache::new(session_cache_entries);
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    // KMIP has no ALPN; the server picks its own suite order.
    config.ignore_client_order = true;
    Ok(Arc::new(config))
}

/// TLS client settings for forwarding the audit trail: the SIEM is trusted through the CAs
/// in `ca_file` only (not the system's roots), and presents `client_auth` when given.
pub fn forward_client_config(
    ca_file: &Path,
    client_auth: Option<(&Path, &Path)>,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(ca_file)? {
        roots.add(cert)?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_root_certificates(roots);
    let config = match client_auth {
        Some((cert, key)) => builder.with_client_auth_cert(read_certs(cert)?, read_key(key)?)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Every certificate in a PEM file.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::Read {
            path: path.display().to_string(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            path: path.display().to_string(),
            what: "certificate",
        });
    }
    Ok(certs)
}

/// The first private key in a PEM file.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = zeroize::Zeroizing::new(read(path)?);
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|source| TlsError::Read {
            path: path.display().to_string(),
            source,
        })?
        .ok_or_else(|| TlsError::Empty {
            path: path.display().to_string(),
            what: "private key",
        })
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}
