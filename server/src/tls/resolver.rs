//! Picks the ECDSA or the RSA server certificate per client hello: ECDSA when the client can
//! verify it (cheaper handshakes), RSA for clients that offer no ECDSA signature scheme. The
//! pair is read at each handshake from what the last certificate reload installed.

use std::sync::Arc;

use rustls::SignatureScheme;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::swap::Swap;

/// The server's certificates and keys: `[tls] ecdsa_cert` (also the node certificate and the
/// admin API's) and the optional RSA pair.
#[derive(Debug)]
pub struct ServerKeys {
    /// The ECDSA certificate chain and key.
    pub ecdsa: Arc<CertifiedKey>,
    /// The RSA certificate chain and key, if configured.
    pub rsa: Option<Arc<CertifiedKey>>,
}

#[derive(Debug)]
pub(super) struct CertResolver {
    keys: Arc<Swap<ServerKeys>>,
}

impl CertResolver {
    pub(super) fn new(keys: Arc<Swap<ServerKeys>>) -> Self {
        Self { keys }
    }
}

fn is_ecdsa(s: &SignatureScheme) -> bool {
    matches!(
        s,
        SignatureScheme::ECDSA_NISTP256_SHA256
            | SignatureScheme::ECDSA_NISTP384_SHA384
            | SignatureScheme::ECDSA_NISTP521_SHA512
    )
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let keys = self.keys.load();
        if hello.signature_schemes().iter().any(is_ecdsa) {
            return Some(keys.ecdsa.clone());
        }
        // No ECDSA offered: RSA if we have it; otherwise let the handshake fail cleanly.
        keys.rsa.clone()
    }
}
