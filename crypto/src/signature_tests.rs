//! Known answers: the OASIS CS-AC vectors (RSA-PSS verification of CS-AC-M-2's signature,
//! whose salt is the maximum 222 bytes; the CS-AC-M-1 / M-3 sign-then-verify flows), RFC 6979
//! appendix A.2.5 / A.2.6 (deterministic ECDSA on P-256 and P-384), and RSASSA-PKCS1-v1_5
//! signatures of the CS-AC key computed with OpenSSL 3.0 (`openssl dgst -sign`) as an
//! independent reference.

use kmip_codec::tags::Tag;
use rand_chacha::rand_core::SeedableRng;

use super::*;
use crate::asymmetric::{Curve, KeySpec, PrivateKeyFormat, PublicKeyFormat};
use crate::oasis;

const DATA: [u8; 16] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
];

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(7)
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

fn cs_ac_keys() -> (PrivateKey, PublicKey) {
    let private =
        oasis::byte_strings("v1.4/XML/mandatory/CS-AC-M-1-14.xml", Tag::KEY_MATERIAL).remove(0);
    let public =
        oasis::byte_strings("v1.4/XML/mandatory/CS-AC-M-2-14.xml", Tag::KEY_MATERIAL).remove(0);
    (
        PrivateKey::from_der(PrivateKeyFormat::Pkcs1, &private).expect("private"),
        PublicKey::from_der(PublicKeyFormat::Pkcs1, &public).expect("public"),
    )
}

fn pss_sha256_params() -> CryptographicParameters {
    CryptographicParameters {
        padding_method: Some(PaddingMethod::PSS),
        hashing_algorithm: Some(kmip_codec::enums::HashingAlgorithm::SHA_256),
        cryptographic_algorithm: Some(CryptographicAlgorithm::RSA),
        ..Default::default()
    }
}

#[test]
fn oasis_cs_ac_m_2_pss_verify() {
    let file = "v1.4/XML/mandatory/CS-AC-M-2-14.xml";
    let (_, public) = cs_ac_keys();
    let data = oasis::byte_strings(file, Tag::DATA);
    let sigs = oasis::byte_strings(file, Tag::SIGNATURE_DATA);
    assert_eq!((data.len(), sigs.len()), (3, 3));
    let alg = SignatureAlgorithm::from_kmip(&pss_sha256_params()).expect("params");
    assert_eq!(
        alg,
        SignatureAlgorithm::RsaPss {
            hash: HashAlgorithm::Sha256,
            salt: PssSaltLength::Default
        }
    );
    let expected = [Validity::Valid, Validity::Invalid, Validity::Invalid];
    for ((d, s), want) in data.iter().zip(&sigs).zip(expected) {
        assert_eq!(
            verify(&public, alg, Message::Data(d), s).expect("verify"),
            want
        );
    }
    // The signature's salt is the maximum, 222 bytes (as OpenSSL reports): exact 222 verifies,
    // exact 32 does not.
    let exact = |n| SignatureAlgorithm::RsaPss {
        hash: HashAlgorithm::Sha256,
        salt: PssSaltLength::Exact(n),
    };
    assert_eq!(
        verify(&public, exact(222), Message::Data(&data[0]), &sigs[0]).expect("222"),
        Validity::Valid
    );
    assert_eq!(
        verify(&public, exact(32), Message::Data(&data[0]), &sigs[0]).expect("32"),
        Validity::Invalid
    );
    assert!(matches!(
        verify(&public, exact(223), Message::Data(&data[0]), &sigs[0]),
        Err(Error::Invalid(Parameter::SaltLength))
    ));
}

#[test]
fn oasis_cs_ac_m_1_and_m_3_sign_then_verify() {
    let (private, public) = cs_ac_keys();
    // CS-AC-M-1 registers the key with Salt Length 222.
    let mut m1 = pss_sha256_params();
    m1.salt_length = Some(222);
    let alg = SignatureAlgorithm::from_kmip(&m1).expect("params");
    let sig = sign(&private, alg, Message::Data(&DATA), &mut rng()).expect("sign");
    assert_eq!(sig.len(), 256);
    let default = SignatureAlgorithm::from_kmip(&pss_sha256_params()).expect("params");
    assert_eq!(
        verify(&public, alg, Message::Data(&DATA), &sig).expect("verify"),
        Validity::Valid
    );
    assert_eq!(
        verify(&public, default, Message::Data(&DATA), &sig).expect("verify"),
        Validity::Valid
    );
    // CS-AC-M-3: sign with the key's parameters, verify with PSS SHA-256 (Valid) and PSS SHA-1
    // (Invalid, not an error).
    let sig = sign(&private, default, Message::Data(&DATA), &mut rng()).expect("sign");
    assert_eq!(
        verify(&public, default, Message::Data(&DATA), &sig).expect("verify"),
        Validity::Valid
    );
    let sha1 = SignatureAlgorithm::RsaPss {
        hash: HashAlgorithm::Sha1,
        salt: PssSaltLength::Default,
    };
    assert_eq!(
        verify(&public, sha1, Message::Data(&DATA), &sig).expect("verify"),
        Validity::Invalid
    );
    // PSS is randomized: two signatures differ, both verify.
    let again = sign(
        &private,
        default,
        Message::Data(&DATA),
        &mut rand_chacha::ChaCha20Rng::seed_from_u64(8),
    )
    .expect("sign");
    assert_ne!(again, sig);
    assert_eq!(
        verify(&public, default, Message::Data(&DATA), &again).expect("verify"),
        Validity::Valid
    );
}

#[test]
fn oasis_v1_3_cs_ac_m_1_recorded_signature_does_not_verify() {
    // The 1.3 vector records a server's PSS signature over DATA; it does not verify under the
    // vector's key with SHA-256 (OpenSSL agrees: "bad signature"), so it is Invalid here too.
    let (_, public) = cs_ac_keys();
    let sig =
        oasis::byte_strings("v1.3/XML/mandatory/CS-AC-M-1-13.xml", Tag::SIGNATURE_DATA).remove(0);
    let alg = SignatureAlgorithm::RsaPss {
        hash: HashAlgorithm::Sha256,
        salt: PssSaltLength::Default,
    };
    assert_eq!(
        verify(&public, alg, Message::Data(&DATA), &sig).expect("verify"),
        Validity::Invalid
    );
}

#[test]
fn pkcs1_v1_5_signatures_match_openssl() {
    let (private, public) = cs_ac_keys();
    let cases = [
        (
            HashAlgorithm::Sha256,
            "94257e4ce0445e36860d2ed32ca24052e8eaa7aef1eaf8118d00e29cfe0b95e83d6285b15864469ff545cde5aa92a810e4b0f5dc7d0144465444f39a5e409e6691299116ecea07907dfead44c7577679ea18901dbc65d169025658d04a191d7029d9c8038bc06259722d62e8cc8279d7fa5038bc6ea0b08fc00e706368bf4042aae1bd564b5ca6fc5d1052d4b1e7138f246a1f80a1da27628c6db185eff06d1519986c7316f7874b17c4619a2faae26ffd62609c0d13069ed50a93d2f32813e1698825e03c25107b809d1e3dc96b95c1cbb26163469f4e7fc5a8daf4a4b5c3ba9be7af580f7b6483526985a67108c8de6f1e894e9df5a9ad1387442c1ad6aca1",
        ),
        (
            HashAlgorithm::Sha512,
            "2addc39126277f31461566378bc5722bd0497e5fe6f9dfa2d8d203422e55519b322440bc30b74227c91944014854a35c2f911408f93e64322600976dbf637db05f03fb1adafc93a76cb770ed57225d72bbd9113eeb89cf6140d37a0fd8ae2402da4fb70eb99c4007dc457511395f4e1a3dceeedf3821a79c86533f1b24f11a5a5e0108c87428c72e3b9a23a985b02982ee05973eba707bc523bf5e1f8b62cf8b4d5d84bc8703fdf40d30ba95e3b2d0d6b7bfc3099cf560ff65445ddda2ca00f33f53a31babfb4c8e262fcc502cb06dfc39788a7b9116261b8991c38c90be8941a3d652d945ea65acf924d7d248f5ae09bbde51b24e91c93e50f88a2d01c7fa39",
        ),
    ];
    for (hash, want) in cases {
        let alg = SignatureAlgorithm::RsaPkcs1v15 { hash };
        let want = hex(want);
        assert_eq!(
            sign(&private, alg, Message::Data(&DATA), &mut rng()).expect("sign"),
            want,
            "{hash:?}"
        );
        let digest = crate::hash::digest(hash, &DATA).expect("digest");
        assert_eq!(
            sign(&private, alg, Message::Digest(&digest), &mut rng()).expect("sign"),
            want
        );
        assert_eq!(
            verify(&public, alg, Message::Data(&DATA), &want).expect("verify"),
            Validity::Valid
        );
        assert_eq!(
            verify(&public, alg, Message::Data(b"other"), &want).expect("verify"),
            Validity::Invalid
        );
    }
    // SHA-1 verifies a legacy signature but never signs.
    let sha1 = SignatureAlgorithm::RsaPkcs1v15 {
        hash: HashAlgorithm::Sha1,
    };
    let legacy = hex(
        "1ae0c35e805dd8146f2e5a528729d602b2ebcb4fcada5673010e0ff9021a07a646019b9177b1eb90cf6c6d5a893fec6035fcef391891a6a93450cf3730be376d24b9625ce40594f916e2132da2d00eb43a4d324dd77e045912468fc17ae0516b1e7f99af6ccd964f5e70e4d3cb60f5e732276c07fea0773fb55cef63247ea235681ff1631c3a229951c8728a7426e6127c6c124c07f5e841b4e254f0f356b3467a18b9311bd69ab539f32c4230c7b9e44cfe97492ca18d8eff5f6db22763a26732aa080e34f2fb25d7774013845beb24d61e9218f03bb9039f73304dce43ad98e5f1ea857b9463daaa7bb66d7a9625cc3b2518d2cc3c04f17b1ea88c8fa3619d",
    );
    assert_eq!(
        verify(&public, sha1, Message::Data(&DATA), &legacy).expect("verify"),
        Validity::Valid
    );
    assert!(matches!(
        sign(&private, sha1, Message::Data(&DATA), &mut rng()),
        Err(Error::VerifyOnly(HashAlgorithm::Sha1))
    ));
}

fn ec_key(curve: Curve, d: &str) -> PrivateKey {
    let t = kmip_codec::model::TransparentEcPrivateKey {
        recommended_curve: curve.to_kmip(),
        d: hex(&format!("00{d}")).into(),
    };
    PrivateKey::from_transparent_ec(&t).expect("ec key")
}

#[test]
fn rfc_6979_deterministic_ecdsa() {
    let cases = [
        (
            Curve::P256,
            "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
            HashAlgorithm::Sha256,
            "3046022100efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716022100f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
        ),
        (
            Curve::P384,
            "6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea60d2edf5",
            HashAlgorithm::Sha384,
            "306602310094edbb92a5ecb8aad4736e56c691916b3f88140666ce9fa73d64c4ea95ad133c81a648152e44acf96e36dd1e80fabe4602310099ef4aeb15f178cea1fe40db2603138f130e740a19624526203b6351d0a3a94fa329c145786e679e7b82c71a38628ac8",
        ),
    ];
    for (curve, d, hash, want) in cases {
        let key = ec_key(curve, d);
        let alg = SignatureAlgorithm::Ecdsa { hash };
        let want = hex(want);
        let sig = sign(&key, alg, Message::Data(b"sample"), &mut rng()).expect("sign");
        assert_eq!(sig, want, "{curve:?}");
        let public = key.public_key();
        assert_eq!(
            verify(&public, alg, Message::Data(b"sample"), &sig).expect("verify"),
            Validity::Valid
        );
        assert_eq!(
            verify(&public, alg, Message::Data(b"test"), &sig).expect("verify"),
            Validity::Invalid
        );
        let digest = crate::hash::digest(hash, b"sample").expect("digest");
        assert_eq!(
            sign(&key, alg, Message::Digest(&digest), &mut rng()).expect("sign"),
            want
        );
        assert_eq!(
            verify(&public, alg, Message::Digest(&digest), &want).expect("verify"),
            Validity::Valid
        );
        // Malformed DER and a truncated signature are Invalid, not errors.
        assert_eq!(
            verify(
                &public,
                alg,
                Message::Data(b"sample"),
                &want[..want.len() - 1]
            )
            .expect("verify"),
            Validity::Invalid
        );
        assert_eq!(
            verify(&public, alg, Message::Data(b"sample"), &[0x30, 0x00]).expect("verify"),
            Validity::Invalid
        );
        assert_eq!(
            verify(&public, alg, Message::Data(b"sample"), &[]).expect("verify"),
            Validity::Invalid
        );
    }
}

#[test]
fn wrong_keys_digests_and_sizes_are_refused() {
    let (private, public) = cs_ac_keys();
    let ec = PrivateKey::generate(KeySpec::Ec(Curve::P256), &mut rng()).expect("ec");
    let ecdsa = SignatureAlgorithm::Ecdsa {
        hash: HashAlgorithm::Sha256,
    };
    let pss = SignatureAlgorithm::RsaPss {
        hash: HashAlgorithm::Sha256,
        salt: PssSaltLength::Default,
    };
    assert!(matches!(
        sign(&private, ecdsa, Message::Data(&DATA), &mut rng()),
        Err(Error::WrongKeyType { .. })
    ));
    assert!(matches!(
        sign(&ec, pss, Message::Data(&DATA), &mut rng()),
        Err(Error::WrongKeyType { .. })
    ));
    assert!(matches!(
        verify(&public, ecdsa, Message::Data(&DATA), &[0; 64]),
        Err(Error::WrongKeyType { .. })
    ));
    assert!(matches!(
        verify(&ec.public_key(), pss, Message::Data(&DATA), &[0; 64]),
        Err(Error::WrongKeyType { .. })
    ));
    assert!(matches!(
        sign(&private, pss, Message::Digest(&[0; 31]), &mut rng()),
        Err(Error::BadLength {
            what: Input::Digest,
            len: 31
        })
    ));
    assert!(matches!(
        verify(
            &public,
            pss,
            Message::Data(&DATA),
            &vec![0; MAX_SIGNATURE_LEN + 1]
        ),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        sign(
            &private,
            pss,
            Message::Data(&vec![0; MAX_DATA_LEN + 1]),
            &mut rng()
        ),
        Err(Error::TooLarge { .. })
    ));
    let too_much = SignatureAlgorithm::RsaPss {
        hash: HashAlgorithm::Sha256,
        salt: PssSaltLength::Exact(223),
    };
    assert!(matches!(
        sign(&private, too_much, Message::Data(&DATA), &mut rng()),
        Err(Error::Invalid(Parameter::SaltLength))
    ));
    // A short RSA signature is Invalid.
    assert_eq!(
        verify(&public, pss, Message::Data(&DATA), &[1; 255]).expect("verify"),
        Validity::Invalid
    );
}

#[test]
fn kmip_parameters_map_to_schemes() {
    use kmip_codec::enums::HashingAlgorithm as H;
    let p = |dsa: Option<DigitalSignatureAlgorithm>,
             alg: Option<CryptographicAlgorithm>,
             pad: Option<PaddingMethod>,
             hash: Option<H>| CryptographicParameters {
        digital_signature_algorithm: dsa,
        cryptographic_algorithm: alg,
        padding_method: pad,
        hashing_algorithm: hash,
        ..Default::default()
    };
    let ok = |x: &CryptographicParameters| SignatureAlgorithm::from_kmip(x).expect("maps");
    assert_eq!(
        ok(&p(
            Some(DigitalSignatureAlgorithm::SHA_256_WITH_RSA_ENCRYPTION),
            None,
            None,
            None
        )),
        SignatureAlgorithm::RsaPkcs1v15 {
            hash: HashAlgorithm::Sha256
        }
    );
    assert_eq!(
        ok(&p(
            Some(DigitalSignatureAlgorithm::ECDSA_WITH_SHA384),
            None,
            None,
            None
        )),
        SignatureAlgorithm::Ecdsa {
            hash: HashAlgorithm::Sha384
        }
    );
    assert_eq!(
        ok(&p(
            Some(DigitalSignatureAlgorithm::RSASSA_PSS),
            None,
            None,
            Some(H::SHA_512)
        )),
        SignatureAlgorithm::RsaPss {
            hash: HashAlgorithm::Sha512,
            salt: PssSaltLength::Default
        }
    );
    assert_eq!(
        ok(&p(
            None,
            Some(CryptographicAlgorithm::RSA),
            Some(PaddingMethod::PKCS1_V1_5),
            Some(H::SHA_384)
        )),
        SignatureAlgorithm::RsaPkcs1v15 {
            hash: HashAlgorithm::Sha384
        }
    );
    assert_eq!(
        ok(&p(
            None,
            Some(CryptographicAlgorithm::ECDSA),
            None,
            Some(H::SHA_256)
        )),
        SignatureAlgorithm::Ecdsa {
            hash: HashAlgorithm::Sha256
        }
    );
    assert!(matches!(
        SignatureAlgorithm::from_kmip(&p(
            None,
            Some(CryptographicAlgorithm::RSA),
            None,
            Some(H::SHA_256)
        )),
        Err(Error::Missing(Parameter::PaddingMethod))
    ));
    assert!(matches!(
        SignatureAlgorithm::from_kmip(&p(
            None,
            Some(CryptographicAlgorithm::RSA),
            Some(PaddingMethod::PSS),
            None
        )),
        Err(Error::Missing(Parameter::HashingAlgorithm))
    ));
    assert!(matches!(
        SignatureAlgorithm::from_kmip(&p(
            None,
            Some(CryptographicAlgorithm::RSA),
            Some(PaddingMethod::OAEP),
            Some(H::SHA_256)
        )),
        Err(Error::Unsupported { .. })
    ));
    assert!(matches!(
        SignatureAlgorithm::from_kmip(&p(
            Some(DigitalSignatureAlgorithm::DSA_WITH_SHA256),
            None,
            None,
            None
        )),
        Err(Error::Unsupported { .. })
    ));
    assert!(matches!(
        SignatureAlgorithm::from_kmip(&p(None, None, None, Some(H::SHA_256))),
        Err(Error::Missing(Parameter::CryptographicAlgorithm))
    ));
    let mut negative = pss_sha256_params();
    negative.salt_length = Some(-1);
    assert!(matches!(
        SignatureAlgorithm::from_kmip(&negative),
        Err(Error::Invalid(Parameter::SaltLength))
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    #[test]
    fn sign_verify_round_trip(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200), seed in 0u64..1000) {
        let (private, public) = cs_ac_keys();
        let ec = PrivateKey::generate(KeySpec::Ec(Curve::P384), &mut rand_chacha::ChaCha20Rng::seed_from_u64(seed)).expect("ec");
        let mut r = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        for (key, public, alg) in [
            (&private, public.clone(), SignatureAlgorithm::RsaPss { hash: HashAlgorithm::Sha384, salt: PssSaltLength::Default }),
            (&private, public.clone(), SignatureAlgorithm::RsaPkcs1v15 { hash: HashAlgorithm::Sha224 }),
            (&ec, ec.public_key(), SignatureAlgorithm::Ecdsa { hash: HashAlgorithm::Sha512 }),
        ] {
            let sig = sign(key, alg, Message::Data(&data), &mut r).expect("sign");
            proptest::prop_assert_eq!(verify(&public, alg, Message::Data(&data), &sig).expect("verify"), Validity::Valid);
            let mut flipped = sig.clone();
            let last = flipped.len() - 1;
            flipped[last] ^= 1;
            proptest::prop_assert_eq!(verify(&public, alg, Message::Data(&data), &flipped).expect("verify"), Validity::Invalid);
        }
    }
}
