//! Shared fixtures: one CA and one RSA node certificate per test binary (RSA key generation
//! takes seconds in a debug build, so it is done once).

use std::sync::OnceLock;

use certs::{
    CaParams, CertificateAuthority, CertifiedKey, ClientRequest, Host, KeyAlgorithm,
    LEAF_DEFAULT_DAYS, NodeRequest, PrincipalUri, TenantId,
};
use x509_parser::prelude::{FromDer, X509Certificate};

pub fn ca() -> &'static CertificateAuthority {
    static CA: OnceLock<CertificateAuthority> = OnceLock::new();
    CA.get_or_init(|| CertificateAuthority::generate(&CaParams::default()).expect("CA"))
}

/// A second, unrelated CA.
pub fn other_ca() -> &'static CertificateAuthority {
    static CA: OnceLock<CertificateAuthority> = OnceLock::new();
    CA.get_or_init(|| {
        CertificateAuthority::generate(&CaParams {
            common_name: "Some Other CA".to_owned(),
            ..CaParams::default()
        })
        .expect("other CA")
    })
}

pub fn hosts() -> Vec<Host> {
    ["localhost", "kms-1.example.com", "127.0.0.1", "::1"]
        .iter()
        .map(|h| h.parse().expect("host"))
        .collect()
}

pub fn node(ca: &CertificateAuthority, node_id: u64, algorithm: KeyAlgorithm) -> CertifiedKey {
    ca.issue_node(&NodeRequest {
        node_id,
        hosts: hosts(),
        algorithm,
        days: LEAF_DEFAULT_DAYS,
    })
    .expect("node certificate")
}

/// Node 7's RSA 2048 certificate from [`ca`], made once.
pub fn rsa_node() -> &'static CertifiedKey {
    static NODE: OnceLock<CertifiedKey> = OnceLock::new();
    NODE.get_or_init(|| node(ca(), 7, KeyAlgorithm::Rsa2048))
}

pub fn principal(tenant: &str, name: &str) -> PrincipalUri {
    PrincipalUri::kmip_client(TenantId::new(tenant).expect("tenant"), name).expect("principal")
}

pub fn client(ca: &CertificateAuthority, principal: &PrincipalUri) -> CertifiedKey {
    ca.issue_client(&ClientRequest {
        principal: principal.clone(),
        algorithm: KeyAlgorithm::EcdsaP256,
        days: LEAF_DEFAULT_DAYS,
    })
    .expect("client certificate")
}

pub fn parse(der: &[u8]) -> X509Certificate<'_> {
    X509Certificate::from_der(der).expect("parses").1
}
