//! Malformed keys: truncated and trailing DER, oversize input, RSA sizes and exponents outside
//! the policy, inconsistent parts, points off the curve, wrong curves and formats.

use super::*;

#[test]
fn truncated_trailing_and_oversize_der_is_refused() {
    let (private_der, public_der) = vector_rsa();
    let ec = PrivateKey::generate(KeySpec::Ec(Curve::P256), &mut rng(3)).expect("ec");
    let sec1 = ec
        .to_der(PrivateKeyFormat::Sec1)
        .expect("sec1")
        .as_slice()
        .to_vec();
    let p8 = ec
        .to_der(PrivateKeyFormat::Pkcs8)
        .expect("pkcs8")
        .as_slice()
        .to_vec();
    let spki = ec.public_key().to_der(PublicKeyFormat::Spki).expect("spki");
    let privates = [
        (
            PrivateKeyFormat::Pkcs1,
            private_der.clone(),
            Encoding::Pkcs1,
        ),
        (PrivateKeyFormat::Sec1, sec1, Encoding::Sec1),
        (PrivateKeyFormat::Pkcs8, p8, Encoding::Pkcs8),
    ];
    for (f, der, enc) in &privates {
        for cut in [1, der.len() / 2, der.len() - 1] {
            assert_eq!(
                key_error(PrivateKey::from_der(*f, &der[..cut])),
                KeyError::Malformed(*enc),
                "{f:?} cut {cut}"
            );
        }
        let mut long = der.clone();
        long.push(0);
        assert_eq!(
            key_error(PrivateKey::from_der(*f, &long)),
            KeyError::TrailingBytes(*enc),
            "{f:?}"
        );
    }
    for (f, der, enc) in [
        (PublicKeyFormat::Pkcs1, public_der, Encoding::Pkcs1),
        (PublicKeyFormat::Spki, spki, Encoding::Spki),
    ] {
        assert_eq!(
            key_error(PublicKey::from_der(f, &der[..der.len() - 1])),
            KeyError::Malformed(enc)
        );
        let mut long = der.clone();
        long.extend_from_slice(&[0x05, 0x00]);
        assert_eq!(
            key_error(PublicKey::from_der(f, &long)),
            KeyError::TrailingBytes(enc)
        );
    }
    let huge = vec![0x30; crate::limits::MAX_KEY_DER_LEN + 1];
    assert!(matches!(
        PrivateKey::from_der(PrivateKeyFormat::Pkcs8, &huge),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        PublicKey::from_der(PublicKeyFormat::Spki, &huge),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        PrivateKey::from_der(PrivateKeyFormat::Pkcs1, &[]),
        Err(Error::Key(KeyError::Malformed(Encoding::Pkcs1)))
    ));
}

fn pkcs1_public(n: &[u8], e: &[u8]) -> Vec<u8> {
    use ::der::Encode;
    pkcs1::RsaPublicKey {
        modulus: pkcs1::UintRef::new(n).expect("n"),
        public_exponent: pkcs1::UintRef::new(e).expect("e"),
    }
    .to_der()
    .expect("der")
}

#[test]
fn rsa_sizes_and_exponents_outside_policy_are_refused() {
    let (_, public_der) = vector_rsa();
    let p1 = pkcs1::RsaPublicKey::try_from(&public_der[..]).expect("pkcs1");
    let n = p1.modulus.as_bytes();
    for e in [
        &[0x01, 0x00, 0x00][..],
        &[0x02],
        &[0x01],
        &[0x02, 0x00, 0x00, 0x00, 0x01],
    ] {
        // 65536 (even), 2 (even), 1 (too small), 2^33 + 1 (too large).
        assert_eq!(
            key_error(PublicKey::from_der(
                PublicKeyFormat::Pkcs1,
                &pkcs1_public(n, e)
            )),
            KeyError::RsaExponent,
            "{e:?}"
        );
    }
    assert!(PublicKey::from_der(PublicKeyFormat::Pkcs1, &pkcs1_public(n, &[3])).is_ok());
    // An 8200-bit "modulus" is refused on its size alone, before any arithmetic.
    let mut big = vec![0xff; 1025];
    big[0] = 0x80;
    assert_eq!(
        key_error(PublicKey::from_der(
            PublicKeyFormat::Pkcs1,
            &pkcs1_public(&big, &[1, 0, 1])
        )),
        KeyError::RsaSize { bits: 8200 }
    );
    // The same numbers with a 2047-bit modulus.
    let mut small = n.to_vec();
    small[0] = 0x7f;
    assert_eq!(
        key_error(PublicKey::from_der(
            PublicKeyFormat::Pkcs1,
            &pkcs1_public(&small, &[1, 0, 1])
        )),
        KeyError::RsaSize { bits: 2047 }
    );
}

#[test]
fn inconsistent_and_wrong_curve_keys_are_refused() {
    let (private_der, _) = vector_rsa();
    // Flip one bit of the private exponent (offset inside d's INTEGER).
    let p1 = pkcs1::RsaPrivateKey::try_from(&private_der[..]).expect("pkcs1");
    let d = p1.private_exponent.as_bytes();
    let at = private_der
        .windows(d.len())
        .position(|w| w == d)
        .expect("d")
        + 7;
    let mut bad = private_der.clone();
    bad[at] ^= 1;
    assert_eq!(
        key_error(PrivateKey::from_der(PrivateKeyFormat::Pkcs1, &bad)),
        KeyError::Inconsistent
    );

    // A SEC1 key whose embedded public key is another key's.
    let a = PrivateKey::generate(KeySpec::Ec(Curve::P256), &mut rng(4)).expect("a");
    let b = PrivateKey::generate(KeySpec::Ec(Curve::P256), &mut rng(5)).expect("b");
    let mut sec1 = a
        .to_der(PrivateKeyFormat::Sec1)
        .expect("sec1")
        .as_slice()
        .to_vec();
    let pa = a
        .public_key()
        .to_kmip(KeyFormatType::TRANSPARENT_EC_PUBLIC_KEY)
        .expect("q");
    let pb = b
        .public_key()
        .to_kmip(KeyFormatType::TRANSPARENT_EC_PUBLIC_KEY)
        .expect("q");
    let q = |m: &KeyMaterial| match m
        .transparent(KeyFormatType::TRANSPARENT_EC_PUBLIC_KEY)
        .expect("t")
    {
        Some(TransparentKey::EcPublic(t)) => t.q_string.to_vec(),
        _ => panic!("ec"),
    };
    let (qa, qb) = (q(&pa), q(&pb));
    let at = sec1
        .windows(qa.len())
        .position(|w| w == &qa[..])
        .expect("point");
    sec1[at..at + qb.len()].copy_from_slice(&qb);
    assert_eq!(
        key_error(PrivateKey::from_der(PrivateKeyFormat::Sec1, &sec1)),
        KeyError::Inconsistent
    );

    // A point off the curve; a P-256 point declared as P-384.
    let mut off = qa.clone();
    off[40] ^= 1;
    let t = kmip_codec::model::TransparentEcPublicKey {
        recommended_curve: Curve::P256.to_kmip(),
        q_string: off.into(),
    };
    assert_eq!(
        key_error(PublicKey::from_transparent_ec(&t)),
        KeyError::Malformed(Encoding::EcPoint)
    );
    let t = kmip_codec::model::TransparentEcPublicKey {
        recommended_curve: Curve::P384.to_kmip(),
        q_string: qa.clone().into(),
    };
    assert_eq!(
        key_error(PublicKey::from_transparent_ec(&t)),
        KeyError::Malformed(Encoding::EcPoint)
    );
    let t = kmip_codec::model::TransparentEcPublicKey {
        recommended_curve: kmip_codec::enums::RecommendedCurve::SECP256K1,
        q_string: qa.into(),
    };
    assert_eq!(
        key_error(PublicKey::from_transparent_ec(&t)),
        KeyError::UnsupportedCurve
    );

    // EC scalars 0 and n (the P-256 group order) are not keys.
    let n = hex::decode("00ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
        .expect("n");
    for d in [vec![0u8; 32], n] {
        let t = kmip_codec::model::TransparentEcPrivateKey {
            recommended_curve: Curve::P256.to_kmip(),
            d: d.into(),
        };
        assert_eq!(
            key_error(PrivateKey::from_transparent_ec(&t)),
            KeyError::Inconsistent
        );
    }
}

#[test]
fn wrong_kmip_formats_are_refused() {
    let (private_der, _) = vector_rsa();
    let m = KeyMaterial::Bytes(private_der.into());
    assert_eq!(
        key_error(PrivateKey::from_kmip(KeyFormatType::RAW, &m)),
        KeyError::Format(KeyFormatType::RAW.0)
    );
    assert_eq!(
        key_error(PrivateKey::from_kmip(KeyFormatType::X_509, &m)),
        KeyError::Format(KeyFormatType::X_509.0)
    );
    assert_eq!(
        key_error(PrivateKey::from_kmip(
            KeyFormatType::TRANSPARENT_RSA_PRIVATE_KEY,
            &m
        )),
        KeyError::Malformed(Encoding::Transparent)
    );
    assert_eq!(
        key_error(PublicKey::from_kmip(KeyFormatType::PKCS8, &m)),
        KeyError::Format(KeyFormatType::PKCS8.0)
    );
}
