//! Known answers: RFC 4231 (HMAC-SHA-224/256/384/512, test cases 1-7) and RFC 2202
//! (HMAC-SHA-1, test cases 1-3).

use super::*;

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

/// RFC 4231 section 4: (case, key, data, [SHA-224, SHA-256, SHA-384, SHA-512]).
/// One RFC 4231 test case: number, key, data, and the MACs for SHA-224/256/384/512.
type Rfc4231Case = (u8, Vec<u8>, Vec<u8>, [&'static str; 4]);

fn rfc4231() -> Vec<Rfc4231Case> {
    vec![
        (1, vec![0x0b; 20], b"Hi There".to_vec(), [
            "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        ]),
        (3, vec![0xaa; 20], vec![0xdd; 50], [
            "7fb3cb3588c6c1f6ffa9694d7d6ad2649365b0c1f65d69d1ec8333ea",
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
            "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
        ]),
        (4, (1..=25).collect(), vec![0xcd; 50], [
            "6c11506874013cac6a2abc1bb382627cec6a90d86efc012de7afec5a",
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
            "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
        ]),
        (6, vec![0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(), [
            "95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
        ]),
        (7, vec![0xaa; 131], b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(), [
            "3a854166ac5d9f023f54d517d0b39dbd946770db9c2b95c9f6f565d1",
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
            "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
        ]),
    ]
}

const SHA2: [MacAlgorithm; 4] = [
    MacAlgorithm::HmacSha224,
    MacAlgorithm::HmacSha256,
    MacAlgorithm::HmacSha384,
    MacAlgorithm::HmacSha512,
];

#[test]
fn rfc_4231_test_cases_1_3_4_6_7() {
    for (case, key, data, wants) in rfc4231() {
        for (alg, want) in SHA2.into_iter().zip(wants) {
            let got = mac(alg, &key, &data).expect("mac");
            assert_eq!(got, hex(want), "case {case} {alg:?}");
            assert_eq!(
                verify(alg, &key, &data, &got).expect("verify"),
                Validity::Valid
            );
        }
    }
}

#[test]
fn rfc_4231_test_case_2_short_key_only_below_the_policy() {
    // "Jefe" is 4 bytes: the RFC's value is checked on the unchecked path, and the public
    // function refuses the key (MIN_MAC_KEY_LEN).
    let (key, data) = (b"Jefe", b"what do ya want for nothing?");
    let want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    assert_eq!(
        mac_unchecked(MacAlgorithm::HmacSha256, key, data).expect("mac"),
        hex(want)
    );
    assert!(matches!(
        mac(MacAlgorithm::HmacSha256, key, data),
        Err(Error::BadLength {
            what: Input::SymmetricKey,
            len: 4
        })
    ));
}

#[test]
fn rfc_4231_test_case_5_truncated_mac_verifies() {
    let key = [0x0c; 20];
    let data = b"Test With Truncation";
    let truncated = hex("a3b6167473100ee06e0c796c2955552b");
    assert_eq!(
        verify(MacAlgorithm::HmacSha256, &key, data, &truncated).expect("verify"),
        Validity::Valid
    );
    assert_eq!(
        &mac(MacAlgorithm::HmacSha256, &key, data).expect("mac")[..16],
        &truncated[..]
    );
}

#[test]
fn rfc_2202_hmac_sha1() {
    let cases = [
        (
            vec![0x0b; 20],
            b"Hi There".to_vec(),
            "b617318655057264e28bc0b6fb378c8ef146be00",
        ),
        (
            vec![0xaa; 20],
            vec![0xdd; 50],
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
        ),
    ];
    for (key, data, want) in cases {
        assert_eq!(
            mac(MacAlgorithm::HmacSha1, &key, &data).expect("mac"),
            hex(want)
        );
    }
    assert_eq!(
        mac_unchecked(
            MacAlgorithm::HmacSha1,
            b"Jefe",
            b"what do ya want for nothing?"
        )
        .expect("mac"),
        hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
    );
}

#[test]
fn a_wrong_mac_is_invalid_not_an_error() {
    let key = [0x0b; 20];
    let mut tag = mac(MacAlgorithm::HmacSha256, &key, b"Hi There").expect("mac");
    tag[31] ^= 1;
    assert_eq!(
        verify(MacAlgorithm::HmacSha256, &key, b"Hi There", &tag).expect("verify"),
        Validity::Invalid
    );
    tag[31] ^= 1;
    assert_eq!(
        verify(MacAlgorithm::HmacSha256, &key, b"Hi there", &tag).expect("verify"),
        Validity::Invalid
    );
}

#[test]
fn mac_lengths_outside_the_policy_are_refused() {
    let key = [0x0b; 20];
    let tag = mac(MacAlgorithm::HmacSha256, &key, b"x").expect("mac");
    for len in [0, 1, MIN_MAC_VERIFY_LEN - 1] {
        assert!(matches!(
            verify(MacAlgorithm::HmacSha256, &key, b"x", &tag[..len]),
            Err(Error::BadLength {
                what: Input::Mac,
                ..
            })
        ));
    }
    let mut long = tag.clone();
    long.push(0);
    assert!(verify(MacAlgorithm::HmacSha256, &key, b"x", &long).is_err());
}

#[test]
fn oversize_key_and_data_are_refused() {
    assert!(matches!(
        mac(
            MacAlgorithm::HmacSha256,
            &vec![1; MAX_SYMMETRIC_KEY_LEN + 1],
            b"x"
        ),
        Err(Error::TooLarge {
            what: Input::SymmetricKey,
            ..
        })
    ));
    assert!(matches!(
        mac(
            MacAlgorithm::HmacSha256,
            &[1; 16],
            &vec![0; MAX_DATA_LEN + 1]
        ),
        Err(Error::TooLarge {
            what: Input::Data,
            ..
        })
    ));
}

#[test]
fn kmip_names() {
    for alg in MacAlgorithm::ALL {
        assert_eq!(MacAlgorithm::from_kmip(alg.to_kmip()).expect("known"), alg);
        assert_eq!(MacAlgorithm::with_hash(alg.hash()), alg);
        assert_eq!(
            mac(alg, &[7; 16], b"").expect("mac").len(),
            alg.output_len()
        );
    }
    assert!(MacAlgorithm::from_kmip(CryptographicAlgorithm::AES).is_err());
    assert!(MacAlgorithm::from_kmip(CryptographicAlgorithm::HMAC_MD5).is_err());
}

#[test]
fn oasis_cs_ac_m_4_5_6_hmac_sha256() {
    use kmip_codec::tags::Tag;
    for file in ["CS-AC-M-4-14.xml", "CS-AC-M-5-14.xml", "CS-AC-M-6-14.xml"] {
        let path = format!("v1.4/XML/mandatory/{file}");
        let block = crate::oasis::key_block(&path, 0);
        let key = crate::oasis::material(&block)
            .bytes()
            .expect("raw key")
            .to_vec();
        let data = crate::oasis::byte_strings(&path, Tag::DATA).remove(0);
        let want = crate::oasis::byte_strings(&path, Tag::MAC_DATA).remove(0);
        // The key's Cryptographic Parameters name HMAC_SHA256.
        let alg = MacAlgorithm::from_kmip(CryptographicAlgorithm::HMAC_SHA256).expect("hmac");
        assert_eq!(mac(alg, &key, &data).expect("mac"), want, "{file}");
        assert_eq!(
            verify(alg, &key, &data, &want).expect("verify"),
            Validity::Valid,
            "{file}"
        );
    }
}
