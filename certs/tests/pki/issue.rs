//! Issued certificates parse with x509-parser and carry the right names, usages and chain.

use std::net::IpAddr;

use certs::{
    CaParams, CertificateAuthority, ClientRequest, Error, Identity, KeyAlgorithm, NodeUri,
    PrincipalUri, Role, identity_from_cert_der,
};
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::{OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION};
use x509_parser::prelude::X509Certificate;
use x509_parser::public_key::PublicKey;

use crate::common::{self, ca, parse};

fn uris<'a>(cert: &'a X509Certificate<'_>) -> Vec<&'a str> {
    cert.subject_alternative_name()
        .expect("SAN parses")
        .expect("SAN present")
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::URI(u) => Some(*u),
            _ => None,
        })
        .collect()
}

fn verify_chain(cert: &X509Certificate<'_>, ca: &CertificateAuthority) {
    let ca_cert = parse(ca.certificate().der());
    cert.verify_signature(Some(ca_cert.public_key()))
        .expect("signed by the CA");
    assert_eq!(cert.issuer(), ca_cert.subject());
}

#[test]
fn ca_is_a_path_length_zero_cert_signing_ca() {
    let ca = ca();
    let cert = parse(ca.certificate().der());
    let bc = cert.basic_constraints().expect("parses").expect("present");
    assert!(bc.critical);
    assert!(bc.value.ca);
    assert_eq!(bc.value.path_len_constraint, Some(0));
    let ku = cert.key_usage().expect("parses").expect("present");
    assert!(ku.critical);
    assert!(ku.value.key_cert_sign() && ku.value.crl_sign());
    assert!(!ku.value.digital_signature());
    assert_eq!(
        cert.public_key().algorithm.algorithm,
        OID_KEY_TYPE_EC_PUBLIC_KEY
    );
    cert.verify_signature(None).expect("self-signed");
    let years = (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp())
        / (365 * 86_400);
    assert!(years >= 19, "CA validity of {years} years");
}

fn check_node(cert_der: &[u8], node_id: u64, rsa: bool) {
    let cert = parse(cert_der);
    verify_chain(&cert, ca());
    assert_eq!(uris(&cert), [format!("urn:kms:node:{node_id}").as_str()]);
    let san = cert.subject_alternative_name().unwrap().unwrap();
    let dns: Vec<_> = san
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(*d),
            _ => None,
        })
        .collect();
    assert_eq!(dns, ["localhost", "kms-1.example.com"]);
    let ips: Vec<IpAddr> = san
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::IPAddress(b) => match b.len() {
                4 => Some(IpAddr::from(<[u8; 4]>::try_from(*b).unwrap())),
                16 => Some(IpAddr::from(<[u8; 16]>::try_from(*b).unwrap())),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(
        ips,
        [
            "127.0.0.1".parse::<IpAddr>().unwrap(),
            "::1".parse().unwrap()
        ]
    );
    let eku = cert.extended_key_usage().unwrap().expect("EKU present");
    assert!(eku.value.server_auth && eku.value.client_auth);
    assert!(!eku.value.any);
    let ku = cert.key_usage().unwrap().expect("KU present");
    assert!(ku.value.digital_signature());
    assert!(!ku.value.key_cert_sign());
    assert_eq!(ku.value.key_encipherment(), rsa);
    let bc = cert.basic_constraints().unwrap().expect("BC present");
    assert!(!bc.value.ca);
    let id = identity_from_cert_der(cert_der).expect("identity");
    assert_eq!(id.identity, Identity::Node(NodeUri { node_id }));
}

#[test]
fn ecdsa_node_certificate_names_node_and_hosts_with_both_ekus() {
    let node = common::node(ca(), 3, KeyAlgorithm::EcdsaP256);
    check_node(node.certificate.der(), 3, false);
    let cert = parse(node.certificate.der());
    assert_eq!(
        cert.public_key().algorithm.algorithm,
        OID_KEY_TYPE_EC_PUBLIC_KEY
    );
    assert_eq!(node.key.algorithm(), KeyAlgorithm::EcdsaP256);
}

#[test]
fn rsa_node_certificate_is_rsa_2048_with_the_same_names() {
    let node = common::rsa_node();
    check_node(node.certificate.der(), 7, true);
    let cert = parse(node.certificate.der());
    assert_eq!(
        cert.public_key().algorithm.algorithm,
        OID_PKCS1_RSAENCRYPTION
    );
    match cert.public_key().parsed().expect("RSA key parses") {
        PublicKey::RSA(rsa) => assert_eq!(rsa.key_size(), 2048),
        other => panic!("not RSA: {other:?}"),
    }
    assert_eq!(node.key.algorithm(), KeyAlgorithm::Rsa2048);
    // The certificate carries the public half of the key we hold.
    assert_eq!(
        cert.public_key().raw,
        node.key.public_key_info_der().as_slice()
    );
}

#[test]
fn client_certificate_is_client_auth_only_with_one_principal_uri() {
    let principal = common::principal("acme", "vcenter-01");
    let pair = common::client(ca(), &principal);
    let cert = parse(pair.certificate.der());
    verify_chain(&cert, ca());
    assert_eq!(
        uris(&cert),
        ["urn:kms:principal:kmip-client:acme:vcenter-01"]
    );
    let eku = cert.extended_key_usage().unwrap().expect("EKU present");
    assert!(eku.value.client_auth);
    assert!(!eku.value.server_auth && !eku.value.any);
    let cn: Vec<_> = cert
        .subject()
        .iter_common_name()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(cn, ["vcenter-01"]);
    let id = identity_from_cert_der(pair.certificate.der()).expect("identity");
    assert_eq!(id.identity, Identity::Principal(principal));
    assert_eq!(id.info.fingerprint, pair.certificate.fingerprint());
    assert_eq!(id.info.subject, "CN=vcenter-01");
    assert_eq!(id.info.issuer, "CN=KMS Root CA");
}

#[test]
fn operator_certificate_has_dash_tenant() {
    let principal = PrincipalUri::new(Role::Operator, None, "alice").unwrap();
    let pair = common::client(ca(), &principal);
    assert_eq!(
        uris(&parse(pair.certificate.der())),
        ["urn:kms:principal:operator:-:alice"]
    );
}

#[test]
fn issuing_for_a_hand_built_invalid_principal_fails() {
    // Operator with a tenant, and a tenant role without one: both refused at issuance.
    let bad = [
        PrincipalUri {
            role: Role::Operator,
            tenant: Some("acme".parse().unwrap()),
            name: "alice".into(),
        },
        PrincipalUri {
            role: Role::Auditor,
            tenant: None,
            name: "bob".into(),
        },
        PrincipalUri {
            role: Role::KmipClient,
            tenant: Some("acme".parse().unwrap()),
            name: "Bad Name".into(),
        },
    ];
    for principal in bad {
        let err = ca()
            .issue_client(&ClientRequest {
                principal: principal.clone(),
                algorithm: KeyAlgorithm::EcdsaP256,
                days: 30,
            })
            .expect_err("invalid principal issued");
        assert!(
            matches!(err, Error::MalformedUri { .. } | Error::InvalidLabel { .. }),
            "{principal:?}: {err:?}"
        );
    }
}

#[test]
fn serials_are_random_and_positive() {
    let p = common::principal("acme", "svc");
    let a = common::client(ca(), &p);
    let b = common::client(ca(), &p);
    let (sa, sb) = (
        parse(a.certificate.der()).raw_serial().to_vec(),
        parse(b.certificate.der()).raw_serial().to_vec(),
    );
    assert_ne!(sa, sb);
    for s in [&sa, &sb] {
        assert_eq!(s.len(), 16);
        assert_eq!(s[0] & 0x80, 0, "negative serial");
    }
}

#[test]
fn validity_out_of_range_is_refused() {
    for days in [0, certs::MAX_DAYS + 1] {
        let err = ca()
            .issue_client(&ClientRequest {
                principal: common::principal("acme", "svc"),
                algorithm: KeyAlgorithm::EcdsaP256,
                days,
            })
            .expect_err("accepted bad validity");
        assert!(matches!(err, Error::InvalidValidity(d) if d == days));
    }
}

#[test]
fn ca_round_trips_through_pem_and_rejects_wrong_key_or_non_ca() {
    let ca = ca();
    let key_pem = ca.key().to_pem();
    let loaded = CertificateAuthority::from_pem(ca.certificate().pem(), &key_pem).expect("loads");
    assert_eq!(loaded.certificate(), ca.certificate());
    // The loaded CA issues certificates that chain to the original.
    let pair = common::client(&loaded, &common::principal("acme", "x"));
    verify_chain(&parse(pair.certificate.der()), ca);

    let other_key = common::other_ca().key().to_pem();
    let err = CertificateAuthority::from_pem(ca.certificate().pem(), &other_key).unwrap_err();
    assert!(matches!(err, Error::CaKeyMismatch), "{err:?}");

    let err =
        CertificateAuthority::from_pem(pair.certificate.pem(), &pair.key.to_pem()).unwrap_err();
    assert!(matches!(err, Error::NotCa), "{err:?}");
}

#[test]
fn hosts_must_be_ip_or_dns_names() {
    for bad in [
        "",
        "bad host",
        "exa mple.com",
        "-",
        "a..b",
        "\u{e9}t\u{e9}.fr",
    ] {
        assert!(
            matches!(bad.parse::<certs::Host>(), Err(Error::InvalidHost(_))),
            "{bad:?} accepted"
        );
    }
    assert!(matches!("10.1.2.3".parse(), Ok(certs::Host::Ip(_))));
    assert!(matches!("kms.example.com".parse(), Ok(certs::Host::Dns(_))));
}

#[test]
fn invalid_common_name_for_ca_is_refused() {
    let err = CertificateAuthority::generate(&CaParams {
        common_name: String::new(),
        ..CaParams::default()
    })
    .unwrap_err();
    assert!(matches!(err, Error::InvalidCommonName));
}
