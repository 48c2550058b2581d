//! Known answers: RFC 5869 appendix A (HKDF), RFC 6070 (PBKDF2-HMAC-SHA1), RFC 7914 section 11
//! (PBKDF2-HMAC-SHA256), NIST CAVP "KDF in Counter Mode" (KDFCTR_gen.txt, CAVS 14.4, as
//! shipped in pyca/cryptography's `nist-800-108-KBKDF-CTR.txt`).

use super::*;

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

#[test]
fn rfc_5869_hkdf() {
    let cases = [
        // A.1, SHA-256
        (
            HashAlgorithm::Sha256,
            vec![0x0b; 22],
            (0x00..=0x0c).collect::<Vec<u8>>(),
            (0xf0..=0xf9).collect::<Vec<u8>>(),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
        ),
        // A.2, SHA-256, long inputs
        (
            HashAlgorithm::Sha256,
            (0x00..=0x4f).collect(),
            (0x60..=0xaf).collect(),
            (0xb0..=0xff).collect(),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
        ),
        // A.3, SHA-256, no salt, no info
        (
            HashAlgorithm::Sha256,
            vec![0x0b; 22],
            vec![],
            vec![],
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
        ),
        // A.4, SHA-1
        (
            HashAlgorithm::Sha1,
            vec![0x0b; 11],
            (0x00..=0x0c).collect(),
            (0xf0..=0xf9).collect(),
            "085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2c22e422478d305f3f896",
        ),
    ];
    for (i, (h, ikm, salt, info, want)) in cases.into_iter().enumerate() {
        let want = hex(want);
        let got = hkdf(h, &ikm, &salt, &info, want.len()).expect("hkdf");
        assert_eq!(got.as_slice(), &want[..], "case A.{}", i + 1);
    }
}

#[test]
fn hkdf_length_bounds() {
    assert!(hkdf(HashAlgorithm::Sha256, b"k", b"", b"", 0).is_err());
    // 255 x 20 = 5100 bytes is RFC 5869's ceiling for SHA-1, above MAX_DERIVED_KEY_LEN.
    assert!(matches!(
        hkdf(HashAlgorithm::Sha1, b"k", b"", b"", MAX_DERIVED_KEY_LEN + 1),
        Err(Error::TooLarge {
            what: Input::DerivedLength,
            ..
        })
    ));
    assert_eq!(
        hkdf(HashAlgorithm::Sha512, b"k", b"", b"", MAX_DERIVED_KEY_LEN)
            .expect("at the limit")
            .len(),
        MAX_DERIVED_KEY_LEN
    );
    assert!(
        hkdf(
            HashAlgorithm::Sha256,
            &vec![0; MAX_KDF_INPUT_LEN + 1],
            b"",
            b"",
            32
        )
        .is_err()
    );
    assert!(
        hkdf(
            HashAlgorithm::Sha256,
            b"k",
            &vec![0; MAX_KDF_INPUT_LEN + 1],
            b"",
            32
        )
        .is_err()
    );
    assert!(
        hkdf(
            HashAlgorithm::Sha256,
            b"k",
            b"",
            &vec![0; MAX_KDF_INPUT_LEN + 1],
            32
        )
        .is_err()
    );
}

#[test]
fn rfc_6070_pbkdf2_hmac_sha1() {
    // (password, salt, iterations, output)
    let cases: [(&[u8], &[u8], u32, &str); 5] = [
        (
            b"password",
            b"salt",
            1,
            "0c60c80f961f0e71f3a9b524af6012062fe037a6",
        ),
        (
            b"password",
            b"salt",
            2,
            "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957",
        ),
        (
            b"password",
            b"salt",
            4096,
            "4b007901b765489abead49d926f721d065a429c1",
        ),
        (
            b"passwordPASSWORDpassword",
            b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
            4096,
            "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038",
        ),
        (
            b"pass\0word",
            b"sa\0lt",
            4096,
            "56fa6aa75548099dcc37d7f03425e0c3",
        ),
    ];
    for (password, salt, c, want) in cases {
        let want = hex(want);
        let got =
            pbkdf2_bounded(HashAlgorithm::Sha1, password, salt, c, want.len()).expect("pbkdf2");
        assert_eq!(got.as_slice(), &want[..], "c = {c}");
        if c >= PBKDF2_MIN_ITERATIONS {
            let public =
                pbkdf2(HashAlgorithm::Sha1, password, salt, c, want.len()).expect("pbkdf2");
            assert_eq!(public, got);
        } else {
            assert!(matches!(
                pbkdf2(HashAlgorithm::Sha1, password, salt, c, want.len()),
                Err(Error::Invalid(Parameter::IterationCount))
            ));
        }
    }
    // RFC 6070's 16 777 216 iterations are refused before any work (PBKDF2_MAX_ITERATIONS).
    assert!(matches!(
        pbkdf2(HashAlgorithm::Sha1, b"password", b"salt", 16_777_216, 20),
        Err(Error::Invalid(Parameter::IterationCount))
    ));
}

#[test]
fn rfc_7914_pbkdf2_hmac_sha256() {
    let want = hex(
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
    );
    let got = pbkdf2_bounded(HashAlgorithm::Sha256, b"passwd", b"salt", 1, 64).expect("pbkdf2");
    assert_eq!(got.as_slice(), &want[..]);
    let want = hex(
        "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
    );
    let got = pbkdf2(HashAlgorithm::Sha256, b"Password", b"NaCl", 80_000, 64).expect("pbkdf2");
    assert_eq!(got.as_slice(), &want[..]);
}

#[test]
fn pbkdf2_work_bound() {
    // 1 000 000 iterations x 3 SHA-1 blocks (60 bytes) is over PBKDF2_MAX_WORK: refused
    // before any iteration runs (this test would take minutes otherwise).
    assert!(matches!(
        pbkdf2(HashAlgorithm::Sha1, b"p", b"s", PBKDF2_MAX_ITERATIONS, 60),
        Err(Error::Invalid(Parameter::IterationCount))
    ));
    assert!(pbkdf2(HashAlgorithm::Sha256, b"p", b"s", 0, 32).is_err());
    assert!(pbkdf2_bounded(HashAlgorithm::Sha256, b"p", b"s", 0, 32).is_err());
    assert!(pbkdf2(HashAlgorithm::Sha256, b"p", b"s", 1000, 0).is_err());
}

/// One CAVP KBKDF counter-mode vector.
struct Kbkdf {
    prf: HashAlgorithm,
    r: CounterLength,
    ki: &'static str,
    before: &'static str,
    after: &'static str,
    ko: &'static str,
}

#[test]
fn nist_cavp_kbkdf_counter_mode() {
    let cases = [
        // [PRF=HMAC_SHA256] [CTRLOCATION=BEFORE_FIXED] [RLEN=32_BITS] COUNT=0 (L=128)
        Kbkdf {
            prf: HashAlgorithm::Sha256,
            r: CounterLength::Bits32,
            ki: "dd1d91b7d90b2bd3138533ce92b272fbf8a369316aefe242e659cc0ae238afe0",
            before: "",
            after: "01322b96b30acd197979444e468e1c5c6859bf1b1cf951b7e725303e237e46b864a145fab25e517b08f8683d0315bb2911d80a0e8aba17f3b413faac",
            ko: "10621342bfb0fd40046c0e29f2cfdbf0",
        },
        // same section, COUNT=31 (L=320: two blocks)
        Kbkdf {
            prf: HashAlgorithm::Sha256,
            r: CounterLength::Bits32,
            ki: "22256ca571d5c896db80a8758ff81cf8631d2bc38c7e76f3bafb0c2af540a356",
            before: "",
            after: "9dd2dcd97b926251b50c6111d988e2951b02accc143702c88920cf36848f7c731756ab0537cb26e22725f11de069e5335802b0cb56c158dd75014791",
            ko: "a11aa3b1a93d2ce117550866c28d6974cf626719385b8868101a71a5d2aa793bc23c3cfdebe52ec9",
        },
        // HMAC_SHA256, BEFORE_FIXED, RLEN=24_BITS, COUNT=30 (L=320)
        Kbkdf {
            prf: HashAlgorithm::Sha256,
            r: CounterLength::Bits24,
            ki: "c9063598d6cf8660300073b5c25603baf3ade910c182deea15d8107d6f6be295",
            before: "",
            after: "22d27eec90c2dd4ae5cf4a705abecfd781b9051ba512b048ea9499364b791e9cdf63215db43680dacffe6f19d77fc93f8a46d84dd52146389d9ec308",
            ko: "f3a5b521b435a8c83eaf2d264b5b1a6dcc32c21b4897511203f97f01f2a691eef080b4cd7ca4fc38",
        },
        // HMAC_SHA256, AFTER_FIXED, RLEN=8_BITS, COUNT=0 (L=128)
        Kbkdf {
            prf: HashAlgorithm::Sha256,
            r: CounterLength::Bits8,
            ki: "08d0a37d2e2fb84d44838efaeac28135d964b0daf154369783cfe007fa883966",
            before: "80866d761e34084b45ea668a25deabffdbca446aa0bf793bccdf3790d584d26056315a4c060ac7b1b01cace96ba97e8fed81953c8b82ba5132dd1713",
            after: "",
            ko: "8f5b47d23d5d3ba632acdf6543509bd8",
        },
        // HMAC_SHA512, AFTER_FIXED, RLEN=16_BITS, COUNT=30 (L=320)
        Kbkdf {
            prf: HashAlgorithm::Sha512,
            r: CounterLength::Bits16,
            ki: "5aac884dfcc4f78d517082f88b4f0121c98e0f3412530ceea0dacdbd1891c5ba98d91edd1674e3829c63173a445e4856116a82818a7cdaefeb71bb6ce5121d6d",
            before: "c2d62b9d3580e422263bde9f1112a1a4e6454ec41111e48e4c4e43f61cbdd0730d30dcfbe3119f51925b8ba5241f90cb9214527cb13b60ed11ea745a",
            after: "",
            ko: "a760a75858638a495f417bbc75f7b852ff7a33ec386c2472d9fb7551fd9c8f75d20fc647ec5bca7d",
        },
        // HMAC_SHA512, MIDDLE_FIXED, RLEN=24_BITS, COUNT=30 (L=320)
        Kbkdf {
            prf: HashAlgorithm::Sha512,
            r: CounterLength::Bits24,
            ki: "e4911b2b026ba170eb9fb1be8121ece0f9660b65da0c2d74a1e462d6c0a8bcbd967887d4332f775a1047bee1271838fa0b5dc655fef6f120e87a7f153dee8c45",
            before: "2c4288ab691e8dc4cee66a270a012cb00d37d0c6c02c6a1bb58f325465dab81c28b49dedeecd0b70a626dfe6f9d39859ecde",
            after: "b54276b101a98fb97c6b",
            ko: "f95bb59b14adb1673fed25357887967b6e75033413bf372b2c788c8a7a9808b0a7c41dd129793695",
        },
        // HMAC_SHA512, MIDDLE_FIXED, RLEN=32_BITS, COUNT=0 (L=128)
        Kbkdf {
            prf: HashAlgorithm::Sha512,
            r: CounterLength::Bits32,
            ki: "4cfbc55d3a2334c71787ea1c4b9426106b1ba327a909d54fc9b3113f4b74617fec68858a05ea9943fffb0623af633f2a16ae87afa37e3f304da41f7b83e4cb91",
            before: "2d6b4804ed912a9bf3005db33c221c6793ff33ffc90bf559811d63fdd0d06f8f36da610f2d555ea37bf3f1220a8e8a8a8629",
            after: "adbd9e4688b45575d385",
            ko: "5260b2e61f6ad15e775a793c699c5583",
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let (before, after, want) = (hex(c.before), hex(c.after), hex(c.ko));
        let fixed = FixedInput {
            before: &before,
            after: &after,
        };
        let got = counter_mode(c.prf, &hex(c.ki), fixed, c.r, want.len()).expect("kbkdf");
        assert_eq!(got.as_slice(), &want[..], "vector {i}");
    }
}

#[test]
fn kbkdf_bounds() {
    let fixed = FixedInput {
        before: b"",
        after: b"label",
    };
    // An 8-bit counter allows 255 blocks: 255 x 32 bytes is over MAX_DERIVED_KEY_LEN anyway,
    // so the counter bound shows with a 1024-byte output and SHA-256 (32 blocks) under 8 bits
    // passing, and the derived-length bound refusing 1025 bytes.
    assert!(
        counter_mode(
            HashAlgorithm::Sha256,
            b"k",
            fixed,
            CounterLength::Bits8,
            1024
        )
        .is_ok()
    );
    assert!(
        counter_mode(
            HashAlgorithm::Sha256,
            b"k",
            fixed,
            CounterLength::Bits8,
            1025
        )
        .is_err()
    );
    assert!(counter_mode(HashAlgorithm::Sha256, b"k", fixed, CounterLength::Bits32, 0).is_err());
    assert!(matches!(
        counter_mode(HashAlgorithm::Sha1, b"k", fixed, CounterLength::Bits32, 16),
        Err(Error::Unsupported {
            parameter: Parameter::HashingAlgorithm,
            ..
        })
    ));
    let long = vec![0; MAX_KDF_INPUT_LEN + 1];
    let fixed = FixedInput {
        before: &long,
        after: b"",
    };
    assert!(
        counter_mode(
            HashAlgorithm::Sha256,
            b"k",
            fixed,
            CounterLength::Bits32,
            16
        )
        .is_err()
    );
    assert!(CounterLength::from_bits(12).is_err());
    assert_eq!(
        CounterLength::from_bits(24).expect("24"),
        CounterLength::Bits24
    );
}

#[test]
fn kmip_derivation_methods() {
    assert_eq!(
        KdfMethod::from_kmip(DerivationMethod::HKDF).expect("hkdf"),
        KdfMethod::Hkdf
    );
    assert_eq!(
        KdfMethod::from_kmip(DerivationMethod::PBKDF2).expect("pbkdf2"),
        KdfMethod::Pbkdf2
    );
    assert_eq!(
        KdfMethod::from_kmip(DerivationMethod::NIST800_108_C).expect("ctr"),
        KdfMethod::CounterMode
    );
    assert!(KdfMethod::from_kmip(DerivationMethod::NIST800_108_F).is_err());
    assert!(KdfMethod::from_kmip(DerivationMethod::HASH).is_err());
}
