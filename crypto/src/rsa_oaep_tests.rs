//! Known answers: the OASIS CS-AC-M-OAEP vectors (1.4): OAEP-2/4/6/8/10 decrypt a recorded
//! ciphertext with SHA-256/SHA-256, SHA-384/SHA-384, SHA-512/SHA-512, SHA-384/MGF1-SHA-256 and
//! SHA-384/MGF1-SHA-256 with P Source "Kilroy was here"; OAEP-1/3/5/7/9 encrypt to the matching
//! public keys (randomized: checked by decrypting).

use kmip_codec::enums::{HashingAlgorithm as H, MaskGenerator, PaddingMethod};
use kmip_codec::tags::Tag;
use rand_chacha::rand_core::SeedableRng;

use super::*;
use crate::asymmetric::{Curve, KeySpec, PrivateKeyFormat, PublicKeyFormat};
use crate::oasis;

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(11)
}

/// The Cryptographic Parameters each OAEP vector pair registers its keys with.
fn vector_params(n: u32) -> CryptographicParameters {
    let (hash, mgf, label): (H, H, Option<&[u8]>) = match n {
        1 | 2 => (H::SHA_256, H::SHA_256, None),
        3 | 4 => (H::SHA_384, H::SHA_384, None),
        5 | 6 => (H::SHA_512, H::SHA_512, None),
        7 | 8 => (H::SHA_384, H::SHA_256, None),
        _ => (H::SHA_384, H::SHA_256, Some(b"Kilroy was here")),
    };
    CryptographicParameters {
        padding_method: Some(PaddingMethod::OAEP),
        hashing_algorithm: Some(hash),
        cryptographic_algorithm: Some(kmip_codec::enums::CryptographicAlgorithm::RSA),
        mask_generator: Some(MaskGenerator::MGF1),
        mask_generator_hashing_algorithm: Some(mgf),
        p_source: label.map(<[u8]>::to_vec),
        ..Default::default()
    }
}

fn file(n: u32) -> String {
    format!("v1.4/XML/mandatory/CS-AC-M-OAEP-{n}-14.xml")
}

fn private(n: u32) -> PrivateKey {
    let der = oasis::byte_strings(&file(n), Tag::KEY_MATERIAL).remove(0);
    PrivateKey::from_der(PrivateKeyFormat::Pkcs1, &der).expect("private")
}

#[test]
fn oasis_oaep_decrypt_vectors() {
    for n in [2, 4, 6, 8, 10] {
        let data = oasis::byte_strings(&file(n), Tag::DATA);
        let (ciphertext, plaintext) = (&data[0], &data[1]);
        let params = OaepParams::from_kmip(&vector_params(n)).expect("params");
        let got = decrypt(&private(n), &params, ciphertext, &mut rng()).expect("decrypt");
        assert_eq!(got.as_slice(), &plaintext[..], "OAEP-{n}");
        // The same ciphertext under other parameters fails, and fails alike.
        let mut other = params.clone();
        other.mgf1_hash = if other.mgf1_hash == HashAlgorithm::Sha1 {
            HashAlgorithm::Sha256
        } else {
            HashAlgorithm::Sha1
        };
        assert!(
            matches!(
                decrypt(&private(n), &other, ciphertext, &mut rng()),
                Err(Error::DecryptionFailed)
            ),
            "OAEP-{n}"
        );
    }
}

#[test]
fn oasis_oaep_encrypt_vectors_decrypt_with_their_private_keys() {
    for n in [1, 3, 5, 7, 9] {
        let f = file(n);
        let spki = oasis::byte_strings(&f, Tag::KEY_MATERIAL).remove(0);
        let public = PublicKey::from_der(PublicKeyFormat::Spki, &spki).expect("public");
        let data = oasis::byte_strings(&f, Tag::DATA);
        let (plaintext, recorded) = (&data[0], &data[1]);
        let params = OaepParams::from_kmip(&vector_params(n)).expect("params");
        let ours = encrypt(&public, &params, plaintext, &mut rng()).expect("encrypt");
        assert_eq!(ours.len(), 256);
        assert_ne!(&ours, recorded, "OAEP is randomized");
        for ct in [&ours, recorded] {
            let got = decrypt(&private(n + 1), &params, ct, &mut rng()).expect("decrypt");
            assert_eq!(got.as_slice(), &plaintext[..], "OAEP-{n}");
        }
    }
}

#[test]
fn tampering_labels_lengths_and_key_types() {
    let key = private(2);
    let public = key.public_key();
    let params = OaepParams::new(HashAlgorithm::Sha256);
    let ct = encrypt(&public, &params, b"secret", &mut rng()).expect("encrypt");
    let mut bad = ct.clone();
    bad[100] ^= 1;
    assert!(matches!(
        decrypt(&key, &params, &bad, &mut rng()),
        Err(Error::DecryptionFailed)
    ));
    let mut labelled = params.clone();
    labelled.label = b"other".to_vec();
    assert!(matches!(
        decrypt(&key, &labelled, &ct, &mut rng()),
        Err(Error::DecryptionFailed)
    ));
    assert!(matches!(
        decrypt(&key, &params, &ct[1..], &mut rng()),
        Err(Error::BadLength { .. })
    ));
    // SHA-1 OAEP (RFC 8017's default) works both ways.
    let sha1 = OaepParams::new(HashAlgorithm::Sha1);
    let ct1 = encrypt(&public, &sha1, b"legacy", &mut rng()).expect("encrypt");
    assert_eq!(
        decrypt(&key, &sha1, &ct1, &mut rng())
            .expect("decrypt")
            .as_slice(),
        b"legacy"
    );
    // The longest message is k - 2hLen - 2 = 190 bytes for SHA-256 and 2048 bits.
    assert_eq!(params.max_message_len(256), 190);
    assert!(encrypt(&public, &params, &[7; 190], &mut rng()).is_ok());
    assert!(matches!(
        encrypt(&public, &params, &[7; 191], &mut rng()),
        Err(Error::MessageTooLong)
    ));
    // Labels `rsa` 0.9 cannot take (not UTF-8), and overlong ones, are refused.
    let mut binary = params.clone();
    binary.label = vec![0xff, 0xfe];
    assert!(matches!(
        encrypt(&public, &binary, b"x", &mut rng()),
        Err(Error::Unsupported {
            parameter: Parameter::PSource,
            ..
        })
    ));
    binary.label = vec![b'a'; crate::limits::MAX_OAEP_LABEL_LEN + 1];
    assert!(matches!(
        encrypt(&public, &binary, b"x", &mut rng()),
        Err(Error::TooLarge { .. })
    ));
    // EC keys do not do OAEP.
    let ec = PrivateKey::generate(KeySpec::Ec(Curve::P256), &mut rng()).expect("ec");
    assert!(matches!(
        encrypt(&ec.public_key(), &params, b"x", &mut rng()),
        Err(Error::WrongKeyType { .. })
    ));
    assert!(matches!(
        decrypt(&ec, &params, &ct, &mut rng()),
        Err(Error::WrongKeyType { .. })
    ));
}

#[test]
fn kmip_parameters() {
    let mut p = vector_params(10);
    let params = OaepParams::from_kmip(&p).expect("params");
    assert_eq!(
        (params.hash, params.mgf1_hash, &params.label[..]),
        (
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha256,
            &b"Kilroy was here"[..]
        )
    );
    p.mask_generator_hashing_algorithm = None;
    assert_eq!(
        OaepParams::from_kmip(&p).expect("params").mgf1_hash,
        HashAlgorithm::Sha384
    );
    p.mask_generator = Some(MaskGenerator(2));
    assert!(matches!(
        OaepParams::from_kmip(&p),
        Err(Error::Unsupported {
            parameter: Parameter::MaskGenerator,
            ..
        })
    ));
    let mut p = vector_params(2);
    p.padding_method = Some(PaddingMethod::PKCS1_V1_5);
    assert!(matches!(
        OaepParams::from_kmip(&p),
        Err(Error::Unsupported {
            parameter: Parameter::PaddingMethod,
            ..
        })
    ));
    p.padding_method = None;
    assert!(matches!(
        OaepParams::from_kmip(&p),
        Err(Error::Missing(Parameter::PaddingMethod))
    ));
    let mut p = vector_params(2);
    p.hashing_algorithm = None;
    assert!(matches!(
        OaepParams::from_kmip(&p),
        Err(Error::Missing(Parameter::HashingAlgorithm))
    ));
    p.hashing_algorithm = Some(H::MD5);
    assert!(OaepParams::from_kmip(&p).is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
    #[test]
    fn encrypt_decrypt_round_trip(data in proptest::collection::vec(proptest::num::u8::ANY, 0..=126), seed in 0u64..1000) {
        let key = private(4);
        let params = OaepParams::from_kmip(&vector_params(4)).expect("params");
        let mut r = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let ct = encrypt(&key.public_key(), &params, &data, &mut r).expect("encrypt");
        let pt = decrypt(&key, &params, &ct, &mut r).expect("decrypt");
        proptest::prop_assert_eq!(pt.as_slice(), &data[..]);
    }
}
