//! Keys from the OASIS vectors (CS-AC RSA 2048 PKCS#1 / X.509, BL Transparent RSA, BL
//! 1024-bit keys that must be refused, CS-AC-M-3-ECC's secp256k1 key that must be refused),
//! RFC 8410's Ed25519 example (refused), generation and round trips, malformed encodings.

use kmip_codec::enums::KeyFormatType;
use kmip_codec::model::{KeyMaterial, TransparentKey, TransparentRsaPrivateKey};
use rand_chacha::rand_core::SeedableRng;

use super::*;
use crate::error::Encoding;
use crate::oasis;
use crate::{Error, KeyError};

#[path = "malformed_tests.rs"]
mod malformed;

const CS_AC_1: &str = "v1.4/XML/mandatory/CS-AC-M-1-14.xml";
const CS_AC_2: &str = "v1.4/XML/mandatory/CS-AC-M-2-14.xml";

fn rng(seed: u64) -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(seed)
}

fn vector_rsa() -> (Vec<u8>, Vec<u8>) {
    let private = oasis::byte_strings(CS_AC_1, kmip_codec::tags::Tag::KEY_MATERIAL).remove(0);
    let public = oasis::byte_strings(CS_AC_2, kmip_codec::tags::Tag::KEY_MATERIAL).remove(0);
    (private, public)
}

fn key_error(r: Result<impl std::fmt::Debug>) -> KeyError {
    match r {
        Err(Error::Key(k)) => k,
        other => panic!("expected a key error, got {other:?}"),
    }
}

#[test]
fn cs_ac_rsa_2048_pkcs1_keys_parse_match_and_re_encode_identically() {
    let (private_der, public_der) = vector_rsa();
    let private = PrivateKey::from_der(PrivateKeyFormat::Pkcs1, &private_der).expect("private");
    let public = PublicKey::from_der(PublicKeyFormat::Pkcs1, &public_der).expect("public");
    assert_eq!(private.public_key(), public);
    let facts = private.facts();
    assert_eq!(
        (facts.algorithm, facts.bits, facts.curve),
        (KeyAlgorithm::Rsa, 2048, None)
    );
    assert_eq!(facts.cryptographic_algorithm(), CryptographicAlgorithm::RSA);
    assert_eq!(facts.cryptographic_length(), 2048);
    assert_eq!(
        private
            .to_der(PrivateKeyFormat::Pkcs1)
            .expect("pkcs1")
            .as_slice(),
        &private_der[..]
    );
    assert_eq!(
        public.to_der(PublicKeyFormat::Pkcs1).expect("pkcs1"),
        public_der
    );
    // PKCS#8 and SPKI wrap the same PKCS#1 bytes.
    let p8 = private.to_der(PrivateKeyFormat::Pkcs8).expect("pkcs8");
    assert!(
        p8.as_slice()
            .windows(private_der.len())
            .any(|w| w == &private_der[..])
    );
    let back = PrivateKey::from_der(PrivateKeyFormat::Pkcs8, p8.as_slice()).expect("pkcs8 back");
    assert_eq!(
        back.to_der(PrivateKeyFormat::Pkcs1)
            .expect("pkcs1")
            .as_slice(),
        &private_der[..]
    );
    assert!(private.to_der(PrivateKeyFormat::Sec1).is_err());
}

#[test]
fn cs_ac_oaep_x509_public_keys_are_their_pkcs1_private_keys() {
    // CS-AC-M-OAEP-1/3/5/7/9 register the SubjectPublicKeyInfo of the keys OAEP-2/4/6/8/10
    // register in PKCS#1.
    for (n_public, n_private) in [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)] {
        let p = format!("v1.4/XML/mandatory/CS-AC-M-OAEP-{n_public}-14.xml");
        let s = format!("v1.4/XML/mandatory/CS-AC-M-OAEP-{n_private}-14.xml");
        let spki = oasis::byte_strings(&p, kmip_codec::tags::Tag::KEY_MATERIAL).remove(0);
        let pkcs1 = oasis::byte_strings(&s, kmip_codec::tags::Tag::KEY_MATERIAL).remove(0);
        let public = PublicKey::from_der(PublicKeyFormat::Spki, &spki).expect("spki");
        let private = PrivateKey::from_der(PrivateKeyFormat::Pkcs1, &pkcs1).expect("pkcs1");
        assert_eq!(private.public_key(), public, "OAEP-{n_public}");
        assert_eq!(public.to_der(PublicKeyFormat::Spki).expect("spki"), spki);
    }
}

#[test]
fn bl_m_8_transparent_rsa_public_is_bl_m_6_pkcs1() {
    let t = oasis::key_block("v2.1/XML/mandatory/BL-M-8-21.xml", 0);
    assert_eq!(t.key_format_type, KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY);
    let p = oasis::key_block("v2.1/XML/mandatory/BL-M-6-21.xml", 0);
    let from_transparent =
        PublicKey::from_kmip(t.key_format_type, oasis::material(&t)).expect("transparent");
    let from_pkcs1 = PublicKey::from_kmip(p.key_format_type, oasis::material(&p)).expect("pkcs1");
    assert_eq!(from_transparent, from_pkcs1);
    let KeyMaterial::Bytes(pkcs1) = oasis::material(&p) else {
        panic!("bytes")
    };
    assert_eq!(
        from_transparent
            .to_der(PublicKeyFormat::Pkcs1)
            .expect("der"),
        pkcs1.to_vec()
    );
    // And back to Transparent: the same numbers (the vector pads its Big Integers to 8 bytes).
    let back = from_pkcs1
        .to_kmip(KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY)
        .expect("transparent");
    let want = oasis::material(&t)
        .transparent(t.key_format_type)
        .expect("typed");
    let got = back.transparent(t.key_format_type).expect("typed");
    let (Some(TransparentKey::RsaPublic(want)), Some(TransparentKey::RsaPublic(got))) = (want, got)
    else {
        panic!("rsa public")
    };
    assert_eq!(der::magnitude(&got.modulus), der::magnitude(&want.modulus));
    assert_eq!(
        der::magnitude(&got.public_exponent),
        der::magnitude(&want.public_exponent)
    );
}

#[test]
fn bl_1024_bit_rsa_keys_are_refused_in_every_format() {
    for (file, format) in [
        ("v2.1/XML/mandatory/BL-M-7-21.xml", KeyFormatType::PKCS1),
        (
            "v2.1/XML/mandatory/BL-M-9-21.xml",
            KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY,
        ),
        ("v2.1/XML/mandatory/BL-M-11-21.xml", KeyFormatType::PKCS8),
    ] {
        let block = oasis::key_block(file, 0);
        assert_eq!(block.key_format_type, format, "{file}");
        assert_eq!(
            key_error(PrivateKey::from_kmip(format, oasis::material(&block))),
            KeyError::RsaSize { bits: 1024 },
            "{file}"
        );
    }
}

#[test]
fn transparent_rsa_private_round_trip_carries_the_pkcs1_fields() {
    let (private_der, _) = vector_rsa();
    let key = PrivateKey::from_der(PrivateKeyFormat::Pkcs1, &private_der).expect("private");
    let material = key
        .to_kmip(KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY)
        .expect("transparent");
    let Some(TransparentKey::RsaPrivate(t)) = material
        .transparent(KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY)
        .expect("typed")
    else {
        panic!("rsa private")
    };
    // Independently decoded PKCS#1 fields.
    let p1 = pkcs1::RsaPrivateKey::try_from(&private_der[..]).expect("pkcs1");
    let m =
        |b: &Option<kmip_codec::ttlv::Bytes>| der::magnitude(b.as_ref().expect("present")).to_vec();
    assert_eq!(der::magnitude(&t.modulus), p1.modulus.as_bytes());
    assert_eq!(m(&t.public_exponent), p1.public_exponent.as_bytes());
    assert_eq!(m(&t.private_exponent), p1.private_exponent.as_bytes());
    assert_eq!(m(&t.p), p1.prime1.as_bytes());
    assert_eq!(m(&t.q), p1.prime2.as_bytes());
    assert_eq!(m(&t.prime_exponent_p), p1.exponent1.as_bytes());
    assert_eq!(m(&t.prime_exponent_q), p1.exponent2.as_bytes());
    assert_eq!(m(&t.crt_coefficient), p1.coefficient.as_bytes());
    let back =
        PrivateKey::from_kmip(KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY, &material).expect("back");
    assert_eq!(
        back.to_der(PrivateKeyFormat::Pkcs1)
            .expect("der")
            .as_slice(),
        &private_der[..]
    );

    // Only n, e, d (primes recovered), or only n, e, p, q (d rebuilt): the same key.
    let only_d = TransparentRsaPrivateKey {
        modulus: t.modulus.clone(),
        public_exponent: t.public_exponent.clone(),
        private_exponent: t.private_exponent.clone(),
        ..Default::default()
    };
    let k = PrivateKey::from_transparent_rsa(&only_d).expect("n, e, d");
    assert_eq!(k.public_key(), key.public_key());
    let only_pq = TransparentRsaPrivateKey {
        modulus: t.modulus.clone(),
        public_exponent: t.public_exponent.clone(),
        p: t.p.clone(),
        q: t.q.clone(),
        ..Default::default()
    };
    assert_eq!(
        PrivateKey::from_transparent_rsa(&only_pq)
            .expect("n, e, p, q")
            .public_key(),
        key.public_key()
    );

    // A wrong CRT value, a wrong d, a negative integer, a missing exponent: refused.
    let mut wrong_crt = (*t).clone();
    let mut q_inv = m(&t.crt_coefficient);
    q_inv[10] ^= 1;
    wrong_crt.crt_coefficient = Some([&[0u8][..], &q_inv].concat().into());
    assert_eq!(
        key_error(PrivateKey::from_transparent_rsa(&wrong_crt)),
        KeyError::Inconsistent
    );
    let mut wrong_d = (*t).clone();
    let mut d = m(&t.private_exponent);
    d[5] ^= 1;
    wrong_d.private_exponent = Some([&[0u8][..], &d].concat().into());
    assert_eq!(
        key_error(PrivateKey::from_transparent_rsa(&wrong_d)),
        KeyError::Inconsistent
    );
    let mut negative = (*t).clone();
    negative.modulus = vec![0x80; 256].into();
    assert_eq!(
        key_error(PrivateKey::from_transparent_rsa(&negative)),
        KeyError::Negative
    );
    let mut no_e = (*t).clone();
    no_e.public_exponent = None;
    assert_eq!(
        key_error(PrivateKey::from_transparent_rsa(&no_e)),
        KeyError::Malformed(Encoding::Transparent)
    );
}

#[test]
fn cs_ac_m_3_ecc_secp256k1_key_is_refused() {
    let file = "v1.3/XML/mandatory/CS-AC-M-3-ECC-13.xml";
    let private = oasis::key_block(file, 0);
    let public = oasis::key_block(file, 1);
    assert_eq!(private.key_format_type, KeyFormatType::ECPRIVATEKEY);
    assert_eq!(
        key_error(PrivateKey::from_kmip(
            private.key_format_type,
            oasis::material(&private)
        )),
        KeyError::UnsupportedCurve
    );
    assert_eq!(
        key_error(PublicKey::from_kmip(
            public.key_format_type,
            oasis::material(&public)
        )),
        KeyError::UnsupportedCurve
    );
}

#[test]
fn rfc_8410_ed25519_pkcs8_is_an_unsupported_algorithm() {
    let der = hex::decode("302e020100300506032b657004220420d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842").expect("hex");
    assert_eq!(
        key_error(PrivateKey::from_der(PrivateKeyFormat::Pkcs8, &der)),
        KeyError::UnsupportedAlgorithm
    );
}

#[test]
fn generated_rsa_keys_of_every_offered_size_round_trip() {
    let mut r = rng(1);
    for bits in RSA_GENERATE_BITS {
        let key = PrivateKey::generate(KeySpec::Rsa(bits), &mut r).expect("generate");
        assert_eq!(key.facts().bits, bits);
        for f in [PrivateKeyFormat::Pkcs1, PrivateKeyFormat::Pkcs8] {
            let der = key.to_der(f).expect("der");
            let back = PrivateKey::from_der(f, der.as_slice()).expect("back");
            assert_eq!(back.public_key(), key.public_key(), "{bits} {f:?}");
            assert_eq!(back.to_der(f).expect("der"), der);
        }
        for f in [
            KeyFormatType::PKCS1,
            KeyFormatType::PKCS8,
            KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY,
        ] {
            let m = key.to_kmip(f).expect("kmip");
            assert_eq!(
                PrivateKey::from_kmip(f, &m).expect("back").public_key(),
                key.public_key()
            );
        }
        let public = key.public_key();
        for f in [
            KeyFormatType::PKCS1,
            KeyFormatType::X_509,
            KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY,
        ] {
            let m = public.to_kmip(f).expect("kmip");
            assert_eq!(PublicKey::from_kmip(f, &m).expect("back"), public);
        }
    }
    for bits in [1024, 2047, 2049, 8192] {
        assert_eq!(
            key_error(PrivateKey::generate(KeySpec::Rsa(bits), &mut r)),
            KeyError::RsaSize { bits }
        );
    }
}

#[test]
fn generated_ec_keys_round_trip() {
    let mut r = rng(2);
    for curve in [Curve::P256, Curve::P384] {
        let key = PrivateKey::generate(KeySpec::Ec(curve), &mut r).expect("generate");
        let facts = key.facts();
        assert_eq!(
            (facts.algorithm, facts.bits, facts.curve),
            (KeyAlgorithm::Ec, curve.bits(), Some(curve))
        );
        assert_eq!(facts.recommended_curve(), Some(curve.to_kmip()));
        for f in [PrivateKeyFormat::Pkcs8, PrivateKeyFormat::Sec1] {
            let der = key.to_der(f).expect("der");
            let back = PrivateKey::from_der(f, der.as_slice()).expect("back");
            assert_eq!(back.public_key(), key.public_key());
        }
        assert!(key.to_der(PrivateKeyFormat::Pkcs1).is_err());
        for f in [
            KeyFormatType::PKCS8,
            KeyFormatType::ECPRIVATEKEY,
            KeyFormatType::TRANSPARENT_EC_PRIVATE_KEY,
            KeyFormatType::TRANSPARENT_ECDSA_PRIVATE_KEY,
        ] {
            let m = key.to_kmip(f).expect("kmip");
            assert_eq!(
                PrivateKey::from_kmip(f, &m).expect("back").public_key(),
                key.public_key(),
                "{f:?}"
            );
        }
        let public = key.public_key();
        for f in [
            KeyFormatType::X_509,
            KeyFormatType::TRANSPARENT_EC_PUBLIC_KEY,
            KeyFormatType::TRANSPARENT_ECDSA_PUBLIC_KEY,
        ] {
            let m = public.to_kmip(f).expect("kmip");
            assert_eq!(PublicKey::from_kmip(f, &m).expect("back"), public);
        }
        assert!(public.to_kmip(KeyFormatType::PKCS1).is_err());
        assert!(
            public
                .to_kmip(KeyFormatType::TRANSPARENT_RSA_PUBLIC_KEY)
                .is_err()
        );
        assert!(key.to_kmip(KeyFormatType::RAW).is_err());
    }
}

#[test]
fn debug_output_shows_facts_not_key_material() {
    let (private_der, _) = vector_rsa();
    let key = PrivateKey::from_der(PrivateKeyFormat::Pkcs1, &private_der).expect("private");
    let shown = format!("{key:?} {:?}", key.public_key());
    assert!(shown.contains("Rsa") && shown.contains("2048"), "{shown}");
    let p1 = pkcs1::RsaPrivateKey::try_from(&private_der[..]).expect("pkcs1");
    let d_hex = hex::encode(&p1.private_exponent.as_bytes()[..8]);
    assert!(!shown.to_lowercase().contains(&d_hex), "{shown}");
    assert!(!shown.contains("59, 18") && shown.len() < 200, "{shown}");
}

#[test]
fn key_spec_from_kmip() {
    use kmip_codec::enums::RecommendedCurve;
    assert_eq!(
        KeySpec::from_kmip(CryptographicAlgorithm::RSA, Some(3072), None).expect("rsa"),
        KeySpec::Rsa(3072)
    );
    assert_eq!(
        KeySpec::from_kmip(
            CryptographicAlgorithm::EC,
            None,
            Some(RecommendedCurve::P_384)
        )
        .expect("ec"),
        KeySpec::Ec(Curve::P384)
    );
    assert_eq!(
        KeySpec::from_kmip(CryptographicAlgorithm::ECDSA, Some(256), None).expect("ecdsa"),
        KeySpec::Ec(Curve::P256)
    );
    assert!(matches!(
        KeySpec::from_kmip(CryptographicAlgorithm::RSA, None, None),
        Err(Error::Missing(_))
    ));
    assert!(matches!(
        KeySpec::from_kmip(CryptographicAlgorithm::EC, None, None),
        Err(Error::Missing(_))
    ));
    assert!(
        KeySpec::from_kmip(
            CryptographicAlgorithm::EC,
            None,
            Some(RecommendedCurve::P_521)
        )
        .is_err()
    );
    assert!(KeySpec::from_kmip(CryptographicAlgorithm::DSA, Some(2048), None).is_err());
}
