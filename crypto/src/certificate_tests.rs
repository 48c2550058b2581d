//! Known answers: the OASIS BL-M-10 certificate (KMIP 2.1 Register of an X.509 Certificate),
//! its facts as OpenSSL 3.0 reports them (`openssl x509 -noout -subject -issuer -serial -dates
//! -fingerprint -sha1 / -sha256`), and malformed inputs.

use kmip_codec::tags::Tag;

use super::*;
use crate::Error;
use crate::asymmetric::KeyAlgorithm;
use crate::oasis;

fn bl_m_10() -> Vec<u8> {
    oasis::byte_strings("v2.1/XML/mandatory/BL-M-10-21.xml", Tag::CERTIFICATE_VALUE).remove(0)
}

#[test]
fn oasis_bl_m_10_facts_match_openssl() {
    let der = bl_m_10();
    let c = Certificate::parse(&der).expect("certificate");
    assert_eq!(
        c.subject,
        "C=AU, ST=SP, L=L, O=O, OU=OU, CN=CN, Email=Email"
    );
    assert_eq!(c.issuer, c.subject);
    // OpenSSL prints E31CB99F91CB07ED; the DER INTEGER carries a leading zero (the top bit is
    // set), which is kept: the serial is the INTEGER's content octets.
    assert_eq!(hex::encode(&c.serial), "00e31cb99f91cb07ed");
    // notBefore=May  1 06:08:16 2010 GMT, notAfter=Apr 30 06:08:16 2012 GMT
    assert_eq!((c.not_before, c.not_after), (1_272_694_096, 1_335_766_096));
    assert_eq!(
        hex::encode(&c.sha1),
        "3b4a2c841213b2baecab9de795563c1cd7c64131"
    );
    assert_eq!(
        hex::encode(&c.sha256),
        "3610018f1b8ffb5172bef76bb81f5a56ca79a8991ea126a6b1fb6678eb758788"
    );
    assert_eq!(c.digest(HashAlgorithm::Sha256), c.sha256);
    let facts = c.key_facts().expect("key");
    assert_eq!((facts.algorithm, facts.bits), (KeyAlgorithm::Rsa, 2048));
    // The name DERs are inside the certificate, and the SPKI re-encodes to itself.
    assert!(
        der.windows(c.subject_der.len())
            .any(|w| w == &c.subject_der[..])
    );
    assert_eq!(
        c.public_key()
            .expect("key")
            .to_der(PublicKeyFormat::Spki)
            .expect("spki"),
        c.spki_der
    );
}

#[test]
fn malformed_certificates_are_refused() {
    let der = bl_m_10();
    for cut in [0, 1, 100, der.len() - 1] {
        assert!(
            matches!(
                Certificate::parse(&der[..cut]),
                Err(Error::Certificate(CertificateError::Malformed))
            ),
            "cut {cut}"
        );
    }
    let mut long = der.clone();
    long.push(0);
    assert!(matches!(
        Certificate::parse(&long),
        Err(Error::Certificate(CertificateError::TrailingBytes))
    ));
    let mut broken = der.clone();
    broken[0] = 0x31;
    assert!(matches!(
        Certificate::parse(&broken),
        Err(Error::Certificate(CertificateError::Malformed))
    ));
    assert!(matches!(
        Certificate::parse(&vec![0x30; MAX_CERTIFICATE_LEN + 1]),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn an_ec_certificate_made_by_rcgen() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("key");
    let params = rcgen::CertificateParams::new(vec!["kms.example".to_owned()]).expect("params");
    let cert = params.self_signed(&key).expect("certificate");
    let c = Certificate::parse(cert.der()).expect("parse");
    let facts = c.key_facts().expect("facts");
    assert_eq!((facts.algorithm, facts.bits), (KeyAlgorithm::Ec, 384));
    assert_eq!(
        c.spki_der,
        rcgen::PublicKeyData::subject_public_key_info(&key)
    );
    assert!(c.not_before < c.not_after);
}
