//! The urn:kms: URI formats and reading identities back from certificates.

use certs::{
    Error, Fingerprint, Identity, NodeUri, PrincipalUri, Role, TenantId, UriProblem,
    fingerprint_sha256, identity_from_cert_der,
};
use rcgen::{CertificateParams, KeyPair, SanType};

#[test]
fn every_role_round_trips() {
    for role in Role::ALL {
        let tenant = role.has_tenant().then(|| TenantId::new("t-1.x_y").unwrap());
        let p = PrincipalUri::new(role, tenant, "n0.a-b_c").unwrap();
        let text = p.to_string();
        assert!(text.starts_with(&format!("urn:kms:principal:{}:", role.as_str())));
        assert_eq!(text.parse::<PrincipalUri>().unwrap(), p);
        assert_eq!(text.parse::<Identity>().unwrap(), Identity::Principal(p));
    }
    assert_eq!(
        "urn:kms:principal:operator:-:alice"
            .parse::<PrincipalUri>()
            .unwrap()
            .tenant,
        None
    );
    let n: NodeUri = "urn:kms:node:18446744073709551615".parse().unwrap();
    assert_eq!(n.node_id, u64::MAX);
    assert_eq!(n.to_string(), "urn:kms:node:18446744073709551615");
    assert_eq!("urn:kms:node:0".parse::<NodeUri>().unwrap().node_id, 0);
}

#[test]
fn malformed_uris_are_rejected_with_the_right_problem() {
    let long_label = "a".repeat(64);
    let too_long = format!("urn:kms:principal:kmip-client:acme:{}", "a".repeat(300));
    let cases: &[(&str, UriProblem)] = &[
        ("urn:kms:principal:kmip-client:acme", UriProblem::FieldCount),
        (
            "urn:kms:principal:kmip-client:acme:vc:extra",
            UriProblem::FieldCount,
        ),
        ("urn:kms:principal:root:acme:vc", UriProblem::UnknownRole),
        (
            "urn:kms:principal:KMIP-CLIENT:acme:vc",
            UriProblem::UnknownRole,
        ),
        (
            "urn:kms:principal:kmip-client:-:vc",
            UriProblem::TenantForRole,
        ),
        (
            "urn:kms:principal:operator:acme:vc",
            UriProblem::TenantForRole,
        ),
        ("urn:kms:principal:kmip-client:Acme:vc", UriProblem::Label),
        ("urn:kms:principal:kmip-client:acme:-vc", UriProblem::Label),
        ("urn:kms:principal:kmip-client:acme:", UriProblem::Label),
        ("urn:kms:principal:kmip-client::vc", UriProblem::Label),
        ("urn:kms:principal:kmip-client:acme:v c", UriProblem::Label),
        ("urn:kms:principal:kmip-client:acme:v/c", UriProblem::Label),
        (
            "URN:KMS:principal:kmip-client:acme:vc",
            UriProblem::UnknownPrefix,
        ),
        (
            "urn:kms:principals:kmip-client:acme:vc",
            UriProblem::UnknownPrefix,
        ),
        ("urn:kms:node:01", UriProblem::NodeId),
        ("urn:kms:node:+1", UriProblem::NodeId),
        ("urn:kms:node:", UriProblem::NodeId),
        ("urn:kms:node:-1", UriProblem::NodeId),
        ("urn:kms:node:18446744073709551616", UriProblem::NodeId),
        ("urn:kms:node:1:2", UriProblem::NodeId),
        ("urn:kms:nodes:1", UriProblem::UnknownPrefix),
        (too_long.as_str(), UriProblem::TooLong),
    ];
    for (uri, problem) in cases {
        match uri.parse::<Identity>() {
            Err(Error::MalformedUri { problem: got, .. }) => {
                assert_eq!(got, *problem, "{uri}")
            }
            other => panic!("{uri}: {other:?}"),
        }
    }
    let uri = format!("urn:kms:principal:kmip-client:acme:{long_label}");
    assert!(
        uri.parse::<PrincipalUri>().is_err(),
        "64-character name accepted"
    );
    let uri = format!("urn:kms:principal:kmip-client:acme:{}", &long_label[1..]);
    assert!(
        uri.parse::<PrincipalUri>().is_ok(),
        "63-character name refused"
    );
}

#[test]
fn labels_follow_the_pattern() {
    for ok in ["a", "0", "acme", "a-b_c.d", "9lives"] {
        assert!(TenantId::new(ok).is_ok(), "{ok}");
    }
    for bad in ["", "-a", ".a", "_a", "A", "a:b", "a b", "é", "a\n"] {
        assert!(
            matches!(TenantId::new(bad), Err(Error::InvalidLabel { .. })),
            "{bad:?}"
        );
    }
    assert!("tenant-admin".parse::<Role>().is_ok());
    assert!(matches!(
        "admin".parse::<Role>(),
        Err(Error::UnknownRole(_))
    ));
}

/// A self-signed certificate with the given SAN URIs.
fn cert_with_uris(uris: &[&str]) -> Vec<u8> {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["host.example".to_owned()]).unwrap();
    for uri in uris {
        params
            .subject_alt_names
            .push(SanType::URI((*uri).try_into().unwrap()));
    }
    params.self_signed(&key).unwrap().der().to_vec()
}

#[test]
fn identity_needs_exactly_one_well_formed_kms_uri() {
    let two = cert_with_uris(&[
        "urn:kms:principal:kmip-client:acme:a",
        "urn:kms:principal:kmip-client:acme:b",
    ]);
    assert!(matches!(
        identity_from_cert_der(&two),
        Err(Error::SeveralIdentityUris(2))
    ));
    let mixed = cert_with_uris(&["urn:kms:node:1", "urn:kms:principal:operator:-:x"]);
    assert!(matches!(
        identity_from_cert_der(&mixed),
        Err(Error::SeveralIdentityUris(2))
    ));
    let none = cert_with_uris(&[]);
    assert!(matches!(
        identity_from_cert_der(&none),
        Err(Error::NoIdentityUri)
    ));
    let foreign = cert_with_uris(&["https://example.com/x"]);
    assert!(matches!(
        identity_from_cert_der(&foreign),
        Err(Error::NoIdentityUri)
    ));
    let malformed = cert_with_uris(&["urn:kms:principal:kmip-client:ACME:a"]);
    assert!(matches!(
        identity_from_cert_der(&malformed),
        Err(Error::MalformedUri { .. })
    ));
    // Non-KMS URIs beside one KMS URI are ignored.
    let ok = cert_with_uris(&[
        "https://example.com/x",
        "urn:kms:principal:auditor:acme:eve",
    ]);
    let id = identity_from_cert_der(&ok).unwrap();
    assert_eq!(
        id.identity.to_string(),
        "urn:kms:principal:auditor:acme:eve"
    );
    assert_eq!(id.info.fingerprint.0, fingerprint_sha256(&ok));
    // cert_info needs no URI.
    let info = certs::identity::cert_info(&none).unwrap();
    assert_eq!(info.subject, info.issuer);
}

#[test]
fn broken_der_is_a_typed_error() {
    assert!(matches!(
        identity_from_cert_der(b"\x30\x03\x02\x01"),
        Err(Error::ParseCertificate(_))
    ));
    let mut trailing = cert_with_uris(&["urn:kms:node:1"]);
    trailing.push(0);
    assert!(matches!(
        identity_from_cert_der(&trailing),
        Err(Error::TrailingBytes)
    ));
    assert!(matches!(
        identity_from_cert_der(&vec![0x30; certs::identity::MAX_CERT_DER_LEN + 1]),
        Err(Error::CertificateTooLarge(_))
    ));
}

#[test]
fn fingerprint_is_sha256_in_both_forms() {
    // FIPS 180-2 test vector: SHA-256("abc").
    let fp = Fingerprint(fingerprint_sha256(b"abc"));
    let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(fp.hex(), hex);
    assert_eq!(fp.to_string(), hex);
    let colon = fp.colon_hex();
    assert_eq!(colon.len(), 32 * 3 - 1);
    assert!(colon.starts_with("ba:78:16:bf:") && colon.ends_with(":15:ad"));
    assert_eq!(colon.parse::<Fingerprint>().unwrap(), fp);
    assert_eq!(hex.to_uppercase().parse::<Fingerprint>().unwrap(), fp);
    assert!(matches!(
        "ba78".parse::<Fingerprint>(),
        Err(Error::InvalidFingerprint)
    ));
}
