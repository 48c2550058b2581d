//! Picks the ECDSA or the RSA server certificate per client hello: ECDSA when the client can
//! verify it (cheaper handshakes), RSA for clients that offer no ECDSA signature scheme.

use std::sync::Arc;

use rustls::SignatureScheme;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

#[derive(Debug)]
pub(super) struct CertResolver {
    ecdsa: Arc<CertifiedKey>,
    rsa: Option<Arc<CertifiedKey>>,
}

impl CertResolver {
    pub(super) fn new(ecdsa: Arc<CertifiedKey>, rsa: Option<Arc<CertifiedKey>>) -> Self {
        Self { ecdsa, rsa }
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
        if hello.signature_schemes().iter().any(is_ecdsa) {
            return Some(self.ecdsa.clone());
        }
        // No ECDSA offered: RSA if we have it; otherwise let the handshake fail cleanly.
        self.rsa.clone()
    }
}
