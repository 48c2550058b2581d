//! Signing a CSR takes its key and CN, and nothing else it asks for.

use certs::{Error, Identity, identity_from_cert_der};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, SanType,
};
use x509_parser::extensions::GeneralName;

use crate::common::{self, ca, parse};

/// A CSR asking for far more than it should get: a CA, serverAuth, foreign SANs, and even an
/// operator principal URI.
fn greedy_csr_params(cn: Option<&str>) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    if let Some(cn) = cn {
        dn.push(DnType::CommonName, cn);
    }
    dn.push(DnType::OrganizationName, "VMware");
    params.distinguished_name = dn;
    params.subject_alt_names = vec![
        SanType::DnsName("evil.example.com".try_into().unwrap()),
        SanType::URI("urn:kms:principal:operator:-:root".try_into().unwrap()),
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
}

fn check_issued(der: &[u8], expected_cn: &str, spki: &[u8], rsa: bool) {
    let cert = parse(der);
    let ca_cert = parse(ca().certificate().der());
    cert.verify_signature(Some(ca_cert.public_key()))
        .expect("CA-signed");
    let names = &cert
        .subject_alternative_name()
        .unwrap()
        .expect("SAN")
        .value
        .general_names;
    assert_eq!(
        names.as_slice(),
        [GeneralName::URI(
            "urn:kms:principal:kmip-client:acme:vc-prod"
        )],
        "requested SANs leaked into the certificate"
    );
    let eku = cert.extended_key_usage().unwrap().expect("EKU");
    assert!(eku.value.client_auth && !eku.value.server_auth);
    assert!(!cert.is_ca(), "CSR made itself a CA");
    let cn: Vec<_> = cert
        .subject()
        .iter_common_name()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(cn, [expected_cn]);
    assert_eq!(cert.subject().iter_organization().count(), 0);
    assert_eq!(cert.public_key().raw, spki);
    let ku = cert.key_usage().unwrap().expect("KU");
    assert_eq!(ku.value.key_encipherment(), rsa);
    let id = identity_from_cert_der(der).expect("identity");
    assert_eq!(
        id.identity,
        Identity::Principal(common::principal("acme", "vc-prod"))
    );
}

#[test]
fn ecdsa_csr_gets_our_principal_and_none_of_its_requested_extensions() {
    let key = KeyPair::generate().unwrap();
    let csr = greedy_csr_params(Some("vcenter.corp.example"))
        .serialize_request(&key)
        .unwrap();
    let cert = ca()
        .sign_csr(
            &csr.pem().unwrap(),
            &common::principal("acme", "vc-prod"),
            365,
        )
        .expect("signed");
    check_issued(
        cert.der(),
        "vcenter.corp.example",
        &rcgen::PublicKeyData::subject_public_key_info(&key),
        false,
    );
}

#[test]
fn rsa_csr_is_signed_with_its_rsa_key() {
    // vCenter's CSRs are RSA: reuse the RSA key made once for the node fixture.
    let node = common::rsa_node();
    let key = KeyPair::from_pem(&node.key.to_pem()).unwrap();
    let csr = greedy_csr_params(Some("vc-rsa"))
        .serialize_request(&key)
        .unwrap();
    let cert = ca()
        .sign_csr(
            &csr.pem().unwrap(),
            &common::principal("acme", "vc-prod"),
            365,
        )
        .expect("signed");
    check_issued(cert.der(), "vc-rsa", &node.key.public_key_info_der(), true);
}

#[test]
fn csr_without_cn_gets_the_principal_name() {
    let key = KeyPair::generate().unwrap();
    let csr = greedy_csr_params(None).serialize_request(&key).unwrap();
    let cert = ca()
        .sign_csr_der(csr.der(), &common::principal("acme", "vc-prod"), 365)
        .expect("signed");
    check_issued(
        cert.der(),
        "vc-prod",
        &rcgen::PublicKeyData::subject_public_key_info(&key),
        false,
    );
}

#[test]
fn csr_with_a_broken_self_signature_is_refused() {
    let key = KeyPair::generate().unwrap();
    let csr = greedy_csr_params(Some("vcenter-aaaa"))
        .serialize_request(&key)
        .unwrap();
    let mut der = csr.der().to_vec();
    // Change one letter of the signed subject CN; the structure still parses.
    let at = der
        .windows(12)
        .position(|w| w == b"vcenter-aaaa")
        .expect("CN in DER");
    der[at + 8] = b'b';
    let err = ca()
        .sign_csr_der(&der, &common::principal("acme", "vc-prod"), 365)
        .unwrap_err();
    assert!(matches!(err, Error::CsrSignature(_)), "{err:?}");
}

#[test]
fn garbage_csr_input_is_a_typed_error() {
    let p = common::principal("acme", "vc-prod");
    assert!(matches!(
        ca().sign_csr("not a pem", &p, 365),
        Err(Error::Pem { .. })
    ));
    assert!(matches!(
        ca().sign_csr_der(&[0x30, 0x03, 0x02, 0x01, 0x01], &p, 365),
        Err(Error::ParseCsr(_))
    ));
    assert!(matches!(
        ca().sign_csr_der(&vec![0u8; certs::MAX_CSR_DER_LEN + 1], &p, 365),
        Err(Error::CertificateTooLarge(_))
    ));
}

#[test]
fn csr_with_a_key_other_than_rsa_or_p256_p384_is_refused() {
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let csr = greedy_csr_params(Some("vc-ed25519"))
        .serialize_request(&key)
        .unwrap();
    let err = ca()
        .sign_csr(
            &csr.pem().unwrap(),
            &common::principal("acme", "vc-prod"),
            365,
        )
        .unwrap_err();
    assert!(matches!(err, Error::CsrKeyRefused), "{err:?}");
    // P-384 is accepted.
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let csr = greedy_csr_params(Some("vc-p384"))
        .serialize_request(&key)
        .unwrap();
    ca().sign_csr_der(csr.der(), &common::principal("acme", "vc-prod"), 365)
        .expect("P-384 signed");
}
