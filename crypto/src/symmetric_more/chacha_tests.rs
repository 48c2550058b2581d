//! Known answers: RFC 8439 sections 2.4.2 (ChaCha20) and 2.8.2 (ChaCha20-Poly1305, which is
//! also the OASIS vector CS-BC-M-CHACHA20POLY1305-1), and the 64-bit-nonce keystreams of the
//! OASIS CS-BC-M-CHACHA20-1/2/3 vectors (draft-strombergson-chacha-test-vectors, TC1, TC2,
//! TC3 with 256-bit keys; checked against OpenSSL's `chacha20`).

use super::*;

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

const SUNSCREEN: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

#[test]
fn rfc_8439_2_4_2_chacha20() {
    let key: Vec<u8> = (0..32).collect();
    let nonce = hex("000000000000004a00000000");
    let want = hex(
        "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d807ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab77937365af90bbf74a35be6b40b8eedf2785e42874d",
    );
    let ct = chacha20(&key, &nonce, 1, SUNSCREEN).expect("encrypt");
    assert_eq!(ct.as_slice(), &want[..]);
    assert_eq!(
        chacha20(&key, &nonce, 1, &want)
            .expect("decrypt")
            .as_slice(),
        SUNSCREEN
    );
}

#[test]
fn oasis_chacha20_64_bit_nonce_keystreams() {
    let zero_key = [0u8; 32];
    let mut one_key = [0u8; 32];
    one_key[31] = 1;
    let cases = [
        (
            zero_key,
            "0000000000000000",
            64,
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
        ),
        (
            one_key,
            "0000000000000000",
            64,
            "4540f05a9f1fb296d7736e7b208e3c96eb4fe1834688d2604f450952ed432d41bbe2a0b6ea7566d2a5d1e7e20d42af2c53d792b1c43fea817e9ad275ae546963",
        ),
        (
            zero_key,
            "0000000000000001",
            60,
            "de9cba7bf3d69ef5e786dc63973f653a0b49e015adbff7134fcb7df137821031e85a050278a7084527214f73efc7fa5b5277062eb7a0433e445f41e3",
        ),
    ];
    for (key, nonce, len, want) in cases {
        let zeros = vec![0u8; len];
        let got = chacha20(&key, &hex(nonce), 0, &zeros).expect("keystream");
        assert_eq!(got.as_slice(), &hex(want)[..], "nonce {nonce}");
        assert_eq!(
            chacha20(&key, &hex(nonce), 0, got.as_slice())
                .expect("back")
                .as_slice(),
            &zeros[..]
        );
    }
}

#[test]
fn chacha20_counter_and_nonce_checks() {
    let key = [0u8; 32];
    let data = [0u8; 64];
    // Starting at block 1 is the second block of the keystream.
    let two = chacha20(&key, &[0; 8], 0, &[0u8; 128]).expect("two blocks");
    assert_eq!(
        chacha20(&key, &[0; 8], 1, &data)
            .expect("from 1")
            .as_slice(),
        &two.as_slice()[64..]
    );
    assert!(matches!(
        chacha20(&key, &[0; 7], 0, &data),
        Err(Error::BadLength {
            what: Input::Nonce,
            len: 7
        })
    ));
    assert!(matches!(
        chacha20(&key[..16], &[0; 12], 0, &data),
        Err(Error::BadLength {
            what: Input::SymmetricKey,
            ..
        })
    ));
    // The RFC 8439 counter is 32 bits: past it is refused, and running off its end is an error,
    // never a wrapped keystream.
    assert!(matches!(
        chacha20(&key, &[0; 12], 1 << 32, &data),
        Err(Error::Invalid(Parameter::InitialCounterValue))
    ));
    assert!(matches!(
        chacha20(&key, &[0; 12], u64::from(u32::MAX), &[0u8; 128]),
        Err(Error::CounterOverflow)
    ));
    assert!(matches!(
        chacha20(&key, &[0; 8], u64::MAX, &data),
        Err(Error::CounterOverflow)
    ));
    assert!(chacha20(&key, &[0; 8], 0, &vec![0; MAX_DATA_LEN + 1]).is_err());
}

/// Key, nonce, AAD, ciphertext, tag.
type AeadCase = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);

fn rfc_8439_2_8_2() -> AeadCase {
    (
        (0x80..=0x9f).collect(),
        hex("070000004041424344454647"),
        hex("50515253c0c1c2c3c4c5c6c7"),
        hex(
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116",
        ),
        hex("1ae10b594f09e26a7e902ecbd0600691"),
    )
}

#[test]
fn rfc_8439_2_8_2_aead() {
    let (key, nonce, aad, ct, tag) = rfc_8439_2_8_2();
    let (got_ct, got_tag) =
        chacha20_poly1305_encrypt(&key, &nonce, &aad, SUNSCREEN, 16).expect("encrypt");
    assert_eq!(got_ct, ct);
    assert_eq!(got_tag, tag);
    let pt = chacha20_poly1305_decrypt(&key, &nonce, &aad, &ct, &tag).expect("decrypt");
    assert_eq!(pt.as_slice(), SUNSCREEN);
}

#[test]
fn oasis_aead_tampering_and_tag_lengths() {
    // CS-BC-M-CHACHA20POLY1305-1: a changed tag, nonce or ciphertext fails; a 12-byte tag
    // decrypts; tag lengths 1 and 32 are refused.
    let (key, nonce, aad, ct, tag) = rfc_8439_2_8_2();
    let mut bad_tag = tag.clone();
    bad_tag[0] = 0xff;
    let mut bad_nonce = nonce.clone();
    bad_nonce[0] = 0xff;
    let mut bad_ct = ct.clone();
    bad_ct[0] = 0xff;
    for (n, c, t) in [
        (&nonce, &ct, &bad_tag),
        (&bad_nonce, &ct, &tag),
        (&nonce, &bad_ct, &tag),
    ] {
        assert!(matches!(
            chacha20_poly1305_decrypt(&key, n, &aad, c, t),
            Err(Error::DecryptionFailed)
        ));
    }
    let pt = chacha20_poly1305_decrypt(&key, &nonce, &aad, &ct, &tag[..12]).expect("12-byte tag");
    assert_eq!(pt.as_slice(), SUNSCREEN);
    let (_, short) = chacha20_poly1305_encrypt(&key, &nonce, &aad, SUNSCREEN, 12).expect("12");
    assert_eq!(short, tag[..12]);
    for len in [1, 11, 17, 32] {
        assert!(matches!(
            chacha20_poly1305_encrypt(&key, &nonce, &aad, SUNSCREEN, len),
            Err(Error::Invalid(Parameter::TagLength))
        ));
    }
    // A truncated tag that is wrong, or wrong AAD, fails too.
    let mut bad12 = tag[..12].to_vec();
    bad12[11] ^= 1;
    assert!(chacha20_poly1305_decrypt(&key, &nonce, &aad, &ct, &bad12).is_err());
    assert!(chacha20_poly1305_decrypt(&key, &nonce, b"other", &ct, &tag[..12]).is_err());
    assert!(chacha20_poly1305_decrypt(&key, &nonce, &aad, &ct, &tag[..11]).is_err());
    assert!(chacha20_poly1305_decrypt(&key, &nonce[..8], &aad, &ct, &tag).is_err());
}

proptest::proptest! {
    #[test]
    fn aead_round_trip(
        key in proptest::array::uniform32(proptest::num::u8::ANY),
        nonce in proptest::array::uniform12(proptest::num::u8::ANY),
        aad in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        data in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        tag_len in AEAD_MIN_TAG_LEN..=AEAD_MAX_TAG_LEN,
    ) {
        let (ct, tag) = chacha20_poly1305_encrypt(&key, &nonce, &aad, &data, tag_len).expect("encrypt");
        proptest::prop_assert_eq!(tag.len(), tag_len);
        let pt = chacha20_poly1305_decrypt(&key, &nonce, &aad, &ct, &tag).expect("decrypt");
        proptest::prop_assert_eq!(pt.as_slice(), &data[..]);
        let back = chacha20(&key, &nonce[..8], 3, &data).expect("stream");
        let again = chacha20(&key, &nonce[..8], 3, back.as_slice()).expect("stream");
        proptest::prop_assert_eq!(again.as_slice(), &data[..]);
    }
}
