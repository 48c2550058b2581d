//! Known answers: NIST SP 800-67 Rev. 1 appendix B (three-key TDEA ECB, "The qufck brown fox
//! jump"), the OASIS vector CS-BC-M-4-12-3DES-13 (ECB), and CBC / two-key outputs computed
//! with OpenSSL 3.0 (`openssl enc -des-ede3-cbc` / `-des-ede`) as an independent reference.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

const SP800_67_KEY: &str = "0123456789abcdef23456789abcdef01456789abcdef0123";
const FOX: &[u8] = b"The qufck brown fox jump";

#[test]
fn sp_800_67_three_key_ecb() {
    let want = hex("a826fd8ce53b855fcce21c8112256fe668d5c05dd9b6b900");
    let key = hex(SP800_67_KEY);
    assert_eq!(
        tdes_encrypt(&key, TdesMode::Ecb, TdesPadding::None, FOX).expect("encrypt"),
        want
    );
    assert_eq!(
        tdes_decrypt(&key, TdesMode::Ecb, TdesPadding::None, &want)
            .expect("decrypt")
            .as_slice(),
        FOX
    );
    assert!(!tdes_key_is_degenerate(&key));
}

#[test]
fn oasis_cs_bc_m_4_12_3des() {
    let key = hex("010101010101010101010101010101010101010101010101");
    let pt = hex("010203040506070809101112131415161718192021222324");
    let want = hex("cead373db80eabf87477d921e6d5a5d116c10e3814ebe004");
    assert_eq!(
        tdes_encrypt(&key, TdesMode::Ecb, TdesPadding::None, &pt).expect("encrypt"),
        want
    );
    assert!(tdes_key_is_degenerate(&key), "K1 = K2 = K3 is single DES");
}

#[test]
fn openssl_cbc_pkcs5_and_two_key_ecb() {
    let key = hex(SP800_67_KEY);
    let iv = [0, 1, 2, 3, 4, 5, 6, 7];
    let want = hex("f368d06f3bbd614e60f2d0245cad3f818d5c69f2cb3fd5c7efa5066e2c4e03b9");
    let ct = tdes_encrypt(&key, TdesMode::Cbc(iv), TdesPadding::Pkcs5, FOX).expect("encrypt");
    assert_eq!(ct, want);
    assert_eq!(
        tdes_decrypt(&key, TdesMode::Cbc(iv), TdesPadding::Pkcs5, &ct)
            .expect("decrypt")
            .as_slice(),
        FOX
    );
    let two = &key[..16];
    let want = hex("c44862f70cf2fbdc9077d0909fa91b884cabd61fc58e0cbb");
    assert_eq!(
        tdes_encrypt(two, TdesMode::Ecb, TdesPadding::None, FOX).expect("encrypt"),
        want
    );
}

#[test]
fn malformed_inputs() {
    let key = hex(SP800_67_KEY);
    assert!(matches!(
        tdes_encrypt(&key[..8], TdesMode::Ecb, TdesPadding::None, FOX),
        Err(Error::BadLength {
            what: Input::SymmetricKey,
            len: 8
        })
    ));
    assert!(matches!(
        tdes_encrypt(&key, TdesMode::Ecb, TdesPadding::None, &FOX[..23]),
        Err(Error::BadLength {
            what: Input::Data,
            len: 23
        })
    ));
    assert!(matches!(
        tdes_decrypt(&key, TdesMode::Ecb, TdesPadding::Pkcs5, &FOX[..23]),
        Err(Error::BadLength {
            what: Input::Data,
            ..
        })
    ));
    // A wrong last block is a padding failure, reported as a plain decryption failure.
    let mut ct = tdes_encrypt(&key, TdesMode::Ecb, TdesPadding::Pkcs5, b"abc").expect("encrypt");
    ct[7] ^= 0x55;
    assert!(matches!(
        tdes_decrypt(&key, TdesMode::Ecb, TdesPadding::Pkcs5, &ct),
        Err(Error::DecryptionFailed)
    ));
    assert!(
        tdes_encrypt(
            &key,
            TdesMode::Ecb,
            TdesPadding::Pkcs5,
            &vec![0; MAX_DATA_LEN + 1]
        )
        .is_err()
    );
    assert!(tdes_key_is_degenerate(&hex(
        "0123456789abcdef0123456789abcdef"
    )));
}

proptest::proptest! {
    #[test]
    fn round_trip(
        three in proptest::bool::ANY,
        cbc in proptest::bool::ANY,
        data in proptest::collection::vec(proptest::num::u8::ANY, 0..100),
    ) {
        let key = hex(SP800_67_KEY);
        let key = if three { &key[..] } else { &key[..16] };
        let mode = if cbc { TdesMode::Cbc([9; 8]) } else { TdesMode::Ecb };
        let ct = tdes_encrypt(key, mode, TdesPadding::Pkcs5, &data).expect("encrypt");
        proptest::prop_assert_eq!(ct.len(), (data.len() / 8 + 1) * 8);
        let pt = tdes_decrypt(key, mode, TdesPadding::Pkcs5, &ct).expect("decrypt");
        proptest::prop_assert_eq!(pt.as_slice(), &data[..]);
    }
}
